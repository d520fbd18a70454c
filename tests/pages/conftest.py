"""Signing in through the real login form, as a browser without JavaScript would."""

import re

import httpx
import pytest

from app.user.models import StaffRole
from tests.factories import PASSWORD, make_user

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Log in; returns the session's CSRF token (read from a signed-in page)."""
    form = await client.get("/login")
    res = await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(form.text)}
    )
    assert res.status_code == 303, res.text
    return csrf_from((await client.get("/")).text)


@pytest.fixture
async def triager(session):
    return await make_user(session, StaffRole.triager, email="tara@desk.example", name="Tara")


@pytest.fixture
async def csrf(client, triager) -> str:
    return await sign_in(client, triager.email)
