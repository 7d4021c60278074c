"""The self-contained HTML report of a study: one file that opens offline and reads as a methods section.

Every section is built by a small function ``(ReportContext) -> ReportSection | None`` registered in
:data:`SECTION_BUILDERS`, so new analyses add a section without touching the others
(:func:`register_section`). Text is rendered through Jinja2 with autoescaping on: everything that came from
a file, a user or the judge is HTML-escaped. Charts are inline SVG rendered by vl-convert, so the file
needs no JavaScript and no network.
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape
from markupsafe import Markup

from selene_eval.core.expert_labels import expert_columns, expert_label_headings, expert_labels_text, expert_name
from selene_eval.core.items import items_frame
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.numbers import fmt_share
from selene_eval.core.status import READABLE, READABLE_OR_UNJUDGED, JudgmentStatus
from selene_eval.errors import SeleneEvalError
from selene_eval.presentation.figures import NamedChart, chart_svg, study_charts
from selene_eval.presentation.frames import with_consensus
from selene_eval.presentation.report import StudyReport, VariantResult, study_report
from selene_eval.presentation.reproduce import reproduce_commands, runs_sentence
from selene_eval.results.table import JudgmentTables
from selene_eval.stats.registry import CHART_STATISTIC, report_words
from selene_eval.stats.uncertainty import Interval
from selene_eval.study.store import DB_FILE, Study

MAX_DISAGREEMENTS = 25
"""Disagreements shown per judge x variant (the tables export has them all)."""

PACKAGES: tuple[str, ...] = (
    "selene-eval",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "statsmodels",
    "krippendorff",
    "altair",
    "vl-convert-python",
    "pydantic",
    "transformers",
    "torch",
    "bitsandbytes",
    "accelerate",
)
"""Packages whose versions the methods paragraph lists (read from metadata: nothing is imported)."""


@dataclass(frozen=True)
class ReportSection:
    """One section of the report: an anchor id, a heading and its body (already escaped HTML)."""

    id: str
    title: str
    body: Markup


@dataclass
class ReportContext:
    """What section builders read: the study, its report, the judges, the charts, and a shared cache.

    ``tables``: the study's judgment tables, shared with the report and the charts when they were built in the
    same call (:func:`build_html_report`); a context made without them builds its own.
    """

    study: Study
    report: StudyReport
    judges: dict[str, JudgeSpec]
    charts: list[tuple[NamedChart, Markup]]
    generated_at: str
    cache: dict[str, Any] = field(default_factory=dict)
    tables: JudgmentTables | None = None

    def table(self, result: VariantResult) -> pd.DataFrame | None:
        """The judgment table of ``result`` with the experts' majority (computed once)."""
        key = f"table:{result.judge_id}:{result.variant_id}"
        if key not in self.cache:
            spec = self.judges.get(result.judge_id)
            task = self.study.spec.task
            if self.tables is None:
                self.tables = JudgmentTables(self.study)
            self.cache[key] = (
                None
                if spec is None
                else with_consensus(
                    self.tables.table(spec, result.variant_id, include_forced=self.report.include_forced),
                    task.level,
                    list(task.expert_labels),
                )
            )
        return self.cache[key]


SectionBuilder = Callable[[ReportContext], "ReportSection | None"]


# --- formatting helpers (used as Jinja filters) ------------------------------------------------------------


def fmt(value: object, digits: int = 3) -> str:
    """A number for the report: ``0.812``, integers with separators, ``n/a`` when undefined."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def fmt_interval(interval: Interval | None) -> str:
    """``[0.61, 0.93]`` or an empty string."""
    if interval is None or math.isnan(interval.low) or math.isnan(interval.high):
        return ""
    return f"[{interval.low:.3f}, {interval.high:.3f}]"


def metric_name(name: str) -> str:
    """The statistic's readable name (the registry's report words)."""
    return report_words(name)


# --- templates ------------------------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="selene-eval {{ version }}">
<title>{{ title }} · selene-eval report</title>
<style>
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a; margin: 0; background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 4rem; background: white; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { border-bottom: 2px solid #0072B2; padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { margin-top: 1.6rem; } .muted { color: #555; } .warn { background: #fff4e0; border-left: 4px solid #E69F00; padding: .4rem .8rem; }
.empty { background: #eef5fb; border-left: 4px solid #0072B2; padding: .4rem .8rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .92rem; } th, td { border: 1px solid #ddd; padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: #f1f4f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f6; border: 1px solid #e2e2e2; padding: .6rem; font-size: .85rem; }
nav ol { columns: 2; } figure { margin: 1rem 0 2rem; } figcaption { font-weight: 600; margin-bottom: .3rem; }
.chart svg { max-width: 100%; height: auto; } code { background: #f1f1f1; padding: 0 .2rem; }
details { margin: .4rem 0; } summary { cursor: pointer; }
</style>
</head>
<body>
<main>
<h1>{{ title }}</h1>
<p class="muted">Study <code>{{ slug }}</code> · report generated {{ generated_at }} by selene-eval {{ version }}</p>
{% if illustrative %}<p class="warn">This is an illustrative example study: its labels were written for demonstration, not by real experts.</p>{% endif %}
<nav><strong>Contents</strong><ol>{% for s in sections %}<li><a href="#{{ s.id }}">{{ s.title }}</a></li>{% endfor %}</ol></nav>
{% for s in sections %}
<section id="{{ s.id }}">
<h2>{{ s.title }}</h2>
{{ s.body }}
</section>
{% endfor %}
</main>
</body>
</html>
"""

_QUESTION = """
<p>Can the judge stand in for the experts? The experts labelled each item with {{ task_words }}; the judge
was asked the same question and its labels are compared with the experts' labels.</p>
{% if description %}<p>{{ description }}</p>{% endif %}
<h3>The rubric the judge received</h3>
<p><strong>Objective:</strong> {{ rubric.objective }}</p>
{% if rubric.descriptions %}<table><tr><th>Label</th><th>Meaning</th></tr>
{% for label, text in rubric.descriptions.items() %}<tr><td>{{ label }}</td><td>{{ text }}</td></tr>{% endfor %}</table>{% endif %}
"""

