"""servestack: the cheapest cloud GPU stack that meets a model-serving workload, deployed with Pulumi."""

__all__ = ["__version__"]

__version__ = "0.1.0"
