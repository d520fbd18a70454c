"""Charts for the SLA report, drawn as inline SVG on the server (no JavaScript chart library).

Pure functions: numbers in, escaped SVG markup out.
"""

from markupsafe import Markup, escape


def bar_chart(rows: list[tuple[str, list[float | None]]], series: list[str], *, unit: str = "%",
              max_value: float | None = None, title: str = "", width: int = 720, colour_by_value: bool = False) -> Markup:
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
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    x = label_w
    for i, name in enumerate(series):
        out.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{palette[i % 4]}"/>'
                   f'<text x="{x + 14}" y="13">{escape(name)}</text>')
        x += 14 + 8 * len(name) + 18
    for r, (label, vs) in enumerate(rows):
        y0 = legend_h + r * group_h
        out.append(f'<text x="{label_w - 8}" y="{y0 + group_h / 2}" text-anchor="end" '
                   f'dominant-baseline="middle">{escape(label[:28])}</text>')
        for i, v in enumerate(vs):
            y = y0 + i * bar_h
            if v is None:
                out.append(f'<text x="{label_w + 4}" y="{y + bar_h - 3}">no data</text>')
                continue
            w = max(1.0, plot_w * min(v, top) / top)
            fill = palette[i % 4]
            if colour_by_value:
                fill = "#2b8a3e" if v >= 90 else ("#e67700" if v >= 75 else "#c92a2a")
            out.append(f'<rect x="{label_w}" y="{y + 1}" width="{w:.1f}" height="{bar_h - 2}" fill="{fill}" rx="2">'
                       f'<title>{escape(label)} · {escape(series[i])}: {v:g}{escape(unit)}</title></rect>'
                       f'<text class="value" x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}">{v:g}{escape(unit)}</text>')
    out.append(f'<line class="axis" x1="{label_w}" y1="{legend_h - 2}" x2="{label_w}" y2="{height - 6}"/>')
    out.append("</svg>")
    return Markup("".join(out))
