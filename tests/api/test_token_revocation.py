"""Revoking API tokens: at once, only your own unless you manage users, never leaking others' ids."""

from app.user.models import StaffRole
from app.user.service import create_api_token
from tests.factories import make_user


async def _token(session, role=StaffRole.agent, name="ci"):
    user = await make_user(session, role)
    token, row = await create_api_token(session, email=user.email, name=name)
    return {"Authorization": f"Bearer {token}"}, row


async def test_a_revoked_token_is_refused_on_the_next_request(client, session):
    auth, row = await _token(session)
    assert (await client.get("/api/v1/users/me", headers=auth)).status_code == 200

    res = await client.delete(f"/api/v1/users/me/tokens/{row.id}", headers=auth)
    assert res.status_code == 200
    assert res.json()["revoked_at"] is not None

    res = await client.get("/api/v1/users/me", headers=auth)
    assert res.status_code == 401


async def test_listing_shows_own_tokens_without_secrets(client, session):
    auth, row = await _token(session, name="github-action")
    _other_auth, _other = await _token(session, name="someone-else")
    listed = (await client.get("/api/v1/users/me/tokens", headers=auth)).json()
    assert [t["id"] for t in listed] == [row.id]
    assert listed[0]["name"] == "github-action" and "token_hash" not in listed[0]
    assert listed[0]["display_prefix"] == row.display_prefix


async def test_someone_elses_token_is_404_for_staff_and_revocable_by_an_admin(client, session):
    agent_auth, _ = await _token(session)
    victim_auth, victim = await _token(session, name="victim")
    res = await client.delete(f"/api/v1/users/me/tokens/{victim.id}", headers=agent_auth)
    assert res.status_code == 404 and res.json()["code"] == "unknown_token"
    assert (await client.get("/api/v1/users/me", headers=victim_auth)).status_code == 200

    admin_auth, _ = await _token(session, StaffRole.admin)
    everyone = (await client.get("/api/v1/users/me/tokens?all=true", headers=admin_auth)).json()
    assert victim.id in [t["id"] for t in everyone]
    assert (
        await client.delete(f"/api/v1/users/me/tokens/{victim.id}", headers=admin_auth)
    ).status_code == 200
    assert (await client.get("/api/v1/users/me", headers=victim_auth)).status_code == 401


async def test_a_non_admin_asking_for_all_gets_only_their_own(client, session):
    auth, row = await _token(session)
    await _token(session, name="other")
    listed = (await client.get("/api/v1/users/me/tokens?all=true", headers=auth)).json()
    assert [t["id"] for t in listed] == [row.id]
