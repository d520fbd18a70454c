"""The main nav: every staff area is one click away for whoever may open it, and no link
(in the nav or on the pages it leads to) sends someone to a page their role refuses."""

import re

import pytest

from app.auth.policy import ROLE_PERMISSIONS
from app.user.models import StaffRole
from tests.factories import make_community, make_ticket, make_user
from tests.pages.conftest import sign_in

NAV = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)
HREF = re.compile(r'<a\b[^>]*\bhref="(/[^"#]*)"')
# Each staff area and the scope its page router requires.
AREAS = {
    "/": "tickets:read",
    "/incidents": "incidents:read",
    "/rota": "schedules:read",
    "/communities": "communities:read",
    "/reports": "reports:read",
    "/sla": "sla:read",
    "/webhooks": "webhooks:read",
}


def nav_links(html: str) -> list[str]:
    match = NAV.search(html)
    assert match, "page has no main nav"
    return HREF.findall(match.group(1))


async def _signed_in(client, session, role: StaffRole) -> None:
    user = await make_user(
        session, role, email=f"{role.value}@desk.example", name=role.value.title()
    )
    await sign_in(client, user.email)


async def test_admin_nav_links_every_staff_area_and_each_answers_200(client, session):
    await _signed_in(client, session, StaffRole.admin)
    links = nav_links((await client.get("/")).text)
    assert sorted(links) == sorted(AREAS), (
        "an area is missing from the nav (or an unknown one was added)"
    )
    for href in links:
        res = await client.get(href)
        assert res.status_code == 200, href
        # The area's own link is marked current, so people see where they are.
        current = re.search(
            r'<a href="([^"]+)" aria-current="page">', NAV.search(res.text).group(1)
        )
        assert current and current.group(1) == href, href


async def test_a_role_without_a_scope_gets_no_link_to_that_area(client, session, monkeypatch):
    # Viewers read everything today; take two areas away to prove the nav follows the policy.
    narrowed = ROLE_PERMISSIONS[StaffRole.viewer] - {"sla:read", "webhooks:read"}
    monkeypatch.setitem(ROLE_PERMISSIONS, StaffRole.viewer, narrowed)
    await _signed_in(client, session, StaffRole.viewer)
    links = nav_links((await client.get("/")).text)
    assert "/sla" not in links and "/webhooks" not in links
    assert sorted(links) == sorted(h for h, scope in AREAS.items() if scope in narrowed)
    assert (await client.get("/sla")).status_code == 403
    assert (await client.get("/webhooks")).status_code == 403


@pytest.mark.parametrize("role", [StaffRole.viewer, StaffRole.agent])
async def test_no_link_on_any_nav_page_leads_a_role_to_a_refusal(client, session, role):
    community = await make_community(
        session, "alpha", name="Alpha University", reps=("rep@alpha.example",)
    )
    await make_ticket(session, community, title="Notebook servers fail to start")
    await _signed_in(client, session, role)
    links = nav_links((await client.get("/")).text)
    assert sorted(links) == sorted(
        h for h, scope in AREAS.items() if scope in ROLE_PERMISSIONS[role]
    )
    seen: set[str] = set()
    for area in links:
        page = await client.get(area)
        assert page.status_code == 200, area
        for href in HREF.findall(page.text):
            if href in seen or href.startswith(("/static/", "/live")):
                continue
            seen.add(href)
            res = await client.get(href)
            assert res.status_code < 400, (
                f"{role.value} sees a link to {href} on {area}, which answers {res.status_code}"
            )
    # Pages only a writer may open are not linked for read-only roles.
    if role == StaffRole.viewer:
        assert "/rota/new" not in seen
