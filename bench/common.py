"""What every measurement shares: figures, timing statistics, a private node and service processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
VENV_BIN = Path(sys.executable).parent


@dataclass
class Figure:
    """One line of the results: a measured value, its same-run reference, and the target."""

    name: str
    unit: str
    samples: list[float]
    reference_samples: list[float]
    reference: str
    higher_is_better: bool
    target_ratio: float | None
    command: str
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def reference_median(self) -> float | None:
        return statistics.median(self.reference_samples) if self.reference_samples else None

    @property
    def ratio(self) -> float | None:
        """Measured against the reference, oriented so that higher is better."""
        reference = self.reference_median
        if reference is None or not self.median:
            return None
        return self.median / reference if self.higher_is_better else reference / self.median

    @property
    def met(self) -> bool | None:
        if self.target_ratio is None or self.ratio is None:
            return None
        return self.ratio >= self.target_ratio

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": _round(self.median),
            "min": _round(min(self.samples)),
            "max": _round(max(self.samples)),
            "runs": len(self.samples),
            "reference": self.reference,
            "reference_median": _round(self.reference_median),
            "reference_min": _round(min(self.reference_samples)) if self.reference_samples else None,
            "reference_max": _round(max(self.reference_samples)) if self.reference_samples else None,
            "ratio": _round(self.ratio, 3),
            "higher_is_better": self.higher_is_better,
            "target_ratio": _round(self.target_ratio, 3),
            "met": self.met,
            "command": self.command,
            "note": self.note,
            **({"extra": self.extra} if self.extra else {}),
        }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 400 values is the 380th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


@contextmanager
def elasticsearch_url() -> Iterator[str]:
    """PARTNER_ARCHIVE_BENCH_ES_URL, or a private local node started (and stopped) here."""
    external = os.environ.get("PARTNER_ARCHIVE_BENCH_ES_URL")
    if external:
        yield external
        return
    from archive.elasticsearch_node import LocalNode, default_distribution_dir

    # Under /tmp with 0755: as root the node runs as a service user that must reach it.
    home = Path(tempfile.mkdtemp(prefix="partner-archive-bench-es-"))
    home.chmod(0o755)
    node = LocalNode(
        home=home,
        distribution_dir=default_distribution_dir(),
        http_port=free_port(),
        transport_port=free_port(),
        heap_mb=int(os.environ.get("PARTNER_ARCHIVE_BENCH_ES_HEAP_MB", "512")),
    )
    log("starting a private Elasticsearch node (heap 512 MB, as in production's default)")
    node.start()
    try:
        yield node.url
    finally:
        node.stop()
        shutil.rmtree(home, ignore_errors=True)


def service_env(data_dir: Path, es_url: str, prefix: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PARTNER_ARCHIVE_DATA_DIR": str(data_dir),
        "PARTNER_ARCHIVE_ES_URL": es_url,
        "PARTNER_ARCHIVE_ES_INDEX_PREFIX": prefix,
        "PARTNER_ARCHIVE_LOG_JSON": "true",
        **extra,
    }


@contextmanager
def service(args: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A service process in its own session, stopped with everything it started."""
    with log_path.open("ab") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@contextmanager
def api_process(env: dict[str, str], log_path: Path) -> Iterator[str]:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "search_api.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with service(args, env, log_path) as process:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"API exited with {process.returncode}; see {log_path}")
            try:
                httpx.get(f"{url}/api/v1/healthz", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"API did not start; see {log_path}") from None
                time.sleep(0.2)
        yield url


@contextmanager
def worker_process(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A worker, yielded once it polls the queue (its start-up is not part of any figure)."""
    with service([sys.executable, "-m", "ingest.worker"], env, log_path) as process:
        deadline = time.monotonic() + 90
        while b"worker.start" not in log_path.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start; see {log_path}")
            time.sleep(0.1)
        time.sleep(0.5)  # the consumer's threads start just after that line
        yield process


def prepare_data_dir(data_dir: Path) -> None:
    from archive.migrate import upgrade_database
    from archive.settings import Settings

    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    upgrade_database(Settings(data_dir=data_dir).resolved_database_url)


def token(data_dir: Path, *, sub: str, roles: str, departments: str, clearance: str) -> str:
    from archive.auth import mint_token
    from archive.settings import Settings

    return mint_token(
        Settings(data_dir=data_dir),
        sub=sub,
        roles=roles.split(","),
        departments=[d for d in departments.split(",") if d],
        clearance=clearance,
    )


def load_now() -> str:
    """The load average and the busiest other processes, for the record of what else ran."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    top = subprocess.run(
        ["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[:5]
    return f"load {' '.join(load)}; top: " + "; ".join(" ".join(line.split()) for line in top)
