"""The judge a command line asks for: the study's saved judge with ``run``'s judge flags applied.

Shared by ``run`` (:mod:`selene_eval.cli.run_command`), ``reproduce`` (:mod:`selene_eval.cli.reproduce`) and, for
the server flags, ``check-judge`` (:mod:`selene_eval.cli.studies`), below all three.
"""

from __future__ import annotations

import argparse

from selene_eval.core.judge_spec import JudgeSpec


def judge_from_args(base: JudgeSpec, args: argparse.Namespace) -> JudgeSpec:
    """The judge of a run: ``base`` (the study's saved judge) with the command line's judge flags applied."""
    if args.demo:
        from selene_eval.judge.demo import demo_judge_spec

        spec = demo_judge_spec()
    else:
        updates: dict[str, object] = {}
        if args.model:
            updates.update(model=args.model, revision=None, gguf_file=None, name=None)
        if args.gguf_file:
            updates["gguf_file"] = args.gguf_file
        if args.revision:
            updates["revision"] = args.revision
        if args.backend:
            updates["backend"] = args.backend
        elif args.endpoint:
            updates["backend"] = "openai"
        if updates.get("backend") == "openai" and base.backend != "openai":
            # A server decides its own weights and precision: local-model settings kept from the study's
            # previous judge would only give the same server a second judge id (and lose cache hits).
            defaults = JudgeSpec()
            updates.update(revision=None, gguf_file=None, quantization=defaults.quantization, dtype=defaults.dtype)
        spec = base.model_copy(update=updates)
    updates = {}
    if args.mode:
        updates["mode"] = args.mode
    if getattr(args, "force_verdict", None) is not None:
        updates["force_verdict"] = args.force_verdict
    updates.update(server_flags(args))
    if args.concurrency:
        updates["concurrency"] = args.concurrency
    if args.no_quantize:
        updates["quantization"] = "none"
    if args.quantize:
        updates["quantization"] = "nf4"
    if args.dtype:
        updates["dtype"] = args.dtype
    if args.device:
        updates["device"] = args.device
    if args.max_new_tokens:
        updates["max_new_tokens"] = args.max_new_tokens
    # model_validate re-checks the values (model_copy does not).
    return JudgeSpec.model_validate({**spec.model_dump(), **updates})


def server_flags(args: argparse.Namespace) -> dict[str, object]:
    """The judge settings the server flags give (``--endpoint``, ``--api-key-env``, ``--timeout``), as spec fields.

    Shared by ``run`` and ``reproduce`` (through :func:`judge_from_args`) and ``check-judge``.
    """
    updates: dict[str, object] = {}
    if args.endpoint:
        updates["endpoints"] = tuple(args.endpoint)
    if args.api_key_env:
        updates["api_key_env"] = args.api_key_env
    if args.timeout:
        updates["timeout_s"] = args.timeout
    return updates
