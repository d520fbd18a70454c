"""Rota fixtures: a few staff people and an admin token."""

from dataclasses import dataclass
from datetime import date, time

import pytest

from app.rota import service
from app.rota.models import RoleIn, Schedule, ScheduleIn
from app.user.models import StaffRole, User
from tests.factories import bearer, make_token, make_user
from tests.pages.conftest import csrf, triager  # noqa: F401 - a signed-in staff client for page tests


@dataclass
class Team:
    ana: User
    bo: User
    cy: User
    headers: dict[str, str]  # an admin's bearer token


@pytest.fixture
async def team(session) -> Team:
    ana = await make_user(session, StaffRole.admin, name="Ana", email="ana@desk.example")
    bo = await make_user(session, StaffRole.triager, name="Bo", email="bo@desk.example")
    cy = await make_user(session, StaffRole.agent, name="Cy", email="cy@desk.example")
    return Team(ana, bo, cy, bearer(await make_token(session, ana)))


async def make_schedule(
    session,
    members: list[User],
    *,
    zone: str = "Europe/Berlin",
    kind: str = "weekly",
    anchor: date = date(2026, 1, 5),
    at: time = time(9),
    roles: dict[str, list[User]] | None = None,
    duties: list[str] = (),
    **extra,
) -> Schedule:
    role_list = [RoleIn(name="triager", members=[u.id for u in members], duties=list(duties))]
    for name, people in (roles or {}).items():
        role_list.append(RoleIn(name=name, members=[u.id for u in people]))
    data = ScheduleIn(
        name="Support rota",
        kind=kind,
        zone=zone,
        anchor_date=anchor,
        handoff_time=at,
        roles=role_list,
        **extra,
    )
    return await service.create_schedule(session, data, actor_id=None)
