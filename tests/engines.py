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


class PostgresServer:
    """A throwaway PostgreSQL cluster on a free loopback port, which a test may stop and start."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.fail("PostgreSQL 15 server binaries are missing: apt-get install postgresql (make test does)")
        self.home = Path(tempfile.mkdtemp(prefix="partner-archive-pg-"))
        self.home.chmod(0o755)
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.home, account.pw_uid, account.pw_gid)
        self.data, self.port = self.home / "data", _free_port()
        subprocess.run(_as_service_user([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                                         "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, capture_output=True)
        self.start()
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c",
                        "CREATE DATABASE archive"], check=True, capture_output=True)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/archive"

    def start(self) -> None:
        subprocess.run(_as_service_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.home / "log"),
                                         "-w", "-o", f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1",
                                         "start"]),
                       check=True, capture_output=True)

    def stop(self, *, check: bool = True) -> None:
        subprocess.run(_as_service_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                       check=check, capture_output=True)


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop(check=False)
        shutil.rmtree(server.home, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.url


class RedisServer:
    """A redis-server on a free loopback port with its append-only file, which a test may stop and start."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is missing: apt-get install redis-server (make test does)")
        self.home = Path(tempfile.mkdtemp(prefix="partner-archive-redis-"))
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.home),
             "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                             capture_output=True, text=True).stdout.strip() != "PONG":
            if time.monotonic() > deadline:
                self.process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.home, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url
