"""``report`` and ``agree``: agreement between a judge and the experts, printed as text or JSON.

Both print :class:`~selene_eval.stats.agreement.AgreementReport` objects the same way (:func:`_print_agreement`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING

from selene_eval.core.expert_labels import expert_name
from selene_eval.core.numbers import fmt_stat
from selene_eval.core.status import READABLE_OR_UNJUDGED, JudgmentStatus
from selene_eval.stats.registry import statistic_name

if TYPE_CHECKING:
    from selene_eval.stats.agreement import AgreementReport
    from selene_eval.stats.uncertainty import Interval


def cmd_report(args: argparse.Namespace) -> int:
    """A study's agreement report: as text, as JSON (``--json``) or as a self-contained HTML file (``--html``)."""
    from selene_eval.presentation.report import study_report
    from selene_eval.study import StudyStore

    study = StudyStore(args.studies_dir).open(args.study)
    report = study_report(study, n_resamples=args.resamples, seed=args.seed, include_forced=not args.without_forced)
    if args.html:
        from selene_eval.presentation.html import write_html_report

        path = write_html_report(study, args.html, report=report, n_resamples=args.resamples, seed=args.seed)
        print(f"Wrote the HTML report of study {study.slug!r} to {path}", file=sys.stderr)
        if not args.json:
            return 0
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, allow_nan=False))
        return 0
    print(
        f"Study {report.slug}: {report.title} ({report.task}, {report.n_items} items, experts: {', '.join(report.experts)})"
    )
    print("Expert labels: " + ", ".join(f"{k} {v}" for k, v in report.expert_label_counts.items()))
    if report.experts_agreement:
        print(
            f"Experts among themselves: Krippendorff's alpha = {fmt_stat(report.experts_agreement.krippendorff_alpha)}"
        )
    if not report.results:
        print(f"No judgments yet. Run: python -m selene_eval run {report.slug}")
    for result in report.results:
        print(
            f"\nJudge {result.judge_name}, variant {result.variant_id}: {result.n_judged}/{result.n_items} judged"
            + (f", {result.n_pending} pending" if result.n_pending else "")
        )
        a = result.agreement
        if a is None:
            continue
        unreadable = sum(n for status, n in result.status_counts.items() if status not in READABLE_OR_UNJUDGED)
        print(f"  {unreadable} of {result.n_judged} judge answers without a readable label")
        forced = result.status_counts.get(JudgmentStatus.FORCED, 0)
        if forced:
            print(
                f"  {forced} of {result.n_judged} judge answers with a forced label ("
                + ("included in" if report.include_forced else "left out of")
                + " the statistics below)"
            )
        print(
            f"  compared with the expert consensus on {a.n_compared} item{'' if a.n_compared == 1 else 's'} "
            f"(no majority: {a.n_no_majority}, no usable judge label: {a.n_judge_missing} = {a.unparseable_share:.1%})"
        )
        _print_agreement(a, indent="  ")
        if result.profile is not None:
            from selene_eval.stats.profile import profile_lines

            print("\n".join("  " + line for line in profile_lines(result.profile)))
        for split in result.subgroups:
            print(
                f"  by {split.by}"
                + (f" ({split.omitted} less frequent values left out)" if split.omitted else "")
                + ":"
            )
            for value, sub in split.groups:
                kappa = sub.metrics.get("cohen_kappa", sub.metrics["krippendorff_alpha"])
                name = "cohen_kappa" if "cohen_kappa" in sub.metrics else "krippendorff_alpha"
                print(
                    f"    {value if value is not None else '(none)'}: {sub.n_compared} compared, "
                    f"accuracy {fmt_stat(sub.metrics['accuracy'])}{_fmt_interval(sub.intervals.get('accuracy'))}, "
                    f"{statistic_name(name)} {fmt_stat(kappa)}{_fmt_interval(sub.intervals.get(name))}"
                    + (" (few items)" if sub.n_compared < 30 else "")
                )
        if result.calibration is not None:
            c = result.calibration
            print(
                f"  calibration ({c.n_compared} verdicts with label probabilities): ECE {fmt_stat(c.ece)}, "
                f"Brier {fmt_stat(c.brier)}, mean confidence {fmt_stat(c.mean_confidence)} vs share right {fmt_stat(c.accuracy)}"
            )
        plan = result.planning()
        if plan is not None:
            needs = ", ".join(f"width {w:g}: {n} items" for w, n in plan.items_for_width.items())
            print(
                f"  items for a 95% interval of {statistic_name(plan.statistic)} (now {plan.n_compared} items, width "
                f"{fmt_stat(plan.width)}): {needs}"
            )
    for comparison in report.judge_comparisons:  # several judges on the same items
        print(
            f"\nJudges compared on variant {comparison.variant_id} ({statistic_name(comparison.statistic)}, paired "
            "tests, Holm):"
        )
        for j in comparison.judges:
            print(
                f"  {j.name:<48} {fmt_stat(j.value)}{_fmt_interval(j.interval)} on {j.n_compared} item"
                + ("" if j.n_compared == 1 else "s")
            )
        for pair in comparison.pairs:
            t = pair.test
            print(
                f"  {comparison.name_of(pair.a)} - {comparison.name_of(pair.b)}: {fmt_stat(t.difference)}"
                f"{_fmt_interval(t.interval)}, p {fmt_stat(t.p_value)} ({t.test}), Holm p {fmt_stat(t.p_holm)}, "
                f"labels differ on {pair.flips.n_flipped}/{pair.flips.n_compared}"
                + (f" [only {', '.join(pair.build_difference)} differs]" if pair.build_difference else "")
            )
    for robust in report.robustness:  # prompt-format robustness: how much the verdicts depend on the variant
        m = robust.measures
        print(
            f"\nRobustness of {robust.judge_name} across {len(m.conditions)} variants (baseline {m.baseline}, "
            f"{statistic_name(m.statistic)}): judge-vs-itself alpha {fmt_stat(m.self_agreement.alpha)}, experts alpha "
            f"{fmt_stat(m.reference_alpha if m.reference_alpha is not None else float('nan'))}"
        )
        flips = {f.b: f.flips for f in m.flips_vs_baseline}
        tests = {c.a: c for c in m.comparisons}
        bad = {u.condition: u for u in m.unparseable}
        for name in m.conditions:
            f, test = flips.get(name), tests.get(name)
            print(
                f"  {name:<40} {statistic_name(m.statistic)} {fmt_stat(m.values[name])}"
                + (f", change {fmt_stat(test.difference)} (Holm p {fmt_stat(test.p_holm)})" if test else "")
                + (
                    f", flips {f.n_flipped}/{f.n_compared} ({f.n_toward_reference} towards, "
                    f"{f.n_away_from_reference} away from the experts)"
                    if f
                    else ""
                )
                + f", unreadable {fmt_stat(bad[name].rate) if name in bad else 'n/a'}"
            )
        for p in m.position:
            print(
                f"  position swap {p.original} / {p.swapped}: consistent {fmt_stat(p.consistency)}, "
                f"position bias {fmt_stat(p.position_bias_rate)}, first slot share {fmt_stat(p.first_slot_share)}"
            )
    return 0


