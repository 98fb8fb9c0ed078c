"""Inline SVG charts rendered on the server: no JavaScript, no CDN, printable.

Colours come from CSS classes (``series-0``, ``series-1``...), so the charts follow the
page's light or dark theme. Every text is escaped; every bar has a ``<title>`` tooltip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

__all__ = ["Series", "column_chart", "hbar_chart", "line_chart", "short_number"]

Series = tuple[str, Sequence[float]]  # (name, one value per label)
Formatter = Callable[[float], str]


def short_number(value: float) -> str:
    """1234 -> '1.2k', 2500000 -> '2.5M'; small values keep two decimals when fractional."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + unit
    if value and abs(value) < 10 and value != int(value):
        return f"{value:.2f}"
    return f"{value:.0f}"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _legend(series: Sequence[Series], x: float) -> str:
    parts = []
    for i, (name, _) in enumerate(series):
        lx = x + i * 120
        parts.append(
            f'<rect class="series-{i}" x="{lx}" y="4" width="10" height="10" rx="2"/>'
            f'<text class="legend" x="{lx + 14}" y="13">{escape(name)}</text>'
        )
    return "".join(parts)


def column_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    fmt: Formatter = short_number,
    width: int = 640,
    height: int = 240,
) -> Markup:
    """Stacked columns, one per label (e.g. tokens per day, input and output stacked)."""
    left, right, top, bottom = 48, 8, 24, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    peak = _nice_max(max(totals, default=0))
    n = max(len(labels), 1)
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.7)
    out = [_svg_open(width, height, title), _axes(left, top, plot_w, plot_h, peak, fmt)]
    out.append(_legend(series, left))
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar_w) / 2
        y = float(top + plot_h)
        for s, (name, values) in enumerate(series):
            h = plot_h * values[i] / peak
            y -= h
            if h > 0:
                out.append(
                    f'<rect class="bar series-{s}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}"'
                    f' height="{h:.1f}"><title>{escape(label)} · {escape(name)}: '
                    f"{escape(fmt(values[i]))}</title></rect>"
                )
        if n <= 14 or i % max(1, n // 10) == 0:
            out.append(
                f'<text class="tick" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}"'
                f' text-anchor="middle">{escape(_short_label(label))}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    fmt: Formatter = short_number,
    width: int = 640,
    height: int = 240,
) -> Markup:
    """Lines with dots, one point per label (e.g. cost per day)."""
    left, right, top, bottom = 48, 20, 24, 36  # room for the last label, centred on its dot
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for _, values in series for v in values), default=0))
    n = len(labels)
    step = plot_w / max(n - 1, 1)
    out = [_svg_open(width, height, title), _axes(left, top, plot_w, plot_h, peak, fmt)]
    out.append(_legend(series, left))
    for s, (name, values) in enumerate(series):
        points = [
            (left + i * step if n > 1 else left + plot_w / 2, top + plot_h * (1 - v / peak))
            for i, v in enumerate(values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline class="line series-{s}" fill="none" points="{path}"/>')
        for (x, y), label, v in zip(points, labels, values, strict=True):
            out.append(
                f'<circle class="dot series-{s}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                f"<title>{escape(label)} · {escape(name)}: {escape(fmt(v))}</title></circle>"
            )
    for i, label in enumerate(labels):
        if n <= 14 or i % max(1, n // 10) == 0:
            x = left + i * step if n > 1 else left + plot_w / 2
            out.append(
                f'<text class="tick" x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="middle">'
                f"{escape(_short_label(label))}</text>"
            )
    out.append("</svg>")
    return Markup("".join(out))


def hbar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    fmt: Formatter = short_number,
    width: int = 640,
    bar_height: int = 22,
) -> Markup:
    """Horizontal bars, largest first (e.g. tokens per model)."""
    rows = sorted((r for r in rows if r[1] > 0), key=lambda r: r[1], reverse=True)[:12]
    label_w, value_w, top = 160, 64, 8
    height = top + max(len(rows), 1) * (bar_height + 6) + 4
    plot_w = width - label_w - value_w
    peak = max((v for _, v in rows), default=0) or 1.0
    out = [_svg_open(width, height, title)]
    for i, (label, value) in enumerate(rows):
        y = top + i * (bar_height + 6)
        w = max(1.0, plot_w * value / peak) if value > 0 else 0
        out.append(
            f'<text class="label" x="{label_w - 6}" y="{y + bar_height * 0.7:.1f}"'
            f' text-anchor="end">{escape(_clip(label, 24))}</text>'
            f'<rect class="bar series-{i % 6}" x="{label_w}" y="{y}" width="{w:.1f}"'
            f' height="{bar_height}" rx="3"><title>{escape(label)}: {escape(fmt(value))}</title>'
            f'</rect><text class="value" x="{label_w + w + 6:.1f}" y="{y + bar_height * 0.7:.1f}">'
            f"{escape(fmt(value))}</text>"
        )
    if not rows:
        out.append(f'<text class="tick" x="{width / 2}" y="20" text-anchor="middle">no data</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _svg_open(width: int, height: int, title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img"'
        f' preserveAspectRatio="xMidYMid meet" aria-label="{escape(title)}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    )


def _axes(left: int, top: int, plot_w: float, plot_h: float, peak: float, fmt: Formatter) -> str:
    parts = []
    for k in range(5):
        value = peak * k / 4
        y = top + plot_h * (1 - k / 4)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(value))}</text>"
        )
    return "".join(parts)


def _short_label(label: str) -> str:
    # 2026-11-22 -> 11-22: days are the common case and the year is in the title.
    if len(label) == 10 and label[4] == "-" and label[7] == "-":
        return label[5:]
    return _clip(label, 12)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
