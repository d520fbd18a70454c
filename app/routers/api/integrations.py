"""/api/v1/integrations: GitHub, Slack and e-mail in. Each verifies its own signature or secret."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from pydantic import BaseModel, Field, ValidationError

from app.auth.policy import Principal
from app.db import pk
from app.deps import SessionDep, api_permission, public
from app.errors import InvalidInput, PayloadTooLarge, Unauthorized
from app.integrations import github
from app.integrations.settings import get_integration_settings
from app.routers.api.common import errors
from app.ticket.models import MessageDelivery

router = APIRouter(prefix="/integrations", tags=["integrations"])


class InboundResult(BaseModel):
    result: str
    ticket: str | None = None
    detail: str = ""


@contextmanager
def _payload_errors() -> Iterator[None]:
    """A payload whose fields we cannot use (a login that makes no address, ...) is a 422, not a 500."""
    try:
        yield
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"unusable payload: {reasons}", code="bad_payload") from None


async def _body(request: Request, limit: int) -> bytes:
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    return body


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the body is not JSON", code="malformed_json") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", code="bad_payload")
    return data


@router.post(
    "/github",
    response_model=InboundResult,
    responses=errors(401, 413, 422),
    dependencies=[
        public(
            "GitHub calls it; X-Hub-Signature-256 is verified against the shared secret",
            signed=True,
        )
    ],
    summary="GitHub webhook (issues, issue_comment, ping)",
)
async def github_webhook(
    request: Request,
    session: SessionDep,
    x_github_event: Annotated[str, Header()] = "",
    x_github_delivery: Annotated[str | None, Header()] = None,
    x_hub_signature_256: Annotated[str | None, Header()] = None,
):
    """Send GitHub's webhook here with content type `application/json` and the secret in
    `FIRSTLINE_GITHUB_WEBHOOK_SECRET`. A bad or missing signature is a 401 and changes nothing."""
    body = await _body(request, 5 * 1024 * 1024)
    github.verify_signature(
        get_integration_settings().github_webhook_secret, body, x_hub_signature_256
    )
    if not x_github_event:
        raise InvalidInput("missing X-GitHub-Event header", code="bad_payload")
    with _payload_errors():
        outcome = await github.handle_event(
            session,
            x_github_event,
            x_github_delivery,
            _json(body),
            digest=github.body_digest(x_github_event, body),
        )
    return InboundResult(result=outcome.result, ticket=outcome.ticket, detail=outcome.detail)


@router.post(
    "/email",
    response_model=InboundResult,
    responses=errors(401, 413, 422),
    dependencies=[
        public("an MTA or mail relay posts here; it sends the shared inbound token", signed=True)
    ],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string"}}},
        }
    },
    summary="One raw RFC 822 e-mail in",
)
async def email_in(
    request: Request, session: SessionDep, authorization: Annotated[str | None, Header()] = None
):
    """`Authorization: Bearer <FIRSTLINE_EMAIL_INBOUND_TOKEN>`; the body is the message as
    received (any content type). New mail opens a ticket; replies thread onto theirs;
    auto-replies, bulk mail and our own mail coming back are acknowledged and ignored."""
    from app.auth.secrets import constant_time_equals
    from app.errors import Unauthorized
    from app.integrations.email import ingest_email

    token = get_integration_settings().email_inbound_token
    if not token:
        raise Unauthorized(
            "inbound e-mail is not configured (FIRSTLINE_EMAIL_INBOUND_TOKEN)",
            code="not_configured",
        )
    scheme, _, sent = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not constant_time_equals(sent.strip(), token):
        raise Unauthorized("send Authorization: Bearer <inbound e-mail token>", code="bad_token")
    body = await _body(request, get_integration_settings().email_max_bytes)
    if not body.strip():
        raise InvalidInput("empty body: send the raw message", code="bad_message")
    with _payload_errors():
        outcome = await ingest_email(session, body)
    return InboundResult(result=outcome.result, ticket=outcome.ticket, detail=outcome.detail)


async def _verified_slack_body(request: Request, session: SessionDep, body: bytes) -> bool:
    """Verify the signature; False when this exact signed request was received before (a replay)."""
    from app.db import utcnow
    from app.integrations.slack import first_time, verify_request

    now = utcnow()
    verify_request(
        get_integration_settings().slack_signing_secret,
        request.headers.get("x-slack-request-timestamp"),
        body,
        request.headers.get("x-slack-signature"),
        now=int(now.timestamp()),
    )
    return await first_time(session, request.headers.get("x-slack-signature", ""), now=now)


@router.post(
    "/slack/commands",
    responses=errors(401, 413, 422),
    dependencies=[
        public("Slack calls it; X-Slack-Signature is verified with the signing secret", signed=True)
    ],
    summary="Slack slash command (/support <text>)",
)
async def slack_command(request: Request, session: SessionDep) -> dict[str, Any]:
    """Slack's form-encoded slash-command request; answers with the new ticket's key and link."""
    from urllib.parse import parse_qs

    from app.integrations.slack import slash_command

    body = await _body(request, 1024 * 1024)
    if not await _verified_slack_body(request, session, body):
        raise Unauthorized("this request was received before (replay)", code="replayed_request")
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        raise InvalidInput("the body is not form-encoded UTF-8", code="bad_payload") from None
    with _payload_errors():
        return await slash_command(session, form)


@router.post(
    "/slack/events",
    responses=errors(401, 413, 422),
    dependencies=[
        public("Slack calls it; X-Slack-Signature is verified with the signing secret", signed=True)
    ],
    summary="Slack Events API (url_verification, message, reaction_added/removed)",
)
async def slack_events(request: Request, session: SessionDep) -> dict[str, Any]:
    from app.integrations.slack import EventOutcome, handle_event

    body = await _body(request, 1024 * 1024)
    if not await _verified_slack_body(request, session, body):
        # Acknowledged, so Slack stops retrying, and changes nothing.
        return {"result": "duplicate", "ticket": None, "detail": "this request was received before"}
    with _payload_errors():
        outcome = await handle_event(session, _json(body))
    if isinstance(outcome, EventOutcome):
        return {"result": outcome.result, "ticket": outcome.ticket, "detail": outcome.detail}
    return outcome


class TrackerIssueCreate(BaseModel):
    ticket: str = Field(max_length=40, description="ticket id or key, e.g. SUP-42")
    repo: str | None = Field(
        default=None, max_length=201, description="owner/name; default FIRSTLINE_GITHUB_REPO"
    )
    title: str | None = Field(
        default=None, max_length=256, description="default: the ticket's title"
    )


class TrackerIssueOut(BaseModel):
    ticket: str
    status: str
    issue_url: str


@router.post(
    "/github/issues",
    status_code=201,
    response_model=TrackerIssueOut,
    responses=errors(400, 401, 403, 404, 409, 422)
    | {502: {"description": "GitHub refused or did not answer"}},
    summary="Open a GitHub tracker issue from a ticket, link it, set the ticket pending",
)
async def open_tracker_issue(
    data: TrackerIssueCreate,
    session: SessionDep,
    principal: Annotated[Principal, api_permission("tickets:write")],
):
    from app.integrations.tracker import open_tracker_issue as open_issue
    from app.ticket.service import ticket_key

    ticket, url = await open_issue(
        session, data.ticket, actor=principal, repo=data.repo, title=data.title
    )
    return TrackerIssueOut(ticket=ticket_key(pk(ticket)), status=ticket.status, issue_url=url)


@router.post(
    "/replies/{delivery_id}/redeliver",
    response_model=MessageDelivery,
    responses=errors(401, 403, 404, 409),
    summary="Send a reply to GitHub, Slack or e-mail again (e.g. after it failed)",
)
async def redeliver_reply(
    delivery_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: Annotated[Principal, api_permission("tickets:write")],
):
    """`delivery_id` is a message's `delivery.id`. Queued again with the same idempotency key; 409 while queued."""
    from app.integrations.conversations import send_reply_again

    return await send_reply_again(session, delivery_id)
