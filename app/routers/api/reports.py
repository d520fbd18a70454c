"""/api/v1/reports: the SLA report as JSON or CSV."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import SQLModel

from app.auth.policy import Principal
from app.deps import SessionDep, api_permission
from app.routers.api.common import errors
from app.sla.reports import SlaReport, day_range, report_csv, sla_report
from app.sla.service import sla_now

router = APIRouter(prefix="/reports", tags=["reports"])

Reader = Annotated[Principal, api_permission("reports:read")]
By = Annotated[
    str,
    Query(
        pattern="^(channel|criticality|community|week|month)$",
        description="group rows by channel, criticality, community, week or month of opening",
    ),
]


class TargetStatsOut(SQLModel):
    decided: int
    met: int
    attainment_pct: float | None


class ReportRowOut(SQLModel):
    key: str
    label: str
    tickets: int
    targets: dict[str, TargetStatsOut]
    first_response_median_seconds: int | None
    first_response_p90_seconds: int | None


class SlaReportOut(SQLModel):
    by: str
    start: datetime | None
    end: datetime | None
    as_of: datetime
    rows: list[ReportRowOut]
    overall: ReportRowOut


def report_out(report: SlaReport) -> SlaReportOut:
    def row(r) -> ReportRowOut:
        return ReportRowOut(
            key=r.key,
            label=r.label,
            tickets=r.tickets,
            targets={
                k: TargetStatsOut(decided=s.decided, met=s.met, attainment_pct=s.attainment)
                for k, s in r.targets.items()
            },
            first_response_median_seconds=r.first_response_p50_s,
            first_response_p90_seconds=r.first_response_p90_s,
        )

    return SlaReportOut(
        by=report.by,
        start=report.start,
        end=report.end,
        as_of=report.as_of,
        rows=[row(r) for r in report.rows],
        overall=row(report.overall),
    )


@router.get(
    "/sla",
    response_model=SlaReportOut,
    responses={
        **errors(401, 403, 422),
        200: {
            "content": {"text/csv": {}},
            "description": "The report (JSON, or CSV with format=csv)",
        },
    },
    summary="SLA attainment and time to first response",
)
async def sla(
    session: SessionDep,
    principal: Reader,
    by: By = "channel",
    from_: Annotated[
        date | None, Query(alias="from", description="first day (UTC) of tickets opened")
    ] = None,
    to: Annotated[date | None, Query(description="last day (UTC), inclusive")] = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
):
    """Attainment % per target (met on time / decided; a target is decided once met or
    overdue) and the median and 90th percentile business time to first response."""
    start, end = day_range(from_, to)
    report = await sla_report(session, by=by, start=start, end=end, now=sla_now())
    if format == "csv":
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="sla-by-{by}.csv"'},
        )
    return report_out(report)
