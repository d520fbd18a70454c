"""One `render()` for every page: a whole page, or just one block for htmx requests."""

from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments import render_block
from markupsafe import Markup, escape

from app.config import get_settings
from app.markdown import render_markdown
from app.ticket.enums import (
    CRITICALITY_DEFINITIONS,
    STATUS_LABELS,
    TYPE_LABELS,
    Channel,
    Criticality,
    Status,
    TicketType,
    Urgency,
)

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def _static_version() -> str:
    # Changes whenever a static file changes, so browsers never keep a stale stylesheet.
    newest = max((p.stat().st_mtime_ns for p in STATIC.rglob("*") if p.is_file()), default=0)
    return format(newest % 10**10, "x")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds // size}{unit}"
            break
    else:
        text = "now" if seconds < 30 else f"{seconds}s"
    if text == "now":
        return text
    return f"in {text}" if future else f"{text} ago"


# (value, label, title) triples for a <select>; tuples so rendered option lists can be cached.
Choices = tuple[tuple[str, str, str], ...]


@lru_cache(maxsize=1024)
def _options(choices: Choices, selected: str) -> Markup:
    parts = []
    for value, label, title in choices:
        attrs = f' value="{escape(value)}"' + (" selected" if value == selected else "")
        if title:
            attrs += f' title="{escape(title)}"'
        parts.append(f"<option{attrs}>{escape(label)}</option>")
    return Markup("".join(parts))


def options(choices: Choices, selected: object = "") -> Markup:
    """The <option> list of a select with `selected` marked.

    A board page has four selects on each of its 100 rows; building their options once per
    distinct selection instead of looping in Jinja per row keeps the page render cheap
    (docs/adr/0008).
    """
    if isinstance(selected, Enum):
        selected = selected.value
    return _options(choices, "" if selected is None else str(selected))


STATUS_CHOICES: Choices = tuple((s.value, STATUS_LABELS[s], "") for s in Status)
TYPE_CHOICES: Choices = tuple((t.value, TYPE_LABELS[t], "") for t in TicketType)
CRITICALITY_CHOICES: Choices = (
    ("", "Crit…", ""),
    *((str(c.value), f"C{c.value} {c.name}", CRITICALITY_DEFINITIONS[c]) for c in Criticality),
)


# An unclassified ticket shows the criticality its urgency suggests: "C1?", "C2?", else "C3?".
UNCLASSIFIED_GUESS = {Urgency.emergency: 1, Urgency.urgent: 2}
FINISHED = (Status.resolved, Status.closed)  # no Claim button on these


def staff_choices(staff) -> Choices:
    return (("", "Unassigned", ""), *((str(u.id), u.name, "") for u in staff))


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    enable_async=False,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(ago=ago, when=when, iso=iso, markdown=lambda s: Markup(render_markdown(s or "")))
env.globals.update(
    STATUS_LABELS=STATUS_LABELS,
    TYPE_LABELS=TYPE_LABELS,
    CRITICALITY_DEFINITIONS=CRITICALITY_DEFINITIONS,
    Status=Status,
    TicketType=TicketType,
    Channel=Channel,
    Urgency=Urgency,
    Criticality=Criticality,
    static_version=_static_version(),
    options=options,
    staff_choices=staff_choices,
    STATUS_CHOICES=STATUS_CHOICES,
    TYPE_CHOICES=TYPE_CHOICES,
    CRITICALITY_CHOICES=CRITICALITY_CHOICES,
    UNCLASSIFIED_GUESS=UNCLASSIFIED_GUESS,
    FINISHED=FINISHED,
)


def is_htmx(request: Request) -> bool:
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render `template`; for an htmx request with `block`, only that block.

    `Vary: HX-Request` is always set so a cache never serves a fragment as a page.
    """
    principal = getattr(request.state, "principal", None)
    ctx = {
        "request": request,
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else "",
        "settings": get_settings(),
        "now": datetime.now(UTC),
        **(context or {}),
    }
    if (
        "staff" in ctx
    ):  # the assignee <select> options, built once per page rather than once per row
        ctx.setdefault("staff_options", staff_choices(ctx["staff"]))
    if block and is_htmx(request):
        html = render_block(env, template, block, ctx)
    else:
        html = env.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request"
    return response
