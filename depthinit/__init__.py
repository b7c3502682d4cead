"""depthinit: depth-aware weight initialization (arXiv 2509.05018) and its baselines.

Importing the package changes no global state (no seeding, no plot style, no
warning filters).
"""

from .init import (
    DEPTH_FNS,
    SCHEDULES,
    InitPlan,
    LayerPlan,
    LSUVConvergenceWarning,
    NormalizationCancelsDepthWarning,
    alphas,
    describe,
    fans,
    init_,
    plan,
    schemes,
)

__version__ = "0.1.0"

_SUBMODULES = (
    "analysis",
    "bench",
    "book",
    "data",
    "init",
    "models",
    "plotting",
    "provenance",
    "sweep",
    "theory",
    "train",
)


def __getattr__(name: str):
    """Import subpackages on first use (``depthinit.data``, ``depthinit.train``, ...)."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEPTH_FNS",
    "SCHEDULES",
    "InitPlan",
    "LSUVConvergenceWarning",
    "LayerPlan",
    "NormalizationCancelsDepthWarning",
    "__version__",
    "alphas",
    "describe",
    "fans",
    "init_",
    "plan",
    "schemes",
]