_DATA = """
<table>
<tr><th>Items</th><td class="num">{{ n_items | fmt }}</td></tr>
<tr><th>Groups (items sharing a question)</th><td class="num">{{ n_groups | fmt if n_groups else "none mapped" }}</td></tr>
<tr><th>Experts</th><td>{{ experts | join(", ") if experts else "none" }}</td></tr>
<tr><th>Items with an experts' majority</th><td class="num">{{ n_majority | fmt }}</td></tr>
{% if source %}<tr><th>Source file</th><td>{{ source.file_name }} ({{ source.format }}{% if source.encoding %}, {{ source.encoding }}{% endif %}, {{ source.n_rows | fmt }} rows)<br><span class="muted">SHA-256 {{ source.sha256 }}</span></td></tr>{% endif %}
{% if skipped_rows %}<tr><th>Rows left out on import</th><td>{{ skipped_rows | length | fmt }}: {% for s in skipped_rows %}row {{ s.row }} ({{ s.reason }}){{ "; " if not loop.last }}{% endfor %}</td></tr>{% endif %}
<tr><th>Study created</th><td>{{ created_at }}</td></tr>
</table>
<h3>Label distribution</h3>
<table><tr><th>Label</th>{% for e in expert_headings %}<th>{{ e }}</th>{% endfor %}<th>All experts</th><th>Experts' majority</th></tr>
{% for row in distribution %}<tr><td>{{ row.label }}</td>{% for n in row.per_expert %}<td class="num">{{ n | fmt }}</td>{% endfor %}<td class="num">{{ row.total | fmt }}</td><td class="num">{{ row.majority | fmt }}</td></tr>{% endfor %}
</table>
{% if categories %}<h3>Categories</h3><table><tr><th>Category</th><th>Items</th></tr>
{% for name, n in categories %}<tr><td>{{ name }}</td><td class="num">{{ n | fmt }}</td></tr>{% endfor %}</table>{% endif %}
<details><summary>Column mapping and label map</summary>
<table><tr><th>Role</th><th>Column</th></tr>{% for role, column in mapping %}<tr><td>{{ role }}</td><td>{{ column }}</td></tr>{% endfor %}</table>
<table><tr><th>Value in the file</th><th>Label</th></tr>{% for raw, label in label_map %}<tr><td>{{ raw }}</td><td>{{ label if label is not none else "(no label)" }}</td></tr>{% endfor %}</table>
</details>
"""

_JUDGES = """
{% if not judges %}<p class="empty">No judgments yet: the study has not been run. Run it with
<code>python -m selene_eval run {{ slug }}</code>; the judge the study is set up for is listed below.</p>{% endif %}
{% for j in rows %}
<h3>{{ j.title }}</h3>
{% if j.warning %}<p class="warn">{{ j.warning }}</p>{% endif %}
<table>
{% for k, v in j.fields %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}
</table>
{% endfor %}
"""

_PROMPTS = """
<p>The judge saw each item through each prompt variant below, filled in with the item's texts and the
rubric. The hash covers everything that shapes the prompt or its parsing (templates and label words); a
changed template gets a new hash and new judgments.</p>
{% for v in variants %}
<h3>Variant <code>{{ v.id }}</code> (version {{ v.version }}, hash <code>{{ v.content_hash }}</code>)</h3>
<p class="muted">{{ v.description }} · axis: {{ v.axis }} · source: {{ v.source }}{% if v.uses_reference %} · shows the reference answer{% endif %}</p>
{% if v.system_template %}<p><strong>System message</strong></p><pre>{{ v.system_template }}</pre>{% endif %}
<p><strong>User message</strong></p><pre>{{ v.user_template }}</pre>
{% if v.label_aliases %}<p>Answer words read as labels: {% for word, label in v.label_aliases.items() %}<code>{{ word }}</code> → {{ label }}{% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}
{% endfor %}
"""

_STATISTICS = """
{% if not results %}<p class="empty">No judgments yet, so there is nothing to compare with the experts. Run the
study (<code>python -m selene_eval run {{ slug }}</code>) and make the report again.</p>{% endif %}
{% for r in results %}
<h3>{{ r.title }}</h3>
<p>{{ r.n_judged | fmt }} of {{ r.n_items | fmt }} item{{ "" if r.n_items == 1 else "s" }} judged{% if r.n_pending %}, {{ r.n_pending | fmt }} not judged yet{% endif %}.
{% if r.n_unreadable %}<strong>{{ r.n_unreadable | fmt }} of {{ r.n_judged | fmt }} judge answers had no readable label</strong> (kept, and left out of the statistics).{% elif r.n_judged and not r.n_forced %}Every judge answer had a readable label.{% endif %}
{% if r.n_forced %}<strong>{{ r.n_forced | fmt }} of {{ r.n_judged | fmt }} judge answers have a forced label</strong> (no readable result was written; the most probable allowed label after the result marker was read), {{ "included in" if include_forced else "left out of" }} the statistics.{% endif %}
{% if r.a %}Compared with the experts' majority on {{ r.a.n_compared | fmt }} item{{ "" if r.a.n_compared == 1 else "s" }} (no majority: {{ r.a.n_no_majority | fmt }},
judge output unreadable: {{ r.a.n_judge_missing | fmt }} = {{ r.a.unparseable_share | pct }}).
{% if r.a.n_resamples %}Intervals: {{ (r.a.ci_level * 100) | round | int }}% bootstrap, {{ r.a.n_resamples | fmt }} resamples{% if r.a.group %} of the groups ({{ r.a.n_groups | fmt }}){% endif %}, seed {{ r.a.seed }}.{% else %}No intervals (0 resamples).{% endif %}{% endif %}</p>
{% if r.a %}
<table><tr><th>Statistic</th><th>Value</th><th>95% interval</th><th>Method, or why n/a</th></tr>
{% for name, value in r.stats %}<tr><td>{{ name | metric_name }}</td><td class="num">{{ value | fmt }}</td><td class="num">{{ r.a.intervals.get(name) | fmt_interval }}</td><td>{% if name in r.a.undefined %}n/a: {{ r.a.undefined[name] }}{% elif name in r.a.intervals %}{{ r.a.intervals[name].method }}{% endif %}</td></tr>{% endfor %}
</table>
{% for w in r.a.warnings %}<p class="warn">{{ w }}</p>{% endfor %}
{% if r.a.notes %}<details><summary>Notes ({{ r.a.notes | length }})</summary><ul>{% for n in r.a.notes %}<li>{{ n }}</li>{% endfor %}</ul></details>{% endif %}
{% for split in r.subgroups %}<h4>By {{ split.by }}</h4>{% if split.omitted %}<p class="note">{{ split.omitted }} less frequent values are left out: only the most frequent get statistics of their own.</p>{% endif %}
<table><tr><th>{{ split.by }}</th><th>Compared</th><th>Accuracy</th><th>{{ r.key | metric_name }}</th></tr>
{% for value, sub in split.groups %}<tr><td>{{ value if value is not none else "(none)" }}</td><td class="num">{{ sub.n_compared | fmt }}{% if sub.n_compared < 30 %} (few){% endif %}</td>
<td class="num">{{ sub.metrics.get("accuracy") | fmt }} {{ sub.intervals.get("accuracy") | fmt_interval }}</td>
<td class="num">{{ sub.metrics.get(r.key) | fmt }} {{ sub.intervals.get(r.key) | fmt_interval }}</td></tr>{% endfor %}</table>{% endfor %}
{% endif %}
{% endfor %}
"""

