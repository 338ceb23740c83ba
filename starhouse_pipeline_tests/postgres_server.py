"""The PostgreSQL server the suite runs against: the configured one, or a throwaway one.

The configured server is STARHOUSE_TEST_POSTGRES_URL's (default: the local server on 5432).
When nothing answers there, `throwaway_server` starts one for the session from the PostgreSQL
binaries on the machine: initdb into a temporary directory, trust authentication, listening
on a free port of 127.0.0.1 only (and a socket in that directory), stopped and removed when
the session ends. initdb refuses to run as root, so as root the server runs as the `postgres`
OS user, which Debian's `postgresql` package creates. `scripts/ensure_test_services.py`
installs that package when the binaries are missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

URL_ENV = "STARHOUSE_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# What the warehouse and the real-CRM fixture create; Debian's postgresql-15 ships both.
EXTENSIONS = ("citext", "uuid-ossp")
DEBIAN_PACKAGE = "postgresql"
SERVER_USER = "postgres"
START_ATTEMPTS = 3
# Superuser `postgres`, trusted, with the encoding and locale of Debian's own cluster; no
# fsync at init (nor in the server): it is thrown away.
INITDB_OPTIONS = ("-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")

MISSING_BINARIES = (
    "No PostgreSQL server answers at {address} and no PostgreSQL binaries (initdb, pg_ctl) "
    "were found to start a throwaway one. Run `make test`, which installs Debian's "
    f"`{DEBIAN_PACKAGE}` package when it can, or install it yourself "
    f"(`sudo apt-get install {DEBIAN_PACKAGE}`), or point {URL_ENV} at a server."
)


def configured_url(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(URL_ENV) or DEFAULT_URL


def address(url: str) -> str:
    """The URL's host:port, as messages name a server."""
    return "{}:{}".format(*_host_port(url))


def answers(url: str, timeout_s: float = 3.0) -> bool:
    """Whether a server accepts connections at the URL's host and port."""
    try:
        with socket.create_connection(_host_port(url), timeout=timeout_s):
            return True
    except OSError:
        return False


def find_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl: from PATH, else Debian's newest version."""
    on_path = [shutil.which(name) for name in ("initdb", "pg_ctl")]
    if all(on_path):
        return Path(on_path[0]).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    for bindir in reversed(versions):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    return None


def missing_extensions(url: str) -> list[str]:
    """The extensions the suite needs that the server cannot create."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            available = set(
                connection.execute(sa.text("SELECT name FROM pg_available_extensions")).scalars()
            )
    finally:
        engine.dispose()
    return [name for name in EXTENSIONS if name not in available]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def throwaway_server(bindir: Path) -> Iterator[str]:
    """A fresh server from the binaries in `bindir`; yields its maintenance database's URL."""
    root = Path(tempfile.mkdtemp(prefix="starhouse-postgres-"))
    owner = _server_owner()
    run_as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []} if owner else {}
    if owner:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log = root / "data", root / "server.log"

    def pg(*args: str) -> None:
        completed = subprocess.run(
            [str(bindir / args[0]), *args[1:]],
            cwd=root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            **run_as,
        )
        if completed.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({completed.returncode}):\n"
                f"{completed.stdout}{completed.stderr}{server_log}"
            )

    try:
        pg("initdb", "-D", str(data), *INITDB_OPTIONS)
        port = _start(pg, data, log, root)
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            pg("pg_ctl", "stop", "-D", str(data), "-m", "fast", "-w")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start(pg: Callable[..., None], data: Path, log: Path, socket_dir: Path) -> int:
    """Start the server on a free port; another process may take the port first, so retry."""
    attempts_left = START_ATTEMPTS
    while True:
        port = free_port()
        options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        try:
            pg("pg_ctl", "start", "-D", str(data), "-l", str(log), "-w", "-o", options)
            return port
        except RuntimeError:
            attempts_left -= 1
            if not attempts_left:
                raise


def _host_port(url: str) -> tuple[str, int]:
    parsed = sa.make_url(url)
    return parsed.host or "localhost", parsed.port or 5432


def _server_owner() -> pwd.struct_passwd | None:
    """Who runs the server: the current user, or `postgres` when that is root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise RuntimeError(
            f"initdb cannot run as root and there is no `{SERVER_USER}` OS user to run it as; "
            f"install Debian's `{DEBIAN_PACKAGE}` package (it creates one)"
        ) from None
