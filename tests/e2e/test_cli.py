"""The command line end to end: real shared data, the tiny real Llama, reports checked against references."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from selene_eval.cli import main

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m selene_eval`` in a fresh process, as a user would."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "selene_eval", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def tiny_yes_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real Llama that always answers Selene's contract with "Yes"."""
    from selene_eval.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "yes", answer_label="Yes")


@pytest.fixture
def kqa_slice(shared_datasets: Path, tmp_path: Path) -> Path:
    """The first 8 questions of the shared K-QA file (three physicians per row), as a CSV of our own."""
    frame = pd.read_csv(shared_datasets / "kqa_physician_nli" / "NLI_medical_annotator.csv", dtype=str)
    questions = frame["Question"].drop_duplicates().head(8)
    path = tmp_path / "kqa_slice.csv"
    frame[frame["Question"].isin(questions)].to_csv(path, index=False)
    return path


KQA_IMPORT = [
    "--task",
    "binary",
    "--map",
    "input=Question",
    "response=answer",
    "group=Question",
    "expert=label_0",
    "expert=label_1",
    "expert=label_2",
    "--label-map",
    "Entailment=yes",
    "Neutral=no",
    "Contradiction=no",
]


@pytest.mark.model
def test_kqa_import_run_report_with_the_tiny_model(kqa_slice: Path, tiny_yes_model: Path, studies_dir: Path) -> None:
    out = cli("--studies-dir", str(studies_dir), "import", str(kqa_slice), *KQA_IMPORT, "--study", "kqa")
    assert out.returncode == 0, out.stderr
    assert "Imported" in out.stdout
    out = cli("--studies-dir", str(studies_dir), "run", "kqa", "--model", str(tiny_yes_model), "--batch-size", "8")
    assert out.returncode == 0, out.stderr
    out = cli("--studies-dir", str(studies_dir), "report", "kqa", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)

    # Expected values computed independently from the same slice.
    frame = pd.read_csv(kqa_slice, dtype=str)
    labels = frame[["label_0", "label_1", "label_2"]].replace(
        {"Entailment": "yes", "Neutral": "no", "Contradiction": "no"}
    )
    majority = labels.apply(lambda row: row.value_counts().idxmax() if row.value_counts().max() >= 2 else None, axis=1)
    assert majority.notna().all()  # three labellers and two classes: always a majority
    (result,) = report["results"]
    agreement = result["agreement"]
    assert result["n_judged"] == len(frame) and agreement["n_compared"] == len(frame)
    assert agreement["n_judge_missing"] == 0  # the tiny model answers in Selene's format
    assert agreement["metrics"]["accuracy"] == pytest.approx((majority == "yes").mean(), abs=1e-12)
    codes = labels.replace({"yes": 1, "no": 0}).astype(float).to_numpy().T
    assert report["experts_agreement"]["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal"), abs=1e-9
    )
    assert report["experts"] == ["label_0", "label_1", "label_2"]

    # A second run does no model work.
    out = cli("--studies-dir", str(studies_dir), "run", "kqa", "--model", str(tiny_yes_model))
    assert out.returncode == 0 and "Nothing to run" in out.stderr


@pytest.mark.model
def test_financebench_slice_with_refusals_dropped(
    shared_datasets: Path, tiny_yes_model: Path, studies_dir: Path, tmp_path: Path
) -> None:
    source = shared_datasets / "financebench" / "results" / "gpt-4_oracle.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines()[:12]
    sliced = tmp_path / "fb.json"  # JSON Lines behind a .json name: the format comes from the content
    sliced.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(
        [
            "--studies-dir",
            str(studies_dir),
            "import",
            str(sliced),
            "--task",
            "binary",
            "--study",
            "fb",
            "--map",
            "id=financebench_id",
            "input=question",
            "response=model_answer",
            "reference=gold_answer",
            "expert=label",
            "--label-map",
            "Correct Answer=yes",
            "Incorrect Answer=no",
            "Refusal=",
            "--min-items",
            "5",
        ]
    )
    assert code == 0
    assert main(["--studies-dir", str(studies_dir), "run", "fb", "--model", str(tiny_yes_model), "--limit", "6"]) == 0
    from selene_eval.presentation.report import study_report
    from selene_eval.study import StudyStore

    report = study_report(StudyStore(studies_dir).open("fb"))
    (result,) = report.results
    assert result.variant_id == "selene-ref" and result.n_judged == 6 and result.n_pending == len(lines) - 6
    labels = [json.loads(line)["label"] for line in lines[:6]]
    n_labelled = sum(label != "Refusal" for label in labels)
    assert result.agreement.n_compared == n_labelled
    assert result.agreement.n_unlabelled == 6 - n_labelled


