"""Data page components: read an upload, map columns and labels, show the validation report, save a study."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from selene_eval.core.expert_labels import expert_label_headings
from selene_eval.core.items import ROLES, SUBGROUP_PREFIX, Item, items_frame
from selene_eval.core.tasks import TaskType
from selene_eval.data import (
    ColumnMapping,
    Issue,
    TableFile,
    ValidationReport,
    build_items,
    conflicting_spellings,
    distinct_label_values,
    guess_mapping,
    looks_pairwise,
    read_table,
    rows_with_bad_ids,
    suggest_label_map,
)
from selene_eval.errors import ValidationFailed
from selene_eval.prompts.rubric import Rubric, default_rubric
from selene_eval.study import Study, new_study_spec, slugify
from selene_eval.ui.state import default, keep_valid, keep_valid_many, memo, put, study_store
from selene_eval.ui.text import TASK_NAMES, md_escape, plural

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

FILE_TYPES_HELP = (
    "CSV, TSV, Excel (.xlsx), JSON, JSON Lines or Parquet. The format is recognised from the content, "
    "so the file name's extension does not matter."
)
NO_LABEL = ""
"""The label-map choice meaning "this value is not a label" (an empty cell)."""
MAX_LABEL_VALUES = 60
"""More distinct values than this in the label columns almost certainly means a wrong column."""

ROLE_LABELS: dict[str, str] = {
    "input": "Question or instruction",
    "response": "Response to judge",
    "response_b": "Response B",
    "reference": "Reference answer (optional)",
    "context": "Context, e.g. a source passage (optional)",
    "category": "Category (optional)",
    "id": "Item id (optional)",
    "group": "Group (optional)",
}
ROLE_HELP: dict[str, str] = {
    "input": "What was asked: the question, instruction or case the response answers.",
    "response": "The answer your experts labelled; the judge labels it too.",
    "response_b": "The second answer, for A-vs-B comparisons.",
    "reference": "A correct answer to compare against. Needed by the prompt variants 'with reference'.",
    "context": "Extra material the judge should see, such as the passage the answer should rely on.",
    "category": "A topic or type per row; lets you filter the results by it.",
    "id": "A unique id per item. Without one, items are numbered by their row.",
    "group": "Rows that share a question (several answers to one question); kept together in the statistics.",
}
_LAYOUTS = {"wide": "One column per expert", "long": "One row per item and expert (long format)"}


def roles_for(task: TaskType) -> list[str]:
    """The column roles shown for ``task``, required ones first."""
    roles = ["input", "response"] + (["response_b"] if task is TaskType.PAIRWISE else [])
    return roles + ["reference", "context", "category", "id", "group"]


UPLOAD_KEY = "data_upload_for"
"""Session-state key holding the ``file_id`` of the upload the Data page's choices were made for."""
_PER_UPLOAD_PREFIXES = ("data_labelmap_", "data_rubric_")
"""Choices that belong to one file: label meanings and the rubric edited beside them."""


def start_upload(file_id: str) -> bool:
    """Forget the choices made for another file when ``file_id`` is a new upload; True if it is.

    Each upload starts afresh: the task is chosen again (a pairwise file is not a yes/no one), the label
    meanings are suggested again from its own values (a ``yes`` that meant "no" in the last file may mean
    "yes" in this one), the rubric and the rows to skip start from their defaults. Deleting the keys lets
    :func:`default` seed the widgets anew, through session state, which also resets them in the browser.
    """
    if st.session_state.get(UPLOAD_KEY) == file_id:
        return False
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(_PER_UPLOAD_PREFIXES)]:
        del st.session_state[key]
    put("data_task", None)
    put("data_skip_bad_ids", False)
    put(UPLOAD_KEY, file_id)
    return True


def raw_preview(table: TableFile, rows: int = 50) -> None:
    """The file's first rows as read; short columns (ids, labels) narrow so that a wide file fits the page."""
    head = table.frame.head(rows)
    config = {}
    for column in head.columns:
        longest = head[column].map(lambda v: len(str(v)) if v is not None else 0).max() if len(head) else 0
        config[column] = st.column_config.TextColumn(width="small" if longest <= 14 else "medium")
    st.dataframe(head, hide_index=True, width="stretch", height=240, column_config=config)


