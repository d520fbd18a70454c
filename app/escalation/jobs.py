"""The escalation sweep, run every minute by the worker."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.escalation.service import run_escalations
from app.worker.jobs import periodic


@periodic("escalation", every_seconds=60)
async def escalation_sweep(session: AsyncSession, now: datetime) -> int:
    return await run_escalations(session, now)
