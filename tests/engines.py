"""Real PostgreSQL and Redis servers, started per test module on free loopback ports."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_service_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the Debian package brings the `postgres` user.
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 server binaries are missing: apt-get install postgresql (make test does)")
    home = Path(tempfile.mkdtemp(prefix="partner-archive-pg-"))
    home.chmod(0o755)
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(home, account.pw_uid, account.pw_gid)
    data, port = home / "data", _free_port()
    subprocess.run(_as_service_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_service_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w",
                                     "-o", f"-p {port} -k {home} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", "CREATE DATABASE archive"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/archive"
    finally:
        subprocess.run(_as_service_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: apt-get install redis-server (make test does)")
    home = Path(tempfile.mkdtemp(prefix="partner-archive-redis-"))
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home), "--appendonly", "yes",
         "--save", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() != "PONG":
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(home, ignore_errors=True)
