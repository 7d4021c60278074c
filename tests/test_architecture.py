"""The layout docs/ARCHITECTURE.md describes is the one the code has."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def _check_imports() -> ModuleType:
    """The import checker CI runs (scripts/ is not a package, so it is loaded from its file)."""
    spec = importlib.util.spec_from_file_location("check_imports", REPO / "scripts" / "check_imports.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_imports", module)  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_no_import_cycle_and_every_import_points_down(capsys) -> None:
    assert _check_imports().main([]) == 0, capsys.readouterr().err


def test_the_documented_stage_graph_is_the_real_one() -> None:
    checker = _check_imports()
    real = [
        f"{stage:<16} -> {', '.join(targets) or '-'}"
        for stage, targets in checker.stage_graph(checker.import_graph()).items()
    ]
    doc = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = re.search(r"check_imports\.py --stages`:\n\n```\n(.*?)\n```", doc, re.S)
    assert block, "docs/ARCHITECTURE.md lost its generated stage graph"
    assert block.group(1).splitlines() == real, "regenerate it: python scripts/check_imports.py --stages"


def test_no_product_module_imports_the_testing_package() -> None:
    checker = _check_imports()
    offenders = [
        e
        for edges in checker.import_graph().values()
        for e in edges
        if e.target.startswith("selene_eval.testing") and not e.source.startswith("selene_eval.testing")
    ]
    assert offenders == []
