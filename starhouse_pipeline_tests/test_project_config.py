"""One code location, named once: pyproject.toml (dagster and dg), workspace.yaml, the README."""

import tomllib

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
