"""The real app under uvicorn on a loopback port, driven by Debian's Chromium through
Playwright; the suite's real Elasticsearch node, real queue and real Tesseract behind it."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from archive.settings import Settings
from search_api.app import create_app

CHROMIUM = os.environ.get("PARTNER_ARCHIVE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "output" / "e2e"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with the development sign-in on, as `make run` has it."""
    return settings.model_copy(update={"web_dev_login": True})


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, name="uvicorn-e2e", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser: Browser, server: str) -> Iterator:  # type: ignore[type-arg]
    """A fresh browser profile per user: `new_context()` or `new_context(viewport=...)`."""
    contexts: list[BrowserContext] = []

    def make(**options: object) -> BrowserContext:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("locale", "zh-CN")
        context = browser.new_context(base_url=server, **options)  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def sign_in(
    context: BrowserContext,
    sub: str,
    *,
    roles: tuple[str, ...] = ("staff",),
    departments: str = "",
    clearance: str = "internal",
) -> Page:
    """Through the development sign-in page, as a person would."""
    page = context.new_page()
    page.goto("/login")
    page.fill("#sub", sub)
    for role in ("staff", "manager", "archivist", "compliance", "admin"):
        page.set_checked(f'input[name="roles"][value="{role}"]', role in roles)
    page.fill("#departments", departments)
    page.select_option("#clearance", clearance)
    page.click('form[action="/login/dev"] button[type="submit"]')
    page.wait_for_url("**/search")
    return page


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
