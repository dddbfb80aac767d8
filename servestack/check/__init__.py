"""`servestack check` and `servestack cost diff`: policy packs driven over the analyzer protocol, and costs.

`run_check` and the analyzer client load grpc and the Pulumi protobufs; import this package lazily.
"""

from __future__ import annotations

from servestack.check.analyzer import AnalyzerResource, Diagnostic, PackInfo, PolicyInfo, PolicyPackProcess
from servestack.check.costs import CostLine, CostSummary
from servestack.check.packs import DEFAULT_PACKS, central_pack_dirs, default_pack_dirs, find_pack, vendored_pack_notes
from servestack.check.policy_config import PolicyConfigEntry, load_policy_config, parse_policy_config
from servestack.check.run import CheckResult, PackSummary, Violation, analyzer_resources, check_resources, run_check

__all__ = [
    "AnalyzerResource",
    "CheckResult",
    "CostLine",
    "CostSummary",
    "DEFAULT_PACKS",
    "Diagnostic",
    "PackInfo",
    "PackSummary",
    "PolicyConfigEntry",
    "PolicyInfo",
    "PolicyPackProcess",
    "Violation",
    "analyzer_resources",
    "central_pack_dirs",
    "vendored_pack_notes",
    "check_resources",
    "default_pack_dirs",
    "find_pack",
    "load_policy_config",
    "parse_policy_config",
    "run_check",
]
