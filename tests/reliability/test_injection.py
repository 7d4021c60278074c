"""Injection: user text reaches the screen as text, and nothing user-supplied reaches eval, pickle or a shell.

The dashboard test plants hostile values in every user-controlled field of a judged study (title,
description, source file name, column and expert names, label values, item ids, texts, categories, groups,
the judge's name, its reasoning and raw output), opens every page, and reads the Markdown source of every
element Streamlit renders as Markdown (text, captions, alerts, headings, expander, tab, widget and metric
labels, help tooltips, radio options). None may hold the payload unescaped: raw HTML is never allowed
(``unsafe_allow_html`` is not used with user text) and a ``javascript:`` link, a remote image, a colour
directive or emphasis must arrive backslash-escaped. Tables, code blocks and ``st.text`` show text as is and
are not Markdown, so they are not checked.

The static tests read the source: no ``eval``/``exec``/``pickle``/shell, YAML only through ``safe_load``, every
model load with ``trust_remote_code=False``, no ``unsafe_allow_html`` fed with variables.

The export tests: a line break inside a CSV cell never starts a row (read back with ``csv`` and pandas), and
the HTML report's guard against script in its charts reads parsed markup, so ordinary text never trips it.
"""

from __future__ import annotations

import ast
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import altair as alt
import pandas as pd
import pytest
import vl_convert

from selene_eval.core.items import Item
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.core.tasks import TaskType
from selene_eval.errors import SeleneEvalError
from selene_eval.judge.scripted import ScriptedBackend
from selene_eval.presentation.figures import chart_svg, script_in_markup
from selene_eval.presentation.html import build_html_report
from selene_eval.presentation.tables import to_csv_bytes
from selene_eval.prompts import default_rubric
from selene_eval.run.runner import run_study
from selene_eval.study import StudySpec, StudyStore
from selene_eval.study.spec import SourceInfo
from selene_eval.testing.dashboard import go, open_in_sidebar, start

REPO = Path(__file__).resolve().parents[2]
PAGES = [
    "pages/1_data.py",
    "pages/2_prompts.py",
    "pages/3_run.py",
    "pages/4_agreement.py",
    "pages/5_robustness.py",
    "pages/6_studies.py",
]


# One payload per Markdown/HTML feature that must not run; each is tagged so that a leak names its field.
def hostile(tag: str) -> str:
    return (
        f"<img src=x onerror=alert('{tag}')> [click-{tag}](javascript:alert(1)) "
        f"![px-{tag}](http://tracker.invalid/{tag}.png) :red[RED-{tag}] **BOLD-{tag}** $x_{tag}$"
    )


# A payload leaks if any of these appears without the backslash md_escape puts before it.
LEAKS = [
    re.compile(r"(?<!\\)<img"),
    re.compile(r"(?<!\\)\]\(javascript"),
    re.compile(r"(?<!\\)!(?<!\\)\[px-"),
    re.compile(r"(?<!\\):red(?<!\\)\[RED"),
    re.compile(r"(?<!\\)\*(?<!\\)\*BOLD"),
]


def make_hostile_study(studies_dir: Path) -> None:
    experts = [hostile("expert1"), "dr_b"]
    items = [
        Item(
            f"{i}-{hostile('id')}" if i == 1 else str(i),
            f"Question {i}? {hostile('input')}",
            f"Answer {i}. {hostile('response')}",
            group_id=hostile("group") if i < 4 else None,
            reference=f"Reference {i}. {hostile('reference')}",
            category=hostile("category") if i % 2 else "plain",
            experts={experts[0]: "yes" if i % 3 else "no", experts[1]: "no" if i % 4 else "yes"},
        )
        for i in range(12)
    ]
    spec = StudySpec(
        slug="hostile",
        title=f"Title {hostile('title')}",
        description=hostile("description"),
        task=TaskType.BINARY,
        experts=experts,
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
        source=SourceInfo(
            file_name=f"{hostile('file')}.csv", format="csv", encoding="utf-8", sha256="0" * 64, n_rows=12
        ),
        mapping={"input": hostile("column-input"), "response": "answer", "experts": [experts[0], "dr_b"]},
        label_map={hostile("label-value"): "yes", "Nope": "no"},
    )
    study = StudyStore(studies_dir).create(spec, items)
    judge = JudgeSpec(
        backend="scripted", model="scripted-hostile", quantization="none", name=f"Judge {hostile('judge')}"
    )
    answers = {
        "Question 3?": f"{hostile('raw')} and no result at all",
        "Question 5?": f"**Reasoning:** {hostile('reasoning')}\n\n**Result:** Yes",
    }
    study.spec = study.spec.model_copy(update={"judge": judge})
    study.save_spec()
    run_study(
        study, ScriptedBackend(judge, script=answers, default=f"**Reasoning:** {hostile('why')}\n\n**Result:** No")
    )
    study.close()