def read_upload(uploaded: UploadedFile) -> TableFile:
    """Parse an uploaded file once per upload (kept in session state); raises ``DataError`` if unreadable."""
    return memo(
        "data_table_memo",
        (uploaded.file_id, uploaded.name, uploaded.size),
        lambda: read_table(uploaded.getvalue(), name=uploaded.name),
    )


def task_picker(key: str, columns: Sequence[str] = ()) -> TaskType | None:
    """A radio with the three tasks in plain words, none chosen at first; returns the choice (or ``None``).

    When ``columns`` name two responses, a caption says the file looks like an A-vs-B comparison (a hint
    only: the user chooses, for every new file).
    """
    options = list(TaskType)
    default(key, None)
    keep_valid(key, [*options, None], None)
    task = st.radio(
        "What did your experts judge?",
        options,
        key=key,
        format_func=lambda t: TASK_NAMES[t],
        help="This decides the labels: 1-5 scores, yes/no, or A/B (experts may also say tie).",
    )
    pair = looks_pairwise(columns)
    if pair is not None and task is not TaskType.PAIRWISE:
        st.caption(
            f"The columns {md_escape(pair[0])} and {md_escape(pair[1])} look like two responses to "
            f"compare: {md_escape(TASK_NAMES[TaskType.PAIRWISE])}?"
        )
    return task


def _seed_mapping(guess: ColumnMapping, columns: Sequence[str]) -> None:
    """Put ``guess`` into the mapping widgets' state (a new file or task: start from the guess)."""
    for role in ROLES:
        value = getattr(guess, role, None)
        put(f"data_role_{role}", value if value in columns else None)
    put("data_experts", [c for c in guess.experts if c in columns])
    put("data_subgroups", [c for c in guess.subgroups if c in columns])
    long = bool(guess.annotator and guess.label)
    put("data_layout", "long" if long else "wide")
    put("data_annotator", guess.annotator if guess.annotator in columns else None)
    put("data_label", guess.label if guess.label in columns else None)


def mapping_editor(columns: Sequence[str], task: TaskType, signature: object) -> ColumnMapping:
    """Dropdowns mapping the file's columns to roles, pre-filled by ``guess_mapping``; returns the mapping.

    ``signature`` identifies the file and task: when it changes the dropdowns start again from the guess.
    Raises ``MappingError`` when the choices cannot form a mapping.
    """
    if st.session_state.get("data_mapping_for") != signature:
        _seed_mapping(guess_mapping(list(columns), task), columns)
        put("data_mapping_for", signature)
    optional: list[str | None] = [None, *columns]

    def show(column: str | None) -> str:
        return "(none)" if column is None else column

    st.markdown("**Which column holds what?**")
    roles = roles_for(task)
    left, right = st.columns(2)
    chosen: dict[str, str | None] = {}
    for index, role in enumerate(roles):
        key = f"data_role_{role}"
        keep_valid(key, optional, None)
        label = ROLE_LABELS[role]
        if role == "response" and task is TaskType.PAIRWISE:
            label = "Response A"
        with left if index % 2 == 0 else right:
            chosen[role] = st.selectbox(
                label, optional, key=key, format_func=show, help=ROLE_HELP[role], placeholder="(none)"
            )

    st.markdown("**Where are the experts' labels?**")
    keep_valid("data_layout", list(_LAYOUTS), "wide")
    layout = st.radio(
        "Layout of the labels", list(_LAYOUTS), key="data_layout", format_func=_LAYOUTS.get, horizontal=True
    )
    experts: list[str] = []
    annotator = label_column = None
    if layout == "wide":
        keep_valid_many("data_experts", list(columns))
        experts = st.multiselect(
            "Expert label columns (one per expert)",
            list(columns),
            key="data_experts",
            help="Each chosen column holds one expert's label for every item; the column name names the expert.",
        )
    else:
        left, right = st.columns(2)
        keep_valid("data_annotator", optional, None)
        keep_valid("data_label", optional, None)
        with left:
            annotator = st.selectbox(
                "Expert (annotator) column",
                optional,
                key="data_annotator",
                format_func=show,
                help="Who gave the label on this row.",
                placeholder="(none)",
            )
        with right:
            label_column = st.selectbox(
                "Label column",
                optional,
                key="data_label",
                format_func=show,
                help="The label that expert gave on this row.",
                placeholder="(none)",
            )
    taken = {*chosen.values(), *experts, annotator, label_column}
    free = [c for c in columns if c not in taken]
    keep_valid_many("data_subgroups", free)
    subgroups = st.multiselect(
        "Break the statistics down by (optional)",
        free,
        key="data_subgroups",
        help="Columns such as a domain, a specialty, a difficulty or a source: every statistic is also given "
        "within each of their values (the category, when mapped, is always used).",
        placeholder="Choose columns",
    )
    return ColumnMapping(**chosen, experts=experts, subgroups=subgroups, annotator=annotator, label=label_column)


