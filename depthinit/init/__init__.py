"""Initialization schemes, depth schedules and their application to any model."""

from ._apply import InitPlan, LayerPlan, init_, plan
from ._fans import WEIGHT_LAYERS, fans
from ._layers import Layer, discover
from ._lsuv import LSUVConvergenceWarning
from ._schedules import DEPTH_FNS, SCHEDULES, alphas, depth_shape
from ._schemes import random_walk_gain, schemes

__all__ = [
    "DEPTH_FNS", "SCHEDULES", "WEIGHT_LAYERS", "InitPlan", "LSUVConvergenceWarning", "Layer",
    "LayerPlan", "alphas", "depth_shape", "discover", "fans", "init_", "plan", "random_walk_gain",
    "schemes",
]
