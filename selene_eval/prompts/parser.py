"""The one parser for judge output. It never raises on model output: a failure is a result.

Selene's contract is ``**Reasoning:** <feedback>`` then ``**Result:** <label>``. The label is read from the
text after the *last* result marker, tolerating whitespace, bold markers, a trailing period and case.
Anything else is kept, marked and counted, because a format that breaks the contract is itself a finding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from selene_eval.core.judge_spec import LabelChoices
from selene_eval.core.status import JudgmentStatus
from selene_eval.core.tasks import TaskType

if TYPE_CHECKING:
    from selene_eval.prompts.variants import PromptVariant


ParseStatus = JudgmentStatus
"""The parser's verdicts are :class:`~selene_eval.core.status.JudgmentStatus` members (one of
:data:`~selene_eval.core.status.PARSE_STATUSES`); the old name stays for readers of the parser."""


@dataclass(frozen=True)
class ParsedJudgment:
    """A parsed judge output: ``label`` is canonical (``"5"``, ``"yes"``, ``"A"``) or ``None``."""

    label: str | None
    reasoning: str
    raw: str
    status: JudgmentStatus

    @property
    def ok(self) -> bool:
        return self.status is JudgmentStatus.OK


def _marker(word: str) -> re.Pattern[str]:
    """``**Word:**`` and its variants: up to two stars, blanks, the word, blanks, stars, a colon, stars.

    Written so that matching is linear in the text (an answer is model output, possibly a hostile server's):
    blank runs are possessive (``*+``), and leading blanks only start a match where a blank run starts, so
    a run of n spaces is not rescanned from each of its n positions (that took seconds for 40,000 spaces).
    The matches are the same as the plain pattern ``\\*{0,2}[ \\t]*word[ \\t]*\\*{0,2}[ \\t]*:[ \\t]*\\*{0,2}``.
    """
    return re.compile(
        rf"(?:\*{{1,2}}[ \t]*+|(?<![ \t])[ \t]*+)?{word}[ \t]*+\*{{0,2}}+[ \t]*+:[ \t]*+\*{{0,2}}+", re.IGNORECASE
    )


# "**Result:**", "**Result**:", "Result:", "**Result: 5**" ... ; the last one wins.
_RESULT = _marker("result")
_REASONING = _marker("reasoning")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)?(?![\w])")
_WORD = re.compile(r"[A-Za-z]+")
_STRIP = " \t\r\n*_`\"'.:;!()[]<>"

RESULT_MARKER = _RESULT
"""The pattern of the result marker (``**Result:**`` and its variants), for backends that watch for it."""

ANSWER_STRIP_CHARS = _STRIP
"""What the parser strips around a label: a line after the result marker holding only these is empty."""


def parse_judgment(text: str | None, task: TaskType, aliases: Mapping[str, str] | None = None) -> ParsedJudgment:
    """Parse one judge output for ``task``. ``aliases`` maps extra answer words to canonical labels."""
    raw = "" if text is None else str(text)
    matches = list(_RESULT.finditer(raw))
    if not matches:
        bare = raw.strip(_STRIP)
        if bare and "\n" not in bare and len(bare) <= 16:
            # A reply that is nothing but a label ("Yes", "**5**") is an unambiguous verdict without the
            # reasoning; small models often answer so. Longer text without a marker stays unparseable.
            label, status = _read_label(bare, task, aliases or {})
            if status is JudgmentStatus.OK and bare.casefold() in _bare_forms(task, aliases or {}):
                return ParsedJudgment(label, "", raw, status)
        return ParsedJudgment(None, _reasoning(raw, len(raw)), raw, JudgmentStatus.MISSING_RESULT)
    last = matches[-1]
    reasoning = _reasoning(raw, last.start())
    answer = _first_line(raw[last.end() :])
    if not answer:
        return ParsedJudgment(None, reasoning, raw, JudgmentStatus.MISSING_RESULT)
    label, status = _read_label(answer, task, aliases or {})
    return ParsedJudgment(label, reasoning, raw, status)


def _bare_forms(task: TaskType, aliases: Mapping[str, str]) -> set[str]:
    forms = {label.casefold() for label in task.judge_labels}
    return forms | {word.casefold().strip(_STRIP) for word in aliases}


def _reasoning(raw: str, end: int) -> str:
    head = raw[:end]
    found = list(_REASONING.finditer(head))
    start = found[-1].end() if found else 0
    return head[start:].strip()


def _first_line(rest: str) -> str:
    for line in rest.splitlines():
        cleaned = line.strip(_STRIP)
        if cleaned:
            return cleaned
    return ""


def _read_label(answer: str, task: TaskType, aliases: Mapping[str, str]) -> tuple[str | None, JudgmentStatus]:
    folded = answer.casefold()
    for word, label in aliases.items():
        if folded == word.casefold().strip(_STRIP):
            return label, JudgmentStatus.OK
    if task is TaskType.ABSOLUTE:
        return _read_score(answer)
    if task is TaskType.BINARY:
        return _read_choice(answer, {"yes": "yes", "no": "no"}, aliases)
    return _read_choice(answer, {"a": "A", "b": "B"}, aliases, prefixes=("response", "option", "assistant"))


def _read_score(answer: str) -> tuple[str | None, JudgmentStatus]:
    # Accept "5", "Score 5", "5/5", "5 out of 5"; a scale suffix is not a second number.
    body = re.sub(r"^(score|rating)\s*:?\s*", "", answer, flags=re.IGNORECASE)
    body = re.sub(r"\s*(/|out of)\s*5\s*$", "", body, flags=re.IGNORECASE)
    numbers = _NUMBER.findall(body)
    if len(numbers) > 1:
        return None, JudgmentStatus.AMBIGUOUS
    if len(numbers) == 1 and body.strip(_STRIP) == numbers[0]:
        value = numbers[0].replace(",", ".")
        if re.fullmatch(r"[1-5]", value):
            return value, JudgmentStatus.OK
        return None, JudgmentStatus.OUT_OF_RANGE
    if len(numbers) == 1:
        # A number with words around it ("5 because ..."): take it only if it leads the answer.
        lead = re.match(r"^([1-5])(?![\d.,])\b", body.strip(_STRIP))
        if lead:
            return lead.group(1), JudgmentStatus.OK
        return None, JudgmentStatus.OUT_OF_RANGE
    return None, JudgmentStatus.OUT_OF_RANGE


def _read_choice(
    answer: str,
    vocabulary: Mapping[str, str],
    aliases: Mapping[str, str],
    prefixes: tuple[str, ...] = (),
) -> tuple[str | None, JudgmentStatus]:
    words = [w.casefold() for w in _WORD.findall(answer)]
    if prefixes and words and words[0] in prefixes:
        words = words[1:]
    alias_words = {k.casefold(): v for k, v in aliases.items()}
    hits = [vocabulary.get(w) or alias_words.get(w) for w in words]
    labels = {h for h in hits if h}
    if len(labels) > 1:
        return None, JudgmentStatus.AMBIGUOUS
    if labels and hits and hits[0]:
        return labels.pop(), JudgmentStatus.OK
    return None, JudgmentStatus.OUT_OF_RANGE


# How Selene's own prompts spell each canonical label after "**Result:**".
_ANSWER_WORDS: dict[TaskType, tuple[tuple[str, str], ...]] = {
    TaskType.ABSOLUTE: tuple((n, n) for n in ("1", "2", "3", "4", "5")),
    TaskType.BINARY: (("Yes", "yes"), ("No", "no")),
    TaskType.PAIRWISE: (("A", "A"), ("B", "B")),
}


def label_choices(task: TaskType, aliases: Mapping[str, str] | None = None) -> LabelChoices:
    """The answers a prompt for ``task`` allows: Selene's spellings plus the variant's ``aliases``.

    Only aliases onto labels the judge may give are kept (a ``tie`` alias cannot be a pairwise answer).
    This is what backends read label probabilities over; the parser accepts the same words.
    """
    words = list(_ANSWER_WORDS[task])
    allowed = set(task.judge_labels)
    for word, label in (aliases or {}).items():
        if label in allowed and (word, label) not in words:
            words.append((word, label))
    return LabelChoices(words=tuple(words))


def readable_result(text: str, choices: LabelChoices) -> bool:
    """Whether :func:`parse_judgment` reads an allowed label in ``text`` for a prompt allowing ``choices`` (the
    task follows from the labels; the answer words beyond Selene's spellings are the variant's aliases).
    What a backend asks before forcing a verdict (``JudgeSpec.force_verdict``), so it forces exactly what the
    parser cannot read."""
    labels = set(choices.labels)
    task = next((t for t in TaskType if set(t.judge_labels) == labels), None)
    if task is None:
        return True  # labels of no known task: nothing to check the answer against, so nothing is forced
    own = {word for word, _ in _ANSWER_WORDS[task]}
    aliases = {word: label for word, label in choices.words if word not in own}
    return parse_judgment(text, task, aliases).ok


# The position-swap variant shows response B in slot A: what the judge calls "A" is the item's B.
_SWAP = {"A": "B", "B": "A"}


def parse_for_variant(text: str | None, variant: PromptVariant) -> ParsedJudgment:
    """:func:`parse_judgment` with ``variant``'s answer words, and its label mapped back to the item's own
    A/B when the variant swapped the responses; every caller that parses stored output goes through here."""
    parsed = parse_judgment(text, variant.task, variant.label_aliases)
    if variant.swap_responses and parsed.label in _SWAP:
        return replace(parsed, label=_SWAP[parsed.label])
    return parsed


def label_probs_for_variant(probs: Mapping[str, float] | None, variant: PromptVariant) -> dict[str, float] | None:
    """Label probabilities keyed by the item's own labels: a copy, with A and B exchanged for a swapped
    variant (a backend reads them keyed by the labels as the judge saw them); ``None`` when there are none."""
    if not probs:
        return None
    if not variant.swap_responses:
        return dict(probs)
    return {_SWAP.get(label, label): p for label, p in probs.items()}


def forced_label_for_variant(label: str, variant: PromptVariant) -> str:
    """A forced label (as the judge saw the labels) keyed by the item's own labels: A and B exchanged for a
    position-swapped variant, as :func:`parse_for_variant` does for a written label."""
    return _SWAP.get(label, label) if variant.swap_responses else label


def result_line_complete(text: str) -> bool:
    """Whether the parser's reading of ``text`` is settled: after the last result marker, a complete line.

    :func:`selene_eval.prompts.parser.parse_judgment` reads the first non-empty line after the last marker.
    Once that line has ended (a newline follows it), more text can change the reading only by writing a
    *second* result marker, which Selene's contract does not do. Stopping at the end of the label's word
    instead would be earlier but not safe: the parser reads the whole line (``4 or 5`` is ambiguous, ``Yes,
    with no errors`` holds two labels), so a line cut after ``4`` or ``Yes`` could read differently. A model
    that keeps to the contract ends its answer right after the label, and then the end-of-sequence token
    stops it with no extra token at all.
    """
    matches = list(_RESULT.finditer(text))
    if not matches:
        return False
    *complete, _unfinished = text[matches[-1].end() :].split("\n")
    return any(line.strip(_STRIP) for line in complete)
