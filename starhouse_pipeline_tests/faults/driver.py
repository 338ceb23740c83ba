"""A real import process for fault tests: `python -m starhouse_pipeline_tests.faults.driver`.

    driver URL EXPORT [--pause-after MODULE.FUNCTION[#N]] [--pause-seconds S]

Runs `import_job` on EXPORT against the warehouse at URL, in this process. With
`--pause-after`, once the named warehouse function (e.g. `contacts.apply_contact_plan`; `#2`
for its second call) has run, the process prints `PAUSED ...` and waits inside the asset's
open transaction for S seconds, until SIGUSR1 or until killed. The pause is patched in here,
by the test driver: production code carries no fault hooks. The last line printed is the
outcome as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import time
from pathlib import Path

PAUSED = "PAUSED"
_resumed: list[int] = []


def _resume(_signal: int, _frame: object) -> None:
    _resumed.append(1)


def _pause_after(target: str, seconds: float) -> None:
    """Pause after the call of `module.function`, or after its n-th call (`...#n`)."""
    name, _, nth = target.partition("#")
    module_name, function_name = name.rsplit(".", 1)
    module = importlib.import_module(f"starhouse_pipeline.warehouse.{module_name}")
    original = getattr(module, function_name)
    calls = []

    def paused(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == int(nth or 1):
            sys.stdout.write(f"{PAUSED} {target}\n")
            sys.stdout.flush()
            deadline = time.monotonic() + seconds
            while not _resumed and time.monotonic() < deadline:
                time.sleep(0.05)
        return result

    setattr(module, function_name, paused)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("export", type=Path)
    parser.add_argument("--pause-after")
    parser.add_argument("--pause-seconds", type=float, default=600.0)
    args = parser.parse_args(argv)
    if args.pause_after:
        signal.signal(signal.SIGUSR1, _resume)
        _pause_after(args.pause_after, args.pause_seconds)

    from starhouse_pipeline_tests.bad_input.running import run_job
    from starhouse_pipeline_tests.support import check_results

    result = run_job(args.url, args.export, max_quarantine_share=1.0)
    outcome = {"success": result.success, "checks": check_results(result)}
    sys.stdout.write(json.dumps(outcome) + "\n")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
