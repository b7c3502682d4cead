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
from typing import Any, Literal, cast

from torch import nn

from ..data._registry import DATASETS as _DATASETS
from ..data._registry import PREPROCESS as _PREPROCESS
from ..init._schemes import resolve_options
from ..models import ACTIVATIONS, CNN, MLP, Activation
from ..train import TrainConfig
from ._labels import init_label

#: The profiles every experiment defines: seconds (``smoke``), what the book runs on two CPU
#: cores (``default``) and the paper's scale (``paper``, for a GPU). Defined here only.
PROFILES: tuple[str, ...] = ("smoke", "default", "paper")
#: The data sets and input scalings a spec may name (from :mod:`depthinit.data`).
DATASETS: tuple[str, ...] = tuple(_DATASETS)
PREPROCESS: tuple[str, ...] = _PREPROCESS


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
            object.__setattr__(self, "label", init_label(self.scheme, self.resolved))

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

        ``base`` and ``distribution`` are filled for every scheme they apply to
        (plain He/Glorot/LeCun are their own base; orthogonal and LSUV draw
        ``"orthogonal"``); ``schedule`` for the depth scheme and plain He/Glorot
        (``"unit"``); ``network_variance`` only where the schedule uses it (not
        ``"unit"``), ``depth_fn`` and ``offset`` only for the increasing/decreasing
        schedules.
        """
        o = self.resolved
        base = o.get("base") if self.scheme in ("depth", "ds_init") else None
        distribution = o.get("distribution")
        schedule = depth_fn = v_reading = None
        network_variance = offset = math.nan
        if self.scheme == "depth":
            schedule, v_reading = o["schedule"], o.get("v_reading")
            if schedule != "unit":
                network_variance = float(o["network_variance"])
            if schedule in ("increasing", "decreasing"):
                depth_fn = o["depth_fn"]
                offset = float(o["offset"])
        elif self.scheme in ("he", "glorot", "lecun"):
            base, schedule = self.scheme, "unit"
        elif self.scheme in ("orthogonal", "lsuv"):
            distribution = "orthogonal"
        return {
            "init": self.label,
            "scheme": self.scheme,
            "base": base,
            "distribution": distribution,
            "schedule": schedule,
            "network_variance": network_variance,
            "depth_fn": depth_fn,
            "offset": offset,
            "v_reading": v_reading,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "options": dict(self.options), "label": self.label}


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
        init("orthogonal"),
        init("random_walk"),
        init("lsuv"),
    )


# -- models -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelConfig:
    """A model from :mod:`depthinit.models` (input size and classes come from the data).

    ``kind``: ``"mlp"`` (:class:`~depthinit.models.MLP`), ``"cnn"``
    (:class:`~depthinit.models.CNN`) or ``"resmlp"`` (:class:`~depthinit.models.ResMLP`).
    """

    kind: Literal["mlp", "cnn", "resmlp"] = "mlp"  # which builder
    depth: int = 54  # MLP: weight layers (L); CNN: convolutions (L = depth + 1); ResMLP: residual blocks
    width: int = 64  # MLP / ResMLP hidden units per layer
    channels: int = 16  # CNN channels per convolution
    activation: Activation = "relu"  # nonlinearity between layers
    pool_every: int | None = None  # CNN: 2 x 2 max-pool after every this many convolutions
    batch_norm: bool = False  # batch norm after each hidden layer (the paper's remedy; off by default)
    gate: bool = False  # ResMLP: a learnable scalar gate on each residual branch (SkipInit / ReZero)

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise SweepError(f"model kind={self.kind!r} is not valid; expected one of {MODEL_KINDS}")
        if self.activation not in ACTIVATIONS:
            raise SweepError(f"activation={self.activation!r} is not valid; expected one of {ACTIVATIONS}")

    def build(self, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
        """The model, uninitialized (apply a scheme with :func:`depthinit.init_`)."""
        if self.kind == "mlp":
            return MLP(
                math.prod(input_shape),
                num_classes,
                depth=self.depth,
                width=self.width,
                activation=self.activation,
                batch_norm=self.batch_norm,
            )
        if self.kind == "resmlp":
            from ..models import ResMLP

            return ResMLP(
                math.prod(input_shape),
                num_classes,
                blocks=self.depth,
                width=self.width,
                activation=self.activation,
                batch_norm=self.batch_norm,
                gate=self.gate,
            )
        return CNN(
            input_shape[0],
            num_classes,
            depth=self.depth,
            channels=self.channels,
            activation=self.activation,
            batch_norm=self.batch_norm,
            pool_every=self.pool_every,
        )

    @property
    def layers(self) -> int:
        """The number of weight layers L (for the ResMLP the stem, two per block and the classifier)."""
        if self.kind == "mlp":
            return self.depth
        if self.kind == "resmlp":
            return 2 * self.depth + 2
        return self.depth + 1

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        drop = {
            "mlp": ("channels", "pool_every", "gate"),
            "cnn": ("width", "gate"),
            "resmlp": ("channels", "pool_every"),
        }
        for k in drop[self.kind]:
            d.pop(k)
        if self.kind == "mlp" and not self.batch_norm:
            d.pop("batch_norm")  # keeps the run ids of the plain MLP experiments as they were
        return d


MODEL_KINDS: tuple[str, ...] = ("mlp", "cnn", "resmlp")


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

    Runs are ``variants x inits x lrs x seeds`` (``lrs`` empty: ``train.lr``
    only). ``profiles[name]`` maps dotted field names to values
    (``{"train.epochs": 1, "seeds": (0,)}``); :meth:`resolve` applies one.
    ``key`` (``"E1"``), ``chapter`` (the book page that shows it) and ``title``
    place the experiment in the book; they change no run.
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
    lrs: tuple[float, ...] = ()  # a learning-rate grid: every run once per value (empty: train.lr only)
    key: str = ""  # the book's name for it ("E1"); "" for an experiment outside the book
    chapter: str = ""  # the executed notebook that shows it (its name in _toc.yml)
    title: str = ""  # the chapter's title

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
        if (
            not seeds
            or any(isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2**64 for s in seeds)
            or len(set(seeds)) != len(seeds)
        ):
            raise SweepError(f"seeds={self.seeds!r} is not valid; expected distinct integers in 0..2**64-1")
        variants = tuple(self.variants) or (Variant("base"),)
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise SweepError(
                f"experiment {self.name!r} has duplicate variant names {names}; give each variant its own name"
            )
        lrs = tuple(self.lrs)
        for v in lrs:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise SweepError(f"lrs={self.lrs!r} is not valid; expected distinct finite numbers > 0")
        if len(set(lrs)) != len(lrs):
            raise SweepError(f"lrs={self.lrs!r} has repeated values; give each learning rate once")
        bad = sorted(set(self.profiles) - set(PROFILES))
        if bad:
            raise SweepError(
                f"experiment {self.name!r} defines unknown profile(s) {bad}; profiles are {PROFILES}: "
                "use only those names"
            )
        object.__setattr__(self, "inits", inits)
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "variants", variants)
        object.__setattr__(self, "lrs", tuple(float(v) for v in lrs))

    def resolve(self, profile: str) -> Experiment:
        """This experiment with ``profiles[profile]`` applied (and no profiles left)."""
        if profile not in self.profiles:
            valid = ", ".join(map(repr, self.profiles)) or "none"
            raise SweepError(
                f"profile {profile!r} is not defined for experiment {self.name!r}; valid: {valid}. Pick "
                "one of those, or define it in the experiment's profiles"
            )
        out = override(self, self.profiles[profile])
        return dataclasses.replace(out, profiles={})

    def runs(self, profile: str = "") -> list[Run]:
        """Every run of the (resolved) experiment: variants x inits x lrs x seeds."""
        out = []
        for v in self.variants:
            e = override(dataclasses.replace(self, variants=(Variant("base"),)), v.overrides)
            trains = [dataclasses.replace(e.train, lr=lr) for lr in e.lrs] if e.lrs else [e.train]
            for i in e.inits:
                for t in trains:
                    for s in e.seeds:
                        out.append(Run(self.name, profile, v.name, e.dataset, e.preprocess, e.model, t, i, s))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dataset": self.dataset,
            "preprocess": self.preprocess,
            "model": self.model.to_dict(),
            "train": self.train.to_dict(),
            "inits": [i.to_dict() for i in self.inits],
            "seeds": list(self.seeds),
            "variants": [{"name": v.name, "overrides": _jsonable(dict(v.overrides))} for v in self.variants],
            "lrs": list(self.lrs),
            "description": self.description,
            "key": self.key,
            "chapter": self.chapter,
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
            raise SweepError(
                f"override {key!r}: {type(obj).__name__} has no field {head!r}; use one of its fields: {sorted(names)}"
            )
        if isinstance(sub, _Leaf):
            value = sub.value
            changes[head] = tuple(value) if isinstance(value, list) else value
        else:
            changes[head] = _apply(getattr(obj, head), sub, key + ".")
    try:
        return dataclasses.replace(cast(Any, obj), **changes)
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
# settings the trainer takes per member: runs differing only in these train in one stack
_PER_MEMBER = ("lr", "lr_scales", "logit_scale")


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
            "experiment": self.experiment,
            "dataset": self.dataset,
            "preprocess": self.preprocess,
            "model": self.model.to_dict(),
            "train": train,
            "init": self.init.to_dict(),
            "seed": self.seed,
        }

    @property
    def run_id(self) -> str:
        """A stable hash of :meth:`config` (16 hex digits): a restarted sweep recognises finished runs."""
        text = json.dumps(_jsonable(self.config()), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def stack_key(self) -> str:
        """Runs with equal keys can train in one stack (they may differ in init, seed and lr)."""
        c = self.config()
        c["train"] = {k: v for k, v in c["train"].items() if k not in _PER_MEMBER}
        for k in ("init", "seed", "experiment"):
            c.pop(k)
        return json.dumps(_jsonable(c), sort_keys=True)

    def columns(self) -> dict[str, Any]:
        """Descriptive columns of the tidy tables (everything but the metrics)."""
        t = self.train
        return {
            "run_id": self.run_id,
            "experiment": self.experiment,
            "profile": self.profile,
            "variant": self.variant,
            "dataset": self.dataset,
            "preprocess": self.preprocess,
            "model": self.model.kind,
            "layers": self.model.layers,
            "width": self.model.channels if self.model.kind == "cnn" else self.model.width,
            "activation": self.model.activation,
            "batch_norm": bool(self.model.batch_norm),
            **self.init.columns(),
            "seed": self.seed,
            "optimizer": t.optimizer,
            "lr": t.lr,
            "logit_scale": t.logit_scale,
            "batch_size": t.batch_size,
            "epochs": t.epochs,
            "n_train": t.n_train,
            "n_val": t.n_val,
            "n_test": t.n_test,
        }
