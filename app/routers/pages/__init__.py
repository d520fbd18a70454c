"""HTML pages: server-rendered Jinja2, enhanced with htmx."""

from fastapi import APIRouter

from app.routers.pages import (  # access (issue 3)  # issue 7
    auth,
    board,
    budgets,
    incidents,
    intake,
    integrations,
    portal,
    reports,
    rota,
    sla,
    tickets,
    users,
    webhooks,
)

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(board.router)
router.include_router(tickets.router)
router.include_router(intake.router)
router.include_router(portal.signin)
router.include_router(portal.router)
router.include_router(budgets.router)
router.include_router(rota.router)
router.include_router(incidents.router)
router.include_router(sla.router)
router.include_router(reports.router)
router.include_router(webhooks.router)  # issue 7
router.include_router(integrations.router)  # issue 7
router.include_router(users.router)
