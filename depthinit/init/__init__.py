"""Initialization schemes, depth schedules and their application to any model.

Chapter: "The schemes at a glance" and "Use it in your model". Core API:
:func:`depthinit.init_`, :func:`depthinit.plan` (an :class:`depthinit.InitPlan`),
:func:`depthinit.schemes` and :func:`depthinit.describe`; the paper's depth factors
:func:`depthinit.alphas`; the mean-field edge of chaos :func:`critical_init`. Needs torch and numpy only.
"""

from ._apply import InitPlan, LayerPlan, NormalizationCancelsDepthWarning, init_, plan
from ._fans import WEIGHT_LAYERS, fans
from ._layers import NORMALIZATION_LAYERS, Layer, discover
from ._lsuv import LSUVConvergenceWarning
from ._meanfield import MEAN_FIELD_ACTIVATIONS, chi_1, critical_init, length_fixed_point, length_map
from ._residual import find_residual
from ._schedules import DEPTH_FNS, SCHEDULES, alphas, depth_shape
from ._schemes import describe, random_walk_gain, schemes

__all__ = [
    "DEPTH_FNS",
    "MEAN_FIELD_ACTIVATIONS",
    "NORMALIZATION_LAYERS",
    "SCHEDULES",
    "WEIGHT_LAYERS",
    "InitPlan",
    "LSUVConvergenceWarning",
    "Layer",
    "LayerPlan",
    "NormalizationCancelsDepthWarning",
    "alphas",
    "chi_1",
    "critical_init",
    "depth_shape",
    "describe",
    "discover",
    "fans",
    "find_residual",
    "init_",
    "length_fixed_point",
    "length_map",
    "plan",
    "random_walk_gain",
    "schemes",
]
