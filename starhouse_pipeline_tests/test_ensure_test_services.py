"""`scripts/ensure_test_services.py`: what it installs, and what it says when it cannot."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from starhouse_pipeline.settings import PROJECT_ROOT
from starhouse_pipeline_tests import postgres_server


@pytest.fixture
def script() -> ModuleType:
    path = PROJECT_ROOT / "scripts" / "ensure_test_services.py"
    spec = importlib.util.spec_from_file_location("ensure_test_services", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def machine(script, tmp_path, monkeypatch):
    """A machine with neither Chromium nor PostgreSQL; tests add what they need."""
    state = {"chromium": tmp_path / "chromium", "answers": False, "bindir": None, "apt": []}
    monkeypatch.setattr(script, "CHROMIUM", state["chromium"])
    monkeypatch.setattr(postgres_server, "answers", lambda _url: state["answers"])
    monkeypatch.setattr(postgres_server, "find_binaries", lambda: state["bindir"])
    monkeypatch.setattr(script, "_can_install", lambda: True)

    def apt_get(*args: str) -> int:
        state["apt"].append(args)
        return 0

    monkeypatch.setattr(script, "_apt_get", apt_get)
    return state


def test_nothing_is_installed_when_the_machine_has_it_all(script, machine):
    machine["chromium"].touch()
    machine["answers"] = True

    assert script.main() == 0
    assert machine["apt"] == []


def test_binaries_are_enough_when_no_server_answers(script, machine, capsys):
    machine["chromium"].touch()
    machine["bindir"] = Path("/usr/lib/postgresql/15/bin")

    assert script.main() == 0
    assert machine["apt"] == []
    assert "throwaway server from /usr/lib/postgresql/15/bin" in capsys.readouterr().out


def test_what_is_missing_comes_from_debian_after_an_update(script, machine):
    assert script.main() == 0
    assert machine["apt"] == [("update",), ("install", "-y", "chromium", "postgresql")]


def test_without_root_it_says_how_to_install_and_fails(script, machine, monkeypatch, capsys):
    monkeypatch.setattr(script, "_can_install", lambda: False)
    machine["answers"] = True

    assert script.main() == 1
    assert machine["apt"] == []
    assert "sudo apt-get install chromium" in capsys.readouterr().err


def test_a_failed_apt_get_fails(script, machine, monkeypatch):
    monkeypatch.setattr(script, "_apt_get", lambda *args: 100)
    assert script.main() == 1