def distinct_labels(table: TableFile, mapping: ColumnMapping) -> list[str]:
    """The distinct raw values in the mapped label column(s) (``[]`` before any is chosen)."""
    if not mapping.experts and not mapping.label:
        return []
    return distinct_label_values(table.frame, mapping)


def validate(
    table: TableFile,
    mapping: ColumnMapping,
    task: TaskType,
    label_map: dict[str, str | None],
    file_id: object,
    skip_rows: Sequence[int] = (),
) -> tuple[list[Item], ValidationReport]:
    """``build_items`` for the current choices, recomputed only when one of them changes."""
    signature = (
        file_id,
        mapping.model_dump_json(),
        task.value,
        tuple(sorted(label_map.items(), key=lambda kv: kv[0])),
        tuple(skip_rows),
    )
    return memo(
        "data_items_memo", signature, lambda: build_items(table.frame, mapping, task, label_map, skip_rows=skip_rows)
    )


def bad_id_rows(table: TableFile, mapping: ColumnMapping, file_id: object) -> dict[int, str]:
    """``rows_with_bad_ids`` for the current mapping, remembered until the file or the mapping changes."""
    signature = (file_id, mapping.model_dump_json())
    return memo("data_bad_ids_memo", signature, lambda: rows_with_bad_ids(table.frame, mapping))


def skip_rows_choice(bad_rows: dict[int, str], n_rows: int) -> dict[int, str]:
    """Offer to leave out the rows whose item id blocks the import; returns the rows to skip (row -> reason).

    The alternative the validation report gives, leaving the id unmapped, changes every item's id; skipping
    keeps the file's ids and costs only these rows, which the study records.
    """
    if not bad_rows:
        return {}
    default("data_skip_bad_ids", False)
    n_bad = len(bad_rows)
    skip = st.checkbox(
        f"Skip the {plural(n_bad, 'row')} whose item id is missing or repeated, and import the other "
        f"{n_rows - n_bad:,}",
        key="data_skip_bad_ids",
        help="The skipped rows are named in the study's record (study.yaml), with the reason for each.",
    )
    with st.expander(f"The {plural(n_bad, 'row')} with a bad item id"):
        st.dataframe(
            pd.DataFrame({"Row": list(bad_rows), "Why": list(bad_rows.values())}),
            hide_index=True,
            width="stretch",
            height=min(36 + 35 * n_bad, 300),
        )
    return dict(bad_rows) if skip else {}


def label_value_key(task: TaskType, raw: str) -> str:
    """The session-state key of the dropdown saying what raw label value ``raw`` means for ``task``."""
    return f"data_labelmap_{task.value}_{hashlib.sha1(raw.encode('utf-8')).hexdigest()[:16]}"


def rubric_key(task: TaskType, part: str) -> str:
    """The session-state key of one field of the rubric edited on the Data page (``objective`` or a label)."""
    return f"data_rubric_{task.value}_{part}"


