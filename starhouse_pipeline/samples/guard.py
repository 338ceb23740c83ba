"""The bundled sample data belongs in the embedded demo warehouse only.

The sample exports and the sample CRM state are invented customers and payments. Loaded into
a real CRM they would pass for real sales and real people, so every import and `starhouse db
load-sample` refuses them in any warehouse but the embedded default SQLite file
(`.warehouse/starhouse.db`, what `make run` uses), unless the operator forces it for that
run: `--allow-sample-in-this-warehouse` on the command line, or the run option
`allow_sample_in_this_warehouse` (`import_options`) in the UI.

A file is the sample when it is one of the bundled files, or has the same bytes (SHA-256) as
one of them, so a copy or a renamed download is caught too. Only a file of the same size as
a bundled one is hashed, so a real export costs one `stat`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from starhouse_pipeline.settings import (
    PROJECT_ROOT,
    SAMPLE_CRM_DIR,
    SAMPLE_EXPORT,
    SAMPLE_PAYPAL_EXPORT,
    SAMPLE_PEOPLE_EXPORT,
    SAMPLE_SUBSCRIPTIONS_EXPORT,
)
from starhouse_pipeline.warehouse import engine

ALLOW_SAMPLE_FLAG = "--allow-sample-in-this-warehouse"
ALLOW_SAMPLE_OPTION = "allow_sample_in_this_warehouse"
HOW_TO_ALLOW = (
    f"pass {ALLOW_SAMPLE_FLAG} to the starhouse command, or set "
    f"`{ALLOW_SAMPLE_OPTION}: true` under resources: import_options: config: in the launchpad"
)


class SampleRefused(ValueError):
    """The bundled sample was about to be loaded into a warehouse that is not the demo one."""


def bundled_sample_files() -> list[Path]:
    """Every bundled sample file: the four exports and the CRM state's tables."""
    crm_tables = sorted(SAMPLE_CRM_DIR.glob("*.csv")) if SAMPLE_CRM_DIR.is_dir() else []
    exports = [SAMPLE_EXPORT, SAMPLE_SUBSCRIPTIONS_EXPORT, SAMPLE_PEOPLE_EXPORT]
    return [*exports, SAMPLE_PAYPAL_EXPORT, *crm_tables]


def bundled_sample_in(path: str | Path) -> Path | None:
    """The bundled file that `path` is, or copies; for a directory, the first such file in it."""
    path = Path(path)
    if path.is_dir():
        for candidate in sorted([*path.glob("*.csv"), *path.glob("*.tsv")]):
            if (found := bundled_sample_in(candidate)) is not None:
                return found
        return None
    if not path.is_file():
        return None
    resolved, size = path.resolve(), path.stat().st_size
    same_size = []
    for sample in bundled_sample_files():
        if not sample.is_file():
            continue
        if sample.resolve() == resolved:
            return sample
        if sample.stat().st_size == size:
            same_size.append(sample)
    if same_size:
        digest = _sha256(path)
        return next((sample for sample in same_size if _sha256(sample) == digest), None)
    return None


def is_embedded_warehouse(url: str | sa.URL) -> bool:
    """Whether `url` is the embedded default SQLite file (read when called)."""
    url = sa.make_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    return Path(url.database).resolve() == engine.EMBEDDED_DATABASE_FILE.resolve()


def refuse_sample_outside_embedded(
    path: str | Path, warehouse_url: str | sa.URL, *, allowed: bool
) -> None:
    """Raise `SampleRefused` when `path` is bundled sample data and the warehouse is not the
    embedded default, unless `allowed`. The message names the warehouse (password hidden),
    the file and how to force it."""
    if allowed or is_embedded_warehouse(warehouse_url):
        return
    sample = bundled_sample_in(path)
    if sample is None:
        return
    embedded = engine.EMBEDDED_DATABASE_FILE
    verb = "holds" if Path(path).is_dir() else "is"
    raise SampleRefused(
        f"{Path(path).name} {verb} the bundled sample data ({_shown(sample)}: invented customers "
        f"and payments), meant for the embedded demo warehouse {_shown(embedded)} only; "
        f"refusing to load it into the warehouse {engine.redacted(warehouse_url)}. To load it "
        f"there anyway (a test or demo warehouse), {HOW_TO_ALLOW}."
    )


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
