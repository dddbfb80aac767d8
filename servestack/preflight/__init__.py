"""Preflight: ask the live cloud APIs, with the user's credentials, whether a stack (or a plan's candidates) can
launch: GPU quotas at peak, the instance type in each zone, spot placement, required APIs.

Imported only by `servestack preflight` and `servestack plan --preflight`; the cloud SDKs load lazily inside.
"""

from servestack.preflight.checks import Check, PreflightError, Report
from servestack.preflight.stack import load_deployment, preflight_stack

__all__ = ["Check", "PreflightError", "Report", "load_deployment", "preflight_stack"]
