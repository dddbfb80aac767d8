"""Which checkpoint a deployment downloads, per built-in model and precision, and whether it is gated.

A plan must know what it deploys: int8/int4 serve a pre-quantized release (AWQ, GPTQ or compressed-tensors
w8a8/w4a16); fp8 serves a published FP8 release where one exists (half the download of quantizing on load),
else the 16-bit release quantized on load (`--quantization fp8`). A precision with no known release and no
`model.checkpoint` in the spec is refused at plan time (`checkpoint_unavailable`), not at preview time.

Repository names are from the publishers' Hugging Face model cards (meta-llama, mistralai, Qwen, RedHatAI
(formerly neuralmagic), hugging-quants, TheBloke), as of 2026-11. Gated: meta-llama/* and mistralai/* need an
accepted licence and a token; the other publishers' releases download anonymously.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Checkpoint", "resolve_checkpoint", "GATED_PUBLISHERS", "CHECKPOINTS_AS_OF", "is_gated"]

CHECKPOINTS_AS_OF = "2026-11"
GATED_PUBLISHERS = ("meta-llama", "mistralai")

# model id -> precision -> repository. "16" is the 16-bit (bf16/fp16) release.
_RELEASES: dict[str, dict[str, str]] = {
    "llama-2-7b": {"16": "meta-llama/Llama-2-7b-chat-hf", "int4": "TheBloke/Llama-2-7B-Chat-AWQ"},
    "llama-2-13b": {"16": "meta-llama/Llama-2-13b-chat-hf", "int4": "TheBloke/Llama-2-13B-chat-AWQ"},
    "llama-2-70b": {"16": "meta-llama/Llama-2-70b-chat-hf", "int4": "TheBloke/Llama-2-70B-Chat-AWQ"},
    "llama-3.1-8b": {
        "16": "meta-llama/Llama-3.1-8B-Instruct",
        "fp8": "RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8",
        "int8": "RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a8",
        "int4": "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4",
    },
    "llama-3.1-70b": {
        "16": "meta-llama/Llama-3.1-70B-Instruct",
        "fp8": "RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8",
        "int8": "RedHatAI/Meta-Llama-3.1-70B-Instruct-quantized.w8a8",
        "int4": "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4",
    },
    "llama-3.1-405b": {
        "16": "meta-llama/Llama-3.1-405B-Instruct",
        "fp8": "RedHatAI/Meta-Llama-3.1-405B-Instruct-FP8",
        "int4": "hugging-quants/Meta-Llama-3.1-405B-Instruct-AWQ-INT4",
    },
    "mistral-7b": {"16": "mistralai/Mistral-7B-Instruct-v0.1", "int4": "TheBloke/Mistral-7B-Instruct-v0.1-AWQ"},
    "mixtral-8x7b": {
        "16": "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "fp8": "RedHatAI/Mixtral-8x7B-Instruct-v0.1-FP8",
        "int4": "TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ",
    },
    "qwen2.5-7b": {
        "16": "Qwen/Qwen2.5-7B-Instruct",
        "int8": "Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8",
        "int4": "Qwen/Qwen2.5-7B-Instruct-AWQ",
    },
    "qwen2.5-72b": {
        "16": "Qwen/Qwen2.5-72B-Instruct",
        "int8": "Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8",
        "int4": "Qwen/Qwen2.5-72B-Instruct-AWQ",
    },
    "gpt-j-6b": {"16": "EleutherAI/gpt-j-6b"},
}


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What a node downloads at cold start and how vLLM loads it."""

    repository: str
    quantization: str | None
    """vLLM `--quantization`: "fp8" to quantize a 16-bit release on load; None when the checkpoint carries its
    own quantization config (pre-quantized releases) or is served at 16 bits."""
    download_ratio: float
    """Checkpoint size over the in-memory weights (2.0 when fp8 is quantized from a 16-bit download)."""
    gated: bool


def is_gated(repository: str) -> bool:
    """True when the publisher gates downloads behind an accepted licence and a token."""
    return repository.split("/", 1)[0] in GATED_PUBLISHERS


def resolve_checkpoint(model_id: str | None, precision: str, override: str | None,
                       override_precision: str | None = None) -> Checkpoint | None:
    """The checkpoint for a built-in `model_id` at `precision`, or the spec's `override`; None when unknown.

    `override` (the spec's `model.checkpoint`) wins: a release that already holds `precision` (pre-quantized for
    fp8/int8/int4), or, when `override_precision` (`model.checkpoint_precision`) says it is stored at 16 bits
    and `precision` is fp8, a 16-bit release quantized on load. Without it, an architecture-only or measured
    model has no checkpoint.
    """
    if override is not None:
        if precision == "fp8" and override_precision in ("bf16", "fp16"):
            return Checkpoint(override, "fp8", 2.0, is_gated(override))
        return Checkpoint(override, None, 1.0, is_gated(override))
    releases = _RELEASES.get((model_id or "").lower())
    if releases is None:
        return None
    if precision in ("bf16", "fp16"):
        repo = releases["16"]
        return Checkpoint(repo, None, 1.0, is_gated(repo))
    if precision in releases:
        repo = releases[precision]
        return Checkpoint(repo, None, 1.0, is_gated(repo))
    if precision == "fp8":
        repo = releases["16"]
        return Checkpoint(repo, "fp8", 2.0, is_gated(repo))
    return None