def label_meanings_editor(task: TaskType) -> Rubric | None:
    """What each label means, from the rubric the study will start with, and that rubric, editable below it;
    returns the rubric (``None`` while a field of it is empty).

    The labels' meanings depend on it (``yes`` = passes this rubric), so it is shown and chosen here, with
    the label mapping; the Prompts page edits it later.
    """
    meanings = st.container()  # drawn above the editor, filled once the edits are known
    rubric = default_rubric(task)
    default(rubric_key(task, "objective"), rubric.objective)
    for label, text in rubric.descriptions.items():
        default(rubric_key(task, label), text)
    with st.expander("Edit the rubric (what the judge is asked, and so what each label means)"):
        st.text_area(
            "The question the rubric asks",
            key=rubric_key(task, "objective"),
            height=68,
            help="The judge is asked the same question; you can change it later on the Prompts page.",
        )
        for label in rubric.descriptions:
            st.text_input(f"What {label!r} means", key=rubric_key(task, label))
    objective = str(st.session_state[rubric_key(task, "objective")]).strip()
    descriptions = {label: str(st.session_state[rubric_key(task, label)]).strip() for label in rubric.descriptions}
    empty = [f"the meaning of {label!r}" for label, text in descriptions.items() if not text]
    if not objective:
        empty.insert(0, "the rubric's question")
    if empty:
        st.error(f"Fill in {' and '.join(empty)} in the rubric above.", icon=":material/edit_note:")
        return None
    edited = Rubric(objective=objective, descriptions=descriptions)
    meanings.markdown(
        "**What the labels mean in this study**  \n"
        + "  \n".join(
            f"**{md_escape(label)}** = {md_escape(meaning)}" for label, meaning in label_meanings(task, edited).items()
        )
    )
    return edited


def label_meanings(task: TaskType, rubric: Rubric) -> dict[str, str]:
    """Each expert label of ``task`` in words, from ``rubric`` (the meaning the study gives it)."""
    if task is TaskType.BINARY:
        return {
            "yes": f"the response passes the rubric: \u201c{rubric.objective}\u201d ({rubric.descriptions.get('yes', '')})",
            "no": f"it does not ({rubric.descriptions.get('no', '')})",
        }
    if task is TaskType.PAIRWISE:
        return {
            "A": f"response A is the better one by the rubric: \u201c{rubric.objective}\u201d",
            "B": "response B is the better one",
            "tie": "the two are equally good (an expert's verdict; the judge always picks A or B)",
        }
    return {label: rubric.descriptions.get(label, "") for label in task.expert_labels}


_SHORT_MEANINGS: dict[TaskType, dict[str, str]] = {
    TaskType.BINARY: {"yes": "passes the rubric", "no": "fails the rubric"},
    TaskType.PAIRWISE: {"A": "response A is better", "B": "response B is better", "tie": "equally good"},
    TaskType.ABSOLUTE: {"1": "lowest score", "5": "highest score"},
}


