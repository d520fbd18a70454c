"""The JSON API under /api/v1, plus the health probes."""

from fastapi import APIRouter
from sqlalchemy import text

from app.db import get_database
from app.deps import public
from app.errors import AppError
from app.routers.api import (  # issue 7
    alerts,
    budgets,  # access (issue 3)
    communities,
    incidents,
    integrations,
    reports,
    schedules,
    sla,
    tickets,
    users,
    webhooks,
)

router = APIRouter()
v1 = APIRouter(prefix="/api/v1")
v1.include_router(tickets.router)
v1.include_router(tickets.canned_router)
v1.include_router(communities.router)
v1.include_router(users.router)
v1.include_router(schedules.router)
v1.include_router(schedules.feeds_router)
v1.include_router(schedules.handoffs_router)
v1.include_router(incidents.router)
v1.include_router(alerts.router)
v1.include_router(budgets.router)
v1.include_router(sla.router)
v1.include_router(reports.router)
v1.include_router(webhooks.router)  # issue 7
v1.include_router(integrations.router)  # issue 7
router.include_router(v1)
# Secret-URL calendar feeds sit outside /api/v1: the token in the URL is their only credential.
router.include_router(schedules.calendar_router)


class NotReady(AppError):
    status_code = 503
    code = "not_ready"


@router.get(
    "/healthz",
    tags=["health"],
    summary="The process is up",
    dependencies=[public("liveness probe")],
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["health"],
    summary="The database answers",
    dependencies=[public("readiness probe")],
    responses={503: {"description": "The database does not answer"}},
)
async def readyz() -> dict[str, str]:
    try:
        async with get_database().engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise NotReady(f"database unavailable: {type(exc).__name__}") from exc
    return {"status": "ok", "database": get_database().engine.dialect.name}
