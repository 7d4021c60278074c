"""Reading user tables and turning them into items: readers, column and label mapping, validation.

``read_table`` reads a file into strings, ``ColumnMapping`` and a label map say what the columns and label
values mean, and ``build_items`` returns the items with a ``ValidationReport`` listing every problem found.
"""

from selene_eval.data.columns import ColumnMapping
from selene_eval.data.mapping import (
    build_items,
    conflicting_spellings,
    distinct_label_values,
    guess_mapping,
    looks_pairwise,
    parse_label_map,
    rows_with_bad_ids,
    suggest_label_map,
)
from selene_eval.data.readers import SUPPORTED_FORMATS, ReadLimits, TableFile, cell_display_text, read_table
from selene_eval.data.validation import Issue, ValidationReport

__all__ = [
    "SUPPORTED_FORMATS",
    "ColumnMapping",
    "Issue",
    "ReadLimits",
    "TableFile",
    "ValidationReport",
    "build_items",
    "cell_display_text",
    "conflicting_spellings",
    "distinct_label_values",
    "guess_mapping",
    "looks_pairwise",
    "parse_label_map",
    "read_table",
    "rows_with_bad_ids",
    "suggest_label_map",
]
