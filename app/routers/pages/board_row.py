"""One row of the triage board as HTML: the board page's inner loop, written out in Python.

Through Jinja a row cost ~100 µs: it has ~40 values, and with autoescaping each one is an
attribute lookup plus an `escape()` call (~1 µs each), so the 100 rows of a page took about
10 ms. Here the numbers and our own enum values go in as they are, everything else that
is text (titles, names, tags, labels, reasons) is escaped, and a row costs ~25 µs.

`board/index.html` calls `board_row()` for each row of the page and of "load more", and in
its `row` block for the one-row htmx responses; the markup is what the template produced.
"""

from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

from markupsafe import Markup, escape

from app.sla.views import sla_badges
from app.templating import (
    CRITICALITY_CHOICES,
    STATUS_CHOICES,
    TYPE_CHOICES,
    Choices,
    ago,
    env,
    options,
    when,
)
from app.ticket.enums import CRITICALITY_DEFINITIONS, STATUS_LABELS, TYPE_LABELS, Status
from app.ticket.views import BoardTicket

# Labels are fixed, so they are escaped once here rather than once per row.
_CRITICALITY_TITLES = {c: escape(text) for c, text in CRITICALITY_DEFINITIONS.items()}
_STATUS_LABELS = {s: escape(text) for s, text in STATUS_LABELS.items()}
_TYPE_LABELS = {t: escape(text) for t, text in TYPE_LABELS.items()}
_UNCLASSIFIED_GUESS = {"emergency": 1, "urgent": 2}  # shown as "C1?" / "C2?"; anything else "C3?"
_FINISHED = (Status.resolved, Status.closed)
# Names, e-mails and tags recur on many rows of a page (one community, a few people): each is
# escaped once per process instead of once per row.
_escape_recurring = lru_cache(maxsize=4096)(escape)


@lru_cache(maxsize=4096)
def _tag_link(tag: str) -> str:
    return f'<a class="tag" href="/?tag={escape(quote(tag, safe="/"))}">#{escape(tag)}</a>'


def board_row(t: BoardTicket, *, csrf_token: str, viewer_id: int | None, staff_options: Choices,
              now: datetime | None = None) -> Markup:
    i = t.id
    csrf = escape(csrf_token)
    if t.criticality:
        c = t.criticality.value
        rank = f'<span class="badge crit-{c}" title="{_CRITICALITY_TITLES[t.criticality]}">C{c}</span>'
    else:
        u = t.urgency.value
        rank = (f'<span class="badge crit-unset" title="Not classified yet; asked as {u}">'
                f'C{_UNCLASSIFIED_GUESS.get(u, 3)}?</span>')

    meta = [f'<span class="badge status status-{t.status.value}">{_STATUS_LABELS[t.status]}</span>',
            f"<span>{_TYPE_LABELS[t.type]}</span>"]
    if t.community:
        meta.append(f"<span>{_escape_recurring(t.community.name)}</span>")
    if t.requester:
        meta.append(f'<span title="{_escape_recurring(t.requester.email)}">{_escape_recurring(t.requester.name)}</span>')
    meta.append(f"<span>via {t.channel.value}</span>")
    meta.append(f'<span title="{when(t.created_at)}">{ago(t.created_at, now)}</span>')
    if t.vote_count:
        meta.append(f"<span>+{t.vote_count}</span>")
    if t.claimed_by:
        meta.append(f'<span class="badge chip-claimed" title="claimed {ago(t.claimed_at, now)}">'
                    f"looking: {_escape_recurring(t.claimed_by.name)}</span>")
    meta.extend(_tag_link(tag) for tag in t.tags)
    meta.append(sla_badges(t.sla))  # the slot for row badges: SLA countdowns
    why = escape(" · ".join(t.priority_reasons))

    assignee = t.assignee.id if t.assignee else ""
    if not t.claimed_by and t.status not in _FINISHED:
        claim = (f'<form method="post" action="/tickets/{i}/claim" hx-post="/tickets/{i}/claim" '
                 f'hx-target="#row-{i}" hx-swap="outerHTML">\n'
                 f'          <input type="hidden" name="csrf_token" value="{csrf}">\n'
                 f'          <input type="hidden" name="target" value="row">\n'
                 f'          <button class="small" type="submit" data-claim title="Claim: I\'m looking at this (c)">'
                 f"Claim</button>\n        </form>\n")
    elif t.claimed_by and viewer_id is not None and t.claimed_by.id == viewer_id:
        claim = (f'<form method="post" action="/tickets/{i}/unclaim" hx-post="/tickets/{i}/unclaim" '
                 f'hx-target="#row-{i}" hx-swap="outerHTML">\n'
                 f'          <input type="hidden" name="csrf_token" value="{csrf}">\n'
                 f'          <input type="hidden" name="target" value="row">\n'
                 f'          <button class="small" type="submit">Release</button>\n        </form>\n')
    else:
        claim = ""

    return Markup(
        f'<li class="board-row" id="row-{i}" tabindex="-1">\n'
        f'      <div class="rank">{rank}</div>\n'
        f'      <div class="main">\n'
        f'        <a class="title" href="/tickets/{i}"><span class="key">{escape(t.key)}</span>{escape(t.title)}</a>\n'
        f'        <div class="meta">\n          {"".join(meta)}\n        </div>\n'
        f'        <div class="why" title="{why}"><b>Why here:</b> {why}</div>\n'
        f"      </div>\n"
        f'      <div class="controls">\n'
        f'        <form method="post" action="/tickets/{i}/triage" hx-post="/tickets/{i}/triage" hx-trigger="change" '
        f'hx-target="#row-{i}" hx-swap="outerHTML">\n'
        f'          <input type="hidden" name="csrf_token" value="{csrf}">\n'
        f'          <input type="hidden" name="target" value="row">\n'
        f'          <input type="hidden" name="version" value="{t.version}">\n'
        f'          <label class="sr-only" for="st-{i}">Status</label>\n'
        f'          <select class="compact" id="st-{i}" name="status">{options(STATUS_CHOICES, t.status)}</select>\n'
        f'          <label class="sr-only" for="ty-{i}">Type</label>\n'
        f'          <select class="compact" id="ty-{i}" name="type">{options(TYPE_CHOICES, t.type)}</select>\n'
        f'          <label class="sr-only" for="cr-{i}">Criticality</label>\n'
        f'          <select class="compact" id="cr-{i}" name="criticality" title="Criticality">'
        f"{options(CRITICALITY_CHOICES, t.criticality)}</select>\n"
        f'          <label class="sr-only" for="as-{i}">Assignee</label>\n'
        f'          <select class="compact" id="as-{i}" name="assignee_id">{options(staff_options, assignee)}</select>\n'
        f'          <button class="small nojs-only" type="submit">Save</button>\n'
        f"        </form>\n"
        f"        {claim}"
        f"      </div>\n"
        f"    </li>\n"
    )


env.globals["board_row"] = board_row
