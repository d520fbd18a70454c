"""Shared benchmark plumbing: servers as subprocesses on loopback, wrk as the load generator.

Both the bare baseline and Firstline run under the same uvicorn settings (one process,
httptools, no access log), so the ratio measures our code, not the setup. The bare apps run
on uvloop, their fastest loop; Firstline runs on the loop `firstline serve` picks for its
database (`app.cli.event_loop_for`: the standard loop on SQLite).
"""

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def fresh_database(url: str):
    """Point Firstline at `url`, migrate it to head and make it this process's database."""
    os.environ["FIRSTLINE_DATABASE_URL"] = url
    from app.cli import run_migrations
    from app.config import get_settings
    from app.db import Database, set_database
    from app.wiring import wire

    get_settings.cache_clear()
    wire()
    await asyncio.to_thread(run_migrations, url)
    db = Database(get_settings())
    set_database(db)
    return db


@contextmanager
def server(
    target: str,
    env: dict[str, str] | None = None,
    *,
    factory: bool = False,
    ready_path: str = "/healthz",
    loop: str = "uvloop",
):
    """Run `uvicorn target` in a child process until the block ends; yields its base URL."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        loop,
        "--http",
        "httptools",
    ]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + ready_path, timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{target} did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def firstline_server(env: dict[str, str]):
    """Firstline on the database `env` names, on the loop `firstline serve` picks for it."""
    from app.cli import event_loop_for
    from app.config import Settings

    loop = event_loop_for(Settings(database_url=env["FIRSTLINE_DATABASE_URL"]))
    return server("app.main:create_app", env, factory=True, loop=loop)


@dataclass(frozen=True)
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNIT[unit]


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
    threads: int = 2,
) -> Load:
    """Drive `url` with wrk; a Lua script sets the method, body and headers."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the benchmarks: apt-get install wrk")
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = [[{body}]]")
    for name, value in (headers or {}).items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(threads, connections)}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return Load(rps, p50, p99, errors)


def table(title: str, rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    lines = [f"\n{title}", fmt.format(*header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(lines)
