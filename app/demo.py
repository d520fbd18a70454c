"""Realistic demo data, built through the same service functions the app uses.

Run by `firstline demo` (and `make run`); it does nothing on a database that already
has tickets, so it is safe to run on every start.
"""

import random
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.models import Event
from app.auth.policy import Principal
from app.budget.models import TimeEntryCreate
from app.budget.service import log_time
from app.community.models import BudgetPeriod, CommunityCreate, MembershipRole
from app.community.service import add_member, create_community
from app.db import pk, transaction, utcnow
from app.ticket import service as tickets
from app.ticket.enums import Channel, Criticality, MessageKind, Status, TicketType, Urgency
from app.ticket.models import LinkCreate, Message, MessageCreate, Ticket, TicketCreate, TicketUpdate
from app.ticket.ranking import refresh_rank
from app.user.models import StaffRole, User, UserCreate
from app.user.service import create_user, get_user_by_email, principal_of

DEMO_PASSWORD = "firstline-demo"

STAFF = [
    ("admin@firstline.example", "Avery Admin", StaffRole.admin),
    ("tara@firstline.example", "Tara Triager", StaffRole.triager),
    ("sam@firstline.example", "Sam Okafor", StaffRole.triager),
    ("ana@firstline.example", "Ana Lima", StaffRole.agent),
    ("wei@firstline.example", "Wei Zhang", StaffRole.agent),
    ("vic@firstline.example", "Vic Viewer", StaffRole.viewer),
]

COMMUNITIES = [
    (
        "uni-physics",
        "University Physics Hub",
        True,
        40.0,
        BudgetPeriod.month,
        ["https://physics.uni.example"],
    ),
    (
        "climate-lab",
        "Open Climate Lab",
        False,
        20.0,
        BudgetPeriod.month,
        ["https://climatelab.example"],
    ),
    ("neuro-collab", "Neuro Collaboration", False, 60.0, BudgetPeriod.quarter, []),
    ("city-data", "City Open Data", False, None, BudgetPeriod.month, ["https://data.city.example"]),
    ("bio-workshop", "BioStats Workshops", False, 10.0, BudgetPeriod.month, []),
]

PEOPLE = {
    "uni-physics": [
        ("marie@uni.example", "Marie Curie", "representative"),
        ("niels@uni.example", "Niels Bohr", "member"),
        ("lise@uni.example", "Lise Meitner", "member"),
    ],
    "climate-lab": [
        ("greta@climatelab.example", "Greta Thorne", "representative"),
        ("james@climatelab.example", "James Hansen", "member"),
    ],
    "neuro-collab": [
        ("santiago@neuro.example", "Santiago Cajal", "representative"),
        ("rita@neuro.example", "Rita Levi", "representative"),
        ("eric@neuro.example", "Eric Kandel", "member"),
    ],
    "city-data": [
        ("jane@city.example", "Jane Jacobs", "representative"),
        ("robert@city.example", "Robert Moses", "member"),
    ],
    "bio-workshop": [
        ("ronald@bio.example", "Ronald Fisher", "representative"),
        ("karl@bio.example", "Karl Pearson", "member"),
    ],
}

# (title, type, urgency, body)
REQUESTS = [
    (
        "Notebook servers fail to start with 504",
        TicketType.bug,
        Urgency.emergency,
        "Since 09:10 every user gets a 504 Gateway Timeout when starting a server. Nobody can work.",
    ),
    (
        "Add the `xarray` package to the default image",
        TicketType.change_request,
        Urgency.normal,
        "Our climate course needs xarray and netCDF4 preinstalled.",
    ),
    (
        "How do I share a notebook with my whole class?",
        TicketType.question,
        Urgency.normal,
        "Is there a way to push a notebook to every student's home directory?",
    ),
    (
        "Grafana dashboards show no data since Tuesday",
        TicketType.bug,
        Urgency.urgent,
        "All panels say 'No data'. Prometheus target looks down.",
    ),
    (
        "Workshop on 12 December: 80 participants",
        TicketType.workshop,
        Urgency.normal,
        "We run a workshop and need the hub sized for 80 concurrent users, plus a shared password.",
    ),
    (
        "Docs: the GPU profile page is out of date",
        TicketType.docs,
        Urgency.normal,
        "The docs still mention the K80 nodes that were removed.",
    ),
    (
        "Feature: let admins extend user storage quotas",
        TicketType.feature_request,
        Urgency.normal,
        "Some users need 50 GB instead of 10 GB.",
    ),
    (
        "Guidance on moving our hub to a new cloud account",
        TicketType.guidance,
        Urgency.normal,
        "We got new credits on another provider and want to plan a move.",
    ),
    (
        "Login loops back to the sign-in page",
        TicketType.bug,
        Urgency.urgent,
        "After the auth change some users are sent back to the login page forever.",
    ),
    (
        "Typo on the home page: 'Jupyer'",
        TicketType.bug,
        Urgency.normal,
        "Minor, but visible to every student.",
    ),
    (
        "Update the image to Python 3.12",
        TicketType.change_request,
        Urgency.normal,
        "Pandas 3 needs it.",
    ),
    (
        "Can we get access to the shared bucket `gs://city-raw`?",
        TicketType.change_request,
        Urgency.urgent,
        "Our analysts need read access for the quarterly report due Friday.",
    ),
    (
        "User storage full, kernels die on save",
        TicketType.bug,
        Urgency.urgent,
        "Users at the 10 GB limit lose work when the kernel dies on save.",
    ),
    (
        "Question: what is our support budget this quarter?",
        TicketType.question,
        Urgency.normal,
        "We want to plan our remaining requests.",
    ),
    (
        "Feature: dark mode for the hub landing page",
        TicketType.feature_request,
        Urgency.normal,
        "Nice to have.",
    ),
    (
        "Data loss after a failed image rollout",
        TicketType.bug,
        Urgency.emergency,
        "Files written between 14:00 and 14:20 are gone for several users.",
    ),
]

