"""Browser tests: a real server on loopback and Debian's Chromium driven by Playwright.

The server runs in a thread with its own event loop and its own database engine; tests
prepare data by handing coroutines to that loop (`live_server.call(fn)`), so every
database call happens on the loop that owns the connection.
"""

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn

from app.db import get_database, set_database
from app.live.broker import set_broker
from tests.integrations.conftest import receiver  # noqa: F401 - a real HTTP receiver on loopback

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        from app.main import create_app

        set_database(None)  # the server's loop builds its own engine on first use
        set_broker(None)
        config = uvicorn.Config(
            create_app(), host="127.0.0.1", port=self.port, log_level="info", lifespan="on"
        )
        self.server = uvicorn.Server(config)

        def run() -> None:
            loop = self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.server.serve())
            finally:
                # Background tasks (e.g. sse-starlette's shutdown watcher) end with the loop,
                # instead of being destroyed while pending when it is garbage-collected.
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)

    def call(self, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run `await fn(session)` on the server's loop and return its result."""

        async def with_session() -> Any:
            async with get_database().session() as session:
                return await fn(session)

        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(with_session(), self.loop).result(timeout=30)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=15)
        set_database(None)
        set_broker(None)


@pytest.fixture
def live_server(settings_env) -> Iterator[LiveServer]:
    server = LiveServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("FIRSTLINE_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} but FIRSTLINE_REQUIRE_BROWSER is set")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Other test folders re-export this fixture; a second sync Playwright in the same thread
    # fails, so every copy shares one browser, closed when the last copy is done.
    if _shared["users"] == 0:
        _shared["pw"] = sync_playwright().start()
        _shared["browser"] = _shared["pw"].chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
    _shared["users"] += 1
    try:
        yield _shared["browser"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared["browser"].close()
            _shared["pw"].stop()


_shared: dict[str, Any] = {"users": 0, "pw": None, "browser": None}


@pytest.fixture
def new_page(browser):
    """Factory for pages in separate browser contexts (separate cookies = separate people)."""
    contexts = []

    def make(viewport=(1366, 820)):
        # The browser's zone and clock are stated too: its Date starts at the test's "now"
        # (the server in this process runs at it) and its zone is UTC whatever TZ the machine has.
        ctx = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            timezone_id="UTC",
            locale="en-US",
        )
        ctx.clock.install(time=datetime.now(UTC))
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def settled(page) -> None:
    """Wait until htmx has finished swapping and settling (handlers are bound to new content)."""
    from playwright.sync_api import expect

    # A locator, not wait_for_function: our CSP (rightly) forbids evaluating strings.
    expect(
        page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    ).to_have_count(0)
