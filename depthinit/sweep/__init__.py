"""Sweeps: experiment specs as data, one registry of every experiment, a resumable
runner that trains compatible runs together, tidy typed results, shards and merging.

Chapter: "Reproducibility" and the experiment chapters.

>>> import depthinit.sweep as sw
>>> spec = sw.get_experiment("fcnn-mnist")
>>> len(spec.resolve("default").runs()) > 0
True
"""

from ._labels import PAPER_V, init_label
from ._legacy import migrate
from ._merge import merge
from ._progress import Progress
from ._report import report, summary
from ._runner import (
    LSUV_BATCH,
    default_max_members,
    parse_shard,
    resolve_device,
    resolve_spec,
    run,
    shard_runs,
    stacks,
)
from ._schema import SchemaError
from ._spec import (
    DATASETS,
    MODEL_KINDS,
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
from ._store import DamagedResultsWarning, Lock, Results, load
from .experiments import EXPERIMENTS, by_chapter, experiments, get_experiment

__all__ = [
    "DATASETS",
    "EXPERIMENTS",
    "LSUV_BATCH",
    "MODEL_KINDS",
    "PAPER_V",
    "PREPROCESS",
    "PROFILES",
    "DamagedResultsWarning",
    "Experiment",
    "InitConfig",
    "Lock",
    "ModelConfig",
    "Progress",
    "Results",
    "Run",
    "SchemaError",
    "SweepError",
    "Variant",
    "by_chapter",
    "default_max_members",
    "depth_grid",
    "experiments",
    "get_experiment",
    "init",
    "init_label",
    "load",
    "merge",
    "migrate",
    "override",
    "paper_grid",
    "parse_shard",
    "report",
    "resolve_device",
    "resolve_spec",
    "run",
    "shard_runs",
    "stacks",
    "summary",
]
