"""Training: one model (:func:`train_one`, the reference) or K models at once
(:func:`train_many`, vectorised), with per-epoch history, per-layer probes and
clean handling of runs that diverge.

Chapter: "Reproducibility" and the experiment chapters E1-E5.
"""

from ._config import OPTIMIZERS, TrainConfig
from ._data import Tensors, data_generator, epoch_order, steps_per_epoch
from ._many import benchmark_step, train_many
from ._optim import FlatOptimizer
from ._probes import HIST_EDGES, KINDS, QUANTILES, STAT_COLUMNS, bin_bounds, member_stats
from ._result import HISTORY_COLUMNS, RunResult
from ._single import evaluate, make_optimizer, probe_model, train_one
from ._stack import STRATEGIES, Stack, architecture, default_strategy

__all__ = [
    "HISTORY_COLUMNS", "HIST_EDGES", "KINDS", "OPTIMIZERS", "QUANTILES", "STAT_COLUMNS", "STRATEGIES",
    "FlatOptimizer", "benchmark_step", "RunResult", "Stack", "Tensors", "TrainConfig", "architecture", "bin_bounds",
    "data_generator", "default_strategy", "epoch_order", "evaluate", "make_optimizer", "member_stats",
    "probe_model", "steps_per_epoch", "train_many", "train_one",
]
