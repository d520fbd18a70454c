"""Alerts in: Alertmanager and Grafana webhooks in their own formats, and a generic JSON shape.

Monitoring tools authenticate with a bearer token: a user API token with the `alerts:write`
scope, or the shared `FIRSTLINE_ALERT_TOKEN` (what Alertmanager's `http_config.authorization`
and Grafana's "Authorization header" settings send).
"""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError

from app.alerting import rules
from app.alerting.models import AlertIngestResult, AlertPublic
from app.alerting.service import list_alerts, receive_alerts
from app.auth.policy import Principal, require
from app.auth.secrets import constant_time_equals
from app.deps import AccessRule, SessionDep, api_permission, api_principal
from app.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from app.incident.config import get_incident_settings
from app.routers.api.common import errors

router = APIRouter(tags=["alerts"])
MAX_BODY = 5 * 1024 * 1024


class AlertSender(AccessRule):
    """The shared alert token, or a user's API token with alerts:write."""

    permission = "alerts:write"

    async def __call__(self, request: Request, session: SessionDep) -> Principal | None:
        token = get_incident_settings().alert_token
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if token and scheme.lower() == "bearer" and constant_time_equals(sent.strip(), token):
            return None
        return require(await api_principal(request, session), "alerts:write")


Sender = Annotated[Principal | None, Depends(AlertSender())]


async def _parse(request: Request, model: type[BaseModel]) -> Any:
    if not request.headers.get("content-type", "application/json").startswith("application/json"):
        raise UnsupportedMediaType("send the alert notification as application/json")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise PayloadTooLarge("alert notification larger than 5 MB")
    try:
        return model.model_validate(json.loads(body))
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"body is not JSON: {exc.msg} at line {exc.lineno}", code="bad_json"
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            f"not a {model.__name__} notification: {where}: {first['msg']}",
            code="bad_alert_payload",
        ) from None


DOC = errors(401, 403, 413, 415, 422)


@router.post(
    "/integrations/alertmanager",
    response_model=AlertIngestResult,
    responses=DOC,
    summary="Alertmanager webhook receiver (webhook_config, payload version 4)",
)
async def alertmanager(request: Request, session: SessionDep, sender: Sender):
    """New firing alerts join the open incident of their group (or declare one); repeats are
    counted, not duplicated; resolved alerts update their record."""
    payload = await _parse(request, rules.AlertmanagerPayload)
    return await receive_alerts(
        session, "alertmanager", rules.from_alertmanager(payload), actor_id=None
    )


@router.post(
    "/integrations/grafana",
    response_model=AlertIngestResult,
    responses=DOC,
    summary="Grafana unified alerting webhook contact point",
)
async def grafana(request: Request, session: SessionDep, sender: Sender):
    payload = await _parse(request, rules.GrafanaPayload)
    return await receive_alerts(session, "grafana", rules.from_alertmanager(payload), actor_id=None)


@router.post(
    "/alerts",
    response_model=AlertIngestResult,
    responses=DOC,
    summary="Send alerts as generic JSON",
)
async def generic(request: Request, session: SessionDep, sender: Sender):
    payload = await _parse(request, rules.GenericPayload)
    return await receive_alerts(session, "api", rules.from_generic(payload), actor_id=None)


@router.get(
    "/alerts",
    response_model=list[AlertPublic],
    responses=errors(401, 403, 422),
    summary="Recent alerts",
)
async def read_alerts(
    session: SessionDep,
    principal: Annotated[Principal, api_permission("alerts:read")],
    incident_id: int | None = None,
):
    return [
        AlertPublic.model_validate(a, from_attributes=True)
        for a in await list_alerts(session, incident_id=incident_id)
    ]