def markdown_sources(at: object) -> Iterator[tuple[str, str]]:
    """(element type, Markdown source) for everything Streamlit renders as Markdown on the current page."""

    def visit(node: object) -> Iterator[tuple[str, str]]:
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", type(node).__name__)
        if proto is not None and kind not in ("code", "text", "dataframe", "table", "json", "vega_lite_chart"):
            for field in ("body", "label", "help", "caption"):
                value = getattr(proto, field, None)
                if isinstance(value, str) and value:
                    yield kind, value
            if kind == "radio":  # radio options and their captions are Markdown too
                for value in [*proto.options, *getattr(proto, "captions", [])]:
                    yield kind, value
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                yield from visit(child)

    return visit(at._tree)  # type: ignore[attr-defined]


def leaks(at: object) -> list[str]:
    found = []
    for kind, source in markdown_sources(at):
        for pattern in LEAKS:
            match = pattern.search(source)
            if match:
                found.append(f"{kind}: ...{source[max(0, match.start() - 60) : match.end() + 40]!r}")
    return found


@pytest.fixture
def hostile_app(app_studies_dir: Path):  # type: ignore[no-untyped-def]
    make_hostile_study(app_studies_dir)
    return open_in_sidebar(start(), "hostile")


@pytest.mark.parametrize("page", PAGES)
def test_hostile_study_text_is_never_rendered_as_markdown_or_html(hostile_app, page: str) -> None:  # type: ignore[no-untyped-def]
    at = go(hostile_app, page)
    assert not leaks(at), leaks(at)[:8]
    # The hostile text is on the page (escaped, or in tables): it is shown, not dropped.
    shown = " ".join(source for _, source in markdown_sources(at))
    assert "hostile" in shown or "Title" in shown or page.endswith("6_studies.py")


# --- nothing user-supplied reaches eval, pickle or a shell -------------------------------------------------


def python_files() -> list[Path]:
    return sorted([*REPO.joinpath("selene_eval").rglob("*.py"), *REPO.joinpath("pages").glob("*.py"), REPO / "app.py"])


def calls(tree: ast.AST) -> Iterator[ast.Call]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def call_name(call: ast.Call) -> str:
    parts = []
    node: ast.AST = call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


FORBIDDEN_CALLS = {
    "eval",
    "exec",
    "compile",
    "os.system",
    "os.popen",
    "pickle.load",
    "pickle.loads",
    "marshal.loads",
    "yaml.load",
    "yaml.unsafe_load",
    "yaml.full_load",
    "torch.load",
    "pd.read_pickle",
    "shelve.open",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "__import__",
}


def test_no_eval_pickle_or_shell_in_the_product() -> None:
    problems = []
    for path in python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
                )
                if any(n.split(".")[0] in ("pickle", "marshal", "shelve", "dill", "cloudpickle") for n in names):
                    problems.append(f"{path.relative_to(REPO)}:{node.lineno} imports {names}")
        for call in calls(tree):
            name = call_name(call)
            if name in FORBIDDEN_CALLS:
                problems.append(f"{path.relative_to(REPO)}:{call.lineno} calls {name}")
            if name.startswith("subprocess.") or name in ("Popen", "run"):
                shell = [
                    k
                    for k in call.keywords
                    if k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                ]
                if shell:
                    problems.append(f"{path.relative_to(REPO)}:{call.lineno} runs a shell")
    assert not problems, problems


