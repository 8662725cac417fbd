"""The metrics dashboard: each metric as a chart (SVG drawn by matplotlib on the server, so
the page needs no script under the strict Content-Security-Policy), its numbers as a table
beside it, and a CSV download."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lessons.catalogue import service as catalogue
from lessons.metrics import service as metrics
from lessons.metrics.service import Metric
from ui.pages.render import page
from ui.shared.state import require, session_for, viewer_for
from ui.shared.themes import themes_for

# matplotlib keeps global state (its rc settings, font cache); one chart is drawn at a time.
_DRAWING = threading.Lock()
# Okabe-Ito colours: told apart with the common colour-vision deficiencies.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
_MAX_TICKS = 18
_LABEL_CHARS = 48
# matplotlib sizes the root element in points; without them the image takes its container's
# width and keeps the viewBox's proportions, so charts shrink on a narrow screen.
_ROOT_SIZE = re.compile(rb'(<svg\b[^>]*?)\s+width="[^"]*"\s+height="[^"]*"')


def _metric(request: Request, session: Session, name: str) -> Metric:
    return metrics.compute(
        session,
        viewer=viewer_for(request),
        name=name,
        themes=lambda: themes_for(request, session),
        today=catalogue.today(),
    )


def dashboard(request: Request) -> Response:
    require(request)
    with session_for(request) as session:
        computed = metrics.compute_all(
            session,
            viewer=viewer_for(request),
            themes=lambda: themes_for(request, session),
            today=catalogue.today(),
        )
    return page(request, "metrics.html", {"metrics": computed, "today": catalogue.today()})


def _csv_route(name: str) -> Callable[[Request], Response]:
    def csv_download(request: Request) -> Response:
        require(request)
        with session_for(request) as session:
            metric = _metric(request, session, name)
        return Response(
            metrics.to_csv(metric),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="lessonbank-{name}.csv"',
                "Cache-Control": "private, no-cache",
            },
        )

    return csv_download


def _svg_route(name: str) -> Callable[[Request], Response]:
    def svg_chart(request: Request) -> Response:
        require(request)
        with session_for(request) as session:
            metric = _metric(request, session, name)
        return Response(
            draw(metric),
            media_type="image/svg+xml",
            headers={"Cache-Control": "private, no-cache"},
        )

    return svg_chart


def draw(metric: Metric) -> bytes:
    """The metric as an SVG chart. matplotlib is imported here, on the first chart, not when
    the app starts (it takes a second and most requests never draw)."""
    import matplotlib

    with _DRAWING:
        matplotlib.use("Agg")
        matplotlib.rcParams.update(
            {
                "svg.fonttype": "none",  # text stays text: smaller, selectable, escaped
                "svg.hashsalt": "lessonbank",  # the same numbers give the same file
                "text.parse_math": False,  # a "$" in a lesson title is not TeX
                "font.size": 9,
            }
        )
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7.2, 3.6), layout="constrained")
        axes = figure.add_subplot()
        _plot(axes, metric)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", metadata={"Title": metric.title, "Date": None})
    return _ROOT_SIZE.sub(rb"\1", buffer.getvalue(), count=1)


def _plot(axes: Any, metric: Metric) -> None:
    axes.figure.suptitle(metric.title, x=0.01, ha="left")
    axes.spines[["top", "right"]].set_visible(False)
    if not metric.rows:
        axes.text(0.5, 0.5, "No data yet", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    labels = [_short(str(row[0])) for row in metric.rows]
    positions = list(range(len(labels)))
    columns = {c: i for i, c in enumerate(metric.columns)}
    values = {s: [_number(row[columns[s]]) for row in metric.rows] for s in metric.series}
    if metric.kind == "barh":
        series = metric.series[0]
        axes.barh(positions, values[series], color=COLOURS[0])
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_xlabel(_axis_label(metric))
        axes.xaxis.get_major_locator().set_params(integer=True)
        return
    if metric.kind == "lines":
        for colour, (series, ys) in zip(COLOURS, values.items(), strict=False):
            axes.plot(positions, ys, marker="o", markersize=3, label=series, color=colour)
    elif metric.kind == "stacked":
        bottom = [0.0] * len(positions)
        for colour, (series, ys) in zip(COLOURS, values.items(), strict=False):
            axes.bar(positions, ys, bottom=bottom, label=series, color=colour)
            bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    else:
        width = 0.8 / len(values)
        for i, (colour, (series, ys)) in enumerate(zip(COLOURS, values.items(), strict=False)):
            offset = (i - (len(values) - 1) / 2) * width
            axes.bar([p + offset for p in positions], ys, width, label=series, color=colour)
    step = max(1, -(-len(labels) // _MAX_TICKS))  # every label when few, else every nth
    axes.set_xticks(positions[::step], labels[::step], rotation=45, ha="right")
    axes.set_ylabel(_axis_label(metric))
    axes.set_ylim(bottom=0)
    if metric.unit != "%":
        axes.yaxis.get_major_locator().set_params(integer=True)
    if len(values) > 1:
        axes.legend(frameon=False, fontsize=8)


def _axis_label(metric: Metric) -> str:
    return "Share (%)" if metric.unit == "%" else f"Number of {metric.unit}"


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


routes = [
    Route("/metrics", dashboard, methods=["GET"]),
    *(Route(f"/metrics/{n}.svg", _svg_route(n), methods=["GET"]) for n in metrics.NAMES),
    *(Route(f"/metrics/{n}.csv", _csv_route(n), methods=["GET"]) for n in metrics.NAMES),
]
