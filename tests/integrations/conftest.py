"""Real receivers on loopback: an HTTP server recording what it is sent, an SMTP server (aiosmtpd)."""

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.integrations.settings import get_integration_settings
from app.wiring import wire


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers `status` (a list is used in order, the last repeats); `hang` holds requests until released."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: list[int] = field(default_factory=lambda: [200])
    hang: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    reply: bytes = b'{"ok": true}'
    replies: list[bytes] = field(
        default_factory=list
    )  # bodies in order, like `status`; `reply` when empty
    reply_headers: dict[str, str] = field(default_factory=dict)
    arrivals: list[Received] = field(
        default_factory=list
    )  # every request, including ones never answered


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    box = Receiver(url=f"http://127.0.0.1:{port}/hook")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            box.arrivals.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            box.arrived.set()
            if box.hang is not None:
                box.hang.wait(timeout=30)
                return  # never answer: the connection drops when the test ends
            box.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            status = box.status.pop(0) if len(box.status) > 1 else box.status[0]
            reply = (
                (box.replies.pop(0) if len(box.replies) > 1 else box.replies[0])
                if box.replies
                else box.reply
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in box.reply_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    if box.hang is not None:
        box.hang.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def integration_settings(settings_env, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FIRSTLINE_DELIVERY_BACKOFF_SECONDS", "10")
    monkeypatch.setenv("FIRSTLINE_DELIVERY_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("FIRSTLINE_DELIVERY_LEASE_SECONDS", "60")
    monkeypatch.setenv("FIRSTLINE_DELIVERY_TIMEOUT_SECONDS", "5")
    get_integration_settings.cache_clear()
    wire()  # the handlers, hooks and listeners, wired as the app and the worker wire them
    yield
    get_integration_settings.cache_clear()


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list = field(default_factory=list)  # (envelope rcpt_tos, email.message.Message)
    refuse: int | None = None  # answer DATA with this SMTP code instead of accepting


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on loopback; the app is pointed at it."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    port = free_port()
    box = Mailbox(host="127.0.0.1", port=port)

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            if box.refuse:
                return f"{box.refuse} refused by test"
            box.messages.append(
                (
                    list(envelope.rcpt_tos),
                    message_from_bytes(envelope.content, policy=policy.default),
                )
            )
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("FIRSTLINE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FIRSTLINE_SMTP_PORT", str(port))
    monkeypatch.setenv("FIRSTLINE_MAIL_FROM", "support@desk.example")
    monkeypatch.setenv("FIRSTLINE_MAIL_DOMAIN", "desk.example")
    get_integration_settings.cache_clear()
    yield box
    controller.stop()
    get_integration_settings.cache_clear()
