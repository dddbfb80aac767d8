"""Generated artifacts: the stack config `servestack plan --write` records."""

from servestack.generate.stack_config import (
    GENERATED_KEY,
    GPU_MEMORY_UTILIZATION,
    EditedConfigError,
    StackChoices,
    WriteResult,
    current_value,
    owned_stack_config,
    stack_file_path,
    write_stack_config,
)

__all__ = [
    "GENERATED_KEY",
    "GPU_MEMORY_UTILIZATION",
    "EditedConfigError",
    "StackChoices",
    "WriteResult",
    "current_value",
    "owned_stack_config",
    "stack_file_path",
    "write_stack_config",
]
