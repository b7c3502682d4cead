"""Experiment specs as data: what to train, on what, with which initializations.

Chapter: "Reproducibility" and the experiment chapters E1-E5. A spec is a
frozen dataclass you can build in a notebook cell; profiles (``"smoke"``,
``"default"``, ``"paper"``) and variants override a few of its fields by dotted
name (``"train.epochs"``, ``"model.depth"``, ``"seeds"``), so a variation such
as network_variance in {1, 2, 5, 22, 100} or depth L in {10, 20, 54, 100}
needs no new code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import nn

from ..init._schemes import resolve_options
from ..models import ACTIVATIONS, CNN, MLP
from ..train import TrainConfig

PROFILES: tuple[str, ...] = ("smoke", "default", "paper")
DATASETS: tuple[str, ...] = ("mnist", "cifar10")
PREPROCESS: tuple[str, ...] = ("unit", "standardize")


class SweepError(ValueError):
    """A sweep cannot run as asked (unknown experiment or profile, a folder holding other results...)."""


# -- initializations ------------------------------------------------------------------
@dataclass(frozen=True)
class InitConfig:
    """One initialization: a scheme of :func:`depthinit.schemes` and its options.

    Build with :func:`init`, e.g. ``init("depth", base="he", schedule="increasing")``.
    ``label`` names it in tables and plots (default: built from the options).
    """

    scheme: str
    options: tuple[tuple[str, Any], ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        opts = tuple(sorted((str(k), v) for k, v in dict(self.options).items()))
        for k, v in opts:
            if callable(v):
                raise SweepError(
                    f"option {k}={v!r} is a callable; a sweep records its settings as data, so pass a name "
                    "(e.g. depth_fn='power') rather than a function"
                )
        resolve_options(self.scheme, dict(opts))  # validates scheme and options
        object.__setattr__(self, "options", opts)
        if not self.label:
            object.__setattr__(self, "label", _auto_label(self.scheme, self.resolved))

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`depthinit.init_`."""
        return dict(self.options)

    @property
    def resolved(self) -> dict[str, Any]:
        """The options with the scheme's defaults filled in."""
        return resolve_options(self.scheme, dict(self.options))

    def columns(self) -> dict[str, Any]:
        """The tidy-table columns that describe this initialization.

        ``base``, ``distribution`` and ``schedule`` are filled for every scheme
        they apply to (plain He/Glorot read as schedule ``"unit"``);
        ``network_variance`` only where the schedule uses it (not ``"unit"``),
        ``depth_fn`` and ``offset`` only for the increasing/decreasing schedules.
        """
        o = self.resolved
        base = distribution = schedule = depth_fn = None
        network_variance = offset = math.nan
        if self.scheme == "depth":
            base, distribution, schedule = o["base"], o["distribution"], o["schedule"]
            if schedule != "unit":
                network_variance = float(o["network_variance"])
            if schedule in ("increasing", "decreasing"):
                depth_fn = o["depth_fn"]
                offset = float(o["offset"])
        elif self.scheme in ("he", "glorot", "lecun"):
            base, distribution, schedule = self.scheme, o["distribution"], "unit"
        elif self.scheme in ("orthogonal", "lsuv"):
            distribution = "orthogonal"
        elif self.scheme == "random_walk":
            distribution = o["distribution"]
        return {
            "init": self.label, "scheme": self.scheme, "base": base, "distribution": distribution,
            "schedule": schedule, "network_variance": network_variance, "depth_fn": depth_fn, "offset": offset,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "options": dict(self.options), "label": self.label}


def _auto_label(scheme: str, o: dict[str, Any]) -> str:
    if scheme == "depth":
        parts = [o["base"], o["distribution"], o["schedule"]]
        if o["schedule"] != "unit" and o["network_variance"] != 22.0:
            parts.append(f"V{o['network_variance']:g}")
        if o["schedule"] in ("increasing", "decreasing"):
            if o["depth_fn"] != "log":
                parts.append(str(o["depth_fn"]))
            if o["offset"]:
                parts.append(f"c{o['offset']:g}")
            if o["shape"] is not None:
                parts.append(f"s{o['shape']:g}")
        return "-".join(parts)
    if scheme in ("he", "glorot", "lecun", "random_walk"):
        return f"{scheme}-{o['distribution']}"
    return scheme


def init(scheme: str, *, label: str = "", **options: Any) -> InitConfig:
    """An :class:`InitConfig`: ``init("depth", base="glorot", schedule="constant")``."""
    return InitConfig(scheme, tuple(options.items()), label)


