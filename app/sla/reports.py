"""The SLA report: attainment per target and time to first response, grouped by channel,
criticality, community or period (week/month of opening), over a date range.

Stopped clocks are read from a rollup kept by database triggers (migration 0008): per UTC
day of opening x channel x criticality x community x target, how many were decided and met,
plus a per-minute histogram of answered first responses, and tickets per day of creation.
A stopped clock's verdict never changes, so whole days in the range come from the rollup;
running clocks (decided only once due, which depends on "now") and the clocks of partial
days at the ends of a range are counted live from `sla_clock`, which carries copies of the
ticket's channel, criticality, community and opening time. `scan=True` counts everything
from `sla_clock` and `ticket` instead: the reference the rollup is tested against.
Percentiles come from the per-minute histograms, so no sort of 100,000 values is needed.
Rollup rows are read in the order of covering indexes (migration 0009), so grouping them
needs no sort; by week or month the histogram comes per segment (the days an ISO week and a
month share, `sla_report_minute_segment`), by day only for partial segments at range ends.

Definitions:
- a target is *decided* once it is met (clock stopped) or its due instant has passed;
  running clocks not yet due are not counted either way;
- *attainment* = met on time / decided;
- time to first response = business time from opening to the first public staff reply
  (pauses excluded), as the nearest-rank median and 90th percentile, to the whole minute.
"""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlmodel
from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Integer,
    String,
    case,
    cast,
    func,
    select,
    type_coerce,
)
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.community.models import Community
from app.errors import InvalidInput
from app.sla.models import (
    SlaClock,
    SlaReportDay,
    SlaReportMinute,
    SlaReportMinuteSegment,
    SlaReportTickets,
)
from app.sla.schemas import Target
from app.ticket.enums import Criticality, Status
from app.ticket.models import Ticket

DIMENSIONS = ("channel", "criticality", "community", "week", "month")
US = 1_000_000


@dataclass
class TargetStats:
    decided: int = 0
    met: int = 0

    @property
    def attainment(self) -> float | None:
        return round(100 * self.met / self.decided, 1) if self.decided else None


@dataclass
class ReportRow:
    key: str
    label: str
    tickets: int
    targets: dict[str, TargetStats]
    first_response_p50_s: int | None = None
    first_response_p90_s: int | None = None


@dataclass
class SlaReport:
    by: str
    start: datetime | None
    end: datetime | None
    as_of: datetime
    rows: list[ReportRow]
    overall: ReportRow


