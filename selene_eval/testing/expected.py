"""What the tests expect of the product's outputs, where several tests pin the same thing."""

from __future__ import annotations

REPORT_SECTIONS: list[str] = [
    "question",
    "data",
    "judges",
    "prompts",
    "statistics",
    "ceiling",
    "profile",
    "charts",
    "disagreements",
    "methods",
]
"""The HTML report's section anchors, in order (a study without robustness; written out, not read from the
product, so that a section lost or reordered fails the tests)."""
