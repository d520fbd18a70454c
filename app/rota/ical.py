"""The RFC 5545 calendar feed: one VEVENT per final shift, with UIDs that stay put.

A calendar app refreshing a subscribed feed matches events by UID, so a shift keeps its
UID as long as it is unchanged (schedule, role, rotation index, override, start); an
override that cuts a shift yields new pieces with new UIDs and the old event disappears
from the feed instead of lingering as a duplicate (linkedin/oncall #125).
"""

from datetime import datetime

from icalendar import Calendar, Event

from app.rota.schedule import Shift
from app.user.models import User

PRODID = "-//Firstline//On-call rota//EN"


def event_uid(schedule_id: int, shift: Shift) -> str:
    return f"rota-{schedule_id}-{shift.uid}@firstline"


def build_calendar(
    name: str,
    shifts: list[tuple[int, str, Shift]],
    users: dict[int | None, User],
    *,
    stamp: datetime,
) -> bytes:
    """`shifts` are (schedule id, schedule name, shift); all instants in UTC."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for schedule_id, schedule_name, shift in shifts:
        user = users.get(shift.user_id)
        who = user.name if user else f"user {shift.user_id}"
        event = Event()
        event.add("uid", event_uid(schedule_id, shift))
        event.add("dtstamp", stamp)
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        event.add("summary", f"{who}: {shift.role} ({schedule_name})")
        lines = [f"{who} holds the {shift.role} role on {schedule_name}."]
        if shift.override_id:
            lines.append("Covering for the rota (an override or swap).")
        event.add("description", "\n".join(lines))
        event.add("transp", "TRANSPARENT")  # being on call does not block a calendar
        if user:
            event.add("attendee", f"mailto:{user.email}", parameters={"CN": user.name})
        cal.add_component(event)
    ics: bytes = cal.to_ical()
    return ics
