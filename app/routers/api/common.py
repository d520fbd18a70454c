"""Bits every API router shares: the error schema, documented error responses, ETags."""

from typing import Any

from pydantic import BaseModel

from app.errors import InvalidInput


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    detail: str
    code: str
    errors: list[FieldError] | None = None  # on 422: one entry per invalid field

    model_config = {
        "json_schema_extra": {
            "examples": [{"detail": "ticket SUP-9 does not exist", "code": "not_found"}]
        }
    }


_DESCRIPTIONS = {
    400: "Malformed JSON body",
    401: "No bearer token, or an unknown or revoked one",
    403: "The token's scopes or its owner's role do not allow this",
    404: "No such resource",
    409: "Conflicts with the current state (illegal status move, already claimed, duplicate)",
    412: "If-Match names a version that is no longer current",
    413: "Body or upload too large",
    415: "Unsupported content type",
    422: "Invalid fields; `detail` says which",
    429: "Rate limited; see Retry-After",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the error statuses a route can answer."""
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """`"3"`, `W/"3"` or `3` → 3; `*` or absent → no precondition."""
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise InvalidInput('If-Match must be an ETag from this API, e.g. "3"', code="bad_if_match")
    return int(raw)
