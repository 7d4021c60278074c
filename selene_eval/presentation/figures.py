"""The study's charts as standalone images: SVG and PNG rendered without a browser (vl-convert).

The charts are the dashboard's own (:mod:`selene_eval.presentation.charts`), built here from the study report's result
types. vl-convert bundles the Vega-Lite compiler and a Vega renderer, so no browser, JavaScript or network
is needed; the Vega-Lite version it compiles with is the one Altair writes its specs for.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import altair as alt
import pandas as pd

from selene_eval.core.expert_labels import expert_columns, expert_label_headings
from selene_eval.core.items import items_frame
from selene_eval.errors import SeleneEvalError
from selene_eval.presentation import charts
from selene_eval.presentation.compare import judge_variant_grid
from selene_eval.presentation.frames import confusion_frame, distribution_frame
from selene_eval.presentation.report import StudyReport
from selene_eval.results.table import JudgmentTables
from selene_eval.stats.registry import CHART_STATISTIC, statistic_name
from selene_eval.study.store import Study

CHART_FORMATS: tuple[str, ...] = ("svg", "png")
CHART_WIDTH = 440
"""Width in pixels of the exported charts (the dashboard lets them follow the page instead)."""


@dataclass(frozen=True)
class NamedChart:
    """A chart with a file-safe ``name`` and a human ``title``."""

    name: str
    title: str
    chart: alt.TopLevelMixin


def vega_lite_version() -> str:
    """The Vega-Lite ``major.minor`` version Altair writes specs for, checked against vl-convert's list."""
    import vl_convert

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    available = list(vl_convert.get_vegalite_versions())
    if wanted not in available:
        raise SeleneEvalError(
            f"vl-convert-python {vl_convert.__version__} cannot render Vega-Lite {wanted} (Altair "
            f"{alt.__version__}); it knows {', '.join(available)}. Install the vl-convert-python version pinned "
            "in requirements.txt."
        )
    return wanted


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an SVG document (text as ``<text>`` elements, data embedded; no script)."""
    import vl_convert

    svg = vl_convert.vegalite_to_svg(chart.to_dict(), vl_version=vega_lite_version())
    # The SVG goes inline into the HTML report: refuse anything that could run there (Vega escapes text,
    # so this never triggers on real charts; it is a guard, not a filter).
    found = script_in_markup(svg)
    if found is not None:
        raise SeleneEvalError(f"The rendered chart contains script ({found}); it was not exported.")
    return svg


_ACTIVE_ELEMENTS = frozenset({"script", "iframe", "object", "embed", "foreignobject", "handler", "listener"})
_URL_ATTRIBUTES = frozenset({"href", "xlink:href", "src", "action", "formaction", "to", "values", "from", "by"})
_RUNNABLE_URL = re.compile(r"^(javascript|vbscript|data:text/html)", re.IGNORECASE)


def script_in_markup(markup: str) -> str | None:
    """What in ``markup`` could run in a browser (an element, an event attribute or a script URL), or ``None``.

    The markup is parsed (:mod:`html.parser`), so only real elements and attributes count: text such as a
    judge named "one=shot prompt" or an escaped ``&lt;script&gt;`` is text, and attribute values are read
    with their entities decoded (``java&#115;cript:`` is caught).
    """
    finder = _ScriptFinder()
    finder.feed(markup)
    finder.close()
    return finder.found


class _ScriptFinder(HTMLParser):
    """Records the first element, event attribute or URL of :func:`script_in_markup`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.found is not None:
            return
        name = tag.split(":")[-1]  # svg:script is a script element too
        if name in _ACTIVE_ELEMENTS:
            self.found = f"a <{tag}> element"
            return
        for attribute, value in attrs:
            local = attribute.split(":")[-1]
            if local.startswith("on"):
                self.found = f"the event attribute {attribute} of <{tag}>"
                return
            url = "".join(ch for ch in (value or "") if ch > " ")  # browsers ignore spaces and controls in a scheme
            if (attribute in _URL_ATTRIBUTES or local == "href") and _RUNNABLE_URL.match(url):
                self.found = f"a {url.split(':')[0].lower()}: URL in {attribute} of <{tag}>"
                return

    handle_startendtag = handle_starttag


def chart_png(chart: alt.TopLevelMixin, *, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes (``scale`` 2: sharp on high-density screens and in print)."""
    import vl_convert

    return vl_convert.vegalite_to_png(chart.to_dict(), vl_version=vega_lite_version(), scale=scale)


def study_charts(study: Study, report: StudyReport, *, tables: JudgmentTables | None = None) -> list[NamedChart]:
    """The report's charts: the experts' label distribution, then per judge x variant the confusion
    matrix and judge-vs-experts label shares, then a statistic per variant when there are results.

    ``tables``: the :class:`~selene_eval.results.table.JudgmentTables` the report was built from, if any (each
    judgment table is then built once).
    """
    tables = JudgmentTables(study) if tables is None else tables
    labels = list(study.spec.task.expert_labels)
    out = [
        NamedChart(
            "expert-labels",
            "How often the experts gave each label",
            _sized(charts.label_distribution(expert_distribution(study), labels=labels)),
        )
    ]
    judges = {j.judge_id: j for j in study.judgments.judges()}
    for index, result in enumerate(report.results, start=1):
        a = result.agreement
        if a is None:
            continue
        slug = _slug(f"{index}-{result.variant_id}")
        title = f"{result.judge_name} · variant {result.variant_id}"
        if a.confusion is not None and a.n_compared:
            out.append(
                NamedChart(
                    f"confusion-{slug}",
                    f"Confusion matrix: {title}",
                    _sized(charts.confusion_heatmap(confusion_frame(a.confusion), labels=labels)),
                )
            )
        spec = judges.get(result.judge_id)
        if spec is not None:
            table = tables.table(spec, result.variant_id)
            out.append(
                NamedChart(
                    f"labels-{slug}",
                    f"Label shares: {title}",
                    _sized(charts.label_distribution(distribution_frame(table, labels), labels=labels)),
                )
            )
        if result.calibration is not None:
            c = result.calibration
            out.append(
                NamedChart(
                    f"reliability-{slug}",
                    f"Reliability: {title}",
                    _sized(charts.reliability_diagram(pd.DataFrame([b.to_dict() for b in c.reliability]))),
                )
            )
    for comparison in report.judge_comparisons:
        grid = judge_variant_grid(report, comparison.statistic)
        if grid["variant"].nunique() >= 2 and grid["judge_id"].nunique() >= 2:
            title = statistic_name(comparison.statistic)
            out.append(
                NamedChart(
                    "judge-variant-grid",
                    f"{title}: judge x prompt variant",
                    _sized(charts.judge_variant_heatmap(grid, metric_title=title)),
                )
            )
            break
    metric = CHART_STATISTIC[study.spec.task.level]
    dots = variant_values(report, metric)
    if dots["value"].notna().any():
        out.append(
            NamedChart(
                "variants",
                f"{statistic_name(metric)} per prompt variant",
                _sized(charts.variant_dots(dots, metric_title=statistic_name(metric))),
            )
        )
    return out


def write_charts(
    named: Iterable[NamedChart], directory: str | Path, formats: Iterable[str] = CHART_FORMATS
) -> list[Path]:
    """Write each chart as ``<name>.svg`` / ``<name>.png`` into ``directory``; returns the paths."""
    formats = list(formats)
    unknown = [f for f in formats if f not in CHART_FORMATS]
    if unknown:
        raise SeleneEvalError(f"Unknown chart format(s) {', '.join(unknown)}; use {' or '.join(CHART_FORMATS)}.")
    out = Path(directory)
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for item in named:
            if "svg" in formats:
                path = out / f"{item.name}.svg"
                path.write_text(chart_svg(item.chart), encoding="utf-8")
                written.append(path)
            if "png" in formats:
                path = out / f"{item.name}.png"
                path.write_bytes(chart_png(item.chart))
                written.append(path)
    except OSError as exc:
        raise SeleneEvalError(f"Cannot write the charts to {out}: {exc.strerror or exc}.") from None
    return written


def _sized(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    # The dashboard charts take the container's width; an image needs a fixed one.
    return chart.properties(width=CHART_WIDTH)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "chart"


def expert_distribution(study: Study) -> pd.DataFrame:
    """Tidy ``source, label, count`` of every expert's labels (one source per expert)."""
    frame = items_frame(study.items)
    rows = []
    for column in expert_columns(frame):
        counts = Counter(v for v in frame[column] if v is not None)
        name = expert_label_headings(expert_columns(frame))[column]  # the canonical labels, not the file's column
        rows += [
            {"source": name, "label": label, "count": counts.get(label, 0)} for label in study.spec.task.expert_labels
        ]
    return pd.DataFrame(rows, columns=["source", "label", "count"])


def variant_values(report: StudyReport, metric: str) -> pd.DataFrame:
    """Tidy ``variant, judge, value, n_compared`` of one statistic for the dot chart."""
    rows = [
        {
            "variant": r.variant_id,
            "judge": r.judge_name,
            "value": r.agreement.metrics.get(metric, math.nan) if r.agreement else math.nan,
            "n_compared": r.agreement.n_compared if r.agreement else 0,
        }
        for r in report.results
    ]
    return pd.DataFrame(rows, columns=["variant", "judge", "value", "n_compared"]).astype({"value": float})
