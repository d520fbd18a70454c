"""/api/v1/communities and /api/v1/users."""

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.community.models import Community
from app.user.models import StaffRole, User
from tests.factories import bearer, make_token, make_user


@pytest.fixture
async def admin(session):
    return bearer(await make_token(session, await make_user(session, StaffRole.admin, name="Ana")))


@pytest.fixture
async def agent(session):
    return bearer(await make_token(session, await make_user(session, StaffRole.agent, name="Abe")))


async def test_create_read_and_list_communities(client, admin):
    res = await client.post(
        "/api/v1/communities",
        headers=admin,
        json={
            "slug": "uni",
            "name": "University",
            "funded": True,
            "budget_hours": 20,
            "allowed_origins": ["https://uni.example"],
        },
    )
    assert res.status_code == 201, res.text
    assert res.headers["location"] == "/api/v1/communities/uni"
    assert res.json()["allowed_origins"] == ["https://uni.example"]
    assert (await client.get("/api/v1/communities/uni", headers=admin)).json()["funded"] is True
    assert [c["slug"] for c in (await client.get("/api/v1/communities", headers=admin)).json()] == [
        "uni"
    ]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"slug": "Not A Slug", "name": "X"}, 422),
        ({"slug": "ok", "name": "X", "budget_hours": -1}, 422),
        ({"slug": "ok"}, 422),
    ],
)
async def test_bad_community_is_refused_and_nothing_is_written(
    client, admin, session, body, status
):
    res = await client.post("/api/v1/communities", headers=admin, json=body)
    assert res.status_code == status
    assert res.json()["code"]
    assert (await session.exec(select(func.count()).select_from(Community))).one() == 0


async def test_duplicate_slug_is_409(client, admin):
    body = {"slug": "uni", "name": "University"}
    assert (await client.post("/api/v1/communities", headers=admin, json=body)).status_code == 201
    res = await client.post("/api/v1/communities", headers=admin, json=body)
    assert res.status_code == 409


async def test_agents_read_but_do_not_create_communities(client, agent):
    res = await client.post("/api/v1/communities", headers=agent, json={"slug": "uni", "name": "U"})
    assert res.status_code == 403
    assert res.json()["code"] == "forbidden"
    assert (await client.get("/api/v1/communities", headers=agent)).status_code == 200


async def test_members_and_representatives(client, admin):
    await client.post(
        "/api/v1/communities", headers=admin, json={"slug": "uni", "name": "University"}
    )
    res = await client.put(
        "/api/v1/communities/uni/members",
        headers=admin,
        json={"email": "Ada@Uni.example", "name": "Ada", "role": "representative"},
    )
    assert res.status_code == 200, res.text
    assert (res.json()["email"], res.json()["role"]) == ("ada@uni.example", "representative")
    # Putting the same person again changes their role instead of adding a second membership.
    await client.put(
        "/api/v1/communities/uni/members",
        headers=admin,
        json={"email": "ada@uni.example", "role": "member"},
    )
    members = (await client.get("/api/v1/communities/uni/members", headers=admin)).json()
    assert [(m["email"], m["role"]) for m in members] == [("ada@uni.example", "member")]
    assert (
        await client.get("/api/v1/communities/nowhere/members", headers=admin)
    ).status_code == 404
    bad = await client.put("/api/v1/communities/uni/members", headers=admin, json={"email": "nope"})
    assert bad.status_code == 422


async def test_me_and_staff(client, agent, session):
    me = await client.get("/api/v1/users/me", headers=agent)
    assert me.status_code == 200 and me.json()["name"] == "Abe"
    assert "password_hash" not in me.json()
    staff = (await client.get("/api/v1/users", headers=agent)).json()
    assert "Abe" in [s["name"] for s in staff]


async def test_only_admins_create_staff(client, admin, agent, session):
    body = {
        "email": "new@desk.example",
        "name": "New",
        "staff_role": "agent",
        "password": "long-enough-pass",
    }
    assert (await client.post("/api/v1/users", headers=agent, json=body)).status_code == 403
    res = await client.post("/api/v1/users", headers=admin, json=body)
    assert res.status_code == 201, res.text
    assert (await client.post("/api/v1/users", headers=admin, json=body)).status_code == 409
    short = await client.post(
        "/api/v1/users", headers=admin, json={**body, "email": "b@desk.example", "password": "x"}
    )
    assert short.status_code == 422
    assert (
        await session.exec(
            select(func.count()).select_from(User).where(User.email == "b@desk.example")
        )
    ).one() == 0


async def test_no_token_is_401(client):
    res = await client.get("/api/v1/users/me")
    assert res.status_code == 401
    assert res.json()["code"]
