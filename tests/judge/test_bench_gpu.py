"""The pure parts of bench/gpu.py (shapes, floors, the doc section), checked on the CPU."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gpu() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("bench_gpu", REPO / "bench" / "gpu.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_gpu"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    yield module
    del sys.modules["bench_gpu"]


def test_the_shapes_are_llama_31_8b(gpu: ModuleType) -> None:
    import torch
    from transformers import LlamaForCausalLM

    # Meta's model card: 8.03B parameters. Built on the meta device: shapes only, no memory.
    assert gpu.LLAMA31_8B.parameter_count() == 8_030_261_248
    with torch.device("meta"):
        model = LlamaForCausalLM(gpu.llama_config(gpu.LLAMA31_8B, bos_token_id=0, eos_token_id=1))
    assert sum(p.numel() for p in model.parameters()) == gpu.LLAMA31_8B.parameter_count()
    linear = sum(p.numel() for name, p in model.named_parameters() if name.startswith("model.layers.") and p.ndim == 2)
    assert linear == gpu.LLAMA31_8B.linear_parameter_count()
    assert model.config.rope_parameters["rope_type"] == "llama3" and model.config.num_key_value_heads == 8


def test_the_floors_by_hand(gpu: ModuleType) -> None:
    # 5 GB of weights read at 4 TB/s: 1.25 ms per step.
    assert gpu.decode_step_floor_s(5e9, 4e12) == pytest.approx(1.25e-3)
    shapes = gpu.LlamaShapes(
        vocab_size=10,
        hidden_size=4,
        intermediate_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=2,
    )
    # Linears per layer: q 4*4 + k,v 2*(4*2) + o 4*4 + mlp 3*4*8 = 16 + 16 + 16 + 96 = 144.
    assert shapes.linear_parameter_count() == 144
    # 3 tokens: linears 2*144*3 = 864; head 2*10*4 = 80 (last position only);
    # attention 1 layer * 2 products * 2 FLOPs * (2 heads * 2 dims) * 3 * 3 / 2 = 72.
    assert gpu.prompt_flops(shapes, 3) == pytest.approx(864 + 80 + 72)
    assert gpu.prompt_floor_s(shapes, [3, 3], 1016.0) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        gpu.decode_step_floor_s(1.0, 0.0)


def test_the_table_goes_between_the_markers(gpu: ModuleType, tmp_path: Path) -> None:
    doc = tmp_path / "PERFORMANCE.md"
    doc.write_text(f"# Perf\n\n{gpu.START_MARK}\nold\n{gpu.END_MARK}\n\nafter\n", encoding="utf-8")
    gpu.write_into_doc(doc, "| new |")
    assert doc.read_text(encoding="utf-8") == f"# Perf\n\n{gpu.START_MARK}\n| new |\n{gpu.END_MARK}\n\nafter\n"


def test_without_cuda_it_refuses_in_one_line() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(REPO / "bench" / "gpu.py")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert "needs a CUDA GPU" in done.stderr and len(done.stderr.strip().splitlines()) == 1