def test_models_load_with_trust_remote_code_false() -> None:
    """Every ``Auto*.from_pretrained`` call passes ``trust_remote_code=False`` (directly or in a dict of options).

    Only the Auto classes can run code shipped with a model; ``SomeModelClass.from_pretrained(None, state_dict=...)``
    builds a known class from tensors in memory.
    """
    checked = 0
    for path in python_files():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        for call in calls(tree):
            name = call_name(call)
            if not (name.endswith("from_pretrained") and name.split(".")[-2].startswith("Auto")):
                continue
            checked += 1
            keywords = {k.arg: k.value for k in call.keywords}
            if "trust_remote_code" in keywords:
                value = keywords["trust_remote_code"]
                assert isinstance(value, ast.Constant) and value.value is False, f"{path}:{call.lineno}"
            else:  # options passed as **common: the dict must say trust_remote_code False
                spread = [k.value for k in call.keywords if k.arg is None]
                assert spread, f"{path}:{call.lineno}: from_pretrained without trust_remote_code=False"
                assert re.search(r"[\"']trust_remote_code[\"']\s*:\s*False", source), f"{path}:{call.lineno}"
        assert "trust_remote_code=True" not in source and '"trust_remote_code": True' not in source, path
    assert checked >= 2  # the tokenizer and the model of the transformers backend


def test_html_is_only_allowed_for_constant_text() -> None:
    """``unsafe_allow_html=True`` (and ``st.html``) never receive text built from variables."""
    problems = []
    for path in python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in calls(tree):
            name = call_name(call)
            unsafe = any(
                k.arg == "unsafe_allow_html" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                for k in call.keywords
            )
            html = unsafe or name.endswith("st.html") or name == "components.html"
            if html and call.args and not isinstance(call.args[0], ast.Constant):
                problems.append(f"{path.relative_to(REPO)}:{call.lineno} {name} with non-constant HTML")
    assert not problems, problems


def test_a_hostile_upload_is_shown_as_text_on_the_data_page(app_studies_dir: Path) -> None:
    """Column names, label values and the file name of an upload: the mapping widgets and the report escape them."""
    columns = [f"question {hostile('col-q')}", f"answer {hostile('col-a')}", f"label {hostile('col-l')}"]
    rows = [[f"q{i} {hostile('cell')}", f"a{i}", hostile("label") if i % 2 else "Yes"] for i in range(12)]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([columns, *rows])
    at = start()
    at.file_uploader(key="data_upload").set_value(
        (f"{hostile('upload')}.csv", buffer.getvalue().encode(), "text/csv")
    ).run()
    assert not at.exception, [e.message for e in at.exception]
    for task in list(TaskType)[:2]:  # the label map differs per task
        if at.radio(key="data_task").value != task:
            at.radio(key="data_task").set_value(task).run()
        assert not at.exception, [e.message for e in at.exception]
        assert not leaks(at), leaks(at)[:8]
    shown = " ".join(source for _, source in markdown_sources(at))
    assert "label\\-value" in shown or "label \\<img" in shown or "\\<img" in shown  # shown, escaped


# --- CSV export: a line break inside a cell never starts a row ---------------------------------------------

FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]
LINE_BREAKS = {"CR": "\r", "LF": "\n", "CRLF": "\r\n"}


def exported_cells() -> dict[str, str]:
    """One cell per (line break, dangerous first character after it), keyed by a safe id."""
    return {
        f"{name}-{ord(start)}": f"x{brk}{start}cmd|' /C calc'!A0"
        for name, brk in LINE_BREAKS.items()
        for start in FORMULA_STARTS
    }


