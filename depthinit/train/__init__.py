"""Training: one model (:func:`train_one`, the reference) or K models at once
(:func:`train_many`, vectorised), with per-epoch history, per-layer probes,
signal statistics and clean handling of runs that diverge.

Chapter: "Reproducibility" and the experiment chapters E1-E5.
"""

from ._config import OPTIMIZERS, TrainConfig
from ._data import Tensors, data_generator, epoch_order, steps_per_epoch
from ._graph import TrainStep
from ._many import benchmark_step, train_many
from ._optim import FlatOptimizer, lr_factors
from ._probes import HIST_EDGES, KINDS, QUANTILES, STAT_COLUMNS, bin_bounds, member_stats
from ._result import HISTORY_COLUMNS, METRIC_COLUMNS, RunResult
from ._signals import SIGNAL_COLUMNS, signal_statistics
from ._single import evaluate, make_optimizer, probe_model, train_one
from ._stack import KIND_STRATEGIES, STRATEGIES, Stack, architecture, default_strategy, stack_kind

__all__ = [
    "HISTORY_COLUMNS",
    "HIST_EDGES",
    "KINDS",
    "KIND_STRATEGIES",
    "METRIC_COLUMNS",
    "OPTIMIZERS",
    "QUANTILES",
    "SIGNAL_COLUMNS",
    "STAT_COLUMNS",
    "STRATEGIES",
    "FlatOptimizer",
    "RunResult",
    "Stack",
    "Tensors",
    "TrainConfig",
    "TrainStep",
    "architecture",
    "benchmark_step",
    "bin_bounds",
    "data_generator",
    "default_strategy",
    "epoch_order",
    "evaluate",
    "lr_factors",
    "make_optimizer",
    "member_stats",
    "probe_model",
    "signal_statistics",
    "stack_kind",
    "steps_per_epoch",
    "train_many",
    "train_one",
]
