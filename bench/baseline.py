"""The bare FastAPI baseline: the same work with no Firstline code around it.

POST /tickets inserts one row (async SQLAlchemy on SQLite WAL, commits serialised in
process: the fastest bare insert of the stock setups). POST /tickets-inline does the same
with the standard library's sqlite3 called on the event loop's thread, which is how
Firstline's own SQLite driver works (app/sqlite_driver.py); it is the faster of the two here,
so the intake ratio is taken against it. GET /board renders the first 100 of the open rows,
ordered by an indexed key, through a small Jinja template.
"""

import asyncio
import os
import sqlite3
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import create_async_engine

DB = os.environ.get("BASELINE_DB", "/tmp/baseline.db")
engine = create_async_engine(f"sqlite+aiosqlite:///{DB}")
meta = sa.MetaData()
ticket = sa.Table(
    "ticket",
    meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(200)),
    sa.Column("body", sa.Text),
    sa.Column("requester_email", sa.String(254)),
    sa.Column("status", sa.String(24)),
    sa.Column("rank_key", sa.String(64), index=True),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)
write_lock = asyncio.Lock()
page = Environment(autoescape=True).from_string(
    "<!doctype html><title>board</title><ol>{% for t in rows %}"
    "<li id='row-{{ t.id }}'><a href='/tickets/{{ t.id }}'>SUP-{{ t.id }} {{ t.title }}</a>"
    " <span>{{ t.status }}</span> <small>{{ t.requester_email }} · {{ t.created_at }}</small></li>"
    "{% endfor %}</ol>"
)
app = FastAPI()
_inline: list[sqlite3.Connection] = []  # opened at startup, after the table and WAL exist


@app.on_event("startup")
async def setup() -> None:
    async with engine.begin() as conn:
        await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        await conn.run_sync(meta.create_all)
    if not _inline:
        _inline.append(sqlite3.connect(DB, isolation_level=None, check_same_thread=False))


class TicketIn(BaseModel):
    title: str
    body: str = ""
    requester_email: str


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.post("/tickets", status_code=201)
async def create(data: TicketIn) -> dict:
    async with write_lock, engine.begin() as conn:
        result = await conn.execute(
            ticket.insert().values(
                title=data.title,
                body=data.body,
                requester_email=data.requester_email,
                status="new",
                rank_key="5",
                created_at=datetime.now(UTC),
            )
        )
    return {"id": result.inserted_primary_key[0], "title": data.title}


@app.post("/tickets-inline", status_code=201)
async def create_inline(data: TicketIn) -> dict:
    # Autocommit: the INSERT is its own transaction. Nothing awaits in between, so no lock.
    cursor = _inline[0].execute(
        "INSERT INTO ticket (title, body, requester_email, status, rank_key, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (data.title, data.body, data.requester_email, "new", "5", datetime.now(UTC).isoformat(" ")),
    )
    return {"id": cursor.lastrowid, "title": data.title}


@app.get("/board", response_class=HTMLResponse)
async def board() -> str:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                ticket.select()
                .where(ticket.c.status.in_(["new", "open"]))
                .order_by(ticket.c.rank_key)
                .limit(100)
            )
        ).all()
    return page.render(rows=rows)


async def seed(n: int) -> None:
    await setup()
    async with engine.begin() as conn:
        await conn.execute(
            ticket.insert(),
            [
                {
                    "title": f"Seeded ticket {i}",
                    "body": "",
                    "requester_email": f"r{i}@example.org",
                    "status": "open",
                    "rank_key": f"{i:08d}",
                    "created_at": datetime.now(UTC),
                }
                for i in range(n)
            ],
        )