_CEILING = """
{% if n_experts < 2 %}<p class="empty">This study has {{ n_experts }} expert{{ "" if n_experts == 1 else "s" }} per item, so
the experts' agreement with each other (the ceiling a judge can be held to) cannot be measured.</p>{% else %}
<p>How well do the experts agree with each other? A judge that agrees with the experts about as well as they
agree among themselves labels like one more expert.</p>
<table><tr><th>Experts among themselves</th><th>Value</th></tr>
<tr><td>Krippendorff's alpha ({{ level }})</td><td class="num">{{ experts_alpha | fmt }}</td></tr>
{% if ceiling %}<tr><td>Fleiss' kappa</td><td class="num">{{ ceiling.fleiss_kappa | fmt }}</td></tr>
<tr><td>Gwet's AC1</td><td class="num">{{ ceiling.gwet_ac1 | fmt }}</td></tr>{% endif %}
</table>
{% if not results %}
{% if ceiling %}<table><tr><th>Expert</th><th>Against</th><th>Items</th><th>Cohen's kappa</th><th>Krippendorff's alpha</th><th>Agreement</th></tr>
{% for p in ceiling.expert_pairs %}<tr><td>{{ p.rater_a | rater }}</td><td>{{ p.rater_b | rater }}</td><td class="num">{{ p.n | fmt }}</td><td class="num">{{ p.cohen_kappa | fmt }}</td><td class="num">{{ p.krippendorff_alpha | fmt }}</td><td class="num">{{ p.accuracy | pct }}</td></tr>{% endfor %}
</table>{% endif %}
<p class="empty">No judgments yet: the judge's place beside the experts is shown once the study has been run.</p>{% endif %}
{% for r in results %}
<h3>{{ r.title }}</h3>
{% if r.a.experts %}<p>Alpha with the judge added as one more expert: {{ r.a.experts.alpha_with_judge | fmt }}
(experts alone: {{ r.a.experts.krippendorff_alpha | fmt }}).</p>{% endif %}
{% if r.c %}
<table><tr><th>Rater</th><th>Against</th><th>Items</th><th>Cohen's kappa</th><th>Krippendorff's alpha</th><th>Agreement</th></tr>
{% for p in r.c.expert_pairs + r.c.judge_vs_expert %}<tr><td>{{ p.rater_a | rater }}</td><td>{{ p.rater_b | rater }}</td><td class="num">{{ p.n | fmt }}</td><td class="num">{{ p.cohen_kappa | fmt }}</td><td class="num">{{ p.krippendorff_alpha | fmt }}</td><td class="num">{{ p.accuracy | pct }}</td></tr>{% endfor %}
</table>
<h4>Leave one out: each expert, and the judge, against the majority of the other experts</h4>
<table><tr><th>Left-out expert</th><th>Items</th><th>Expert vs the others (alpha)</th><th>Judge vs the same majority (alpha)</th></tr>
{% for e, j in r.loo %}<tr><td>{{ e.rater_a | rater }}</td><td class="num">{{ e.n | fmt }}</td><td class="num">{{ e.krippendorff_alpha | fmt }}</td><td class="num">{{ j.krippendorff_alpha | fmt }}</td></tr>{% endfor %}
</table>
<h4>Substitution: the judge in one expert's seat</h4>
<table><tr><th>Replaced expert</th><th>Panel alpha</th><th>With the judge</th><th>Difference</th><th>95% interval</th></tr>
{% for s in r.c.substitution %}<tr><td>{{ s.replaced | rater }}</td><td class="num">{{ s.alpha_experts | fmt }}</td><td class="num">{{ s.alpha_with_judge | fmt }}</td><td class="num">{{ s.difference | fmt }}</td><td class="num">{{ r.a.substitution_intervals.get(s.replaced) | fmt_interval }}</td></tr>{% endfor %}
</table>
{% if r.c.notes %}<details><summary>Notes</summary><ul>{% for n in r.c.notes %}<li>{{ n }}</li>{% endfor %}</ul></details>{% endif %}
{% endif %}
{% endfor %}
{% endif %}
"""

_CHARTS = """
{% for named, svg in charts %}
<figure class="chart" id="chart-{{ named.name }}" data-chart="{{ named.name }}"><figcaption>{{ named.title }}</figcaption>{{ svg }}</figure>
{% endfor %}
{% if only_experts %}<p class="empty">The judge's charts (confusion matrix, label shares, statistics per variant) appear once the study has judgments.</p>{% endif %}
"""

_DISAGREEMENTS = """
{% if not results %}<p class="empty">No judgments yet: nothing to disagree about.</p>{% endif %}
{% for r in results %}
<h3>{{ r.title }}</h3>
<p>{{ r.n_disagree | fmt }} item{{ "" if r.n_disagree == 1 else "s" }} where the judge's label differs from the experts' majority, those where the experts were unanimous first{% if r.n_disagree > rows_max %} ({{ rows_max }} shown; the tables export lists all){% endif %};
{{ r.n_unreadable | fmt }} with output the parser could not read.</p>
{% for row in r.rows %}
<details><summary>Item <code>{{ row.item_id }}</code>: experts {{ row.consensus }}, judge {{ row.judge_label }}{% if row.forced %} (forced: no readable result was written){% endif %}{% if row.experts %} (experts' labels: {{ row.experts }}){% endif %}</summary>
<p><strong>Input</strong></p><pre>{{ row.input }}</pre>
<p><strong>{{ "Response A" if row.response_b else "Response" }}</strong></p><pre>{{ row.response }}</pre>
{% if row.response_b %}<p><strong>Response B</strong></p><pre>{{ row.response_b }}</pre>{% endif %}
{% if row.reference %}<p><strong>Reference</strong></p><pre>{{ row.reference }}</pre>{% endif %}
<p><strong>The judge's reasoning</strong></p><pre>{{ row.reasoning or "(none)" }}</pre>
</details>
{% endfor %}
{% endfor %}
"""

