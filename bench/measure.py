"""Running one measured method in a subprocess: wall time and peak RSS of its process tree."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

POLL_SECONDS = 0.05
MIB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    """One run of one method: the seconds that count, and the tree's peak RSS."""

    seconds: float
    wall_seconds: float
    peak_rss_bytes: int
    details: dict
    output: str = ""


class CommandFailed(RuntimeError):
    pass


class MemoryLimitExceeded(CommandFailed):
    pass


def tree_rss(process: psutil.Process) -> int:
    """RSS of a process and all its descendants, in bytes (0 once it is gone)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    max_rss_bytes: int | None = None,
) -> Sample:
    """Run `command`, polling the RSS of its tree every 50 ms.

    A driver that times its own critical section writes `{"seconds": ..., ...}` to the file
    named by BENCH_RESULT_FILE; otherwise the subprocess's wall time is the measurement.
    A tree that grows past `max_rss_bytes` is killed (before the kernel's OOM killer picks a
    victim on a shared machine) and reported as MemoryLimitExceeded.
    """
    with tempfile.TemporaryDirectory(prefix="starhouse_bench_") as scratch:
        result_file = Path(scratch) / "result.json"
        full_env = {**os.environ, **(env or {}), "BENCH_RESULT_FILE": str(result_file)}
        log_path = Path(scratch) / "output.log"
        with log_path.open("wb") as log:
            started = time.perf_counter()
            child = subprocess.Popen(
                list(command), env=full_env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
            )
            peak, over_limit = _poll_until_done(child, timeout, max_rss_bytes)
            wall = time.perf_counter() - started
        output = log_path.read_text(encoding="utf-8", errors="replace")
        if over_limit:
            raise MemoryLimitExceeded(
                f"{' '.join(command)} killed after {wall:.0f} s: its process tree passed "
                f"{(max_rss_bytes or 0) / MIB:.0f} MiB RSS"
            )
        if child.returncode != 0:
            raise CommandFailed(f"{' '.join(command)} exited {child.returncode}:\n{output[-4000:]}")
        details: dict = {}
        if result_file.exists():
            details = json.loads(result_file.read_text(encoding="utf-8"))
    seconds = float(details.pop("seconds", wall))
    return Sample(
        seconds=seconds,
        wall_seconds=wall,
        peak_rss_bytes=peak,
        details=details,
        output=output[-20000:],
    )


def _poll_until_done(
    child: subprocess.Popen, timeout: float | None, max_rss_bytes: int | None
) -> tuple[int, bool]:
    process = psutil.Process(child.pid)
    peak = 0
    over_limit = False
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak, over_limit
        while not stop.is_set():
            peak = max(peak, tree_rss(process))
            if max_rss_bytes is not None and peak > max_rss_bytes:
                over_limit = True
                _kill_tree(process)
                return
            stop.wait(POLL_SECONDS)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(process)
        child.wait()
        raise
    finally:
        stop.set()
        poller.join()
    return peak, over_limit


def _kill_tree(process: psutil.Process) -> None:
    try:
        members = [*process.children(recursive=True), process]
    except psutil.Error:
        return
    for member in members:
        try:
            member.kill()
        except psutil.Error:
            continue


def write_result(seconds: float, **details: object) -> None:
    """Called by a driver: report the seconds of its timed section to the harness."""
    path = os.environ.get("BENCH_RESULT_FILE")
    if path:
        Path(path).write_text(json.dumps({"seconds": seconds, **details}), encoding="utf-8")
