"""JSON Schema of the workload spec, for editor autocompletion (`schemas/workload.schema.json`).

Regenerate with `python -m servestack.workload.schema > schemas/workload.schema.json`; a test keeps the
committed file in sync with the pydantic models.
"""

from __future__ import annotations

import json
from typing import Any

from servestack.workload.spec import WorkloadSpec

__all__ = ["workload_json_schema", "render"]

SCHEMA_ID = "https://servestack.dev/schemas/workload.schema.json"


def workload_json_schema() -> dict[str, Any]:
    schema = WorkloadSpec.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def render() -> str:
    return json.dumps(workload_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
