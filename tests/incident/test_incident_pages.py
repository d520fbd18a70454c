"""Incident pages over HTTP: sign-in, CSRF, full page vs htmx fragment, errors as 4xx."""

from sqlmodel import select

from app.incident.models import Incident
from app.ticket.enums import Urgency
from tests.factories import make_community, make_ticket

HX = {"HX-Request": "true"}


async def test_pages_need_sign_in_and_forms_need_csrf(client, session, triager):
    res = await client.get("/incidents")
    assert res.status_code == 303 and res.headers["location"].startswith("/login")
    from tests.pages.conftest import sign_in

    await sign_in(client, triager.email)
    res = await client.post("/incidents", data={"title": "No token"})
    assert res.status_code == 403 and "form expired" in res.text
    assert (await session.exec(select(Incident))).all() == []


async def test_declare_then_act_with_htmx_fragments(client, session, csrf):
    community = await make_community(session, "acme", name="Acme", reps=("rep@acme.example",))
    ticket = await make_ticket(
        session, community, requester_email="rep@acme.example", urgency=Urgency.emergency
    )
    page = await client.get("/incidents")
    assert page.status_code == 200 and "Emergency requests without an incident" in page.text
    assert f"/incidents?ticket={ticket.id}#declare" in page.text

    res = await client.post(
        "/incidents",
        data={
            "csrf_token": csrf,
            "title": "Acme down",
            "severity": "sev1",
            "tickets": f"SUP-{ticket.id}",
        },
    )
    assert res.status_code == 303
    url = res.headers["location"]
    full = await client.get(url)
    assert full.status_code == 200 and "<html" in full.text and "Next update due in" in full.text
    assert full.headers["vary"] == "HX-Request"

    frag = await client.post(
        f"{url}/updates",
        headers=HX | {"X-CSRF-Token": csrf},
        data={"body": "We are on it.", "status": "identified", "client_key": "k"},
    )
    assert frag.status_code == 200 and "<html" not in frag.text and 'id="incident"' in frag.text
    assert (
        "1 e-mail, 1 ticket reply" not in frag.text
    )  # the rep opened the linked ticket: hears there
    assert "0 e-mails, 1 ticket reply" in frag.text

    # An illegal move is a 409 with the reason, shown in the flash area for htmx.
    bad = await client.post(f"{url}/status/postmortem_done", headers=HX | {"X-CSRF-Token": csrf})
    assert bad.status_code == 409 and "resolve the incident first" in bad.text
    assert bad.headers["hx-retarget"] == "#flash"
    bad = await client.post(f"{url}/status/exploded", headers=HX | {"X-CSRF-Token": csrf})
    assert bad.status_code == 422
    bad = await client.post(
        f"{url}/action-items",
        data={"csrf_token": csrf, "title": "x", "owner_id": "1", "due_on": "not-a-date"},
    )
    assert bad.status_code == 422

    ticket_page = await client.get(f"/tickets/{ticket.id}")
    assert "INC-" in ticket_page.text and "Acme down" in ticket_page.text

    assert (await client.get("/incidents/INC-999")).status_code == 404
