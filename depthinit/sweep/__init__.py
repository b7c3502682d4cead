"""Sweeps: experiment specs as data, a resumable runner that trains compatible runs
together, and tidy results.

Chapter: "Reproducibility" and the experiment chapters E1-E5.

>>> import depthinit.sweep as sw
>>> spec = sw.get_experiment("fcnn-mnist")
>>> len(spec.resolve("default").runs())
57
"""

from ._report import report, summary
from ._runner import LSUV_BATCH, default_max_members, resolve_device, run, stacks
from ._spec import (
    DATASETS,
    PREPROCESS,
    PROFILES,
    Experiment,
    InitConfig,
    ModelConfig,
    Run,
    SweepError,
    Variant,
    depth_grid,
    init,
    override,
    paper_grid,
)
from ._store import Results, load
from .experiments import CNN_CIFAR10, EXPERIMENTS, FCNN_CIFAR10, FCNN_MNIST, experiments, get_experiment

__all__ = [
    "CNN_CIFAR10", "DATASETS", "EXPERIMENTS", "FCNN_CIFAR10", "FCNN_MNIST", "LSUV_BATCH", "PREPROCESS", "PROFILES",
    "Experiment", "InitConfig", "ModelConfig", "Results", "Run", "SweepError", "Variant", "default_max_members",
    "depth_grid", "experiments", "get_experiment", "init", "load", "override", "paper_grid", "report",
    "resolve_device", "run", "stacks", "summary",
]
