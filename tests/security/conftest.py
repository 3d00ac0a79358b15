"""Helpers of the security suite: signing in to the web pages without a browser."""

from __future__ import annotations

import pytest
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
