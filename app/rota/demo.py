"""Demo rotas: a weekly exterminator with a lead tracker, and a weekday rota (demo data only)."""

from datetime import time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.policy import Principal
from app.db import pk, utcnow
from app.rota import handoff, service
from app.rota.models import HandoffUpdate, OverrideIn, RoleIn, ScheduleIn, TriageMode
from app.rota.schedule import RotationKind
from app.user.models import User


async def seed_rota(session: AsyncSession, staff: list[User]) -> None:
    if await service.count_schedules(session):
        return
    by_email = {u.email.split("@")[0]: u for u in staff}
    admin, tara, sam, ana, wei = (by_email[k] for k in ("admin", "tara", "sam", "ana", "wei"))
    now = utcnow()
    today = now.date()
    monday = today - timedelta(days=today.weekday())
    weekly = await service.create_schedule(
        session,
        ScheduleIn(
            name="Exterminator",
            kind=RotationKind.weekly,
            zone="Europe/Berlin",
            anchor_date=monday - timedelta(weeks=8),
            handoff_time=time(9),
            handoff_weekday=0,
            holiday_country="DE",
            holiday_subdivision="BE",
            roles=[
                RoleIn(
                    name="triager",
                    members=[pk(tara), pk(sam), pk(ana), pk(wei)],
                    duties=[
                        "Cut the weekly release",
                        "Post the rota in #support",
                        "Count unique requesters per day",
                    ],
                ),
                RoleIn(name="lead-tracker", members=[pk(admin)]),
            ],
            triage_mode=TriageMode.offer,
        ),
        actor_id=admin.id,
    )
    await service.create_schedule(
        session,
        ScheduleIn(
            name="Weekday incident rota",
            kind=RotationKind.weekdays,
            zone="America/New_York",
            anchor_date=monday - timedelta(weeks=4),
            handoff_time=time(9),
            holiday_country="US",
            roles=[RoleIn(name="responder", members=[pk(ana), pk(wei), pk(sam)])],
        ),
        actor_id=admin.id,
    )
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    await service.add_override(
        session,
        weekly,
        OverrideIn(
            start=start,
            end=start + timedelta(hours=10),
            user_id=pk(sam),
            agreed_by_id=sam.id,
            reason="Tara at a conference",
        ),
        actor_id=tara.id,
    )
    # Handoffs of the shifts that ended in the last days, one with its retro written and acknowledged.
    await handoff.write_due_handoffs(session, now)
    done = await handoff.search_handoffs(session, schedule_id=weekly.id, limit=1)
    if done:
        h = done[0]
        out = next((u for u in staff if u.id == h.outgoing_id), admin)
        principal = Principal(
            user_id=pk(out), name=out.name, email=out.email, staff_role=out.required_staff_role()
        )
        await handoff.update_handoff(
            session,
            h,
            HandoffUpdate(
                notes="Uni's login bug waits on the upstream fix; I promised them an update on Thursday.",
                went_well="First replies within the hour all week.",
                could_be_better="Two tickets sat in awaiting approval for a day: nobody pinged the reps.",
                to_remember="The release needs the docs team's sign-off now.",
            ),
            principal,
        )
