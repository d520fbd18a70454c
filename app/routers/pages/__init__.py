"""HTML pages: server-rendered Jinja2, enhanced with htmx."""

from fastapi import APIRouter

from app.routers.pages import auth, board, intake, tickets
from app.routers.pages import budgets, portal  # access (issue 3)
from app.routers.pages import rota
from app.routers.pages import incidents
from app.routers.pages import sla
from app.routers.pages import reports
from app.routers.pages import integrations, webhooks  # issue 7
from app.routers.pages import users

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
