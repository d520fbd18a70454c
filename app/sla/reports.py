"""The SLA report: attainment per target and time to first response, grouped by channel,
criticality, community or period (week/month of opening), over a date range.

Counting happens in SQL over `sla_clock` alone (it carries copies of the ticket's
channel, criticality, community and opening time), so no join of 300,000 clocks to their
tickets, in a single pass; percentiles come from a per-minute histogram of that pass.

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
from datetime import datetime

from sqlalchemy import BigInteger, Integer, case, cast, func, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.community.models import Community
from app.errors import InvalidInput
from app.sla.models import SlaClock
from app.sla.schemas import Target
from app.ticket.enums import Criticality
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


def _group_expr(by: str, dialect: str, source=Ticket) -> ColumnElement:
    created = col(source.created_at if source is Ticket else source.opened_at)
    if by == "channel":
        return col(source.channel)
    if by == "criticality":
        return func.coalesce(cast(col(source.criticality), Integer), 0)
    if by == "community":
        return func.coalesce(col(source.community_id), 0)
    if by == "month":
        return func.strftime("%Y-%m", created) if dialect == "sqlite" else func.to_char(created, "YYYY-MM")
    if by == "week":  # ISO-like week on PostgreSQL; SQLite's %W (Monday-based) is the closest it has
        return func.strftime("%Y-W%W", created) if dialect == "sqlite" else func.to_char(created, 'IYYY-"W"IW')
    raise InvalidInput(f"by must be one of {', '.join(DIMENSIONS)}", code="bad_dimension")


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


async def sla_report(session: AsyncSession, *, by: str = "channel", start: datetime | None = None,
                     end: datetime | None = None, now: datetime) -> SlaReport:
    if start and end and end <= start:
        raise InvalidInput("the end of the range must be after its start", code="bad_range")
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    grp = _group_expr(by, dialect, SlaClock).label("grp")
    ticket_grp = _group_expr(by, dialect, Ticket).label("grp")
    decided = (col(SlaClock.stopped_at).is_not(None)) | (col(SlaClock.due_at) <= now)
    met = (col(SlaClock.stopped_at).is_not(None)) & (col(SlaClock.elapsed_us) <= cast(col(SlaClock.target_minutes), BigInteger) * (60 * US))

    # One pass over the clocks: per group and target, how many were decided and met; for
    # answered first responses also per whole minute of business time, a histogram the
    # percentiles are read from (to the minute), so no sort of 100,000 values is needed.
    answered = (SlaClock.target == Target.first_response.value) & col(SlaClock.stopped_at).is_not(None)
    minute = case((answered, col(SlaClock.elapsed_us) // (60 * US)), else_=-1).label("minute")
    attain = _range(
        select(grp, col(SlaClock.target), minute, func.sum(case((decided, 1), else_=0)),
               func.sum(case((met, 1), else_=0)), func.count())
        .select_from(SlaClock).group_by(grp, col(SlaClock.target), minute), start, end, SlaClock)
    counts = _range(select(ticket_grp, func.count()).select_from(Ticket).group_by(ticket_grp), start, end)

    rows: dict[str, ReportRow] = {}

    def row(key) -> ReportRow:
        k = str(key)
        if k not in rows:
            rows[k] = ReportRow(key=k, label=k, tickets=0, targets={t.value: TargetStats() for t in Target})
        return rows[k]

    overall = ReportRow(key="*", label="All tickets", tickets=0, targets={t.value: TargetStats() for t in Target})
    histograms: dict[str, dict[int, int]] = {}
    everything: dict[int, int] = {}
    for key, target, bucket, n_decided, n_met, n in (await session.exec(attain)).all():
        stats = row(key).targets[target]
        stats.decided += int(n_decided or 0)
        stats.met += int(n_met or 0)
        overall.targets[target].decided += int(n_decided or 0)
        overall.targets[target].met += int(n_met or 0)
        if bucket is not None and bucket >= 0:
            minutes = int(bucket)
            hist = histograms.setdefault(str(key), {})
            hist[minutes] = hist.get(minutes, 0) + n
            everything[minutes] = everything.get(minutes, 0) + n
    for key, n in (await session.exec(counts)).all():
        row(key).tickets = n
        overall.tickets += n
    for key, hist in histograms.items():
        r = row(key)
        r.first_response_p50_s, r.first_response_p90_s = histogram_rank(hist, 50) * 60, histogram_rank(hist, 90) * 60
    if everything:
        overall.first_response_p50_s = histogram_rank(everything, 50) * 60
        overall.first_response_p90_s = histogram_rank(everything, 90) * 60

    await _label(session, by, rows)
    ordered = sorted(rows.values(), key=lambda r: (r.key == "0", r.key) if by != "criticality" else (r.key == "0", int(r.key)))
    return SlaReport(by=by, start=start, end=end, as_of=now, rows=ordered, overall=overall)


async def _label(session: AsyncSession, by: str, rows: dict[str, ReportRow]) -> None:
    if by == "criticality":
        for r in rows.values():
            r.label = f"C{r.key} {Criticality(int(r.key)).name}" if r.key != "0" else "Not classified"
    elif by == "community":
        ids = [int(k) for k in rows if k != "0"]
        names = {}
        if ids:
            names = {c.id: c.name for c in (await session.exec(
                select(Community.id, Community.name).where(col(Community.id).in_(ids)))).all()}
        for r in rows.values():
            r.label = names.get(int(r.key), f"community {r.key}") if r.key != "0" else "No community"


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
        line += ["" if r.first_response_p50_s is None else round(r.first_response_p50_s / 60, 1),
                 "" if r.first_response_p90_s is None else round(r.first_response_p90_s / 60, 1)]
        writer.writerow(line)
    return out.getvalue()