def label_map_editor(raw_values: Sequence[str], task: TaskType) -> dict[str, str | None]:
    """One dropdown per distinct raw label value, pre-filled by ``suggest_label_map``; returns the label map.

    Values the suggestion does not know start empty ("choose"), and stay out of the map until chosen, so
    the validation report blocks saving until each has a meaning. "(no label)" means the cell counts as if
    the expert gave no label (e.g. "skipped"). What each chosen label means is shown beside it (the rubric's
    full wording is above, see :func:`label_meanings_editor`); values that spell one word (``no``, ``No.``) but are
    given different meanings are flagged.
    """
    if not raw_values:
        st.info("No label values found yet: choose the expert label column(s) above.")
        return {}
    shown = list(raw_values)[:MAX_LABEL_VALUES]
    if len(raw_values) > MAX_LABEL_VALUES:
        st.warning(
            f"The label column(s) hold {len(raw_values):,} different values, which is unusual for labels: "
            f"check that you chose the right column. Only the first {MAX_LABEL_VALUES} are listed here."
        )
    suggestions = suggest_label_map(shown, task)
    options = [*task.expert_labels, NO_LABEL]

    def show(value: str) -> str:
        return "(no label)" if value == NO_LABEL else value

    st.markdown(f"**What does each label value mean?** The labels of this task: {', '.join(task.expert_labels)}.")
    keys = {raw: label_value_key(task, raw) for raw in shown}
    for raw, key in keys.items():
        default(key, suggestions.get(raw))
        keep_valid(key, [*options, None], None)
    # The choices as they stand (session state already holds this run's edits): spellings of one word
    # that were given different meanings are marked on their rows before the rows are drawn.
    chosen = {raw: st.session_state[key] for raw, key in keys.items() if st.session_state[key] is not None}
    clashing = {raw for group in conflicting_spellings({r: v or None for r, v in chosen.items()}) for raw in group}
    short = _SHORT_MEANINGS[task]
    label_map: dict[str, str | None] = {}
    header = st.columns([3, 2, 3])
    header[0].caption("Value in your file")
    header[1].caption("Means")
    for number, raw in enumerate(shown, start=1):
        left, middle, right = st.columns([3, 2, 3], vertical_alignment="center")
        with left:
            st.text(raw)
        with middle:
            value = st.selectbox(
                f"Meaning of value {number}",
                options,
                key=keys[raw],
                format_func=show,
                label_visibility="collapsed",
                placeholder="Choose what it means",
            )
        with right:
            if raw in clashing:
                st.markdown(":orange[:material/warning: another spelling of this value means something else]")
            elif value == NO_LABEL:
                st.caption("not counted: as if the expert gave no label")
            elif value is not None and value in short:
                st.caption(short[value])
        if value is not None:
            label_map[raw] = None if value == NO_LABEL else value
    undecided = [raw for raw in shown if raw not in label_map]
    dropped = [raw for raw, value in label_map.items() if value is None]
    if undecided:
        st.caption(f"{plural(len(undecided), 'value')} still need{'s' if len(undecided) == 1 else ''} a meaning.")
    if dropped:
        st.caption(
            f"{plural(len(dropped), 'value')} will count as no label: "
            + ", ".join(md_escape(repr(v)) for v in dropped[:8])
            + (" …" if len(dropped) > 8 else "")
        )
    return label_map


def validation_report(report: ValidationReport) -> None:
    """Errors (they block saving), then warnings (they explain), then a one-line verdict."""
    for issue in report.errors:
        st.error(_issue_text(issue), icon=":material/block:")
    for issue in report.warnings:
        st.warning(_issue_text(issue), icon=":material/warning:")
    if report.ok:
        skipped = f" ({len(report.skipped_rows):,} skipped)" if report.skipped_rows else ""
        st.success(
            f"{plural(report.n_items, 'item')} ready from {plural(report.n_rows, 'row')}{skipped}"
            + (f", with {plural(len(report.warnings), 'warning')} to read above." if report.warnings else "."),
            icon=":material/check_circle:",
        )
    else:
        st.info(f"Fix the {plural(len(report.errors), 'problem')} marked in red to save the study.")


def _issue_text(issue: Issue) -> str:
    """An issue as Markdown: the message, where it is, and how to fix it (user text escaped)."""
    parts = [md_escape(issue.message)]
    where = []
    if issue.column:
        where.append(f"column {md_escape(issue.column)}")
    if issue.rows:
        shown = ", ".join(str(r) for r in issue.rows[:10])
        where.append(f"row{'s' if len(issue.rows) > 1 else ''} {shown}{', …' if len(issue.rows) > 10 else ''}")
    if where:
        parts.append("Where: " + "; ".join(where) + " (row 1 is the first row under the header).")
    if issue.fix:
        parts.append(f"**How to fix:** {md_escape(issue.fix)}")
    return "  \n".join(parts)


