"""/reports: the SLA report with inline SVG charts and a CSV download (same service as the API)."""

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.auth.policy import Principal
from app.deps import SessionDep, page_permission
from app.errors import InvalidInput
from app.sla.reports import DIMENSIONS, day_range, report_csv, sla_report
from app.sla.schemas import TARGET_LABELS, Target
from app.sla.service import sla_now
from app.sla.views import bar_chart
from app.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, page_permission("reports:read")]


def _dates(from_: str | None, to: str | None) -> tuple[date | None, date | None]:
    try:
        return (
            date.fromisoformat(from_) if from_ else None,
            date.fromisoformat(to) if to else None,
        )
    except ValueError:
        raise InvalidInput("dates look like 2026-11-23", code="bad_date") from None


def _minutes(seconds: int | None) -> float | None:
    if seconds is None:
        return None
    return round(seconds / 60) if seconds >= 6000 else round(seconds / 60, 1)


def _hours_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds // 60} min"


@router.get("/reports")
async def reports_page(
    request: Request,
    session: SessionDep,
    principal: Reader,
    by: str = "channel",
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
):
    if by not in DIMENSIONS:
        raise InvalidInput(f"by must be one of {', '.join(DIMENSIONS)}", code="bad_dimension")
    start, end = day_range(*_dates(from_, to))
    report = await sla_report(session, by=by, start=start, end=end, now=sla_now())
    targets = list(Target)
    attainment_chart = bar_chart(
        [(r.label, [r.targets[t.value].attainment for t in targets]) for r in report.rows],
        [TARGET_LABELS[t] for t in targets],
        unit="%",
        max_value=100,
        title=f"SLA attainment by {by}",
    )
    response_chart = bar_chart(
        [
            (r.label, [_minutes(r.first_response_p50_s), _minutes(r.first_response_p90_s)])
            for r in report.rows
        ],
        ["median", "90th percentile"],
        unit=" min",
        title=f"Business minutes to first response by {by}",
    )
    query = {k: v for k, v in {"by": by, "from": from_, "to": to}.items() if v}
    ctx = {
        "section": "reports",
        "report": report,
        "targets": targets,
        "TARGET_LABELS": TARGET_LABELS,
        "dimensions": DIMENSIONS,
        "by": by,
        "from_": from_ or "",
        "to": to or "",
        "csv_url": "/reports/sla.csv?" + urlencode(query),
        "api_url": "/api/v1/reports/sla?" + urlencode(query),
        "attainment_chart": attainment_chart,
        "response_chart": response_chart,
        "hours_text": _hours_text,
    }
    return render(request, "sla/reports.html", ctx, block="report")


@router.get("/reports/sla.csv")
async def reports_csv(
    session: SessionDep,
    principal: Reader,
    by: str = "channel",
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
):
    if by not in DIMENSIONS:
        raise InvalidInput(f"by must be one of {', '.join(DIMENSIONS)}", code="bad_dimension")
    start, end = day_range(*_dates(from_, to))
    report = await sla_report(session, by=by, start=start, end=end, now=sla_now())
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sla-by-{by}.csv"'},
    )
