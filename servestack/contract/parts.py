"""What serving needs from an accelerator part: plain constants, shared by the contract's validators and the
values `servestack.contract.derive` computes (importable without building the pydantic models)."""

from __future__ import annotations

__all__ = ["FP8_KV_ACCELERATORS", "NO_BF16_ACCELERATORS"]

FP8_KV_ACCELERATORS = frozenset({"L4", "L40S", "H100", "H100-PCIe", "H200", "B200", "MI300X"})
"""Parts with fp8 tensor cores, where vLLM runs an fp8 KV cache (catalog accelerators with fp8_tflops, less
Inferentia2, which vLLM does not serve). Kept in step with the catalog by a test."""
NO_BF16_ACCELERATORS = frozenset({"T4"})
"""Parts without bf16 tensor cores: 16-bit models run in fp16 there."""