def test_a_line_break_in_a_csv_cell_never_starts_a_row_with_a_formula() -> None:
    cells = exported_cells()
    header_cell = "note\r=HEADER()"
    frame = pd.DataFrame({"id": list(cells), header_cell: list(cells.values()), "tail": ["end"] * len(cells)})
    text = to_csv_bytes(frame).decode("utf-8-sig")

    # Python's csv module: one record per row, every cell back whole (the line break kept inside it).
    records = list(csv.reader(io.StringIO(text, newline="")))
    assert records[0] == ["id", header_cell, "tail"]
    assert records[1:] == [[key, value, "end"] for key, value in cells.items()], records
    # pandas, with both of its parsers: the same rows, nothing split off.
    for engine in ("c", "python"):
        back = pd.read_csv(io.StringIO(text, newline=""), dtype=str, keep_default_na=False, engine=engine)
        assert list(back.columns) == ["id", header_cell, "tail"], engine
        assert back["id"].tolist() == list(cells) and back[header_cell].tolist() == list(cells.values()), engine
        assert (back["tail"] == "end").all(), engine
    # No record (so no spreadsheet row) begins with a character a spreadsheet runs as a formula.
    for record in records:
        assert not record[0].startswith(tuple(FORMULA_STARTS)), record


# --- the HTML report's script guard reads markup, not text ----------------------------------------------------

ORDINARY_TEXT_NAMES = ["Selene Mini, one=shot prompt", "judge onload = fine", "java script: no", "<script> as text"]


@pytest.mark.parametrize("judge_name", ORDINARY_TEXT_NAMES)
def test_a_judge_whose_name_looks_like_an_attribute_gets_its_html_report(tmp_path: Path, judge_name: str) -> None:
    experts = {"e1": ["yes", "no"], "e2": ["yes", "yes", "no"]}
    items = [
        Item(str(i), f"Question {i}?", f"Answer {i}.", experts={e: v[i % len(v)] for e, v in experts.items()})
        for i in range(8)
    ]
    spec = StudySpec(
        slug="named",
        title="Named judge",
        task=TaskType.BINARY,
        experts=list(experts),
        rubric=default_rubric(TaskType.BINARY),
        variants=["selene"],
    )
    study = StudyStore(tmp_path).create(spec, items)
    judge = JudgeSpec(backend="scripted", model="scripted-named", quantization="none", name=judge_name)
    run_study(study, ScriptedBackend(judge, default="**Reasoning:** Fine.\n\n**Result:** Yes"))
    html = build_html_report(study, n_resamples=0)
    study.close()
    escaped = judge_name.replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in html and "<script" not in html.lower()


@pytest.mark.parametrize(
    "markup, found",
    [
        ("<svg><script>alert(1)</script></svg>", "<script> element"),
        ("<svg><svg:script href='x.js'/></svg>", "<svg:script> element"),
        ("<svg><foreignObject><iframe src=x></iframe></foreignObject></svg>", "<foreignobject> element"),
        ('<svg><rect width="3" onload="alert(1)"/></svg>', "event attribute onload"),
        ("<svg><g ONMOUSEOVER=alert(1)></g></svg>", "event attribute onmouseover"),
        ('<svg><a xlink:href=" java&#115;cript:alert(1)"><text>x</text></a></svg>', "javascript: URL"),
        ('<svg><a href="JavaScript&#x3A;alert(1)">x</a></svg>', "javascript: URL"),
        ('<svg><set attributeName="href" to="javascript:alert(1)"/></svg>', "javascript: URL"),
    ],
)
def test_the_chart_guard_finds_script_in_the_parsed_markup(markup: str, found: str) -> None:
    assert found in (script_in_markup(markup) or "")


@pytest.mark.parametrize(
    "markup",
    [
        "<svg><text>Selene Mini, one=shot prompt</text></svg>",
        '<svg><text aria-label="a onclick=1 b">x</text></svg>',
        "<svg><text>&lt;script&gt;alert(1)&lt;/script&gt; javascript:alert(1)</text></svg>",
        '<svg><a href="https://example.org/javascript:x">x</a><rect opacity="0.5"/></svg>',
    ],
)
def test_the_chart_guard_lets_text_that_only_looks_like_script_through(markup: str) -> None:
    assert script_in_markup(markup) is None


def test_a_rendered_chart_with_script_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vl_convert, "vegalite_to_svg", lambda *a, **k: '<svg><rect onclick="alert(1)"/></svg>')
    chart = alt.Chart(pd.DataFrame({"x": ["a"], "n": [1]})).mark_bar().encode(x="x:N", y="n:Q")
    with pytest.raises(SeleneEvalError, match=r"contains script \(the event attribute onclick of <rect>\)"):
        chart_svg(chart)
