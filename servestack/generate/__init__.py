"""Generated artifacts: the stack config `servestack plan --write` (and `servestack new`) records."""

from servestack.generate.stack_config import (
    GENERATED_KEY,
    GPU_MEMORY_UTILIZATION,
    EditedConfigError,
    StackChoices,
    WriteResult,
    current_value,
    fleet_keys,
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
    "fleet_keys",
    "owned_stack_config",
    "stack_file_path",
    "write_stack_config",
]
