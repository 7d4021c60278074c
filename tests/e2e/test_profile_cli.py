"""`agree TABLE` gives the error profile, the ambiguity split and the unlabelled-item estimates (#17 point 4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from selene_eval.cli import main
from selene_eval.stats.ppi import ppi_mean


def _table(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(0)
    truth = rng.random(300) < 0.3
    noisy = lambda p: np.where(rng.random(300) < p, truth, ~truth)  # noqa: E731
    yes_no = lambda a: np.where(a, "yes", "no").astype(object)  # noqa: E731
    frame = pd.DataFrame({"judge": yes_no(noisy(0.9)), "e1": yes_no(noisy(0.9)), "e2": yes_no(noisy(0.9))})
    frame.loc[100:, ["e1", "e2"]] = None  # empty expert cells: unlabelled rows
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_agree_json_holds_the_profile_with_rows_without_expert_labels_as_unlabelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, frame = _table(tmp_path)
    assert (
        main(
            [
                "agree",
                str(path),
                "--judge",
                "judge",
                "--expert",
                "e1",
                "--expert",
                "e2",
                "--level",
                "nominal",
                "--resamples",
                "200",
                "--json",
            ]
        )
        == 0
    )
    profile = json.loads(capsys.readouterr().out)["profile"]
    unlabelled = profile["unlabelled"]
    assert unlabelled["n_unlabelled"] == 200 and unlabelled["undefined"] is None
    assert unlabelled["rogan_gladen"]["estimate"] is not None  # yes/no: positive label "yes"
    labelled = frame[:100]
    agreed = labelled["e1"] == labelled["e2"]  # two experts: a consensus only where they agree
    y = (labelled["e1"][agreed] == "yes").to_numpy(float)
    f = (labelled["judge"][agreed] == "yes").to_numpy(float)
    expected = ppi_mean(y, f, (frame["judge"][100:] == "yes").to_numpy(float))
    share_yes = next(t for t in unlabelled["targets"] if t["target"] == "share of 'yes'")
    assert share_yes["ppi"]["estimate"] == pytest.approx(expected.mean.estimate)
    assert profile["error_profile"]["overall"]["majority_baseline"]["low"] is not None
    assert {p["kind"] for p in profile["ambiguity"]["parts"]} == {"unanimous", "split"}


def test_agree_text_names_each_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _table(tmp_path)
    assert (
        main(
            [
                "agree",
                str(path),
                "--judge",
                "judge",
                "--expert",
                "e1",
                "--expert",
                "e2",
                "--level",
                "nominal",
                "--resamples",
                "200",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for text in (
        "Majority-label baseline",
        "Balanced accuracy",
        "label 'yes'",
        "unanimous items",
        "soft-label",
        "Using the judge on the unlabelled items (200 unlabelled",
        "PPI++",
        "Rogan-Gladen",
    ):
        assert text in out, text
