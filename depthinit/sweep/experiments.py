"""The registry: every experiment the CLI runs and the book shows, by name.

Chapter: "Reproducibility" and the experiment chapters. ``depthinit list`` prints
it, ``depthinit sweep NAME`` runs an entry, and the book finds each chapter's
experiment here by its ``key`` (``"E1"``) or ``chapter``. To add an experiment,
write its spec (an :class:`~depthinit.sweep.Experiment` with ``key``, ``chapter``,
``title`` and the three profiles) in a spec module and list it in ``_ALL``.
"""

from __future__ import annotations

from types import MappingProxyType

from ._ablation_specs import SCHEDULE_ABLATION
from ._beyond_specs import NORM_RESIDUAL, TANH, WIDTH_DEPTH
from ._paper_specs import CNN_CIFAR10, FCNN_CIFAR10, FCNN_MNIST
from ._spec import PROFILES, Experiment, SweepError
from ._variant_specs import HE_UNIFORM_STALL, SENSITIVITY

_ALL: tuple[Experiment, ...] = (
    FCNN_CIFAR10,
    SCHEDULE_ABLATION,
    FCNN_MNIST,
    CNN_CIFAR10,
    HE_UNIFORM_STALL,
    SENSITIVITY,
    WIDTH_DEPTH,
    TANH,
    NORM_RESIDUAL,
)


def _registry(specs: tuple[Experiment, ...]) -> dict[str, Experiment]:
    out: dict[str, Experiment] = {}
    keys: dict[str, str] = {}
    for e in specs:
        if e.name in out:
            raise SweepError(f"two registered experiments are named {e.name!r}")
        if e.key and e.key in keys:
            raise SweepError(f"experiments {keys[e.key]!r} and {e.name!r} share the key {e.key!r}")
        missing = [p for p in PROFILES if p not in e.profiles]
        if missing:
            raise SweepError(
                f"experiment {e.name!r} lacks the profile(s) {missing}; every registered experiment defines {PROFILES}"
            )
        out[e.name] = e
        if e.key:
            keys[e.key] = e.name
    return out


_REGISTRY = _registry(_ALL)
#: Every registered experiment by name (read-only).
EXPERIMENTS = MappingProxyType(_REGISTRY)


def experiments() -> list[str]:
    """Names of the registered experiments, in book order."""
    return list(_REGISTRY)


def get_experiment(name: str) -> Experiment:
    """The registered experiment called ``name``, or the one whose book key is ``name`` (``"E1"``)."""
    if not isinstance(name, str):
        raise SweepError(f"experiment {name!r} is not a name; pass a string such as 'fcnn-cifar10'")
    if name in _REGISTRY:
        return _REGISTRY[name]
    for e in _REGISTRY.values():
        if e.key and e.key == name:
            return e
    known = ", ".join(f"{e.name} ({e.key})" if e.key else e.name for e in _REGISTRY.values())
    raise SweepError(
        f"experiment {name!r} is not known; registered experiments: {known}. Use one of those names "
        "or keys (`depthinit list` describes them)"
    )


def by_chapter(chapter: str) -> list[Experiment]:
    """The experiments a book chapter (executed notebook name) shows, in registry order
    (the first is the chapter's main experiment; E1's chapter also shows its ablation)."""
    return [e for e in _REGISTRY.values() if e.chapter == chapter]
