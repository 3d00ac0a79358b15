"""Real service processes for fault tests: a worker and an API, configured by environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
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
def worker_process(settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ingest.worker"],
            env=service_env(settings),
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
def api_process(settings: Settings, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
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
            env=service_env(settings),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
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