def _print_agreement(result: AgreementReport, indent: str = "") -> None:
    """The metrics (with intervals), the experts' figures, the ceiling, warnings and notes, one per line."""
    if result.intervals:
        print(
            f"{indent}(in brackets: {result.ci_level:.0%} bootstrap interval, {result.n_resamples} resamples"
            + (f" of the groups in {result.group!r}" if result.group else "")
            + ")"
        )
    for name, value in {**result.metrics, **result.extra_metrics}.items():
        print(f"{indent}{statistic_name(name):<26} {fmt_stat(value)}{_fmt_interval(result.intervals.get(name))}")
    if result.experts:
        print(f"{indent}{'experts alpha':<26} {fmt_stat(result.experts.krippendorff_alpha)}")
        print(f"{indent}{'experts + judge alpha':<26} {fmt_stat(result.experts.alpha_with_judge)}")
    if result.ceiling is not None:
        _print_ceiling(result, indent)
    for warning in result.warnings:
        print(f"{indent}warning: {warning}")
    for note in result.notes:
        print(f"{indent}note: {note}")


def _print_ceiling(result: AgreementReport, indent: str) -> None:
    """Each expert vs the others' consensus beside the judge vs the same consensus; the substitution test."""
    ceiling = result.ceiling
    if ceiling is None:
        return
    print(f"{indent}could the judge stand in for an expert? (Krippendorff's alpha, same items per row)")
    rows = ceiling.leave_one_out
    for expert_row, judge_row in zip(rows[0::2], rows[1::2]):
        print(
            f"{indent}  {expert_name(expert_row.rater_a)} vs the other experts' consensus: {fmt_stat(expert_row.krippendorff_alpha)}"
            f"   judge vs the same consensus: {fmt_stat(judge_row.krippendorff_alpha)}   (n = {expert_row.n})"
        )
    for sub in ceiling.substitution:
        interval = result.substitution_intervals.get(sub.replaced)
        print(
            f"{indent}  replacing {expert_name(sub.replaced)} by the judge changes the experts' alpha by "
            f"{_fmt_signed(sub.difference)}{_fmt_interval(interval, signed=True)}"
        )


def _fmt_interval(interval: Interval | None, signed: bool = False) -> str:
    """`` [0.61, 0.93]`` or empty when there is no interval."""
    if interval is None or math.isnan(interval.low) or math.isnan(interval.high):
        return ""
    f = _fmt_signed if signed else (lambda v: f"{v:.2f}")
    return f" [{f(interval.low)}, {f(interval.high)}]"


def _fmt_signed(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.3f}"


def cmd_agree(args: argparse.Namespace) -> int:
    """Agreement statistics of any table with a judge column and expert columns, with the judge's profile."""
    from selene_eval.data import read_table
    from selene_eval.stats.agreement import agreement
    from selene_eval.stats.options import StatisticsOptions
    from selene_eval.stats.profile import judge_profile, profile_lines

    table = read_table(args.table)
    order = [s.strip() for s in args.order.split(",")] if args.order else None
    options = StatisticsOptions(order=order, group=args.group, n_resamples=args.resamples, seed=args.seed)
    result = agreement(table.frame, args.judge, args.expert, args.level, options)
    # rows whose expert cells are all empty are the unlabelled items the profile estimates for
    profile = judge_profile(table.frame, args.judge, args.expert, args.level, options)
    if args.json:
        data = {**result.to_dict(with_uncertainty=True), "profile": profile.to_dict()}
        print(json.dumps(data, indent=2, allow_nan=False))
        return 0
    print(
        f"{result.n_compared} of {result.n_items} items compared (level {result.level}; no majority: "
        f"{result.n_no_majority}; judge missing: {result.n_judge_missing})"
    )
    _print_agreement(result)
    print("\n".join(profile_lines(profile)))
    return 0
