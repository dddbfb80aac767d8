"""`servestack new`: a platform team's own Pulumi project, generated from workload specs and kept in sync."""

from servestack.project.generate import MANIFEST, ProjectRequest, ProjectResult, generate_project, load_manifest
from servestack.project.plan import EnvPlan, InfeasibleProjectError, StackPlan, fleet_stack_config, plan_environment

__all__ = [
    "MANIFEST",
    "EnvPlan",
    "InfeasibleProjectError",
    "ProjectRequest",
    "ProjectResult",
    "StackPlan",
    "fleet_stack_config",
    "generate_project",
    "load_manifest",
    "plan_environment",
]