TAGS = ["auth", "storage", "image", "grafana", "gpu", "docs", "billing", "workshop", "k8s"]


def _principal(user: User) -> Principal:
    return Principal(
        user_id=pk(user), name=user.name, email=user.email, staff_role=user.required_staff_role()
    )


TIME_NOTES = [
    "reproduced",
    "read the logs",
    "call with the requester",
    "fixed the config",
    "wrote the reply",
    "",
]


async def seed_demo(session: AsyncSession, *, tickets_wanted: int = 72, seed: int = 7) -> str:
    if (await session.exec(select(func.count()).select_from(Ticket))).one() > 0:
        return "demo: the database already has tickets; nothing added"
    rng = random.Random(seed)

    staff: list[User] = []
    for email, name, role in STAFF:
        user = await get_user_by_email(session, email) or await create_user(
            session, UserCreate(email=email, name=name, staff_role=role, password=DEMO_PASSWORD)
        )
        staff.append(user)
    workers = [
        u for u in staff if u.staff_role in (StaffRole.triager, StaffRole.agent, StaffRole.admin)
    ]
    admin = _principal(staff[0])

    contacts: dict[str, list[tuple[str, str, str]]] = {}
    for slug, name, funded, budget, period, origins in COMMUNITIES:
        community = await create_community(
            session,
            CommunityCreate(
                slug=slug,
                name=name,
                funded=funded,
                budget_hours=budget,
                budget_period=period,
                allowed_origins=origins,
                runbook_url=f"https://runbooks.example/{slug}",
            ),
            actor_id=admin.user_id,
        )
        for email, person, member_role in PEOPLE[slug]:
            await add_member(
                session,
                community,
                email=email,
                name=person,
                role=MembershipRole(member_role),
                actor_id=admin.user_id,
            )
        contacts[slug] = PEOPLE[slug]

    # Every status appears; most work is active, as on a real board.
    statuses = (
        [Status.new] * 16
        + [Status.open] * 18
        + [Status.pending] * 10
        + [Status.awaiting_approval] * 6
        + [Status.resolved] * 10
        + [Status.closed] * 12
    )
    channels = [Channel.web, Channel.email, Channel.github, Channel.slack, Channel.api]
    now = utcnow()
    for i in range(tickets_wanted):
        slug = rng.choice(list(contacts))
        target = statuses[i % len(statuses)]
        pool = contacts[slug]
        if target == Status.awaiting_approval:
            who = next((p for p in pool if p[2] == "member"), pool[0])
        else:
            who = next(p for p in pool if p[2] == "representative")
        title, ttype, urgency, body = REQUESTS[i % len(REQUESTS)]
        if i >= len(REQUESTS):
            title = f"{title} ({slug})"
        if i < len(TicketType):  # make sure every type appears at least once
            ttype = list(TicketType)[i]
        ticket = await tickets.submit_ticket(
            session,
            TicketCreate(
                title=title,
                body=body,
                requester_email=who[0],
                requester_name=who[1],
                community=slug,
                type=ttype,
                urgency=urgency,
                channel=rng.choice(channels),
            ),
        )
        await _age(
            session,
            ticket,
            now - timedelta(hours=rng.randint(1, 24 * 20), minutes=rng.randint(0, 59)),
        )
        if target == Status.awaiting_approval:
            continue
        agent = rng.choice(workers)
        actor = _principal(agent)
        if ticket.status == Status.awaiting_approval:
            await tickets.change_status(session, pk(ticket), Status.new, actor=admin)
        if target == Status.new:
            if rng.random() < 0.3:
                await tickets.add_vote(
                    session, pk(ticket), voter_email=rng.choice(pool)[0], actor=admin
                )
            continue
        crit = {Urgency.emergency: Criticality.critical, Urgency.urgent: Criticality.medium}.get(
            urgency, rng.choice([Criticality.low, Criticality.minor])
        )
        await tickets.update_ticket(
            session,
            pk(ticket),
            TicketUpdate(
                status=Status.open,
                criticality=crit,
                assignee_id=agent.id,
                tags=rng.sample(TAGS, rng.randint(0, 2)),
                has_workaround=rng.choice([True, False, None]),
                affected_communities=rng.choice([1, 1, 1, 2, 3]),
                data_loss="loss" in title.lower(),
                fits_goals=rng.random() < 0.2,
            ),
            actor=actor,
        )
        if rng.random() < 0.4:
            await tickets.claim_ticket(session, pk(ticket), actor=actor)
        # Worked tickets carry time, so /communities shows real budget use (the small ones run over).
        for _ in range(rng.randint(1, 3)):
            await log_time(
                session,
                pk(ticket),
                TimeEntryCreate(
                    minutes=rng.choice([15, 30, 45, 60, 90, 120]),
                    note=rng.choice(TIME_NOTES),
                    spent_at=now - timedelta(hours=rng.randint(1, 72)),
                ),
                actor=actor,
            )
        await tickets.post_message(
            session,
            pk(ticket),
            MessageCreate(
                body=f"Hello {who[1].split()[0]}, thanks for the report. {agent.name} is looking into it."
            ),
            actor=principal_of(agent),
        )
        if rng.random() < 0.5:
            await tickets.post_message(
                session,
                pk(ticket),
                MessageCreate(
                    body="Checked the logs: the proxy pod restarted twice overnight.",
                    kind=MessageKind.internal,
                ),
                actor=principal_of(agent),
            )
        if rng.random() < 0.35:
            await tickets.add_link(
                session,
                pk(ticket),
                LinkCreate.model_validate(
                    dict(
                        url=f"https://github.com/example-org/infrastructure/issues/{1000 + i}",
                        title=f"infrastructure#{1000 + i}",
                    )
                ),
                actor=actor,
            )
        for voter in rng.sample(pool, rng.randint(0, len(pool))):
            if voter[0] != who[0]:
                await tickets.add_vote(session, pk(ticket), voter_email=voter[0], actor=actor)
        if target == Status.open:
            continue
        await tickets.change_status(session, pk(ticket), Status.pending, actor=actor)
        if target == Status.pending:
            continue
        requester = await get_user_by_email(session, who[0])
        assert requester is not None  # made above with the ticket
        await tickets.post_message(
            session,
            pk(ticket),
            MessageCreate(body="Here are the details you asked for."),
            actor=principal_of(requester),
            channel=Channel.email,
        )
        await tickets.change_status(session, pk(ticket), Status.resolved, actor=actor)
        if target == Status.closed:
            await tickets.change_status(session, pk(ticket), Status.closed, actor=actor)
    from app.rota.demo import seed_rota

    await seed_rota(session, staff)
    from app.incident.demo import seed_incidents

    await seed_incidents(session, staff)
    count = (await session.exec(select(func.count()).select_from(Ticket))).one()
    from app.sla.demo import replay_demo_clocks  # SLA clocks replayed from the tickets' ages

    await replay_demo_clocks(session, utcnow())
    return (
        f"demo: {len(staff)} staff (password {DEMO_PASSWORD!r}, e.g. {STAFF[1][0]}), "
        f"{len(COMMUNITIES)} communities, {count} tickets"
    )


async def _age(session: AsyncSession, ticket: Ticket, created_at) -> None:
    """Backdate a demo ticket so the board shows realistic ages (demo data only)."""
    async with transaction(session):
        await session.exec(
            update(Ticket)
            .where(col(Ticket.id) == ticket.id)
            .values(created_at=created_at, updated_at=created_at)
        )
        await session.exec(
            update(Event).where(col(Event.ticket_id) == ticket.id).values(created_at=created_at)
        )
        await session.exec(
            update(Message).where(col(Message.ticket_id) == ticket.id).values(created_at=created_at)
        )
    await session.refresh(ticket)
    async with transaction(session):
        fresh = await tickets.lock_ticket(session, pk(ticket))
        await refresh_rank(session, fresh)
