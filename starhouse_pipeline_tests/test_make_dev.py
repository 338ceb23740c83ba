"""`make dev` as a person runs it: the UI starts without warnings, and Ctrl-C or SIGTERM stops
all of it (make, `dg dev`, the webserver, the daemon, the code servers) within seconds.

Started as a background job of a non-interactive shell is: with SIGINT ignored, which every
process it starts inherits. That is how `make dev` once ignored both Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from starhouse_pipeline.instance import DAGSTER_POSTGRES_URL_ENV
from starhouse_pipeline.settings import DATABASE_URL_ENV, INBOX_DIR_ENV, PROJECT_ROOT
from starhouse_pipeline_tests.browser.server import free_port, wait_until_serving

CODE_LOCATION = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["dagster"][
    "code_location_name"
]
# 3-5 s on an idle machine; the bound leaves room for a busy one and still tells "stops within
# seconds" from "never stops".
SHUTDOWN_WITHIN_S = 15
# The daemon's first start on a fresh instance says it has no event-log cursor yet.
FRESH_INSTANCE_NOTICE = "No cursor for event type"


@pytest.fixture
def dev_env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k != DAGSTER_POSTGRES_URL_ENV}
    environ["DAGSTER_HOME"] = str(tmp_path / "dagster_home")
    environ[DATABASE_URL_ENV] = f"sqlite:///{tmp_path / 'warehouse.db'}"
    environ[INBOX_DIR_ENV] = str(tmp_path / "inbox")
    return environ


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda make: os.killpg(make.pid, signal.SIGINT), id="ctrl-c"),
        pytest.param(lambda make: make.send_signal(signal.SIGTERM), id="sigterm-to-make"),
    ],
)
def test_make_dev_starts_without_warnings_and_stops_within_seconds(stop, dev_env, tmp_path):
    log = tmp_path / "make-dev.log"
    with _make_dev(dev_env, log) as (make, url):
        wait_until_serving(url, make, log)
        started = _read(log)
        serving = _session_processes(make.pid)
        locations = _code_locations(url)

        stop(make)
        left = _wait_for_session_to_end(make, SHUTDOWN_WITHIN_S)

    warnings = [
        line
        for line in started.splitlines()
        if "warn" in line.lower() and FRESH_INSTANCE_NOTICE not in line
    ]
    assert warnings == [], started
    assert any("/dg dev " in command for command in serving), serving
    assert locations == [CODE_LOCATION]
    assert left == [], f"still running {SHUTDOWN_WITHIN_S}s later: {left}\n{_read(log)}"


@contextmanager
def _make_dev(environ: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """`make dev` on a free port in a session of its own; whatever is left is killed at the end."""
    venv = Path(sys.prefix)
    port = free_port()
    command = [
        "make",
        "--no-print-directory",
        f"VENV={venv}",
        # The suite runs in an installed environment: never reinstall from inside a test.
        "-o",
        str(venv / ".install-stamp"),
        f"DEV_PORT={port}",
        "dev",
    ]
    with log.open("wb") as log_file:
        make = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_as_a_background_job,
        )
        try:
            yield make, f"http://127.0.0.1:{port}"
        finally:
            with suppress(ProcessLookupError):
                os.killpg(make.pid, signal.SIGKILL)
            make.wait()


def _as_a_background_job() -> None:
    """What a non-interactive shell gives a background job: SIGINT ignored, SIGTERM at its
    default and neither blocked, whatever earlier tests left in this process (Dagster code
    run in it copies SIGINT's handler onto SIGTERM: `setup_interrupt_handlers`)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _wait_for_session_to_end(make: subprocess.Popen, timeout_s: float) -> list[str]:
    """Wait until no process of make's session is alive; the command lines of those that are."""
    deadline = time.monotonic() + timeout_s
    while (alive := _session_processes(make.pid)) and time.monotonic() < deadline:
        make.poll()
        time.sleep(0.2)
    return alive


def _session_processes(session: int) -> list[str]:
    """Command lines of the live (not zombie) processes in a session."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            # Fields after the command's closing parenthesis: state, ppid, pgrp, session, ...
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session and fields[0] != "Z":
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                alive.append(cmdline.decode(errors="replace")[:120])
    return alive


def _code_locations(url: str) -> list[str]:
    """The names of the code locations the UI shows, from its GraphQL API."""
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        entries = json.load(response)["data"]["workspaceOrError"]["locationEntries"]
    return [entry["name"] for entry in entries]


def _read(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")
