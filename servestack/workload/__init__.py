"""The workload spec: models, built-in architectures and the YAML loader."""

from servestack.workload.known_models import KNOWN_MODELS, ModelArchitecture, known_model
from servestack.workload.load import load_spec, parse_spec
from servestack.workload.spec import (
    ArchitectureSpec,
    Availability,
    Budget,
    MeasuredSpec,
    MeasuredThroughput,
    ModelSpec,
    Owner,
    Placement,
    PricingPolicy,
    RequestClass,
    Slo,
    Traffic,
    WorkloadSpec,
)

__all__ = [
    "KNOWN_MODELS",
    "ModelArchitecture",
    "known_model",
    "load_spec",
    "parse_spec",
    "WorkloadSpec",
    "ModelSpec",
    "ArchitectureSpec",
    "MeasuredSpec",
    "MeasuredThroughput",
    "Traffic",
    "RequestClass",
    "Slo",
    "Availability",
    "Placement",
    "PricingPolicy",
    "Budget",
    "Owner",
]