def create_study(
    table: TableFile,
    mapping: ColumnMapping,
    task: TaskType,
    label_map: dict[str, str | None],
    items: list[Item],
    *,
    slug: str,
    title: str,
    description: str = "",
    overwrite: bool = False,
    rubric: Rubric | None = None,
    skipped_rows: dict[int, str] | None = None,
) -> Study:
    """Save a new study: the spec (``rubric``, else the task's default, and Selene's canonical prompt) and the items.

    ``skipped_rows`` (row -> reason) records the file's rows left out. Raises ``StudyError`` for a bad or
    taken name (unless ``overwrite``).
    """
    store = study_store()
    slug = store.check_new_name(
        slug.strip(),
        overwrite=overwrite,
        advice=". Choose another name, or tick 'Replace it' to overwrite it (its judgments are deleted).",
    )
    spec = new_study_spec(
        table,
        mapping,
        task,
        label_map,
        items,
        slug=slug,
        title=title,
        description=description,
        rubric=rubric,
        skipped_rows=skipped_rows,
    )
    return store.create(spec, items, overwrite=overwrite)


def preview_frame(items: Sequence[Item]) -> tuple[pd.DataFrame, dict[str, object]]:
    """Items as they will be saved, key columns first (id, the experts' canonical labels, category, subgroups),
    then the texts; with a column config that pins the id and keeps long texts from pushing the keys off the
    page. Columns empty for every item are left out."""
    frame = items_frame(items)
    headings = {"item_id": "Item", **expert_label_headings(list(frame.columns)), "category": "Category"}
    headings.update({c: c.removeprefix(SUBGROUP_PREFIX) for c in frame.columns if c.startswith(SUBGROUP_PREFIX)})
    headings.update(
        {
            "group_id": "Group",
            "input": "Input",
            "response": "Response",
            "response_b": "Response B",
            "reference": "Reference",
            "context": "Context",
        }
    )
    if frame["response_b"].notna().any():
        headings["response"] = "Response A"
    kept = [c for c in headings if c in frame.columns and (c == "item_id" or frame[c].notna().any())]
    view = frame.loc[:, kept].rename(columns=headings)
    config: dict[str, object] = {"Item": st.column_config.TextColumn(pinned=True)}
    for column in ("input", "response", "response_b", "reference", "context"):
        if column in kept:
            config[headings[column]] = st.column_config.TextColumn(width="medium")
    return view, config


def suggested_slug(file_name: str) -> str:
    """A study name suggested from the file name (``Physician labels.csv`` -> ``physician-labels``)."""
    return slugify(Path(file_name).stem or file_name)


def study_overview(study: Study) -> None:
    """What a saved study holds: counts, source file, mapping, label map and the items."""
    spec = study.spec
    items = study.items
    cols = st.columns(4)
    cols[0].metric("Items", f"{len(items):,}")
    cols[1].metric("Experts", len(spec.experts))
    cols[2].metric("Judgments stored", f"{study.judgments.count():,}")
    cols[3].metric("Prompt variants", len(spec.variants))
    st.caption(f"Task: {md_escape(TASK_NAMES[spec.task])}")
    if spec.description:
        st.text(spec.description)
    if spec.source is not None:
        src = spec.source
        st.caption(
            f"From the file {md_escape(src.file_name)} ({md_escape(src.format)}"
            + (f", {md_escape(src.encoding)}" if src.encoding else "")
            + f", {plural(src.n_rows, 'row')}; SHA-256 {src.sha256[:12]}…)"
        )
    left, right = st.columns(2)
    with left:
        st.caption("Column mapping")
        st.json(spec.mapping, expanded=False)
    with right:
        st.caption("Label values and what they mean (null = no label)")
        st.json(spec.label_map, expanded=False)
    if spec.skipped_rows:
        with st.expander(f"{plural(len(spec.skipped_rows), 'row')} of the file left out on import"):
            st.dataframe(
                pd.DataFrame([{"Row": s.row, "Why": s.reason} for s in spec.skipped_rows]),
                hide_index=True,
                width="stretch",
            )
    st.caption(f"Items (first {min(len(items), 500)} of {len(items):,})")
    view, config = preview_frame(items[:500])
    st.dataframe(view, hide_index=True, width="stretch", column_config=config)