def test_agree_json_equals_sklearn_scipy_and_krippendorff(kqa_slice: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(kqa_slice, dtype=str)
    # A judge column that disagrees now and then: the majority label of the next row.
    frame["judge"] = frame["majority_label"].shift(-1).fillna("Neutral")
    table = tmp_path / "table.csv"
    frame.to_csv(table, index=False)
    out = cli(
        "agree",
        str(table),
        "--judge",
        "judge",
        "--expert",
        "label_0",
        "--expert",
        "label_1",
        "--expert",
        "label_2",
        "--level",
        "nominal",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    experts = frame[["label_0", "label_1", "label_2"]]
    majority = experts.apply(lambda r: r.value_counts().idxmax() if r.value_counts().max() >= 2 else None, axis=1)
    keep = majority.notna()
    assert result["n_items"] == len(frame) and result["n_no_majority"] == int((~keep).sum())
    m, j = majority[keep].to_numpy(), frame["judge"][keep].to_numpy()
    order = sorted(set(frame["judge"]) | set(experts.stack()))
    code = {label: i for i, label in enumerate(order)}
    assert result["metrics"]["accuracy"] == pytest.approx(float((m == j).mean()), abs=1e-9)
    assert result["metrics"]["cohen_kappa"] == pytest.approx(cohen_kappa_score(m, j, labels=order), abs=1e-9)
    pair = np.array([[code[x] for x in m], [code[x] for x in j]], dtype=float)
    assert result["metrics"]["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=pair, level_of_measurement="nominal"), abs=1e-9
    )
    raters = experts.apply(lambda col: col.map(code)).to_numpy(dtype=float).T
    assert result["experts"]["n_experts"] == 3
    assert result["experts"]["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=raters, level_of_measurement="nominal"), abs=1e-9
    )
    with_judge = np.vstack([raters, frame["judge"].map(code).to_numpy(dtype=float)])
    assert result["experts"]["alpha_with_judge"] == pytest.approx(
        krippendorff.alpha(reliability_data=with_judge, level_of_measurement="nominal"), abs=1e-9
    )


def test_agree_ordinal_with_an_explicit_order(tmp_path: Path) -> None:
    levels = ["poor", "fair", "good", "great"]
    rng = np.random.default_rng(7)
    expert = rng.integers(0, 4, 60)
    judge = np.clip(expert + rng.integers(-1, 2, 60), 0, 3)
    table = tmp_path / "ordinal.tsv"
    pd.DataFrame({"j": [levels[i] for i in judge], "e": [levels[i] for i in expert]}).to_csv(
        table, sep="\t", index=False
    )
    out = cli(
        "agree",
        str(table),
        "--judge",
        "j",
        "--expert",
        "e",
        "--level",
        "ordinal",
        "--order",
        ",".join(levels),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout)["metrics"]
    assert metrics["quadratic_weighted_kappa"] == pytest.approx(
        cohen_kappa_score(expert, judge, weights="quadratic"), abs=1e-9
    )
    assert metrics["spearman"] == pytest.approx(stats.spearmanr(expert, judge).statistic, abs=1e-9)
    assert metrics["kendall_tau"] == pytest.approx(stats.kendalltau(expert, judge).statistic, abs=1e-9)
    assert metrics["pearson"] == pytest.approx(stats.pearsonr(expert, judge).statistic, abs=1e-9)
    assert metrics["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=np.vstack([expert, judge]).astype(float), level_of_measurement="ordinal"),
        abs=1e-9,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "missing.csv", "--task", "binary", "--map", "input=q", "--study", "s"], "error:"),
        (
            [
                "import",
                "{table}",
                "--task",
                "binary",
                "--map",
                "input=nope",
                "response=answer",
                "expert=label",
                "--study",
                "s",
            ],
            "nope",
        ),
        (
            [
                "import",
                "{table}",
                "--task",
                "binary",
                "--map",
                "input=question",
                "response=answer",
                "expert=label",
                "--study",
                "../escape",
            ],
            "not allowed",
        ),
        (
            [
                "import",
                "{table}",
                "--task",
                "binary",
                "--map",
                "input=question",
                "response=answer",
                "expert=label",
                "--study",
                "s",
            ],
            "Correct Answer",
        ),  # unmapped label value, named
        (["run", "nosuchstudy"], "No study named 'nosuchstudy'"),
        (["report", "nosuchstudy"], "No study named"),
        (["agree", "{table}", "--judge", "zzz", "--expert", "label", "--level", "nominal"], "zzz"),
    ],
)
def test_user_mistakes_are_one_line_without_traceback(
    args: list[str], message: str, tmp_path: Path, studies_dir: Path
) -> None:
    table = tmp_path / "t.csv"
    table.write_text("question,answer,label\nq1,a1,Correct Answer\nq2,a2,yes\n", encoding="utf-8")
    out = cli("--studies-dir", str(studies_dir), *[a.replace("{table}", str(table)) for a in args], cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert message in out.stderr
    assert out.stderr.startswith("error:")


@pytest.mark.model
def test_missing_selene_weights_is_one_clear_message(studies_dir: Path, tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("question,answer,label\n" + "".join(f"q{i},a{i},{'yes' if i % 2 else 'no'}\n" for i in range(12)))
    assert (
        main(
            [
                "--studies-dir",
                str(studies_dir),
                "import",
                str(table),
                "--task",
                "binary",
                "--study",
                "s",
                "--map",
                "input=question",
                "response=answer",
                "expert=label",
            ]
        )
        == 0
    )
    out = cli("--studies-dir", str(studies_dir), "run", "s")  # default: Selene Mini from the hub, offline
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "AtlaAI/Selene-1-Mini-Llama-3.1-8B" in out.stderr and "--model" in out.stderr


def test_importing_selene_eval_loads_neither_streamlit_nor_torch() -> None:
    code = (
        "import sys, selene_eval, selene_eval.cli, selene_eval.run.runner, selene_eval.presentation.report, selene_eval.study, "
        "selene_eval.data, selene_eval.stats, selene_eval.prompts, selene_eval.judge\n"
        "heavy = [m for m in ('streamlit', 'torch', 'transformers', 'bitsandbytes') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_an_unknown_variant_writes_nothing(tmp_path: Path, studies_dir: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("question,answer,label\n" + "".join(f"q{i},a{i},yes\n" for i in range(3)))
    code = main(
        [
            "--studies-dir",
            str(studies_dir),
            "import",
            str(table),
            "--task",
            "binary",
            "--study",
            "s",
            "--map",
            "input=question",
            "response=answer",
            "expert=label",
            "--variants",
            "no-such-variant",
        ]
    )
    assert code == 2
    assert list(studies_dir.iterdir()) == []


def test_agree_json_adds_intervals_ceiling_and_keeps_the_old_keys(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, 80)
    labels = np.array(["no", "yes"])
    flip = lambda p: np.where(rng.random(80) < p, 1 - truth, truth)  # noqa: E731
    frame = pd.DataFrame(
        {
            "j": labels[flip(0.2)],
            "a": labels[flip(0.1)],
            "b": labels[flip(0.1)],
            "c": labels[flip(0.15)],
            "q": [f"q{i // 4}" for i in range(80)],
        }
    )
    table = tmp_path / "three.csv"
    frame.to_csv(table, index=False)
    base = [
        "agree",
        str(table),
        "--judge",
        "j",
        "--expert",
        "a",
        "--expert",
        "b",
        "--expert",
        "c",
        "--level",
        "nominal",
        "--group",
        "q",
        "--json",
    ]
    first, again, none = cli(*base, "--seed", "4"), cli(*base, "--seed", "4"), cli(*base, "--resamples", "0")
    assert first.returncode == 0 and none.returncode == 0, first.stderr + none.stderr
    data, plain = json.loads(first.stdout), json.loads(none.stdout)
    assert data == json.loads(again.stdout)  # the seed reproduces the intervals
    from selene_eval.stats.agreement import agreement

    old = agreement(frame, "j", ["a", "b", "c"], "nominal", group="q").to_dict()
    for key, value in old.items():
        if key == "metrics":
            assert {k: data["metrics"][k] for k in value} == pytest.approx(value, abs=1e-12)
        else:
            assert data[key] == value, key
    assert set(data) - set(old) == {
        "intervals",
        "warnings",
        "ceiling",
        "n_resamples",
        "ci_level",
        "seed",
        "undefined",
        "min_compared",  # why each n/a statistic is undefined, in words
        "profile",
    }  # error profile, ambiguity, unlabelled-item estimates (#17)
    assert "gwet_ac1" in data["metrics"]
    assert data["n_resamples"] == 1000 and data["seed"] == 4 and data["ci_level"] == 0.95
    for name, interval in data["intervals"].items():
        assert interval["low"] <= data["metrics"][name] <= interval["high"], name
    assert [r["replaced"] for r in data["ceiling"]["substitution"]] == ["a", "b", "c"]
    assert all(r["interval"] is not None for r in data["ceiling"]["substitution"])
    assert plain["intervals"] == {} and plain["n_resamples"] == 0
    assert plain["metrics"] == data["metrics"]

    text = cli(*base[:-1])
    assert text.returncode == 0, text.stderr
    assert "could the judge stand in for an expert?" in text.stdout
    assert "Cohen's kappa" in text.stdout and " [" in text.stdout