def day_range(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days from `start` to `end`, both inclusive, as the instants a report takes."""
    return (
        datetime.combine(start, time(), tzinfo=UTC) if start else None,
        datetime.combine(end, time(), tzinfo=UTC) + timedelta(days=1) if end else None,
    )


def _group_expr(by: str, dialect: str, source=Ticket) -> ColumnElement:
    created = col(source.created_at if source is Ticket else source.opened_at)
    if by == "channel":
        return col(source.channel)  # type: ignore[return-value]  # an ORM attribute serves as a column
    if by == "criticality":
        return func.coalesce(cast(col(source.criticality), Integer), 0)
    if by == "community":
        return func.coalesce(col(source.community_id), 0)
    if by == "month":
        return (
            func.strftime("%Y-%m", created)
            if dialect == "sqlite"
            else func.to_char(created, "YYYY-MM")
        )
    if by == "week":
        return iso_week(dialect, created)
    raise InvalidInput(f"by must be one of {', '.join(DIMENSIONS)}", code="bad_dimension")


def iso_week(dialect: str, instant) -> ColumnElement:
    """ISO 8601 week ('2026-W48') of a UTC instant or 'YYYY-MM-DD' day, the same on both
    databases. SQLite's strftime has no ISO week before 3.46, so it is derived from the week's
    Thursday, which always lies in the ISO year: its day of the year // 7 + 1 is the week."""
    if dialect != "sqlite":
        return func.to_char(instant, 'IYYY-"W"IW')
    thursday = func.date(instant, "-3 days", "weekday 4")
    week = (cast(func.strftime("%j", thursday), Integer) - 1) / 7 + 1
    # NULL in, NULL out (printf would turn it into '-W00').
    return case(
        (thursday.is_(None), None),
        else_=func.printf("%s-W%02d", func.strftime("%Y", thursday), week),
    )


def _range(stmt, start: datetime | None, end: datetime | None, source=Ticket):
    created = col(source.created_at if source is Ticket else source.opened_at)
    if start is not None:
        stmt = stmt.where(created >= start)
    if end is not None:
        stmt = stmt.where(created < end)
    return stmt


def histogram_rank(counts: dict[int, int], percent: int) -> int:
    """Nearest-rank percentile (rank ceil(p/100 · n)) of values given as {value: how many}."""
    total = sum(counts.values())
    wanted = max(1, (total * percent + 99) // 100)
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= wanted:
            return value
    raise ValueError("empty histogram")


async def sla_report(
    session: AsyncSession,
    *,
    by: str = "channel",
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime,
    scan: bool = False,
) -> SlaReport:
    if start and end and end <= start:
        raise InvalidInput("the end of the range must be after its start", code="bad_range")
    if by not in DIMENSIONS:
        raise InvalidInput(f"by must be one of {', '.join(DIMENSIONS)}", code="bad_dimension")
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    counts = _Counts()
    if scan:
        await _scan(session, counts, by, dialect, start, end, now)
    else:
        await _from_rollup(session, counts, by, dialect, start, end, now)

    rows: dict[str, ReportRow] = {}

    def row(key) -> ReportRow:
        k = str(key)
        if k not in rows:
            rows[k] = ReportRow(
                key=k, label=k, tickets=0, targets={t.value: TargetStats() for t in Target}
            )
        return rows[k]

    overall = ReportRow(
        key="*", label="All tickets", tickets=0, targets={t.value: TargetStats() for t in Target}
    )
    everything: dict[int, int] = {}
    for (key, target), (n_decided, n_met) in counts.attain.items():
        stats = row(key).targets[target]
        stats.decided += n_decided
        stats.met += n_met
        overall.targets[target].decided += n_decided
        overall.targets[target].met += n_met
    for key, n in counts.tickets.items():
        row(key).tickets += n
        overall.tickets += n
    for key, hist in counts.hist.items():
        r = row(key)
        r.first_response_p50_s, r.first_response_p90_s = (
            histogram_rank(hist, 50) * 60,
            histogram_rank(hist, 90) * 60,
        )
        for minutes, n in hist.items():
            everything[minutes] = everything.get(minutes, 0) + n
    if everything:
        overall.first_response_p50_s = histogram_rank(everything, 50) * 60
        overall.first_response_p90_s = histogram_rank(everything, 90) * 60

    await _label(session, by, rows)
    ordered = sorted(
        rows.values(),
        key=lambda r: (r.key == "0", r.key) if by != "criticality" else (r.key == "0", int(r.key)),
    )
    return SlaReport(by=by, start=start, end=end, as_of=now, rows=ordered, overall=overall)


class _Counts:
    """What the report is made of, per row key: (decided, met) per target, first-response
    minutes histogram, tickets. Keys are str; parts from several queries add up."""

    def __init__(self) -> None:
        self.attain: dict[tuple[str, str], tuple[int, int]] = {}
        self.hist: dict[str, dict[int, int]] = {}
        self.tickets: dict[str, int] = {}

    def add_attain(self, key, target: str, decided, met) -> None:
        k = (str(key), target)
        d, m = self.attain.get(k, (0, 0))
        self.attain[k] = (d + int(decided or 0), m + int(met or 0))

    def add_minute(self, key, minute, n) -> None:
        # minute -1 (not an answered first response) or None (no elapsed time): not in the histogram
        if minute is not None and minute >= 0 and n:
            hist = self.hist.setdefault(str(key), {})
            hist[int(minute)] = hist.get(int(minute), 0) + int(n)
            if not hist[int(minute)]:
                del hist[int(minute)]

    def add_minutes(self, rows, key_of=lambda key: key) -> None:
        """`add_minute` for many (raw key, minute, n) rows, each raw key named once."""
        hists: dict = {}
        for raw, minute, n in rows:
            if minute is None or minute < 0 or not n:
                continue
            hist = hists.get(raw)
            if hist is None:
                hist = hists[raw] = self.hist.setdefault(str(key_of(raw)), {})
            m = int(minute)
            total = hist.get(m, 0) + int(n)
            if total:
                hist[m] = total
            else:
                del hist[m]

    def add_tickets(self, key, n) -> None:
        self.tickets[str(key)] = self.tickets.get(str(key), 0) + int(n)


def _decided(now: datetime):
    return (col(SlaClock.stopped_at).is_not(None)) | (col(SlaClock.due_at) <= now)


def _met():
    return (col(SlaClock.stopped_at).is_not(None)) & (
        col(SlaClock.elapsed_us) <= cast(col(SlaClock.target_minutes), BigInteger) * (60 * US)
    )


def _minute():
    answered = (SlaClock.target == Target.first_response.value) & col(SlaClock.stopped_at).is_not(
        None
    )
    return case((answered, col(SlaClock.elapsed_us) // (60 * US)), else_=-1).label("minute")


async def _scan(
    session: AsyncSession, counts: _Counts, by: str, dialect: str, start, end, now
) -> None:
    """Everything from `sla_clock` and `ticket` in one pass each (the pre-rollup report)."""
    grp = _group_expr(by, dialect, SlaClock).label("grp")
    ticket_grp = _group_expr(by, dialect, Ticket).label("grp")
    minute = _minute()
    attain = _range(
        select(
            grp,
            col(SlaClock.target),
            minute,
            func.sum(case((_decided(now), 1), else_=0)),
            func.sum(case((_met(), 1), else_=0)),
            func.count(),
        )
        .select_from(SlaClock)
        .group_by(grp, col(SlaClock.target), minute),
        start,
        end,
        SlaClock,
    )
    for key, target, bucket, n_decided, n_met, n in (await session.exec(attain)).all():
        counts.add_attain(key, target, n_decided, n_met)
        counts.add_minute(key, bucket, n)
    tickets = _range(
        select(ticket_grp, func.count()).select_from(Ticket).group_by(ticket_grp), start, end
    )
    for key, n in (await session.exec(tickets)).all():
        counts.add_tickets(key, n)


# Day under which the rollup keeps clocks without an opening time (NULL cannot be a key).
NO_DAY = date(1, 1, 1)


def _day_expr(dialect: str, column) -> ColumnElement:
    """UTC day of a timestamp, cheaply: SQLite keeps UTC text, so its first 10 characters."""
    if dialect == "sqlite":
        return func.substr(column, 1, 10)
    return cast(func.timezone("UTC", column), Date)


def _period_of(by: str, dialect: str):
    """Day -> the week/month key the SQL of `_group_expr` gives for instants of that day."""
    cache: dict = {}

    def key(day) -> str | None:
        if day in cache:
            return cache[day]
        d = day if isinstance(day, date) or day is None else date.fromisoformat(str(day)[:10])
        if d is None or d == NO_DAY:
            out = None
        elif by == "month":
            out = d.strftime("%Y-%m")
        else:
            iso = d.isocalendar()
            out = f"{iso.year:04d}-W{iso.week:02d}"
        cache[day] = out
        return out

    return key


def _rollup_group(by: str, dialect: str, table, day=None) -> ColumnElement:
    """The row key of a rollup table's rows; weeks as their Monday, named in Python (`_period_of`):
    the ISO week string per row cost SQLite ~4 us a row, a date() modifier a fraction of it."""
    day = table.day if day is None else day
    if by == "month":  # SQLite keeps dates as 'YYYY-MM-DD' text: a prefix, not a date parse per row
        return func.substr(day, 1, 7) if dialect == "sqlite" else func.to_char(day, "YYYY-MM")
    if by == "week":
        if dialect == "sqlite":
            return func.date(day, "weekday 0", "-6 days")
        return cast(func.date_trunc("week", cast(day, DateTime)), Date)
    return {
        "channel": table.channel,
        "criticality": table.criticality,
        "community": table.community_id,
    }[by]


def _rollup_key(by: str, dialect: str):
    """Row key of `_rollup_group` -> report key. Week/month of NO_DAY (clocks without an
    opening time) is the scan's NULL group."""
    if by == "week":
        return _period_of(by, dialect)
    return lambda key: None if isinstance(key, str) and key.startswith("0001-") else key


def segment_start(d: date) -> date:
    """First day of d's segment: the days its ISO week and its calendar month share (0009)."""
    return max(d.replace(day=1), d - timedelta(days=d.weekday()))


def _next_segment(d: date) -> date:
    return min(
        d + timedelta(days=7 - d.weekday()), (d.replace(day=1) + timedelta(days=32)).replace(day=1)
    )


def _whole_segments(first: date | None, last: date | None):
    """The segments wholly inside the days [first, last) (None: unbounded) as [lo, hi) of their
    first days, and the stretches of days of partial segments at either end."""
    lo = first if first is None or segment_start(first) == first else _next_segment(first)
    hi = last if last is None else segment_start(last)
    if first is not None and last is not None and lo is not None and hi is not None and lo >= hi:
        return None, [(first, last)] if first < last else []  # within one segment or across two
    edges: list[tuple[date, date]] = []
    if first is not None and lo is not None and first < lo:  # lo is None only when first is
        edges.append((first, lo))
    if last is not None and hi is not None and hi < last:  # hi is None only when last is
        edges.append((hi, last))
    return (lo, hi), edges


def _live_group(by: str, dialect: str, source) -> ColumnElement:
    if by in ("week", "month"):
        return _day_expr(dialect, col(source.created_at if source is Ticket else source.opened_at))
    return _group_expr(by, dialect, source)


def _whole_days(start: datetime | None, end: datetime | None):
    """The whole UTC days inside [start, end) that the rollup answers for, and the partial
    stretches at either end that are counted live."""

    def midnight(d: date) -> datetime:
        return datetime.combine(d, time(), tzinfo=UTC)

    first: date | None = None  # [first, last) in days; None: unbounded
    last: date | None = None
    if start is not None:
        s = start.astimezone(UTC)
        first = s.date() if s == midnight(s.date()) else s.date() + timedelta(days=1)
    if end is not None:
        last = end.astimezone(UTC).date()
    if first is not None and last is not None and first >= last:
        return None, [(start, end)]  # no whole day: all live
    partial: list[tuple[datetime | None, datetime | None]] = []
    if (
        start is not None and first is not None and start < midnight(first)
    ):  # first is set from start
        partial.append((start, midnight(first)))
    if end is not None and last is not None and midnight(last) < end:  # last is set from end
        partial.append((midnight(last), end))
    return (first, last), partial


async def _from_rollup(
    session: AsyncSession, counts: _Counts, by: str, dialect: str, start, end, now
) -> None:
    keyed = _period_of(by, dialect) if by in ("week", "month") else (lambda k: k)
    days, partial = _whole_days(start, end)

    # Running clocks, live: decided once due. Few on a healthy desk; the index covers them.
    live = _live_group(by, dialect, SlaClock).label("grp")
    running = _range(
        select(
            live, col(SlaClock.target), func.sum(case((col(SlaClock.due_at) <= now, 1), else_=0))
        )
        .select_from(SlaClock)
        .where(col(SlaClock.stopped_at).is_(None))
        .group_by(live, col(SlaClock.target)),
        start,
        end,
        SlaClock,
    )
    for key, target, n_decided in (await session.exec(running)).all():
        counts.add_attain(keyed(key), target, n_decided, 0)

    # Stopped clocks and tickets of partial days at the ends of the range, live.
    for lo, hi in partial:
        # Stopped is counted in the aggregates, not filtered in WHERE: a `stopped_at IS NOT
        # NULL` term makes SQLite walk every stopped clock of the live index instead of the
        # day's clocks through ix_sla_clock_report (target, opened_at). Unstopped clocks fall
        # in minute -1 (skipped) and count 0 here; the query above counted them.
        minute = _minute()
        stopped = case((col(SlaClock.stopped_at).is_not(None), 1), else_=0)
        clocks_of_days = (
            select(
                live,
                col(SlaClock.target),
                minute,
                func.sum(stopped),
                func.sum(case((_met(), 1), else_=0)),
                func.sum(stopped),
            )
            .select_from(SlaClock)
            .where(
                col(SlaClock.target).in_([t.value for t in Target]),
                col(SlaClock.opened_at) >= lo,
                col(SlaClock.opened_at) < hi,
            )
            .group_by(live, col(SlaClock.target), minute)
        )
        # sqlmodel types exec() for its own select(); sqlalchemy's (any number of columns) runs the same.
        for key, target, bucket, n, n_met, n_hist in (await session.exec(clocks_of_days)).all():  # type: ignore[call-overload]
            counts.add_attain(keyed(key), target, n, n_met)
            counts.add_minute(keyed(key), bucket, n_hist)
        # Every status listed so ix_ticket_status_created_at serves the day's range (there is
        # no index on created_at alone, and tickets are outside this module).
        tgrp = _live_group(by, dialect, Ticket).label("grp")
        tickets = (
            select(tgrp, func.count())
            .select_from(Ticket)
            .where(
                col(Ticket.status).in_([st.value for st in Status]),
                col(Ticket.created_at) >= lo,
                col(Ticket.created_at) < hi,
            )
            .group_by(tgrp)
        )
        for key, n in (await session.exec(tickets)).all():  # type: ignore[call-overload]  # as above
            counts.add_tickets(keyed(key), n)

    if days is None:
        return
    first, last = days
    if first is None and (start is not None or end is not None):
        first = NO_DAY + timedelta(days=1)  # no opening time (NO_DAY): outside any range
    rollup_key = _rollup_key(by, dialect)

    def within(stmt, day, lo=first, hi=last):
        if lo is not None:
            stmt = stmt.where(day >= lo)
        if hi is not None:
            stmt = stmt.where(day < hi)
        return stmt

    # Grouped in the order of an index (migration 0009), so without a sort: by (dimension,
    # target), or for periods by (day, target), each day named in Python.
    if by in ("week", "month"):
        grp, day, key_of = (
            _as_text(col(SlaReportDay.day), dialect),
            col(SlaReportDay.day),
            _period_of(by, dialect),
        )
    else:
        grp, day = (
            _rollup_group(by, dialect, SlaReportDay),
            _off_index(col(SlaReportDay.day), dialect),
        )
        key_of = rollup_key
    attain = within(
        select(
            grp,
            col(SlaReportDay.target),
            func.sum(SlaReportDay.decided),
            func.sum(SlaReportDay.met),
        )
        .where(col(SlaReportDay.decided) != 0)
        .group_by(grp, col(SlaReportDay.target)),
        day,
    )
    for key, target, n_decided, n_met in await _rows(session, attain):
        counts.add_attain(key_of(key), target, n_decided, n_met)
    await _histogram(session, counts, by, dialect, first, last, within, rollup_key)
    grp = _rollup_group(by, dialect, SlaReportTickets).label("grp")
    tickets = within(
        select(grp, func.sum(SlaReportTickets.n)).where(col(SlaReportTickets.n) != 0).group_by(grp),
        col(SlaReportTickets.day),
    )
    for key, n in (await session.exec(tickets)).all():
        counts.add_tickets(rollup_key(key), n)


async def _histogram(
    session: AsyncSession, counts: _Counts, by: str, dialect: str, first, last, within, rollup_key
) -> None:
    """First-response minutes of the whole days [first, last), grouped without sorting the
    ~one row per answered clock of `sla_report_minute` (migration 0009)."""
    minute, n = col(SlaReportMinute.minute), func.sum(SlaReportMinute.n)
    if by not in ("week", "month"):
        # The (dimension, minute, day, n) index gives the groups in order.
        day = _off_index(col(SlaReportMinute.day), dialect)
        grp = _rollup_group(by, dialect, SlaReportMinute).label("grp")
        hist = within(
            select(grp, minute, n).where(col(SlaReportMinute.n) != 0).group_by(grp, minute), day
        )
        counts.add_minutes(await _rows(session, hist))
        return
    # Weeks and months are unions of segments: whole ones from the segment table, the days
    # of partial segments at the ends of the range by day.
    segments, edges = _whole_segments(first, last)
    if segments is not None:
        # Its rows as stored, named per segment in Python: grouping them by week in SQL meant
        # sorting them all. Segments stay text on SQLite (a date parse per row otherwise).
        seg, table = col(SlaReportMinuteSegment.segment), SlaReportMinuteSegment
        hist = within(
            select(_as_text(seg, dialect), col(table.minute), col(table.n)).where(
                col(table.n) != 0
            ),
            seg,
            *segments,
        )
        counts.add_minutes(await _rows(session, hist), _period_of(by, dialect))
    for lo, hi in edges:
        grp = _rollup_group(by, dialect, SlaReportMinute).label("grp")
        hist = within(
            select(grp, minute, n).where(col(SlaReportMinute.n) != 0).group_by(grp, minute),
            col(SlaReportMinute.day),
            lo,
            hi,
        )
        counts.add_minutes(await _rows(session, hist), rollup_key)


def _off_index(day, dialect: str):
    """A day range SQLite does not search the primary key (day, ...) for (unary +, documented
    for this): that search needs a sort of every row in the range, which the covering index
    in group order avoids; SQLite's planner prefers the search otherwise."""
    return UnaryExpression(day, operator=custom_op("+"), type_=Date) if dialect == "sqlite" else day


def _as_text(day, dialect: str):
    """A date column read as SQLite stores it, 'YYYY-MM-DD' (`_period_of` takes either)."""
    return type_coerce(day, String) if dialect == "sqlite" else day


async def _rows(session: AsyncSession, stmt) -> list:
    """Plain rows through the connection: the ORM's per-row work buys nothing for aggregates."""
    return list((await (await session.connection()).execute(stmt)).all())


async def _label(session: AsyncSession, by: str, rows: dict[str, ReportRow]) -> None:
    if by == "criticality":
        for r in rows.values():
            r.label = (
                f"C{r.key} {Criticality(int(r.key)).name}" if r.key != "0" else "Not classified"
            )
    elif by == "community":
        ids = [int(k) for k in rows if k != "0"]
        names: dict[int | None, str] = {}
        if ids:
            names = {
                cid: name
                for cid, name in (
                    await session.exec(
                        sqlmodel.select(Community.id, Community.name).where(
                            col(Community.id).in_(ids)
                        )
                    )
                ).all()
            }
        for r in rows.values():
            r.label = (
                names.get(int(r.key), f"community {r.key}") if r.key != "0" else "No community"
            )


def report_csv(report: SlaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    header = [report.by, "tickets"]
    for t in Target:
        header += [f"{t.value}_decided", f"{t.value}_met", f"{t.value}_attainment_pct"]
    header += ["first_response_median_minutes", "first_response_p90_minutes"]
    writer.writerow(header)
    for r in [*report.rows, report.overall]:
        line: list = [r.label, r.tickets]
        for t in Target:
            s = r.targets[t.value]
            line += [s.decided, s.met, "" if s.attainment is None else s.attainment]
        line += [
            "" if r.first_response_p50_s is None else round(r.first_response_p50_s / 60, 1),
            "" if r.first_response_p90_s is None else round(r.first_response_p90_s / 60, 1),
        ]
        writer.writerow(line)
    return out.getvalue()