_GENERIC = """{% macro show(value) -%}
{%- if value is mapping -%}<table>{% for k, v in value.items() %}<tr><th>{{ k }}</th><td>{{ show(v) }}</td></tr>{% endfor %}</table>
{%- elif value is iterable and value is not string -%}{% if value | length == 0 %}(none){% else %}<ol>{% for v in value %}<li>{{ show(v) }}</li>{% endfor %}</ol>{% endif %}
{%- elif value is number and value is not sameas true and value is not sameas false -%}{{ value | fmt }}
{%- elif value is none -%}n/a{%- else -%}{{ value }}{%- endif -%}
{%- endmacro %}{{ show(data) }}"""

_ROBUSTNESS = """
<p>How much do the judge's verdicts depend on the prompt's format? Each prompt variant is one condition; the
canonical variant is the baseline the others are compared with.</p>
{% for r in judges %}
<h3>{{ r.get("judge", r.get("judge_id", "")) }}</h3>
<p>Conditions: {{ r.get("conditions", []) | join(", ") }}; baseline {{ r.get("baseline") }}; compared on {{ r.get("statistic") | metric_name }}.</p>
{% if r.get("n_judged_all") is not none %}<p>{{ r.n_judged_all | fmt }} of the study's {{ r.n_items | fmt }} items judged under every variant{% if r.n_judged_any > r.n_judged_all %}, {{ (r.n_judged_any - r.n_judged_all) | fmt }} more under some only{% endif %}{% if r.n_items > r.n_judged_any %}; {{ (r.n_items - r.n_judged_any) | fmt }} not judged under any variant yet, left out{% endif %}.</p>{% endif %}
{% set unreadable = {} %}{% for u in r.get("unparseable") or [] %}{% set _ = unreadable.update({u.condition: u}) %}{% endfor %}
{% if r.get("values") %}<table><tr><th>Variant</th><th>Axis</th><th>{{ r.get("statistic") | metric_name }}</th><th>Unreadable answers</th></tr>
{% for name, value in r["values"].items() %}{% set u = unreadable.get(name) %}<tr><td>{{ name }}</td><td>{{ (r.get("axis_of") or {}).get(name, "") }}</td><td class="num">{{ value | fmt }}{% if value is none and u and u.n_judged and u.n_unparseable == u.n_judged %} (every answer unreadable){% endif %}</td><td class="num">{% if u %}{{ u.n_unparseable | fmt }} of {{ u.n_judged | fmt }}{% endif %}</td></tr>{% endfor %}</table>{% endif %}
{% if r.get("spreads") %}<h4>Spread across variants</h4><table><tr><th>Statistic</th><th>Min</th><th>Max</th><th>Range</th><th>SD</th></tr>
{% for row in r["spreads"] %}<tr><td>{{ row.get("statistic") | metric_name }}</td><td class="num">{{ row.get("min") | fmt }}</td><td class="num">{{ row.get("max") | fmt }}</td><td class="num">{{ row.get("range") | fmt }}</td><td class="num">{{ row.get("sd") | fmt }}</td></tr>{% endfor %}</table>{% endif %}
{% if r.get("flips_vs_baseline") %}<h4>Verdicts that change with the prompt</h4><table><tr><th>Baseline</th><th>Variant</th><th>Items</th><th>Changed</th><th>Rate</th><th>Toward the experts</th><th>Away from them</th></tr>
{% for row in r["flips_vs_baseline"] %}<tr><td>{{ row.get("a") }}</td><td>{{ row.get("b") }}</td><td class="num">{{ row.get("n_compared") | fmt }}</td><td class="num">{{ row.get("n_flipped") | fmt }}</td><td class="num">{{ row.get("rate") | pct }}</td><td class="num">{{ row.get("n_toward_reference") | fmt }}</td><td class="num">{{ row.get("n_away_from_reference") | fmt }}</td></tr>{% endfor %}</table>{% endif %}
{% if r.get("comparisons") %}<h4>Each variant against the baseline</h4><table><tr><th>Variant</th><th>Difference</th><th>95% interval</th><th>p (Holm)</th><th>Test</th></tr>
{% for row in r["comparisons"] %}{% set iv = row.get("interval") or {} %}<tr><td>{{ row.get("a") }} − {{ row.get("b") }}</td><td class="num">{{ row.get("difference") | fmt }}</td><td class="num">{% if iv.get("low") is not none and iv.get("high") is not none %}[{{ iv.get("low") | fmt }}, {{ iv.get("high") | fmt }}]{% endif %}</td><td class="num">{{ row.get("p_holm") | fmt }}</td><td>{{ row.get("test", "") }}</td></tr>{% endfor %}</table>{% endif %}
<details><summary>All robustness figures</summary>{{ everything }}</details>
{% endfor %}
"""

_JUDGE_COMPARISON = """
<p>Judges compared on the same items, under the same prompt variant. Each pair is tested twice: a paired
bootstrap of the difference in the statistic (resampling groups where the study has them) and McNemar's test on
which items each judge gets right; p-values are Holm-corrected across the pairs. "Labels differ" is the share of
items the two judges label differently; "A closer" counts those where judge A's label is nearer the experts'.</p>
{% for c in comparisons %}
<h3>Variant {{ c.variant_id }} · {{ c.statistic | metric_name }}</h3>
<table><tr><th>Judge</th><th>Items compared</th><th>{{ c.statistic | metric_name }}</th><th>95% interval</th></tr>
{% for j in c.judges %}<tr><td>{{ j.name }}</td><td class="num">{{ j.n_compared | fmt }}</td><td class="num">{{ j.value | fmt }}</td><td class="num">{{ j.interval | fmt_interval }}</td></tr>{% endfor %}
</table>
{% if c.pairs %}<table><tr><th>Judge A</th><th>Judge B</th><th>A − B</th><th>95% interval</th><th>p</th><th>p (Holm)</th><th>McNemar p</th><th>Labels differ</th><th>A closer</th><th>B closer</th><th>Note</th></tr>
{% for p in c.pairs %}<tr><td>{{ c.name_of(p.a) }}</td><td>{{ c.name_of(p.b) }}</td><td class="num">{{ p.test.difference | fmt }}</td><td class="num">{{ p.test.interval | fmt_interval }}</td><td class="num">{{ p.test.p_value | fmt }}</td><td class="num">{{ p.test.p_holm | fmt }}</td><td class="num">{{ p.test.mcnemar.p_value | fmt }}</td><td class="num">{{ p.flips.rate | pct }}</td><td class="num">{{ p.flips.n_toward_reference | fmt }}</td><td class="num">{{ p.flips.n_away_from_reference | fmt }}</td><td>{% if p.build_difference %}only {{ p.build_difference | join(", ") }} differs{% endif %}{% if p.test.significant %} more than noise{% endif %}</td></tr>{% endfor %}
</table>{% endif %}
{% endfor %}
"""

