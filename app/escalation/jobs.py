"""The escalation sweep, run every minute by the worker."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.escalation.service import run_escalations


async def escalation_sweep(session: AsyncSession, now: datetime) -> int:
    return await run_escalations(session, now)
