"""The `firstline` command: migrate, serve, demo data, users and tokens."""

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from app.config import Settings, get_settings

cli = typer.Typer(
    help="Firstline: the support front line.", no_args_is_help=True, add_completion=False
)
user_cli = typer.Typer(help="Manage people.", no_args_is_help=True)
token_cli = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
cli.add_typer(user_cli, name="user")
cli.add_typer(token_cli, name="token")

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str | None = None):
    from alembic.config import Config

    from app.db import sync_url

    ini = ROOT / "alembic.ini"
    if not ini.exists():
        ini = Path.cwd() / "alembic.ini"
    config = Config(str(ini))
    config.set_main_option("script_location", str(ini.parent / "alembic"))
    config.attributes["database_url"] = sync_url(database_url or get_settings().database_url)
    config.attributes["configure_logging"] = False
    return config


def run_migrations(database_url: str | None = None) -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


def _run(make: Callable[..., Awaitable[T]]) -> T:
    """Run one async use case with its own database session, then dispose of the engine."""
    from app.db import get_database
    from app.wiring import wire

    wire()

    async def main() -> T:
        database = get_database()
        try:
            async with database.session() as session:
                return await make(session)
        finally:
            await database.dispose()

    return asyncio.run(main())


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@cli.command()
def migrate() -> None:
    """Upgrade the database schema to the newest version."""
    run_migrations()
    typer.echo("database is up to date", err=True)


def event_loop_for(settings: Settings) -> str:
    """The asyncio loop uvicorn should run.

    On SQLite a request does its database work on the loop's own thread and so runs from
    start to finish without yielding (app/sqlite_driver.py). Under load uvloop then left some
    connections waiting for seconds (intake at 32 connections: p99 5.2 s) where the standard
    loop serves them in turn (p99 0.55–0.59 s, same throughput). PostgreSQL requests yield on
    every query, and there uvloop is the faster loop.
    """
    return "asyncio" if settings.is_sqlite else "auto"


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[
        int, typer.Option(help="worker processes (PostgreSQL only; SQLite uses one)")
    ] = 1,
    reload: Annotated[bool, typer.Option(help="restart on code changes (development)")] = False,
) -> None:
    """Serve the web app and API."""
    import uvicorn

    settings = get_settings()
    if settings.is_sqlite and workers > 1:
        typer.echo("SQLite serves from one process; use PostgreSQL for more workers", err=True)
        workers = 1
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        loop=event_loop_for(settings),
        log_level=settings.log_level,
        proxy_headers=settings.trust_proxy_headers,
    )


@cli.command()
def worker() -> None:
    """Run background jobs (SLA sweeps, reminders, escalations, deliveries) until stopped."""
    import signal

    from app.db import get_database
    from app.wiring import wire
    from app.worker.runner import Runner

    wire()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        database = get_database()
        try:
            await Runner(database).run_forever(stop)
        finally:
            await database.dispose()

    asyncio.run(main())


@cli.command()
def demo() -> None:
    """Fill an empty database with realistic demo data (does nothing if tickets exist)."""
    from app.demo import seed_demo

    typer.echo(_run(seed_demo), err=True)


@user_cli.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="e-mail address, used to sign in")],
    name: Annotated[str, typer.Option(help="display name")],
    role: Annotated[str, typer.Option(help="admin, triager, agent or viewer")] = "agent",
    password: Annotated[
        str | None, typer.Option(help="at least 10 characters; prompted if omitted")
    ] = None,
) -> None:
    """Create a staff user."""
    from pydantic import ValidationError

    from app.errors import AppError
    from app.user.models import StaffRole, UserCreate
    from app.user.service import create_user

    if role not in StaffRole.__members__:
        _fail(f"role must be one of {', '.join(StaffRole.__members__)}")
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(email=email, name=name, staff_role=StaffRole(role), password=password)
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    try:
        user = _run(lambda s: create_user(s, data))
    except AppError as exc:
        _fail(exc.detail)
    typer.echo(f"created {user.staff_role} {user.email} (id {user.id})", err=True)


@token_cli.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="the staff user the token acts as")],
    name: Annotated[str, typer.Option(help="what the token is for, e.g. 'github-action'")],
    scopes: Annotated[
        str | None,
        typer.Option(
            help="space- or comma-separated, e.g. 'tickets:read tickets:write'; "
            "default: everything the user's role allows"
        ),
    ] = None,
) -> None:
    """Create an API token; prints only the token on standard output."""
    from app.errors import AppError
    from app.user.service import create_api_token

    try:
        token, api_token = _run(
            lambda s: create_api_token(s, email=email, name=name, scopes=scopes)
        )
    except AppError as exc:
        _fail(exc.detail)
    typer.echo(f"token {api_token.display_prefix}… scopes: {api_token.scopes}", err=True)
    sys.stdout.write(token + "\n")


@token_cli.command("list")
def token_list(
    email: Annotated[str | None, typer.Option(help="only this user's tokens")] = None,
) -> None:
    """List API tokens (id, owner, name, prefix, scopes, last use, revoked)."""
    from app.user.models import User
    from app.user.service import get_user_by_email, list_api_tokens

    async def rows(session):
        user_id = None
        if email is not None:
            user = await get_user_by_email(session, email)
            if user is None:
                return None
            user_id = user.id
        tokens = await list_api_tokens(session, user_id=user_id)
        owners = {u.id: u.email for u in (await session.exec(select(User))).all()}
        return [(t, owners.get(t.user_id, "?")) for t in tokens]

    from sqlmodel import select

    found = _run(rows)
    if found is None:
        _fail(f"no user with e-mail {email}")
    for t, owner in found:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        typer.echo(
            f"{t.id}\t{owner}\t{t.name}\t{t.display_prefix}…\t{t.scopes}\tlast used {used}\t{state}"
        )


@token_cli.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="the id shown by `firstline token list`")],
) -> None:
    """Revoke an API token: requests with it are refused from now on."""
    from app.errors import AppError
    from app.user.service import revoke_api_token

    try:
        token = _run(lambda s: revoke_api_token(s, token_id, by=None))
    except AppError as exc:
        _fail(exc.detail)
    typer.echo(f"revoked token {token.id} ({token.name}, {token.display_prefix}…)", err=True)


@cli.command("ingest-email")
def ingest_email_cmd() -> None:
    """Read one RFC 822 message on standard input (for an MTA pipe) and file it as a ticket or reply."""
    from pydantic import ValidationError

    from app.errors import AppError
    from app.integrations.email import ingest_email

    raw = sys.stdin.buffer.read()
    if not raw.strip():
        _fail("no message on standard input")
    try:
        outcome = _run(lambda s: ingest_email(s, raw))
    except (AppError, ValidationError) as exc:
        typer.echo(f"error: {getattr(exc, 'detail', exc)}", err=True)
        raise typer.Exit(65) from None  # EX_DATAERR: the MTA bounces it instead of retrying forever
    typer.echo(f"{outcome.result} {outcome.ticket or ''} {outcome.detail}".strip(), err=True)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