_CALIBRATION = """
<p>The judge's confidence in a verdict is the probability it gave the label it chose (read from the model at the
result position). A calibrated judge is right as often as it is sure: the expected calibration error (ECE) is the
mean gap between confidence and the share right over ten confidence bins; the Brier score is the mean squared
error of the probabilities. The coverage columns give the share right after setting aside the least confident
verdicts.</p>
<table><tr><th>Judge · variant</th><th>Verdicts</th><th>ECE</th><th>Brier</th><th>Mean confidence</th><th>Share right</th><th>Right, 20% least sure set aside</th><th>Right, 50% set aside</th></tr>
{% for r in rows %}<tr><td>{{ r.title }}</td><td class="num">{{ r.c.n_compared | fmt }}</td><td class="num">{{ r.c.ece | fmt }}</td><td class="num">{{ r.c.brier | fmt }}</td><td class="num">{{ r.c.mean_confidence | fmt }}</td><td class="num">{{ r.c.accuracy | fmt }}</td><td class="num">{{ r.at20 | fmt }}</td><td class="num">{{ r.at50 | fmt }}</td></tr>{% endfor %}
</table>
"""

_METHODS = """
<p>{{ paragraph }}</p>
<h3>To reproduce</h3>
<pre>{{ commands }}</pre>
<h3>Software</h3>
<table><tr><th>Package</th><th>Version</th></tr>{% for name, v in versions %}<tr><td>{{ name }}</td><td>{{ v }}</td></tr>{% endfor %}</table>
"""

_PROFILE = """
<p>Each label in turn counts as positive: sensitivity, specificity, precision, negative predictive value and F1
against the experts' majority label, the experts' base rate and the judge's rate, with balanced accuracy and the
majority-label baseline (the accuracy of always answering the experts' most frequent label) beside accuracy.
Then agreement on unanimous and on split items, and what the judge lets one estimate about the items no expert
labelled: experts only, judge only (uncorrected) and prediction-powered inference (PPI++).</p>
{% for r in results %}
<h3>{{ r.title }}</h3>
{% for why in r.empty %}<p class="empty">{{ why }}</p>{% endfor %}
{% for caption, frame in r.tables %}
<table><caption>{{ caption }}</caption><tr>{% for c in frame.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in frame.itertuples(index=False) %}<tr>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>
{% endfor %}
{% for line in r.lines %}<p class="muted">{{ line }}</p>{% endfor %}
{% endfor %}
"""

