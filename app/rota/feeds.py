"""Secret calendar URLs: subscribe without signing in, revoke when the URL leaks.

The token is random, shown once, and only its SHA-256 is stored (like API tokens). A feed
is a whole schedule, one person's shifts in one schedule, or a personal feed: one person's
shifts across every schedule they are on.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import record_event
from app.auth.policy import Principal
from app.auth.secrets import new_token, token_digest
from app.config import get_settings
from app.db import pk, transaction, utcnow
from app.errors import Forbidden, InvalidInput, NotFound
from app.rota import service
from app.rota.ical import build_calendar
from app.rota.models import Feed, Member, Schedule
from app.rota.schedule import Shift

FEED_PREFIX = "flcal_"
PAST = timedelta(days=60)
AHEAD = timedelta(days=366)


def feed_url(token: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}/calendar/{token}.ics"


async def create_feed(
    session: AsyncSession, principal: Principal, *, schedule_id: int | None, user_id: int | None
) -> tuple[Feed, str]:
    """A new secret URL; returns the row and the token (shown once)."""
    if schedule_id is None and user_id is None:
        raise InvalidInput("name a schedule, a person, or both", code="bad_feed")
    if schedule_id is not None and await service.get_schedule(session, schedule_id) is None:
        raise NotFound(f"schedule {schedule_id} does not exist")
    if (
        user_id is not None
        and user_id != principal.user_id
        and not principal.can("schedules:write")
    ):
        raise Forbidden("you may make a personal feed only for yourself", code="not_yours")
    if user_id is not None:
        await service.check_staff(session, {user_id}, "user_id")
    token = new_token(FEED_PREFIX)
    async with transaction(session):
        feed = Feed(
            token_hash=token_digest(token),
            schedule_id=schedule_id,
            user_id=user_id,
            created_by_id=principal.user_id,
        )
        session.add(feed)
        await session.flush()
        record_event(
            session,
            "feed.created",
            subject_type="schedule",
            subject_id=schedule_id or 0,
            actor_id=principal.user_id,
            data={"feed_id": feed.id, "user_id": user_id},
        )
    return feed, token


async def list_feeds(session: AsyncSession, principal: Principal) -> list[Feed]:
    stmt = select(Feed).where(Feed.created_by_id == principal.user_id).order_by(col(Feed.id))
    return list((await session.exec(stmt)).all())


async def revoke_feed(session: AsyncSession, principal: Principal, feed_id: int) -> None:
    feed = await session.get(Feed, feed_id)
    if feed is None or (
        feed.created_by_id != principal.user_id and not principal.can("schedules:write")
    ):
        raise NotFound(f"feed {feed_id} does not exist")
    if feed.revoked_at is not None:
        return
    async with transaction(session):
        feed.revoked_at = utcnow()
        session.add(feed)
        record_event(
            session,
            "feed.revoked",
            subject_type="schedule",
            subject_id=feed.schedule_id or 0,
            actor_id=principal.user_id,
            data={"feed_id": feed.id},
        )


async def feed_by_token(session: AsyncSession, token: str) -> Feed | None:
    if not token.startswith(FEED_PREFIX):
        return None
    feed = (await session.exec(select(Feed).where(Feed.token_hash == token_digest(token)))).first()
    return feed if feed is not None and feed.revoked_at is None else None


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def default_window(now: datetime) -> Window:
    """Two months back and a year ahead, from midnight UTC so a day's fetches agree."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    return Window(midnight - PAST, midnight + AHEAD)


def requested_window(start: datetime | None, end: datetime | None, now: datetime) -> Window:
    """A feed's `from`/`to`, each defaulting to `default_window`; 422 on a bad window."""
    default = default_window(now)
    window = Window(start or default.start, end or default.end)
    service.check_window(window.start, window.end)
    return window


async def render_feed(
    session: AsyncSession,
    *,
    schedule: Schedule | None,
    user_id: int | None,
    window: Window,
    now: datetime,
) -> bytes:
    """The calendar of one schedule (optionally one person's part of it), or one person's shifts everywhere."""
    if schedule is not None:
        schedules = [schedule]
    else:
        ids = (
            await session.exec(
                select(Member.schedule_id).where(Member.user_id == user_id).distinct()
            )
        ).all()
        schedules = [s for s in await service.list_schedules(session) if s.id in set(ids)]
    rows: list[tuple[int, str, Shift]] = []
    for s in schedules:
        for shift in await service.final_shifts(
            session, s, window.start, window.end, user_id=user_id
        ):
            rows.append((pk(s), s.name, shift))
    users = await service.users_by_id(session, {shift.user_id for _, _, shift in rows} | {user_id})
    if schedule is not None:
        name = schedule.name if user_id is None else f"{schedule.name}: {users[user_id].name}"
    else:
        name = f"On call: {users[user_id].name}" if user_id in users else "On call"
    rows.sort(key=lambda r: (r[2].start, r[0], r[2].role))
    return build_calendar(name, rows, users, stamp=now)


async def render_feed_for_token(
    session: AsyncSession, token: str, now: datetime, window: Window | None = None
) -> bytes:
    feed = await feed_by_token(session, token)
    if feed is None:
        raise NotFound("no such calendar feed (it may have been revoked)", code="unknown_feed")
    schedule = await service.get_schedule(session, feed.schedule_id) if feed.schedule_id else None
    return await render_feed(
        session,
        schedule=schedule,
        user_id=feed.user_id,
        window=window or default_window(now),
        now=now,
    )
