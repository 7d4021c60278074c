"""The Run page's judge choices for serving engines and fast mode, through AppTest from ``app.py``.

The end-to-end test runs a study on two real llama.cpp servers (llama-cpp-python's, serving SmolLM2-135M;
skipped with a reason where it is not installed). The others need no server.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from selene_eval.core.judge_spec import JudgeSpec
from selene_eval.study import StudyStore
from selene_eval.testing.dashboard import start, texts
from selene_eval.testing.llama_server import MODEL_NAME, shared_replicas  # servers shared with the backend tests
from selene_eval.testing.studies import make_study as build_study


def run_page(at: AppTest, slug: str) -> AppTest:
    at.selectbox(key="app_study").set_value(slug).run()
    at.switch_page("pages/3_run.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def make_study(studies_dir: Path, *, n: int = 3, judge: JudgeSpec | None = None) -> None:
    build_study(
        studies_dir,
        n,
        slug="demo",
        title="Demo",
        question="Is {i} even?",
        response=lambda i: "Yes." if i % 2 == 0 else "No.",
        labels=lambda i: {"e1": "yes", "e2": "yes"},
        judge=judge,
    ).close()


def can_start(at: AppTest) -> bool:
    """Whether the Start button is drawn and enabled (it is not drawn while the judge is incomplete)."""
    return any(b.key == "run_start" and not b.disabled for b in at.button)


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def test_a_study_runs_on_two_llama_servers_from_the_dashboard(studies_dir: Path) -> None:
    replicas = shared_replicas(2)
    make_study(studies_dir)
    at = run_page(start(), "demo")
    at.radio(key="run_kind").set_value("server").run()
    at.text_input(key="run_server_model").set_value(MODEL_NAME)
    at.text_area(key="run_endpoints").set_value("\n".join(r.url for r in replicas))
    at.number_input(key="run_concurrency").set_value(1)
    at.number_input(key="run_max_new_tokens").set_value(48).run()
    assert not at.exception, [e.message for e in at.exception]
    assert "3 judgments" in texts(at.info) and "2 servers" in texts(at.info)
    at.button(key="run_test_connection").click().run()
    success = texts(at.success)
    assert "Connection OK" in success and success.count(": OK, answered in") == 2, success
    at.button(key="run_start").click().run(timeout=600)
    assert not at.exception, [e.message for e in at.exception]
    # The tiny model's answers may lack a readable label: the outcome is then a warning that counts them.
    outcome = texts(at.success) + texts(at.warning)
    assert re.search(
        r"Run finished.*3 judgments made( \(\d of them without a readable label\))?, 0 already stored, "
        r"0 failed",
        outcome,
        re.S,
    ), outcome
    study = StudyStore(studies_dir).open("demo")
    judge = study.spec.judge
    assert judge.backend == "openai" and judge.endpoints == tuple(r.url for r in replicas)
    assert study.judgments.count(judge.judge_id) == 3
    # Its numbers appear on the Agreement page under the served judge's name.
    at.switch_page("pages/4_agreement.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(f"{MODEL_NAME} [openai]" in str(frame.value.iloc[0].get("Judge", "")) for frame in at.dataframe)


def test_server_fields_guide_until_complete_and_check_urls(studies_dir: Path) -> None:
    make_study(studies_dir)
    at = run_page(start(), "demo")
    options = at.radio(key="run_kind").options
    assert any("OpenAI-compatible server" in o and "vLLM" in o for o in options)
    at.radio(key="run_kind").set_value("server").run()
    assert "Type the served model's name and at least one server URL" in texts(at.info)
    assert not can_start(at)
    at.text_input(key="run_server_model").set_value("selene")
    at.text_area(key="run_endpoints").set_value("localhost:8000").run()
    assert "not a server address" in texts(at.error) and not can_start(at)
    dead = dead_url()
    at.text_area(key="run_endpoints").set_value(dead).run()
    at.button(key="run_test_connection").click().run()
    warning = texts(at.warning)
    assert "Not every server is ready" in warning and "cannot reach" in warning and dead in warning
    # A key variable that is not set is named, not a traceback.
    at.text_input(key="run_api_key_env").set_value("SELENE_TEST_UNSET_KEY_VAR").run()
    at.button(key="run_test_connection").click().run()
    assert not at.exception and "SELENE_TEST_UNSET_KEY_VAR" in texts(at.error)


def test_a_saved_server_judge_fills_the_fields(studies_dir: Path) -> None:
    judge = JudgeSpec(
        backend="openai",
        model="AtlaAI/Selene-1-Mini-Llama-3.1-8B",
        endpoints=("http://a:8000/v1", "http://b:8000/v1"),
        api_key_env="VLLM_API_KEY",
        concurrency=16,
        timeout_s=300,
        mode="fast",
    )
    make_study(studies_dir, judge=judge)
    at = run_page(start(), "demo")
    assert at.radio(key="run_kind").value == "server"
    assert at.text_area(key="run_endpoints").value == "http://a:8000/v1\nhttp://b:8000/v1"
    assert at.text_input(key="run_api_key_env").value == "VLLM_API_KEY"
    assert at.number_input(key="run_concurrency").value == 16 and at.radio(key="run_mode").value == "fast"
    # The same settings make the same judge: its stored judgments would be found.
    assert "fast mode" in texts(at.info)


def test_fast_mode_is_a_separate_judge_for_every_backend(studies_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELENE_EVAL_ENABLE_SCRIPTED", "1")
    make_study(studies_dir)
    at = run_page(start(), "demo")
    at.radio(key="run_kind").set_value("scripted").run()
    mode = at.radio(key="run_mode")
    assert mode.value == "reasoned" and any("different measurement" in o for o in mode.options)
    at.button(key="run_start").click().run()
    assert "Run finished: 3 judgments made" in texts(at.success)
    at.radio(key="run_mode").set_value("fast").run()
    plan = texts(at.info)
    # Nothing of the reasoned run counts for fast mode: it is another measurement.
    assert "none is stored yet" in plan and "3 prompts will be sent" in plan, plan
    for kind in ("selene", "local", "demo", "server"):
        at.radio(key="run_kind").set_value(kind).run()
        assert at.radio(key="run_mode").value == "fast", kind