DATASETS_DIR_ENV = "SELENE_EVAL_DATASETS_DIR"
"""Where downloaded public datasets are kept (default: ``~/.cache/selene-eval/datasets``)."""


def datasets_dir() -> Path:
    """The folder that holds downloaded public datasets, one sub-folder per dataset."""
    import os

    return Path(os.environ.get(DATASETS_DIR_ENV) or Path.home() / ".cache" / "selene-eval" / "datasets").expanduser()


def public_dataset_form() -> None:
    """Start from a public dataset: pick one, read its licence, point to a local copy (or download it), save."""
    from selene_eval.adapters import ADAPTERS, create_study_from_dataset
    from selene_eval.errors import SeleneEvalError

    names = list(ADAPTERS)
    keep_valid("data_dataset", names, names[0])
    default("data_dataset", names[0])
    name = st.selectbox("Dataset", names, key="data_dataset", format_func=lambda n: ADAPTERS[n].title)
    adapter = ADAPTERS[name]
    st.markdown(md_escape(adapter.summary))
    st.caption(f"Experts: {md_escape(adapter.annotators)} · task: {md_escape(TASK_NAMES[adapter.task])}")
    st.info(
        f"**Licence: {md_escape(adapter.licence)}.** {md_escape(adapter.licence_text)}  \n"
        f"Source: {md_escape(adapter.source_url)}  \nCite: {md_escape(adapter.citation)}",
        icon=":material/gavel:",
    )
    options: dict[str, str] = {}
    for option in adapter.options:
        key = f"data_dataset_{name}_{option.name}"
        default(key, option.default)
        keep_valid(key, list(option.choices), option.default)
        options[option.name] = st.radio(
            md_escape(option.name.capitalize()), list(option.choices), key=key, horizontal=True, help=option.help
        )
    folder = datasets_dir() / name
    default(f"data_dataset_{name}_path", str(folder) if folder.exists() else "")
    st.text_input(
        "Local copy: the dataset's file or the folder that holds it",
        key=f"data_dataset_{name}_path",
        help="Works offline. The original files as published, e.g. a checkout of the dataset's repository.",
    )
    if adapter.files and st.button(
        f"Download it into {folder}",
        key=f"data_dataset_{name}_download",
        help="Fetches the pinned files and checks their checksums.",
    ):
        try:
            with st.spinner("Downloading…"):
                adapter.download(folder)
        except SeleneEvalError as exc:
            st.error(md_escape(str(exc)), icon=":material/cloud_off:")
        else:
            put(f"data_dataset_{name}_path", str(folder))
            st.rerun()
    with st.form("data_dataset_form"):
        default("data_dataset_slug", name)
        st.text_input(
            "Study name",
            key="data_dataset_slug",
            help="Lower-case letters, digits, '-' and '_' (for example kqa-pilot).",
        )
        submitted = st.form_submit_button("Create the study", type="primary")
    if not submitted:
        return
    path = str(st.session_state.get(f"data_dataset_{name}_path") or "").strip()
    if not path:
        st.error("Say where the local copy is (or download it first).", icon=":material/folder_off:")
        return
    try:
        warnings: list[str] = []
        study = create_study_from_dataset(
            adapter,
            path,
            study_store(),
            str(st.session_state["data_dataset_slug"]).strip(),
            options=options,
            on_warning=warnings.append,
        )
    except ValidationFailed as exc:
        st.error("The dataset did not validate:", icon=":material/block:")
        validation_report(exc.report)  # type: ignore[arg-type]
        return
    except SeleneEvalError as exc:
        st.error(f"**The study was not created**  \n{md_escape(str(exc))}", icon=":material/error:")
        return
    from selene_eval.ui.state import flash, open_study

    for line in warnings:
        flash("warning", md_escape(line))
    n_items = len(study.items)
    study.close()
    open_study(
        study.slug,
        f"Created study **{md_escape(study.slug)}** from {md_escape(adapter.title)} with "
        f"{plural(n_items, 'item')}. Next: check the rubric and prompt on the Prompts page.",
    )
