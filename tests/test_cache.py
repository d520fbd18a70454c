"""The per-process configuration cache (app/cache.py), seen through who-is-on-call.

A write made through any session of this process shows at once; a write it cannot see (by
another process: here, plain SQL on the engine) shows once the snapshot is `MAX_AGE` old; a
use case sees its own uncommitted writes, and a rolled-back write never shows.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

import app.cache
from app.db import transaction
from app.rota import service
from app.rota.models import Override, OverrideIn
from app.sla.models import SlaCalendar
from app.sla.service import calendars_by_id
from app.user.models import StaffRole
from tests.factories import make_user
from tests.rota.conftest import make_schedule

# Fixed, not read at import: collection runs before any test's stated clock is in force.
AT = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)


@pytest.fixture
async def rota(session):
    ana = await make_user(session, StaffRole.triager, name="Ana", email="ana@desk.example")
    bo = await make_user(session, StaffRole.triager, name="Bo", email="bo@desk.example")
    schedule = await make_schedule(session, [ana])  # Ana alone: always on
    return schedule, ana, bo


async def test_a_write_in_this_process_shows_at_once(db, session, rota):
    schedule, ana, bo = rota
    assert await service.on_call_ids(session, "triager", AT) == [ana.id]
    async with db.session() as other:  # another request of the same process
        await service.add_override(
            other,
            schedule,
            OverrideIn(start=AT - timedelta(hours=1), end=AT + timedelta(hours=1), user_id=bo.id),
            actor_id=None,
        )
    assert await service.on_call_ids(session, "triager", AT) == [bo.id]
    assert await service.on_call_ids(session, "triager", AT + timedelta(hours=2)) == [ana.id]


async def test_a_write_by_another_process_shows_within_max_age(db, session, rota, monkeypatch):
    schedule, ana, bo = rota
    assert await service.on_call_ids(session, "triager", AT) == [ana.id]
    async with db.engine.begin() as conn:  # no ORM session of ours sees this write
        await conn.execute(
            Override.__table__.insert().values(
                schedule_id=schedule.id,
                role="triager",
                start_at=AT - timedelta(hours=1),
                end_at=AT + timedelta(hours=1),
                user_id=bo.id,
                reason="covering",
                created_at=AT,
            )
        )
    assert await service.on_call_ids(session, "triager", AT) == [ana.id]  # still the snapshot
    later = app.cache.time.monotonic() + app.cache.MAX_AGE + 0.1
    monkeypatch.setattr(app.cache.time, "monotonic", lambda: later)
    assert await service.on_call_ids(session, "triager", AT) == [bo.id]


async def test_a_use_case_sees_its_own_uncommitted_write_and_a_rollback_leaves_nothing(
    session, rota
):
    schedule, ana, bo = rota
    schedule_id, ana_id, bo_id = schedule.id, ana.id, bo.id  # a rollback expires the loaded rows
    assert await service.on_call_ids(session, "triager", AT) == [ana_id]
    with pytest.raises(RuntimeError):
        async with transaction(session):
            session.add(
                Override(
                    schedule_id=schedule_id,
                    role="triager",
                    start_at=AT - timedelta(hours=1),
                    end_at=AT + timedelta(hours=1),
                    user_id=bo_id,
                    reason="covering",
                )
            )
            await session.flush()
            assert await service.on_call_ids(session, "triager", AT) == [bo_id]
            raise RuntimeError("the use case fails after the write")
    assert await service.on_call_ids(session, "triager", AT) == [ana_id]


async def test_cached_calendars_are_copies_and_follow_a_change_made_elsewhere(db, session):
    async with transaction(session):
        cal = SlaCalendar(name="Ops", kind="24x5", zone="UTC", hours={})
        session.add(cal)
    cached = (await calendars_by_id(session, {cal.id}))[cal.id]
    assert cached is not cal and cached.name == "Ops"
    async with db.session() as other:
        row = await other.get(SlaCalendar, cal.id)
        async with transaction(other):
            row.name = "Operations"
    assert (await calendars_by_id(session, {cal.id}))[cal.id].name == "Operations"


async def test_an_instant_older_than_the_snapshot_is_answered_from_the_database(session, rota):
    _, ana, bo = rota
    schedule = await make_schedule(session, [ana], anchor=date(2024, 1, 1))
    old = datetime(2024, 3, 6, 12, tzinfo=UTC)
    assert old < (await service.rota_snapshot(session)).since
    assert await service.on_call_ids(session, "triager", old, schedule_id=schedule.id) == [ana.id]
    await service.add_override(
        session,
        schedule,
        OverrideIn(start=old - timedelta(hours=1), end=old + timedelta(hours=1), user_id=bo.id),
        actor_id=None,
    )
    assert await service.on_call_ids(session, "triager", old, schedule_id=schedule.id) == [bo.id]
    assert await service.on_call_ids(
        session, "triager", old + timedelta(hours=2), schedule_id=schedule.id
    ) == [ana.id]