def depth_grid(
    *,
    base: Iterable[str] = ("he", "glorot"),
    distribution: Iterable[str] = ("normal", "uniform"),
    schedule: Iterable[str] = ("unit", "constant", "increasing", "decreasing"),
    network_variance: Iterable[float] = (22.0,),
    depth_fn: Iterable[str] = ("log",),
    offset: Iterable[float] = (0.0,),
) -> tuple[InitConfig, ...]:
    """The product grid of the paper's depth scheme (unit schedules appear once per
    base and distribution whatever V, depth_fn and offset)."""
    out: dict[str, InitConfig] = {}
    for b in base:
        for d in distribution:
            for s in schedule:
                for v in network_variance:
                    for fn in depth_fn:
                        for c in offset:
                            opts: dict[str, Any] = {"base": b, "distribution": d, "schedule": s}
                            if s != "unit":
                                opts["network_variance"] = float(v)
                            if s in ("increasing", "decreasing"):
                                opts.update(depth_fn=fn, offset=float(c))
                            cfg = init("depth", **opts)
                            out.setdefault(cfg.label, cfg)
    return tuple(out.values())


def paper_grid(network_variance: float = 22.0) -> tuple[InitConfig, ...]:
    """The paper's comparison: {he, glorot} x {normal, uniform} x {unit, constant,
    increasing, decreasing} at V = 22, plus orthogonal, random walk and LSUV (19 inits)."""
    return depth_grid(network_variance=(network_variance,)) + (
        init("orthogonal"), init("random_walk"), init("lsuv"),
    )


# -- models -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelConfig:
    """A plain MLP or CNN from :mod:`depthinit.models` (input size and classes come from the data)."""

    kind: Literal["mlp", "cnn"] = "mlp"  # "mlp" or "cnn"
    depth: int = 54  # weight layers of the MLP (L); convolutions of the CNN (L = depth + 1)
    width: int = 64  # MLP hidden units per layer
    channels: int = 16  # CNN channels per convolution
    activation: str = "relu"  # nonlinearity between layers
    pool_every: int | None = None  # CNN: 2 x 2 max-pool after every this many convolutions
    batch_norm: bool = False  # CNN: batch norm after each convolution (the paper's remedy, off by default)

    def __post_init__(self) -> None:
        if self.kind not in ("mlp", "cnn"):
            raise SweepError(f"model kind={self.kind!r} is not valid; expected 'mlp' or 'cnn'")
        if self.activation not in ACTIVATIONS:
            raise SweepError(f"activation={self.activation!r} is not valid; expected one of {ACTIVATIONS}")

    def build(self, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
        if self.kind == "mlp":
            return MLP(math.prod(input_shape), num_classes, depth=self.depth, width=self.width,
                       activation=self.activation)
        return CNN(input_shape[0], num_classes, depth=self.depth, channels=self.channels,
                   activation=self.activation, batch_norm=self.batch_norm, pool_every=self.pool_every)

    @property
    def layers(self) -> int:
        """Number of weight layers L."""
        return self.depth if self.kind == "mlp" else self.depth + 1

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if self.kind == "mlp":
            for k in ("channels", "pool_every", "batch_norm"):
                d.pop(k)
        else:
            d.pop("width")
        return d


@dataclass(frozen=True)
class Variant:
    """A named set of overrides that adds one more copy of the grid, e.g.
    ``Variant("L=10", {"model.depth": 10})`` or ``Variant("standardize", {"preprocess": "standardize"})``."""

    name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.overrides))))


# -- experiments ------------------------------------------------------------------------
@dataclass(frozen=True)
class Experiment:
    """An experiment: a data set, a model, training settings, initializations and
    seeds, optional variants, and profiles that override a few fields.

    Runs are ``variants x inits x seeds``. ``profiles[name]`` maps dotted field
    names to values (``{"train.epochs": 1, "seeds": (0,)}``); :meth:`resolve`
    applies one.
    """

    name: str
    dataset: str
    model: ModelConfig
    train: TrainConfig
    inits: tuple[InitConfig, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    preprocess: str = "unit"  # "unit" (pixels in [0, 1], as the paper) or "standardize"
    variants: tuple[Variant, ...] = (Variant("base"),)
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in "/\\ "):
            raise SweepError(f"experiment name {self.name!r} must be non-empty without spaces or slashes")
        if self.dataset not in DATASETS:
            raise SweepError(f"dataset={self.dataset!r} is not valid; expected one of {DATASETS}")
        if self.preprocess not in PREPROCESS:
            raise SweepError(f"preprocess={self.preprocess!r} is not valid; expected one of {PREPROCESS}")
        inits = tuple(self.inits)
        if not inits:
            raise SweepError(f"experiment {self.name!r} has no initializations; give at least one InitConfig")
        labels = [i.label for i in inits]
        dup = sorted({l for l in labels if labels.count(l) > 1})
        if dup:
            raise SweepError(f"experiment {self.name!r} has duplicate init labels {dup}; give each a distinct label")
        seeds = tuple(self.seeds)
        if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds) \
                or len(set(seeds)) != len(seeds):
            raise SweepError(f"seeds={self.seeds!r} is not valid; expected distinct integers >= 0")
        variants = tuple(self.variants) or (Variant("base"),)
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise SweepError(f"experiment {self.name!r} has duplicate variant names {names}")
        object.__setattr__(self, "inits", inits)
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "variants", variants)

    def resolve(self, profile: str) -> Experiment:
        """This experiment with ``profiles[profile]`` applied (and no profiles left)."""
        if profile not in self.profiles:
            valid = ", ".join(map(repr, self.profiles)) or "none"
            raise SweepError(f"profile {profile!r} is not defined for experiment {self.name!r}; valid: {valid}")
        out = override(self, self.profiles[profile])
        return dataclasses.replace(out, profiles={})

    def runs(self, profile: str = "") -> list[Run]:
        """Every run of the (resolved) experiment: variants x inits x seeds."""
        out = []
        for v in self.variants:
            e = override(dataclasses.replace(self, variants=(Variant("base"),)), v.overrides)
            for i in e.inits:
                for s in e.seeds:
                    out.append(Run(self.name, profile, v.name, e.dataset, e.preprocess, e.model, e.train, i, s))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "dataset": self.dataset, "preprocess": self.preprocess,
            "model": self.model.to_dict(), "train": self.train.to_dict(),
            "inits": [i.to_dict() for i in self.inits], "seeds": list(self.seeds),
            "variants": [{"name": v.name, "overrides": _jsonable(dict(v.overrides))} for v in self.variants],
            "description": self.description,
        }


