"""The illustrative example studies shipped in studies/ stay complete and honest."""

from __future__ import annotations

from pathlib import Path

import pytest

from selene_eval.presentation.report import study_report
from selene_eval.study import StudyStore

STUDIES = Path(__file__).resolve().parents[2] / "studies"


@pytest.mark.parametrize("slug", ["example-finance", "example-medical"])
def test_example_study_is_illustrative_and_fully_judged(slug: str) -> None:
    study = StudyStore(STUDIES).open(slug)
    assert study.spec.illustrative and "ILLUSTRATIVE" in study.spec.description
    assert len(study.spec.experts) == 3
    report = study_report(study)
    assert report.results, "the example has no judgments"
    for result in report.results:
        # A change to a built-in template changes every cache key: regenerate with scripts/make_examples.py.
        assert result.n_pending == 0, f"{slug}/{result.variant_id} has pending items; run scripts/make_examples.py"
        assert "not a real model" in result.judge_name
        # Every item is compared, or counted as unparseable (a variant may break the output contract).
        a = result.agreement
        assert a is not None and a.n_compared + a.n_judge_missing == report.n_items
    assert report.experts_agreement is not None
    # Enough prompt variants on enough axes that the Robustness page shows something real.
    variants = [study.variant(v) for v in study.spec.variants]
    assert len(variants) >= 6 and len({v.axis for v in variants} - {"canonical"}) >= 2
    (robust,) = report.robustness
    assert set(robust.measures.conditions) == set(study.spec.variants)
    assert any(f.flips.n_flipped for f in robust.measures.flips_vs_baseline)
    study.close()
