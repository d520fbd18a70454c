"""Incident test data: a responder, two communities with representatives, linked tickets."""

from app.incident.models import IncidentCreate
from app.incident.rules import Severity
from app.incident.service import declare_incident
from tests.factories import make_community, make_ticket, make_user, principal_for


async def incident_world(session, *, severity=Severity.sev1, now=None):
    responder = await make_user(session, "agent", name="Rosa Responder", email="rosa@desk.example")
    physics = await make_community(
        session, "uni-physics", name="Uni Physics", reps=("marie@uni.example", "pierre@uni.example")
    )
    # Marie represents both communities: she must hear once per update, not twice.
    bio = await make_community(
        session, "bio-lab", name="Bio Lab", reps=("marie@uni.example", "gregor@bio.example")
    )
    t1 = await make_ticket(
        session, physics, requester_email="student@uni.example", title="Hub is down"
    )
    t2 = await make_ticket(
        session, physics, requester_email="pierre@uni.example", title="504 on login"
    )
    actor = principal_for(responder)
    incident = await declare_incident(
        session,
        IncidentCreate(
            title="JupyterHub down for Uni Physics",
            severity=severity,
            communities=["bio-lab"],
            tickets=[f"SUP-{t1.id}", str(t2.id)],
        ),
        actor=actor,
        now=now,
    )
    return dict(
        responder=responder, actor=actor, physics=physics, bio=bio, t1=t1, t2=t2, incident=incident
    )
