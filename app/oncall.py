"""Who is on call right now: the rota answers, triage and escalation ask.

The rota's resolver is registered in `app/wiring.py`; incidents (escalation) and the board
(who to offer a ticket to) call `on_call_user_ids` without importing the rota. With no rota
configured the answer is an empty list, and callers fall back to their own rule.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.registry import Hooks

# (session, role, at) -> user ids holding `role` (e.g. "triager", "responder") at instant `at`,
# primary first. `schedule_id` narrows the answer to one schedule when given.
OnCallResolver = Callable[..., Awaitable[list[int]]]
ON_CALL_RESOLVERS: Hooks[OnCallResolver] = Hooks("on-call resolvers")  # filled by app/wiring.py


async def on_call_user_ids(
    session: AsyncSession, role: str, at: datetime, *, schedule_id: int | None = None
) -> list[int]:
    for resolver in ON_CALL_RESOLVERS:
        found = await resolver(session, role, at, schedule_id=schedule_id)
        if found:
            return found
    return []
