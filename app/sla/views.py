"""How SLA states and reports read to people, shared by the board, the ticket page and /reports.

Badges: a clock's state as text and a colour class. Charts: the report drawn as inline SVG
on the server (no JavaScript chart library); numbers in, escaped markup out.
"""

from datetime import datetime, timedelta
from functools import lru_cache

from markupsafe import Markup, escape

from app.sla.calendar import describe_duration
from app.sla.schemas import ClockState, SlaCountdown, SlaTargetState, Target

SHORT = {Target.ack: "Ack", Target.first_response: "Reply", Target.resolution: "Resolve"}
DONE = {Target.ack: "Acknowledged", Target.first_response: "Replied", Target.resolution: "Resolved"}


def badge_text(s: SlaTargetState | SlaCountdown) -> str:
    name = SHORT[s.target]
    left = timedelta(seconds=abs(s.remaining_seconds or 0))
    if s.state == ClockState.met:
        return f"{DONE[s.target]} ✓"
    if s.state == ClockState.paused:
        return f"{name} paused · {describe_duration(left)} left"
    if s.state == ClockState.breached:
        return f"{name} overdue {describe_duration(left)}"
    return f"{name} in {describe_duration(left)}"


def badge_title(
    target: Target, state: ClockState, due_at: datetime | None, target_minutes: int, calendar: str
) -> str:
    due = due_at.strftime("%a %Y-%m-%d %H:%M UTC") if due_at else "no due time while paused"
    hours = target_minutes / 60
    return f"{DONE[target].replace('ed', '')} target {hours:g} business h on {calendar}; due {due}; {state.value}"


@lru_cache(maxsize=4096)
def _badge_open(
    target: Target, state: ClockState, due_at: datetime | None, target_minutes: int, calendar: str
) -> str:
    # The part of a badge that stays the same while its clock runs, drawn once per clock: a
    # board page shows up to 300 badges, and drawing each whole every time cost ~1.7 ms a page
    # (docs/adr/0008).
    return (
        f'<span class="badge sla sla-{state.value}" data-sla="{target.value}" data-state="{state.value}" '
        f'title="{escape(badge_title(target, state, due_at, target_minutes, calendar))}">'
    )


def sla_badges(
    states: list[SlaTargetState] | list[SlaCountdown] | None, include_met: bool = False
) -> Markup:
    """Countdown badges; the board shows only clocks still running (or late), the ticket page all."""
    parts = []
    for s in states or ():
        if s.state == ClockState.met and not include_met:
            continue
        opening = _badge_open(s.target, s.state, s.due_at, s.target_minutes, s.calendar)
        parts.append(
            f"{opening}{badge_text(s)}</span>"
        )  # the text is ours: fixed labels and numbers
    return Markup("".join(parts))


def bar_chart(
    rows: list[tuple[str, list[float | None]]],
    series: list[str],
    *,
    unit: str = "%",
    max_value: float | None = None,
    title: str = "",
    width: int = 720,
    colour_by_value: bool = False,
) -> Markup:
    """Grouped horizontal bars: one group per row label, one bar per series."""
    if not rows:
        return Markup("")
    bar_h, gap, label_w, value_w = 14, 10, 170, 90
    group_h = bar_h * len(series) + gap
    legend_h = 22
    height = legend_h + group_h * len(rows) + 10
    values = [v for _, vs in rows for v in vs if v is not None]
    top = max_value if max_value is not None else (max(values) if values else 1) or 1
    plot_w = width - label_w - value_w
    palette = ["#3b5bdb", "#0ca678", "#e67700", "#c92a2a"]
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    x = label_w
    for i, name in enumerate(series):
        out.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{palette[i % 4]}"/>'
            f'<text x="{x + 14}" y="13">{escape(name)}</text>'
        )
        x += 14 + 8 * len(name) + 18
    for r, (label, vs) in enumerate(rows):
        y0 = legend_h + r * group_h
        out.append(
            f'<text x="{label_w - 8}" y="{y0 + group_h / 2}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(label[:28])}</text>'
        )
        for i, v in enumerate(vs):
            y = y0 + i * bar_h
            if v is None:
                out.append(f'<text x="{label_w + 4}" y="{y + bar_h - 3}">no data</text>')
                continue
            w = max(1.0, plot_w * min(v, top) / top)
            fill = palette[i % 4]
            if colour_by_value:
                fill = "#2b8a3e" if v >= 90 else ("#e67700" if v >= 75 else "#c92a2a")
            out.append(
                f'<rect x="{label_w}" y="{y + 1}" width="{w:.1f}" height="{bar_h - 2}" fill="{fill}" rx="2">'
                f"<title>{escape(label)} · {escape(series[i])}: {v:g}{escape(unit)}</title></rect>"
                f'<text class="value" x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}">{v:g}{escape(unit)}</text>'
            )
    out.append(
        f'<line class="axis" x1="{label_w}" y1="{legend_h - 2}" x2="{label_w}" y2="{height - 6}"/>'
    )
    out.append("</svg>")
    return Markup("".join(out))
