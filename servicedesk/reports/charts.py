"""Small server-side SVG charts (no JavaScript, no external assets): they render the same in
the browser and in the weekly e-mail. Text is escaped; every mark has a <title> tooltip."""
from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#dc3545")
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _frame(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="report-chart">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def _short(label: str) -> str:
    return label[5:] if len(label) == 10 and label[4] == "-" else label  # 2026-03-02 -> 03-02


def line_chart(title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]], *,
               target: float | None = None, y_max: float = 100.0, unit: str = "%",
               width: int = 640, height: int = 220) -> Markup:
    """Lines over labelled buckets (gaps where a value is None), with a dashed target line."""
    left, right, top, bottom = 36, 10, 10, 38
    w, h = width - left - right, height - top - bottom
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + h - h * min(max(v, 0.0), y_max) / y_max

    body = [f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#adb5bd"/>']
    for frac in (0, 0.5, 1):
        v = y_max * frac
        body.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end" {_FONT} '
                    f'fill="#6c757d">{v:g}</text>')
    if target is not None:
        body.append(f'<line x1="{left}" y1="{y(target):.1f}" x2="{left + w}" y2="{y(target):.1f}" '
                    f'stroke="#dc3545" stroke-dasharray="4 3"><title>Target {target:g}{unit}'
                    f'</title></line>')
    step = max(1, n // 8)
    for i, label in enumerate(labels):
        if i % step == 0:
            body.append(f'<text x="{x(i):.1f}" y="{top + h + 14}" text-anchor="middle" {_FONT} '
                        f'fill="#6c757d">{escape(_short(label))}</text>')
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
        if len(points) > 1:
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                        f'stroke-width="2"/>')
        for i, v in points:
            body.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                        f'<title>{escape(name)} {escape(labels[i])}: {v:g}{unit}</title></circle>')
        body.append(f'<rect x="{left + 110 * s}" y="{height - 14}" width="10" height="10" '
                    f'fill="{colour}"/><text x="{left + 110 * s + 14}" y="{height - 5}" {_FONT}>'
                    f'{escape(name)}</text>')
    return _frame(width, height, title, body)


def bar_chart(title: str, labels: Sequence[str], series: dict[str, Sequence[float]], *,
              width: int = 640, height: int = 220) -> Markup:
    """Grouped vertical bars per label, one colour per series."""
    left, right, top, bottom = 36, 10, 10, 38
    w, h = width - left - right, height - top - bottom
    n, k = max(len(labels), 1), max(len(series), 1)
    peak = max([v for values in series.values() for v in values] + [1])
    slot = w / n
    bar = max(slot * 0.8 / k, 1.0)
    body = [f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#adb5bd"/>',
            f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" {_FONT} fill="#6c757d">'
            f'{peak:g}</text>']
    step = max(1, n // 8)
    for i, label in enumerate(labels):
        if i % step == 0:
            body.append(f'<text x="{left + slot * (i + 0.5):.1f}" y="{top + h + 14}" '
                        f'text-anchor="middle" {_FONT} fill="#6c757d">'
                        f'{escape(_short(label))}</text>')
    for s, (name, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        for i, v in enumerate(values):
            bh = h * v / peak
            bx = left + slot * i + slot * 0.1 + bar * s
            body.append(f'<rect x="{bx:.1f}" y="{top + h - bh:.1f}" width="{bar:.1f}" '
                        f'height="{bh:.1f}" fill="{colour}"><title>{escape(name)} '
                        f'{escape(labels[i])}: {v:g}</title></rect>')
        body.append(f'<rect x="{left + 110 * s}" y="{height - 14}" width="10" height="10" '
                    f'fill="{colour}"/><text x="{left + 110 * s + 14}" y="{height - 5}" {_FONT}>'
                    f'{escape(name)}</text>')
    return _frame(width, height, title, body)


def compliance_chart(trend: dict, target: float, title: str = "SLA compliance") -> Markup:
    """The dashboard's trend: response and resolution compliance per bucket, target line."""
    labels = [b for b, _ in trend["resolution"]]
    return line_chart(title, labels, {
        "Response": [c.percent for _, c in trend["response"]],
        "Resolution": [c.percent for _, c in trend["resolution"]]}, target=target)


def flow_chart(flow: Sequence[tuple[str, int, int]], title: str = "Created vs resolved"
               ) -> Markup:
    return bar_chart(title, [b for b, _, _ in flow], {
        "Created": [c for _, c, _ in flow], "Resolved": [r for _, _, r in flow]})
