"""Extension points for pages: other domains add panels to the ticket page and the board.

A panel is a template plus an async function that builds its context. The ticket page
and the board render every registered panel in a fixed place, so a domain can show its
part (SLA clocks, the on-call person, budgets, incidents) without editing those pages.
Panel templates read their data from `panel.context`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.policy import Principal
from app.ticket.models import Ticket

TicketPanelFn = Callable[[AsyncSession, Ticket, Principal], Awaitable[dict[str, Any] | None]]
BoardPanelFn = Callable[[AsyncSession, Principal], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class PanelSpec:
    template: str
    build: Callable[..., Awaitable[dict[str, Any] | None]]
    order: int = 100


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any]


TICKET_PANELS: list[PanelSpec] = []  # rendered in the ticket page's sidebar
BOARD_PANELS: list[PanelSpec] = []  # rendered in the board's header


def ticket_panel(template: str, *, order: int = 100) -> Callable[[TicketPanelFn], TicketPanelFn]:
    def register(fn: TicketPanelFn) -> TicketPanelFn:
        TICKET_PANELS.append(PanelSpec(template, fn, order))
        TICKET_PANELS.sort(key=lambda p: p.order)
        return fn

    return register


def board_panel(template: str, *, order: int = 100) -> Callable[[BoardPanelFn], BoardPanelFn]:
    def register(fn: BoardPanelFn) -> BoardPanelFn:
        BOARD_PANELS.append(PanelSpec(template, fn, order))
        BOARD_PANELS.sort(key=lambda p: p.order)
        return fn

    return register


async def build_ticket_panels(session: AsyncSession, ticket: Ticket, principal: Principal) -> list[Panel]:
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
