"""Extension points for pages: other domains add panels to the ticket page and the board.

A panel is a template plus an async function that builds its context. The ticket page
and the board render every panel `app/wiring.py` registers, in that order, in a fixed
place, so a domain can show its part (SLA clocks, the on-call person, budgets, incidents)
without editing those pages.
Panel templates read their data from `panel.context`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.policy import Principal
from app.registry import Hooks
from app.ticket.models import Ticket

TicketPanelFn = Callable[[AsyncSession, Ticket, Principal], Awaitable[dict[str, Any] | None]]
BoardPanelFn = Callable[[AsyncSession, Principal], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class TicketPanel:
    template: str
    build: TicketPanelFn


@dataclass(frozen=True)
class BoardPanel:
    template: str
    build: BoardPanelFn


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any]


TICKET_PANELS: Hooks[TicketPanel] = Hooks("ticket panels")  # the ticket page's sidebar
BOARD_PANELS: Hooks[BoardPanel] = Hooks("board panels")  # the board's header


async def build_ticket_panels(
    session: AsyncSession, ticket: Ticket, principal: Principal
) -> list[Panel]:
    panels = []
    for spec in TICKET_PANELS:
        ctx = await spec.build(session, ticket, principal)
        if ctx is not None:  # None: nothing to show for this ticket
            panels.append(Panel(spec.template, ctx))
    return panels


async def build_board_panels(session: AsyncSession, principal: Principal) -> list[Panel]:
    panels = []
    for spec in BOARD_PANELS:
        ctx = await spec.build(session, principal)
        if ctx is not None:
            panels.append(Panel(spec.template, ctx))
    return panels
