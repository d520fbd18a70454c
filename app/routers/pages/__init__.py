"""HTML pages: server-rendered Jinja2, enhanced with htmx."""

from fastapi import APIRouter

from app.routers.pages import auth, board, intake, tickets

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(board.router)
router.include_router(tickets.router)
router.include_router(intake.router)
