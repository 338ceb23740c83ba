"""What the suite needs from the machine, installed from Debian's packages when it is missing.

`make test` runs this before pytest:

- Chromium at /usr/bin/chromium for the browser tests (Debian's `chromium`; Playwright never
  downloads a browser);
- PostgreSQL: nothing, when a server answers at STARHOUSE_TEST_POSTGRES_URL; otherwise the
  binaries the suite starts a throwaway server from (Debian's `postgresql`).

Installing needs root and apt-get (as in CI). Without them, it says what to install and exits
non-zero, so `make test` stops before the suite instead of failing half-way through it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from starhouse_pipeline_tests import postgres_server
from starhouse_pipeline_tests.browser.ui import CHROMIUM

CHROMIUM_PACKAGE = "chromium"


def main() -> int:
    missing = []
    if CHROMIUM.exists():
        print(f"Chromium: {CHROMIUM}")
    else:
        missing.append(CHROMIUM_PACKAGE)
    url = postgres_server.configured_url()
    if postgres_server.answers(url):
        print(f"PostgreSQL: the server at {postgres_server.address(url)}")
    elif bindir := postgres_server.find_binaries():
        print(
            f"PostgreSQL: nothing answers at {postgres_server.address(url)}; "
            f"the suite starts a throwaway server from {bindir}"
        )
    else:
        missing.append(postgres_server.DEBIAN_PACKAGE)
    if not missing:
        return 0
    if not _can_install():
        print(
            f"Missing for the suite: {', '.join(missing)}. Install Debian's packages as root "
            f"(sudo apt-get install {' '.join(missing)}), or, for PostgreSQL, point "
            f"{postgres_server.URL_ENV} at a server.",
            file=sys.stderr,
        )
        return 1
    print(f"Installing Debian's {', '.join(missing)} for the suite")
    for command in (["update"], ["install", "-y", *missing]):
        if _apt_get(*command) != 0:
            print(f"apt-get {' '.join(command)} failed; the suite cannot run", file=sys.stderr)
            return 1
    return 0


def _can_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_get(*args: str) -> int:
    return subprocess.run(
        ["apt-get", *args],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        stdin=subprocess.DEVNULL,
        check=False,
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
