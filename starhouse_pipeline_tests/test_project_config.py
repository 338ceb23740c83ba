"""One code location, named once: pyproject.toml (dagster and dg), workspace.yaml, the README."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from starhouse_pipeline.settings import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
WORKSPACE = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text(encoding="utf-8"))


def test_one_code_location_name_everywhere():
    name = PYPROJECT["tool"]["dagster"]["code_location_name"]
    [location] = WORKSPACE["load_from"]

    assert PYPROJECT["tool"]["dg"]["project"]["code_location_name"] == name
    assert location["python_module"]["location_name"] == name
    assert f"code location `{name}`" in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_dagster_dg_and_the_workspace_load_the_same_module():
    module = PYPROJECT["tool"]["dagster"]["module_name"]
    [location] = WORKSPACE["load_from"]

    assert PYPROJECT["tool"]["dg"]["project"]["code_location_target_module"] == module
    assert location["python_module"]["module_name"] == module


def test_dg_is_pinned_at_the_dagster_version():
    pins = dict(
        requirement.split("==")
        for requirement in PYPROJECT["project"]["dependencies"]
        if "==" in requirement
    )
    assert pins["dagster-dg-cli"] == pins["dagster"]


_FREED_FRAMES = """
import json, os
import starhouse_pipeline  # as every entry point does before polars is loaded
import polars as pl

def resident():  # bytes, from the kernel's own count (no psutil outside the bench)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

before = resident()
batches = [
    pl.DataFrame({"id": pl.int_range(i, i + 25_000, eager=True).cast(pl.String) + "-row"})
    for i in range(0, 4_000_000, 25_000)
]
grown = resident() - before
del batches
print(json.dumps({"grown": grown, "kept": resident() - before}))
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads Linux's /proc")
def test_memory_freed_by_a_step_is_handed_back_at_once(tmp_path):
    """Batch-sized frames freed at the end of a step do not stay resident into the next."""
    env = {key: value for key, value in os.environ.items() if key != "_RJEM_MALLOC_CONF"}
    result = subprocess.run(
        [sys.executable, "-c", _FREED_FRAMES], env=env, capture_output=True, text=True, check=True
    )
    memory = json.loads(result.stdout)

    assert memory["grown"] > 32 * 2**20
    assert memory["kept"] < memory["grown"] / 4
