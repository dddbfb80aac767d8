"""Architecture facts of the built-in model ids.

Every figure is from the model's published `config.json` on its Hugging Face model card (and the
parameter count from the card or paper); `source` names it. Ids are matched case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelArchitecture", "KNOWN_MODELS", "known_model"]


@dataclass(frozen=True, slots=True)
class ModelArchitecture:
    """What the performance model needs to know about a transformer decoder."""

    params_b: float
    """Total parameters, billions (all experts for MoE)."""
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    experts: int = 1
    """Experts per MoE layer; 1 for a dense model."""
    active_experts: int = 1
    """Experts each token is routed to."""
    active_params_b: float | None = None
    """Parameters read per token, billions; defaults to params_b for dense models."""
    max_context_tokens: int = 4096
    source: str = "user-supplied architecture"

    @property
    def is_moe(self) -> bool:
        return self.experts > 1

    @property
    def params_read_per_token_b(self) -> float:
        """Billions of parameters each decoded token touches (MoE reads only its active experts)."""
        return self.active_params_b if self.active_params_b is not None else self.params_b


_HF = "Hugging Face config.json of "

KNOWN_MODELS: dict[str, ModelArchitecture] = {
    "llama-2-7b": ModelArchitecture(
        6.74,
        32,
        4096,
        32,
        32,
        128,
        32000,
        max_context_tokens=4096,
        source=_HF + "meta-llama/Llama-2-7b-hf; 6.74B params (Llama 2 paper, Touvron et al. 2023)",
    ),
    "llama-2-13b": ModelArchitecture(
        13.0,
        40,
        5120,
        40,
        40,
        128,
        32000,
        max_context_tokens=4096,
        source=_HF + "meta-llama/Llama-2-13b-hf; 13.0B params (Llama 2 paper)",
    ),
    "llama-2-70b": ModelArchitecture(
        69.0,
        80,
        8192,
        64,
        8,
        128,
        32000,
        max_context_tokens=4096,
        source=_HF + "meta-llama/Llama-2-70b-hf; 69B params, GQA 8 KV heads (Llama 2 paper)",
    ),
    "llama-3.1-8b": ModelArchitecture(
        8.03,
        32,
        4096,
        32,
        8,
        128,
        128256,
        max_context_tokens=131072,
        source=_HF + "meta-llama/Llama-3.1-8B; 8.03B params (model card)",
    ),
    "llama-3.1-70b": ModelArchitecture(
        70.6,
        80,
        8192,
        64,
        8,
        128,
        128256,
        max_context_tokens=131072,
        source=_HF + "meta-llama/Llama-3.1-70B; 70.6B params (model card)",
    ),
    "llama-3.1-405b": ModelArchitecture(
        405.9,
        126,
        16384,
        128,
        8,
        128,
        128256,
        max_context_tokens=131072,
        source=_HF + "meta-llama/Llama-3.1-405B; 405.9B params (model card)",
    ),
    "mistral-7b": ModelArchitecture(
        7.24,
        32,
        4096,
        32,
        8,
        128,
        32000,
        max_context_tokens=32768,
        source=_HF + "mistralai/Mistral-7B-v0.1; 7.24B params (Mistral 7B paper)",
    ),
    "mixtral-8x7b": ModelArchitecture(
        46.7,
        32,
        4096,
        32,
        8,
        128,
        32000,
        experts=8,
        active_experts=2,
        active_params_b=12.9,
        max_context_tokens=32768,
        source=_HF + "mistralai/Mixtral-8x7B-v0.1; 46.7B total / 12.9B active (Mixtral paper)",
    ),
    "qwen2.5-7b": ModelArchitecture(
        7.62,
        28,
        3584,
        28,
        4,
        128,
        152064,
        max_context_tokens=131072,
        source=_HF + "Qwen/Qwen2.5-7B; 7.62B params (model card)",
    ),
    "qwen2.5-72b": ModelArchitecture(
        72.7,
        80,
        8192,
        64,
        8,
        128,
        152064,
        max_context_tokens=131072,
        source=_HF + "Qwen/Qwen2.5-72B; 72.7B params (model card)",
    ),
    "gpt-j-6b": ModelArchitecture(
        6.05,
        28,
        4096,
        16,
        16,
        256,
        50400,
        max_context_tokens=2048,
        source=_HF + "EleutherAI/gpt-j-6b; 6.05B params (model card)",
    ),
}


def known_model(model_id: str) -> ModelArchitecture | None:
    """The architecture of a built-in id (case-insensitive), None when unknown."""
    return KNOWN_MODELS.get(model_id.strip().lower())
