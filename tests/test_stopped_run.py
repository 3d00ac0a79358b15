"""A test run stopped with SIGTERM (a CI time limit) stops the engines it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pytest's exit status for a run interrupted by the user (Ctrl-C).
INTERRUPTED = 2

PROBE = '''
import os
import time
from pathlib import Path

from tests.engines import redis_server  # noqa: F401 (fixture)


def test_holds_a_redis_server(redis_server):
    Path(os.environ["PROBE_PID_FILE"]).write_text(str(redis_server.process.pid))
    time.sleep(300)
'''


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # Reaped by nobody yet: a zombie has stopped running.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_a_run_stopped_by_sigterm_tears_its_engines_down(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    pid_file = tmp_path / "redis.pid"
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(probe)],
        cwd=ROOT, env={**os.environ, "PROBE_PID_FILE": str(pid_file), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    redis_pid = None
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() or not pid_file.read_text():
            assert run.poll() is None, run.stdout.read().decode() if run.stdout else ""
            assert time.monotonic() < deadline, "the probe run never started its Redis"
            time.sleep(0.2)
        redis_pid = int(pid_file.read_text())
        assert _running(redis_pid)

        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=60)

        assert run.returncode == INTERRUPTED, output.decode()
        assert not _running(redis_pid), "the stopped run left its redis-server running"
    finally:
        if run.poll() is None:
            run.kill()
        if redis_pid is not None and _running(redis_pid):
            os.kill(redis_pid, signal.SIGKILL)
