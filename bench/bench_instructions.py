"""CPU instructions per board request, Firstline against the bare page: a ratio noise cannot move.

    python -m bench.bench_instructions        (needs valgrind; ~3 minutes)

The wall-clock benchmarks share a 2-core machine with its neighbours: on 2026-11-23 the same
bare page measured p50 2.5 ms on one day and 5.4 ms on the next, and a plain Python loop ran
1.8x slower from one minute to the next. Callgrind counts the instructions a request executes
instead, which repeat to within ~0.5 % whatever else the machine is doing. Each side serves
its page in-process through httpx's ASGI transport (no sockets), warms up, and then counts
only its timed requests: instrumentation is switched on around them (`callgrind_control`),
so start-up and shutdown are not counted. Same databases as bench_core: 10,000 open tickets,
each Firstline one with its three SLA clocks.
"""

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import ROOT, table

REQUESTS = 3  # counted requests per side, after 3 uncounted ones


def _counted(cmd: list[str], env: dict[str, str]) -> float:
    """Instructions per request of a child run under callgrind (instrumentation off until it asks)."""
    out = Path(tempfile.mkdtemp(prefix="firstline-cg-")) / "callgrind.out"
    proc = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.bench_instructions",
            *cmd,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
    )
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"callgrind run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return int(match.group(1)) / REQUESTS


async def _serve_counted(app, path: str, login=None) -> None:
    """Child side: warm up, switch callgrind's instrumentation on, make the counted requests, leave."""
    import httpx

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        if login:
            await login(client)
        for _ in range(3):
            assert (await client.get(path)).status_code == 200
        # Blocking on purpose: counting must be on before the first measured request starts.
        instr_on = ["callgrind_control", "--instr=on", str(os.getpid())]
        subprocess.run(instr_on, check=True, capture_output=True)  # noqa: ASYNC221
        for _ in range(REQUESTS):
            assert (await client.get(path)).status_code == 200
        os._exit(0)  # before shutdown and the collector's exit-time pass would be counted


def _child_firstline() -> None:
    os.environ["FIRSTLINE_WORKER_IN_PROCESS"] = "0"  # the request alone, not the background jobs
    from app.main import create_app
    from bench.bench_core import PASSWORD

    async def login(client) -> None:
        form = await client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        res = await client.post(
            "/login", data={"email": "tara@bench.example", "password": PASSWORD, "csrf_token": csrf}
        )
        assert res.status_code == 303, res.text

    async def main() -> None:
        app = create_app()
        async with app.router.lifespan_context(app):
            await _serve_counted(app, "/", login)

    asyncio.run(main())


def _child_bare() -> None:
    from bench import baseline

    async def main() -> None:
        await baseline.setup()
        await _serve_counted(baseline.app, "/board")

    asyncio.run(main())


def run() -> list[str]:
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        return ["bench_instructions: skipped, valgrind is not installed"]
    from bench import bench_core

    workdir = Path(tempfile.mkdtemp(prefix="firstline-bench-"))
    bare_db = workdir / "bare-board.db"
    os.environ["BASELINE_DB"] = str(bare_db)
    from bench import baseline

    asyncio.run(baseline.seed(10_000))
    asyncio.run(baseline.engine.dispose())
    fl_url = f"sqlite:///{workdir / 'board.db'}"
    asyncio.run(bench_core.prepare_firstline(fl_url, 10_000))
    bare = _counted(["child", "bare"], {"BASELINE_DB": str(bare_db)})
    ours = _counted(["child", "firstline"], {"FIRSTLINE_DATABASE_URL": fl_url})
    return [
        table(
            "Board first page (100 of 10,000 open), CPU instructions per request (callgrind; repeatable to ~0.5 %)",
            [
                ("bare 100-row Jinja page", f"{bare / 1e6:.1f} M", "1.0"),
                ("Firstline GET /", f"{ours / 1e6:.1f} M", f"{ours / bare:.1f}"),
            ],
            ("", "instructions", "× bare"),
        )
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        {"firstline": _child_firstline, "bare": _child_bare}[sys.argv[2]]()
    else:
        for block in run():
            print(block)
