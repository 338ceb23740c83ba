"""Preparing DAGSTER_HOME: the project's dagster.yaml, plus dagster-postgres when configured."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from starhouse_pipeline.settings import DEFAULT_DAGSTER_HOME, PROJECT_ROOT

DAGSTER_POSTGRES_URL_ENV = "DAGSTER_POSTGRES_URL"
_POSTGRES_STORAGE = f"""
storage:
  postgres:
    postgres_url:
      env: {DAGSTER_POSTGRES_URL_ENV}
"""


def instance_yaml(environ: MutableMapping[str, str]) -> str:
    """The instance settings: embedded storage, or dagster-postgres when its URL is set."""
    base = (PROJECT_ROOT / "dagster.yaml").read_text(encoding="utf-8")
    return base + (_POSTGRES_STORAGE if environ.get(DAGSTER_POSTGRES_URL_ENV) else "")


def prepare_dagster_home(environ: MutableMapping[str, str] | None = None) -> Path:
    """Make sure DAGSTER_HOME is set and holds the current instance settings."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = instance_yaml(environ)
    if not config.exists() or config.read_text(encoding="utf-8") != wanted:
        config.write_text(wanted, encoding="utf-8")
    environ["DAGSTER_HOME"] = str(home)
    return home
