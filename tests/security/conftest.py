"""Helpers of the security suite: signing in without a browser, a live server, raw requests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from archive.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with the development sign-in on, as `make run` has it."""
    return settings.model_copy(update={"web_dev_login": True})


def web_sign_in(
    client: TestClient, sub: str, *, roles: str = "staff", departments: str = "", clearance: str = "internal"
) -> str:
    """Sign `client` in through the development sign-in page; returns the CSRF token."""
    client.cookies.clear()
    client.get("/login")
    csrf = client.cookies["pa_csrf"]
    response = client.post(
        "/login/dev",
        data={
            "sub": sub,
            "roles": roles.split(","),
            "departments": departments,
            "clearance": clearance,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client.cookies["pa_csrf"]


@contextmanager
def live_server(app: FastAPI, host: str = "127.0.0.1") -> Iterator[int]:
    """The app under uvicorn on a free port, for requests a test client cannot make."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-security", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(port: int, head: str, body: bytes = b"", *, timeout: float = 10.0) -> RawResponse:
    """Send a request head and some body bytes, and read the answer without sending more.

    A server that insists on reading the whole declared body first never answers: the read
    times out and the test fails.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        header_block, _, rest = received.partition(b"\r\n\r\n")
        lines = header_block.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
        }
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            rest += chunk
    return RawResponse(status=int(lines[0].split()[1]), headers=headers, body=rest)