def override(obj: Any, overrides: Mapping[str, Any]) -> Any:
    """``obj`` (a dataclass) with dotted-name fields replaced: ``{"train.lr": 0.1}``.

    All overrides of one dataclass are applied together, so a set of them only
    has to be valid as a whole (``train.epochs`` and ``train.probe_epochs``).
    """
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SweepError(f"override {key!r} conflicts with another override of {part!r}")
        node[parts[-1]] = _Leaf(value, key)
    return _apply(obj, nested, "")


class _Leaf:
    def __init__(self, value: Any, key: str) -> None:
        self.value, self.key = value, key


def _apply(obj: Any, nested: dict[str, Any], prefix: str) -> Any:
    if not dataclasses.is_dataclass(obj):
        raise SweepError(f"override {prefix!r}: {type(obj).__name__} has no fields to override")
    names = {f.name for f in dataclasses.fields(obj)}
    changes = {}
    for head, sub in nested.items():
        key = f"{prefix}{head}"
        if head not in names:
            raise SweepError(f"override {key!r}: {type(obj).__name__} has no field {head!r}; fields: {sorted(names)}")
        if isinstance(sub, _Leaf):
            value = sub.value
            changes[head] = tuple(value) if isinstance(value, list) else value
        else:
            changes[head] = _apply(getattr(obj, head), sub, key + ".")
    try:
        return dataclasses.replace(obj, **changes)
    except (TypeError, ValueError) as err:
        shown = ", ".join(f"{prefix}{k}" for k in changes)
        raise SweepError(f"override of {shown} is not valid: {err}") from None


def _jsonable(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return x.to_dict() if hasattr(x, "to_dict") else dataclasses.asdict(x)
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


# settings that change no number of a run (where it runs, how it is evaluated in chunks)
_NOT_IN_ID = ("device", "eval_batch_size")


@dataclass(frozen=True)
class Run:
    """One grid point: everything that determines one training run."""

    experiment: str
    profile: str
    variant: str
    dataset: str
    preprocess: str
    model: ModelConfig
    train: TrainConfig
    init: InitConfig
    seed: int

    def config(self) -> dict[str, Any]:
        """The run's full configuration as JSON-able data (what :attr:`run_id` hashes)."""
        train = {k: v for k, v in self.train.to_dict().items() if k not in _NOT_IN_ID}
        return {
            "experiment": self.experiment, "dataset": self.dataset, "preprocess": self.preprocess,
            "model": self.model.to_dict(), "train": train, "init": self.init.to_dict(), "seed": self.seed,
        }

    @property
    def run_id(self) -> str:
        """A stable hash of :meth:`config` (16 hex digits): a restarted sweep recognises finished runs."""
        text = json.dumps(_jsonable(self.config()), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def stack_key(self) -> str:
        """Runs with equal keys can train in one stack (they may differ in init, seed and lr)."""
        c = self.config()
        c["train"] = {k: v for k, v in c["train"].items() if k != "lr"}
        for k in ("init", "seed", "experiment"):
            c.pop(k)
        return json.dumps(_jsonable(c), sort_keys=True)

    def columns(self) -> dict[str, Any]:
        """Descriptive columns of the tidy tables (everything but the metrics)."""
        t = self.train
        return {
            "run_id": self.run_id, "experiment": self.experiment, "profile": self.profile, "variant": self.variant,
            "dataset": self.dataset, "preprocess": self.preprocess, "model": self.model.kind,
            "layers": self.model.layers, "width": self.model.width if self.model.kind == "mlp" else self.model.channels,
            **self.init.columns(), "seed": self.seed, "optimizer": t.optimizer, "lr": t.lr,
            "batch_size": t.batch_size, "epochs": t.epochs, "n_train": t.n_train, "n_test": t.n_test,
        }
