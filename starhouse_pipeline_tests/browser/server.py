"""A real `starhouse dev` (webserver and daemon) on a free local port, with a warehouse of its own.

Everything it touches is temporary: DAGSTER_HOME, the SQLite warehouse (migrated, holding the
sample CRM state) and the inbox the sensor watches; the reports its runs write into
data/reports/ are removed again. The process runs in a session of its own,
so stopping it stops the code server and any run still going, even when a test failed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from starhouse_pipeline.instance import DAGSTER_POSTGRES_URL_ENV, prepare_dagster_home
from starhouse_pipeline.settings import (
    DASHBOARD_PATH_ENV,
    DATABASE_URL_ENV,
    INBOX_DIR_ENV,
    PROJECT_ROOT,
    REPORTS_DIR_ENV,
    SAMPLE_CRM_DIR,
)
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import upgrade_database
from starhouse_pipeline.warehouse.seed import load_crm_state

STARTUP_TIMEOUT_S = 120
SHUTDOWN_TIMEOUT_S = 30


@dataclass(frozen=True)
class DagsterDev:
    """A running `starhouse dev` and the places it reads from."""

    url: str
    home: Path
    inbox: Path
    database_url: str
    log: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare_warehouse(path: Path, crm_dir: Path = SAMPLE_CRM_DIR) -> str:
    """A migrated SQLite warehouse at `path` holding the CRM state in `crm_dir`."""
    url = f"sqlite:///{path}"
    engine = create_warehouse_engine(url)
    try:
        upgrade_database(engine)
        with engine.begin() as connection:
            load_crm_state(connection, crm_dir)
    finally:
        engine.dispose()
    return url


@contextmanager
def running_dagster_dev(root: Path, crm_dir: Path = SAMPLE_CRM_DIR) -> Iterator[DagsterDev]:
    """Start `starhouse dev` with everything under `root`; stop it (and its children) on exit."""
    root.mkdir(parents=True, exist_ok=True)
    inbox = root / "inbox"
    inbox.mkdir(exist_ok=True)
    environ = {k: v for k, v in os.environ.items() if k != DAGSTER_POSTGRES_URL_ENV}
    environ["DAGSTER_HOME"] = str(root / "dagster_home")
    home = prepare_dagster_home(environ)
    database_url = prepare_warehouse(root / "warehouse.db", crm_dir)
    environ[DATABASE_URL_ENV] = database_url
    environ[INBOX_DIR_ENV] = str(inbox)
    environ[DASHBOARD_PATH_ENV] = str(root / "dashboard" / "revenue_dashboard.html")
    environ[REPORTS_DIR_ENV] = str(root / "reports")
    port = free_port()
    log = root / "dagster-dev.log"
    # What `make dev` runs, so the tests see the UI a person gets.
    command = [str(Path(sys.executable).with_name("starhouse")), "dev", "--port", str(port)]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environ,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, process, log)
            yield DagsterDev(url=url, home=home, inbox=inbox, database_url=database_url, log=log)
        finally:
            _stop(process)


def wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    """Return once the webserver answers; fail with the log's tail if it exits or never does."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"starhouse dev exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"starhouse dev did not serve {url} in {STARTUP_TIMEOUT_S}s:\n{_tail(log)}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM lets `starhouse dev` shut its webserver and daemon down; then nothing is left."""
    group = process.pid
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def _tail(log: Path, lines: int = 40) -> str:
    if not log.exists():
        return ""
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
