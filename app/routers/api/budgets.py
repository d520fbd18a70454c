"""/api/v1: time entries on tickets and each community's support budget."""

from fastapi import APIRouter, status
from pydantic import Field
from sqlmodel import SQLModel

from app.budget import service
from app.budget.models import BudgetPublic, TimeEntryCreate, TimeEntryPublic, TimeEntryUpdate
from app.budget.views import entry_views
from app.community.models import BudgetPeriod
from app.db import pk
from app.deps import SessionDep
from app.routers.api import communities, tickets
from app.routers.api.common import errors
from app.routers.api.communities import CommunityDep, WritableCommunityDep
from app.routers.api.tickets import TicketDep, TicketRef

router = APIRouter(tags=["budgets"])

# The same rules as the lookups these routes use depend on, so each route has exactly one.
TicketReader = tickets.Reader
TicketWriter = tickets.Writer
CommunityReader = communities.Reader
CommunityWriter = communities.Writer


class BudgetIn(SQLModel):
    budget_hours: float | None = Field(
        default=None, ge=0, le=100_000, description="Hours per period; null: no budget"
    )
    budget_period: BudgetPeriod = BudgetPeriod.month
    funded: bool = False


@router.get(
    "/tickets/{ref}/time-entries",
    response_model=list[TimeEntryPublic],
    responses=errors(401, 403, 404),
)
async def read_time_entries(ticket: TicketDep, session: SessionDep, principal: TicketReader):
    return await entry_views(session, await service.list_time_entries(session, pk(ticket)))


@router.post(
    "/tickets/{ref}/time-entries",
    status_code=status.HTTP_201_CREATED,
    response_model=TimeEntryPublic,
    responses=errors(400, 401, 403, 404, 422),
    summary="Log time spent on a ticket",
)
async def create_time_entry(
    ref: TicketRef, data: TimeEntryCreate, session: SessionDep, principal: TicketWriter
):
    """The time counts against the budget of the ticket's community for the period it was spent in."""
    return (
        await entry_views(session, [await service.log_time(session, ref, data, actor=principal)])
    )[0]


@router.patch(
    "/tickets/{ref}/time-entries/{entry_id}",
    response_model=TimeEntryPublic,
    responses=errors(400, 401, 403, 404, 422),
    summary="Correct a time entry",
)
async def update_time_entry(
    ref: TicketRef,
    entry_id: int,
    data: TimeEntryUpdate,
    session: SessionDep,
    principal: TicketWriter,
):
    return (
        await entry_views(
            session, [await service.correct_time(session, ref, entry_id, data, actor=principal)]
        )
    )[0]


@router.delete(
    "/tickets/{ref}/time-entries/{entry_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 403, 404),
    summary="Delete a time entry logged by mistake",
)
async def delete_time_entry(
    ref: TicketRef, entry_id: int, session: SessionDep, principal: TicketWriter
) -> None:
    await service.delete_time(session, ref, entry_id, actor=principal)


@router.get(
    "/communities/{slug}/budget",
    response_model=BudgetPublic,
    responses=errors(401, 403, 404),
    summary="Budget use in the current period",
)
async def read_budget(community: CommunityDep, session: SessionDep, principal: CommunityReader):
    return await service.budget_of(session, community)


@router.put(
    "/communities/{slug}/budget",
    response_model=BudgetPublic,
    responses=errors(400, 401, 403, 404, 422),
    summary="Set hours per period and whether requests are funded",
)
async def put_budget(
    data: BudgetIn, community: WritableCommunityDep, session: SessionDep, principal: CommunityWriter
):
    row = await service.set_budget(
        session,
        community,
        budget_hours=data.budget_hours,
        period=data.budget_period,
        funded=data.funded,
        actor=principal,
    )
    return await service.budget_of(session, row)
