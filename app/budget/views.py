"""Shaping time entries for output, shared by the JSON API and the pages."""

from sqlmodel.ext.asyncio.session import AsyncSession

from app.budget.models import TimeEntry, TimeEntryPublic
from app.ticket.views import users_by_id


async def entry_views(session: AsyncSession, entries: list[TimeEntry]) -> list[TimeEntryPublic]:
    """Time entries with the name of who logged each (one query for the whole list)."""
    people = await users_by_id(session, {e.user_id for e in entries})
    return [
        TimeEntryPublic(
            **e.model_dump(exclude={"created_at"}),
            user_name=people[e.user_id].name if e.user_id in people else None,
        )
        for e in entries
    ]


def hours(minutes: int) -> str:
    """Time spent as people read it: "45m", "2h 05m"."""
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
