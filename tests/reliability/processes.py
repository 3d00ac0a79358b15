"""Real service processes for fault tests: a worker and an API, configured by environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from archive.settings import Settings
from tests.conftest import _free_port


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PARTNER_ARCHIVE_DATA_DIR": str(settings.data_dir),
        "PARTNER_ARCHIVE_ES_URL": settings.effective_es_url,
        "PARTNER_ARCHIVE_ES_INDEX_PREFIX": settings.es_index_prefix,
        "PARTNER_ARCHIVE_LEASE_SECONDS": str(settings.lease_seconds),
        "PARTNER_ARCHIVE_MAX_PAGES": str(settings.max_pages),
        "PARTNER_ARCHIVE_OCR_ENGINE": settings.ocr_engine,
        **extra,
    }


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and everything it started (Tesseract children included)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait(timeout=30)


@contextmanager
def worker_process(settings: Settings, log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ingest.worker"],
            env=service_env(settings, **env),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                kill_group(process)


@contextmanager
def api_process(
    settings: Settings, log: Path, *, inside: Sequence[str] = (), **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The API under uvicorn; `inside` is a command that runs it (e.g. in a namespace of its own)."""
    port = _free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                *inside,
                sys.executable,
                "-m",
                "uvicorn",
                "search_api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=service_env(settings, **env),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"{url}/api/v1/healthz", timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        kill_group(process)
        raise RuntimeError(f"API did not start; see {log}")
    try:
        yield process, url
    finally:
        if process.poll() is None:
            kill_group(process)


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def on_a_small_disk(directory: Path, size: str) -> list[str]:
    """A command prefix that runs a program with `directory` on a tmpfs of `size`, seen by it alone.

    A mount namespace of its own: nothing is mounted on the host, and nothing stays mounted
    if the test dies. Root enters it directly (CI); anyone else through a user namespace,
    which Debian and most distributions allow to unprivileged users.
    """
    enter = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--mount"]
    probe = subprocess.run([*enter, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise RuntimeError(
            "a mount namespace of its own is refused here "
            f"({' '.join(enter)}: {probe.stderr.strip()}); run as root or enable unprivileged "
            "user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
        )
    mount = 'mount -t tmpfs -o "size=$1" tmpfs "$0" && shift && exec "$@"'
    return [*enter, "sh", "-c", mount, str(directory), size]


def as_seen_by(process: subprocess.Popen[bytes], path: Path) -> Path:
    """`path` as the process sees it, through its own mount namespace."""
    return Path(f"/proc/{process.pid}/root") / path.relative_to("/")