_ENV = Environment(
    loader=DictLoader(
        {
            "page": _PAGE,
            "question": _QUESTION,
            "data": _DATA,
            "judges": _JUDGES,
            "prompts": _PROMPTS,
            "statistics": _STATISTICS,
            "ceiling": _CEILING,
            "charts": _CHARTS,
            "disagreements": _DISAGREEMENTS,
            "generic": _GENERIC,
            "methods": _METHODS,
            "robustness": _ROBUSTNESS,
            "judge_comparison": _JUDGE_COMPARISON,
            "calibration": _CALIBRATION,
            "profile": _PROFILE,
        }
    ),
    # Every template is HTML: escape every value unless it is Markup (our own rendered sections and SVGs).
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_template(name: str, **values: Any) -> Markup:
    """Render one of the report's templates (autoescaped) as Markup."""
    return Markup(_ENV.get_template(name).render(**values))


# --- section builders ---------------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A table cell as text; ``None`` for missing cells (pandas turns ``None`` into NaN in row views)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def rater_name(name: str) -> str:
    """``expert:dr_a`` -> ``dr_a``; the judge's label column -> ``judge``."""
    return "judge" if name == "judge_label" else expert_name(name)


def _result_title(result: VariantResult, judges: Mapping[str, JudgeSpec]) -> str:
    spec = judges.get(result.judge_id)
    warning = _judge_warning(spec) if spec is not None else None
    return f"{result.judge_name} · variant {result.variant_id}" + (f" ({warning})" if warning else "")


def _judge_warning(spec: JudgeSpec) -> str | None:
    if spec.backend == "scripted":
        return "a scripted test judge, not a model"
    model = f"{spec.model} {spec.gguf_file or ''}".lower()
    if "smollm" in model:
        return "a weak demo model, not Selene"
    return None


_ENV.filters.update(fmt=fmt, fmt_interval=fmt_interval, metric_name=metric_name, pct=fmt_share, rater=rater_name)


def question_section(ctx: ReportContext) -> ReportSection:
    """The question asked: the task, the study's description and the rubric."""
    spec = ctx.study.spec
    body = render_template("question", task_words=spec.task.words, description=spec.description, rubric=spec.rubric)
    return ReportSection("question", "The question", body)


def data_section(ctx: ReportContext) -> ReportSection:
    """The data: items, groups, experts, label distribution per expert and of the majority, source file."""
    spec = ctx.study.spec
    task = spec.task
    frame = with_consensus(items_frame(ctx.study.items), task.level, list(task.expert_labels))
    experts = expert_columns(frame)
    distribution = []
    for label in task.expert_labels:
        per_expert = [int((frame[c] == label).sum()) for c in experts]
        distribution.append(
            {
                "label": label,
                "per_expert": per_expert,
                "total": sum(per_expert),
                "majority": int((frame["consensus"] == label).sum()),
            }
        )
    categories = frame["category"].dropna().value_counts().sort_index()
    body = render_template(
        "data",
        n_items=len(frame),
        n_groups=int(frame["group_id"].dropna().nunique()),
        experts=[expert_name(c) for c in experts],
        expert_headings=list(expert_label_headings(experts).values()),
        n_majority=int(frame["consensus"].notna().sum()),
        source=spec.source,
        skipped_rows=spec.skipped_rows,
        created_at=spec.created_at,
        distribution=distribution,
        categories=list(categories.items())[:50],
        mapping=[
            (role, ", ".join(map(str, col)) if isinstance(col, list) else col) for role, col in spec.mapping.items()
        ],
        label_map=list(spec.label_map.items()),
    )
    return ReportSection("data", "The data", body)


def judges_section(ctx: ReportContext) -> ReportSection:
    """Each judge with stored judgments (or the configured one): model, revision, quantization, settings."""
    judged = [ctx.judges[r.judge_id] for r in ctx.report.results if r.judge_id in ctx.judges]
    specs = list(dict.fromkeys(judged)) or [ctx.study.spec.judge]
    dates = judgment_dates(ctx.study)
    rows = []
    for spec in specs:
        first, last, count = dates.get(spec.judge_id, (None, None, 0))
        fields = [
            ("Model", spec.model + (f" (file {spec.gguf_file})" if spec.gguf_file else "")),
            ("Revision", spec.revision or "not pinned: the version in the local cache at run time"),
            ("Backend", spec.backend),
            (
                "Mode",
                "fast: the label is read from one forward pass, no reasoning"
                if spec.mode == "fast"
                else "reasoned: the judge explains, then gives its label",
            ),
            (
                "Quantization",
                ("4-bit NF4 (bitsandbytes)" if spec.quantization == "nf4" else "none (full precision)")
                if spec.backend == "transformers"
                else "set by the server"
                if spec.backend == "openai"
                else "n/a",
            ),
            ("Compute dtype", spec.dtype),
            ("Decoding", f"greedy, at most {spec.max_new_tokens} new tokens"),
            ("Judge id (hash of the settings above)", spec.judge_id),
        ]
        if spec.endpoints:
            fields.append(("Endpoints", ", ".join(spec.endpoints)))
        if count:
            fields.append(("Judgments stored", f"{count:,}, from {first} to {last}"))
        rows.append({"title": spec.display_name, "warning": _judge_warning(spec), "fields": fields})
    body = render_template("judges", judges=judged, rows=rows, slug=ctx.study.slug)
    return ReportSection("judges", "The judge" if len(rows) == 1 else "The judges", body)


def prompts_section(ctx: ReportContext) -> ReportSection:
    """Every prompt variant of the study in full, with its hash."""
    variants = [ctx.study.variant(v) for v in ctx.study.spec.variants]
    return ReportSection("prompts", "The prompt variants", render_template("prompts", variants=variants))


def unreadable_count(result: VariantResult) -> int:
    """Judged items of ``result`` whose answer had no readable label (``pending``/``not_renderable`` are not judged,
    a forced label is counted apart: :func:`forced_count`)."""
    return sum(n for status, n in result.status_counts.items() if status not in READABLE_OR_UNJUDGED)


def forced_count(result: VariantResult) -> int:
    """Judged items of ``result`` whose label was forced (``JudgeSpec.force_verdict``)."""
    return result.status_counts.get(JudgmentStatus.FORCED, 0)


def _key_metric(level: str) -> str:
    return CHART_STATISTIC[level]  # type: ignore[index]


def statistics_section(ctx: ReportContext) -> ReportSection:
    """Judge vs the experts' majority per judge x variant: every statistic with its interval, and subgroups."""
    results = []
    for r in ctx.report.results:
        if r.agreement is None and not r.n_judged:
            continue
        a = r.agreement
        stats = list({**a.metrics, **a.extra_metrics}.items()) if a else []
        results.append(
            {
                "title": _result_title(r, ctx.judges),
                "n_judged": r.n_judged,
                "n_items": r.n_items,
                "n_pending": r.n_pending,
                "n_unreadable": unreadable_count(r),
                "n_forced": forced_count(r),
                "a": a,
                "stats": stats,
                "subgroups": r.subgroups,
                "key": _key_metric(ctx.report.level),
            }
        )
    body = render_template("statistics", results=results, slug=ctx.study.slug, include_forced=ctx.report.include_forced)
    return ReportSection("statistics", "Agreement with the experts", body)


def ceiling_section(ctx: ReportContext) -> ReportSection:
    """The experts among themselves, each judge beside them, leave-one-out and substitution."""
    ea = ctx.report.experts_agreement
    results = []
    first_ceiling = None
    for r in ctx.report.results:
        a = r.agreement
        if a is None:
            continue
        c = a.ceiling
        first_ceiling = first_ceiling or c
        loo = list(zip(c.leave_one_out[0::2], c.leave_one_out[1::2])) if c else []
        results.append({"title": _result_title(r, ctx.judges), "a": a, "c": c, "loo": loo})
    if first_ceiling is None and len(ctx.report.experts) >= 2:
        # No judge yet: the experts' own figures still stand (an all-missing judge column leaves them untouched).
        from selene_eval.stats.ceiling import expert_ceiling

        frame = items_frame(ctx.study.items)
        task = ctx.study.spec.task
        first_ceiling = expert_ceiling(
            frame.assign(_judge=None), "_judge", expert_columns(frame), task.level, order=list(task.expert_labels)
        )
    body = render_template(
        "ceiling",
        n_experts=len(ctx.report.experts),
        level=ctx.report.level,
        experts_alpha=ea.krippendorff_alpha if ea else None,
        ceiling=first_ceiling,
        results=results,
    )
    return ReportSection("ceiling", "The expert ceiling", body)


def robustness_section(ctx: ReportContext) -> ReportSection | None:
    """Robustness results, when the study report carries them (rendered generically from its JSON form)."""
    data = ctx.cache.get("report_dict")
    if data is None:
        data = ctx.cache["report_dict"] = ctx.report.to_dict()
    robustness = data.get("robustness")
    if robustness is None:
        return None
    if not robustness:
        n = len(ctx.study.spec.variants)
        body = render_template(
            "generic",
            data=(
                "No robustness results: they compare two or more prompt variants judged by the same judge, and this "
                f"study has {n} variant{'' if n == 1 else 's'} judged so far. Add variants on the Prompts page and run them."
            ),
        )
        return ReportSection("robustness", "Robustness", Markup(f'<p class="empty">{body}</p>'))
    everything = render_template("generic", data=robustness)
    try:
        judges = [r for r in robustness if isinstance(r, dict)] if isinstance(robustness, list) else []
        body = render_template("robustness", judges=judges, everything=everything) if judges else everything
    except Exception:  # noqa: BLE001 - the analysis's JSON form may change; its generic rendering always works
        body = everything
    return ReportSection("robustness", "Robustness", body)


def judge_comparison_section(ctx: ReportContext) -> ReportSection | None:
    """Judges side by side with paired tests, for each variant judged by two or more judges."""
    if not ctx.report.judge_comparisons:
        return None
    body = render_template("judge_comparison", comparisons=ctx.report.judge_comparisons)
    return ReportSection("judge-comparison", "Judges compared", body)


def calibration_section(ctx: ReportContext) -> ReportSection | None:
    """Calibration of each judge x variant that has label probabilities."""
    rows = []
    for r in ctx.report.results:
        c = r.calibration
        if c is None:
            continue
        at = {round(p.abstain_share, 2): p.accuracy for p in c.coverage}
        rows.append({"title": _result_title(r, ctx.judges), "c": c, "at20": at.get(0.2), "at50": at.get(0.5)})
    if not rows:
        return None
    return ReportSection(
        "calibration", "Calibration of the judge's confidence", render_template("calibration", rows=rows)
    )


def profile_section(ctx: ReportContext) -> ReportSection:
    """Error profile, ambiguity split and unlabelled-item estimates of each judged result (issue #17)."""
    from selene_eval.stats import profile as frames  # the tables the dashboard shows

    results = []
    for r in ctx.report.results:
        p = r.profile
        if p is None:
            continue
        empty = [
            f"{name}: {why}."
            for name, why in (
                ("No error profile", p.errors.undefined),
                ("No split by expert agreement", p.ambiguity.undefined),
                ("Nothing to estimate for unlabelled items", p.unlabelled.undefined),
            )
            if why
        ]
        tables = [
            (caption, frame)
            for caption, frame in (
                ("Overall", frames.overall_frame(p) if p.errors.undefined is None else None),
                ("Per label", frames.per_label_frame(p) if p.errors.undefined is None else None),
                (
                    "By how much the experts agreed",
                    frames.ambiguity_frame(p) if p.ambiguity.undefined is None else None,
                ),
                (
                    f"The whole set, from {p.unlabelled.n_labelled:,} expert-labelled and {p.unlabelled.n_unlabelled:,} "
                    "unlabelled items",
                    frames.unlabelled_frame(p) if p.unlabelled.targets else None,
                ),
            )
            if frame is not None
        ]
        lines = [t.note for t in p.unlabelled.targets if t.note]
        rg = p.unlabelled.rogan_gladen
        if rg is not None:
            lines.append(
                f"Rogan-Gladen corrected rate of 'yes': {fmt(rg.estimate)} [{fmt(rg.low)}, {fmt(rg.high)}]"
                + (f" ({rg.note})" if rg.note else "")
            )
        results.append({"title": _result_title(r, ctx.judges), "empty": empty, "tables": tables, "lines": lines})
    title = "Error profile, ambiguity and the unlabelled items"
    if not results:
        return ReportSection(
            "profile",
            title,
            Markup(
                '<p class="empty">No judgments yet: the error profile and the estimates need the judge\'s labels.</p>'
            ),
        )
    return ReportSection("profile", title, render_template("profile", results=results))


def charts_section(ctx: ReportContext) -> ReportSection:
    """Every chart as inline SVG."""
    only_experts = all(named.name == "expert-labels" for named, _ in ctx.charts)
    return ReportSection("charts", "Charts", render_template("charts", charts=ctx.charts, only_experts=only_experts))


def disagreements_section(ctx: ReportContext) -> ReportSection:
    """Items where the judge and the experts' majority disagree, with the judge's reasoning."""
    results = []
    for r in ctx.report.results:
        table = ctx.table(r)
        if table is None or not r.n_judged:
            continue
        mask = (
            table["judge_status"].isin(READABLE)
            & table["judge_label"].notna()
            & table["consensus"].notna()
            & (table["judge_label"] != table["consensus"])
        )
        unreadable = ~table["judge_status"].isin(READABLE_OR_UNJUDGED)
        experts = expert_columns(table)
        disagree = table[mask]
        # Worth reading first: items where the experts were unanimous and the judge still differs.
        support = sum((disagree[c] == disagree["consensus"]).astype(int) for c in experts) if experts else 0
        share = support / max(len(experts), 1) if experts else pd.Series(0, index=disagree.index)
        ordered = disagree.assign(_share=share).sort_values("_share", ascending=False, kind="stable")
        rows = []
        for _, row in ordered.head(MAX_DISAGREEMENTS).iterrows():
            # One expert's label is the majority itself; several are listed as the experts' canonical labels.
            labels = expert_labels_text({c: _text(row[c]) for c in experts}) if len(experts) > 1 else ""
            rows.append(
                {
                    "item_id": row["item_id"],
                    "consensus": row["consensus"],
                    "judge_label": row["judge_label"],
                    "forced": row["judge_status"] == JudgmentStatus.FORCED,
                    "experts": labels,
                    "input": _text(row["input"]),
                    "response": _text(row["response"]),
                    "response_b": _text(row["response_b"]),
                    "reference": _text(row["reference"]),
                    "reasoning": _text(row["judge_reasoning"]),
                }
            )
        results.append(
            {
                "title": _result_title(r, ctx.judges),
                "n_disagree": int(mask.sum()),
                "n_unreadable": int(unreadable.sum()),
                "rows": rows,
            }
        )
    body = render_template("disagreements", results=results, rows_max=MAX_DISAGREEMENTS)
    return ReportSection("disagreements", "Disagreements worth reading", body)


def methods_section(ctx: ReportContext) -> ReportSection:
    """A methods paragraph (data, judge, prompts, statistics, seeds, dates) and the software versions."""
    study, report = ctx.study, ctx.report
    spec = study.spec
    agreements = [r.agreement for r in report.results if r.agreement is not None]
    resamples = agreements[0].n_resamples if agreements else ctx.cache.get("n_resamples", 0)
    seed = agreements[0].seed if agreements else ctx.cache.get("seed", 0)
    group = next((a for a in agreements if a.group), None)
    dates = judgment_dates(study)
    judged = [ctx.judges[r.judge_id] for r in report.results if r.judge_id in ctx.judges and r.n_judged]
    judged = list(dict.fromkeys(judged))
    parts = [
        f"The study '{spec.title}' ({report.n_items:,} items"
        + (f" from the file {spec.source.file_name}, SHA-256 {spec.source.sha256[:16]}…" if spec.source else "")
        + f"; created {spec.created_at}) asks for {spec.task.words}.",
        f"Labels came from {len(report.experts)} expert{'s' if len(report.experts) != 1 else ''}"
        + (f" ({', '.join(report.experts)})" if report.experts else "")
        + "; the reference for the judge is the experts' strict-majority label (more than half of the experts "
        "who labelled an item), and items without one are left out and counted.",
    ]
    if judged:
        for judge in judged:
            first, last, count = dates.get(judge.judge_id, (None, None, 0))
            parts.append(
                f"The judge {judge.model}"
                + (f" at revision {judge.revision}" if judge.revision else " (revision not pinned)")
                + f" ran through the {judge.backend} backend"
                + (", 4-bit NF4 quantized" if judge.quantization == "nf4" and judge.backend == "transformers" else "")
                + f", in {judge.mode} mode with greedy decoding (at most {judge.max_new_tokens} new tokens)"
                + (f"; its {count:,} judgments were made between {first} and {last}." if count else ".")
            )
        parts.append(
            f"Prompt variants: {', '.join(f'{v} (hash {study.variant(v).content_hash})' for v in spec.variants)}; "
            "judge outputs were read with one parser (the label after the last '**Result:**'), and unreadable "
            "outputs are counted, not re-sampled."
        )
        if (sampled := runs_sentence(study)) is not None:
            parts.append(sampled)
    else:
        parts.append("No judge has been run on this study yet.")
    if resamples:
        parts.append(
            f"Confidence intervals are 95% bootstrap intervals from {resamples:,} resamples (seed {seed})"
            + (f", resampling whole groups ({group.n_groups:,} groups)" if group else ", resampling items")
            + "; BCa where stable, else percentile (each interval names its method)."
        )
    else:
        parts.append("No bootstrap intervals were computed (0 resamples).")
    if any(r.profile is not None for r in report.results):
        parts.append(
            "Per label, sensitivity, specificity, precision, negative predictive value and F1 treat that label as "
            "positive against the experts' majority; balanced accuracy is their mean sensitivity (Brodersen et al. "
            "2010) and the majority-label baseline the accuracy of always answering the most frequent expert label; "
            "all carry the same bootstrap intervals. For the items without expert labels, label shares and mean "
            "scores are estimated from the experts only, from the judge only, and by prediction-powered inference "
            "with power tuning (PPI++, Angelopoulos et al. 2023), with 95% normal intervals (cluster-robust when "
            "items are grouped); for yes/no the Rogan-Gladen (1978) corrected rate with a delta-method interval."
        )
    parts.append(
        f"Report generated {ctx.generated_at} with selene-eval {_version('selene-eval')} on Python "
        f"{platform.python_version()}."
    )
    commands = reproduce_commands(study, report, ctx.judges, n_resamples=resamples, seed=seed)
    versions = [(name, _version(name)) for name in PACKAGES]
    versions.insert(0, ("python", platform.python_version()))
    body = render_template("methods", paragraph=" ".join(parts), commands=commands, versions=versions)
    return ReportSection("methods", "Methods", body)


SECTION_BUILDERS: list[SectionBuilder] = [
    question_section,
    data_section,
    judges_section,
    prompts_section,
    statistics_section,
    ceiling_section,
    robustness_section,
    judge_comparison_section,
    calibration_section,
    profile_section,
    charts_section,
    disagreements_section,
    methods_section,
]
"""The report's sections, in order. A builder returning ``None`` leaves its section out."""


def register_section(builder: SectionBuilder, *, after: str | None = None) -> None:
    """Add a section builder, after the builder named ``after`` (a function name) or at the end."""
    if after is None:
        SECTION_BUILDERS.append(builder)
        return
    names = [b.__name__ for b in SECTION_BUILDERS]
    if after not in names:
        raise ValueError(f"No section builder named {after!r}; known: {', '.join(names)}.")
    SECTION_BUILDERS.insert(names.index(after) + 1, builder)


# --- assembling ------------------------------------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def judgment_dates(study: Study) -> dict[str, tuple[str, str, int]]:
    """judge id -> (first, last judgment time, count), read from the study's database (empty without one)."""
    path = study.path / DB_FILE
    if not path.exists():
        return {}
    try:
        conn = sqlite3.connect(str(path), timeout=30.0)
        try:
            rows = conn.execute(
                "SELECT judge_id, MIN(created_at), MAX(created_at), COUNT(*) FROM judgments GROUP BY judge_id"
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return {}
    return {r[0]: (r[1], r[2], int(r[3])) for r in rows}


def build_html_report(
    study: Study,
    report: StudyReport | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    sections: Sequence[SectionBuilder] | None = None,
) -> str:
    """The study's report as one self-contained HTML document (a string).

    ``report`` defaults to :func:`selene_eval.presentation.report.study_report` with ``n_resamples`` and ``seed``.
    ``sections`` defaults to :data:`SECTION_BUILDERS`. Works for a study without judgments (the judge's
    sections say so).
    """
    tables = JudgmentTables(study)  # each judgment table is built once for the report, its charts and sections
    if report is None:
        report = study_report(study, n_resamples=n_resamples, seed=seed, tables=tables)
    judges = {j.judge_id: j for j in study.judgments.judges()}
    named = study_charts(study, report, tables=tables)
    charts = [(item, Markup(chart_svg(item.chart))) for item in named]
    generated = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", " UTC")
    ctx = ReportContext(
        study, report, judges, charts, generated, cache={"n_resamples": n_resamples, "seed": seed}, tables=tables
    )
    built = [section for builder in (sections or SECTION_BUILDERS) if (section := builder(ctx)) is not None]
    return _ENV.get_template("page").render(
        title=study.spec.title,
        slug=study.slug,
        generated_at=generated,
        version=_version("selene-eval"),
        illustrative=study.spec.illustrative,
        sections=built,
    )


def write_html_report(study: Study, path: str | Path, **options: Any) -> Path:
    """Write :func:`build_html_report` to ``path`` (UTF-8); returns the path."""
    html = build_html_report(study, **options)
    target = Path(path)
    try:
        if target.parent != Path(""):
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise SeleneEvalError(f"Cannot write the report to {target}: {exc.strerror or exc}.") from None
    return target
