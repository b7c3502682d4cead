"""The ablation the reparameterization theorem suggests, as a spec.

Chapter: "E1: the 54-layer MLP on CIFAR-10" (its ablation section) and the theory
chapter on the theorem. A bias-free (or zero-bias) ReLU network is positively
homogeneous; the depth schedules draw W_l = sqrt(alpha_l) U_l from He's U, so
at V = prod alpha_l the schedule computes sqrt(V) times He's network, and SGD
on W with rate eta is SGD on U with the per-layer rate eta / alpha_l (biases:
eta / C_l, C_l = alpha_1 ... alpha_l) and the logits scaled by sqrt(V). The
arms separate the two parts:

* ``He``: He normal;
* ``He + logit scale``: He normal, logits times sqrt(V) (the temperature only);
* ``He + layer lrs (increasing)`` / ``(decreasing)``: He normal with the
  schedule's per-layer rates only;
* ``He + both (increasing)`` / ``(decreasing)``: both, which must reproduce the
  schedule run for run (same seeds, same batches);
* ``increasing`` / ``decreasing``: the schedules themselves.

Every arm trains with SGD (momentum 0.9) at each rate of E1's grid, with E1's
validation split; each arm's rate is chosen on validation accuracy.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, cast

from ..init import alphas
from ._labels import PAPER_V
from ._paper_specs import DEFAULT_SGD_LRS, FCNN_CIFAR10, PAPER, SGD_LRS, SMOKE, SMOKE_SGD_LRS
from ._spec import Experiment, ModelConfig, Variant, init

_MODEL = ModelConfig("mlp", depth=54, width=64)


def schedule_lr_scales(
    schedule: str, *, layers: int = _MODEL.depth, network_variance: float = PAPER_V, prefix: str = "layers"
) -> tuple[tuple[str, float], ...]:
    """The per-parameter SGD rate factors that turn He into ``schedule`` on the plain MLP
    (parameters ``<prefix>.<i>.weight`` / ``.bias``): 1/alpha_l for the weights and
    1/C_l, C_l = alpha_1 ... alpha_l, for the (zero-initialized) biases.

    The same factors as :func:`depthinit.theory.he_equivalent` of the schedule's plan
    (a test checks it); written here so that the registry needs no SymPy.
    """
    a = [float(x) for x in alphas(layers, schedule=cast(Any, schedule), network_variance=network_variance)]
    out, c = [], 1.0
    for i, al in enumerate(a):
        c *= al
        out += [(f"{prefix}.{i}.weight", 1.0 / al), (f"{prefix}.{i}.bias", 1.0 / c)]
    return tuple(out)


def ablation_variants(network_variance: float = PAPER_V) -> tuple[Variant, ...]:
    """The eight arms, in the order the chapter shows them."""
    he = (init("depth", base="he", distribution="normal", schedule="unit"),)
    temperature = math.sqrt(network_variance)
    arms = [Variant("He", {"inits": he}), Variant("He + logit scale", {"inits": he, "train.logit_scale": temperature})]
    for schedule in ("increasing", "decreasing"):
        scales = schedule_lr_scales(schedule, network_variance=network_variance)
        arms += [
            Variant(f"He + layer lrs ({schedule})", {"inits": he, "train.lr_scales": scales}),
            Variant(
                f"He + both ({schedule})", {"inits": he, "train.lr_scales": scales, "train.logit_scale": temperature}
            ),
        ]
    arms += [
        Variant(
            s,
            {
                "inits": (
                    init("depth", base="he", distribution="normal", schedule=s, network_variance=network_variance),
                )
            },
        )
        for s in ("increasing", "decreasing")
    ]
    return tuple(arms)


SCHEDULE_ABLATION = Experiment(
    name="schedule-ablation",
    dataset="cifar10",
    model=_MODEL,
    train=replace(FCNN_CIFAR10.train, optimizer="sgd", probe_epochs=()),
    inits=(init("depth", base="he", distribution="normal", schedule="unit"),),  # replaced by each arm
    seeds=(0, 1),
    preprocess="unit",
    lrs=DEFAULT_SGD_LRS,
    variants=ablation_variants(),
    profiles={
        "smoke": {**SMOKE, "train.probe_epochs": (), "train.n_val": 256, "lrs": SMOKE_SGD_LRS},
        "default": {},
        "paper": {**PAPER, "train.probe_epochs": (), "train.n_val": 5000, "train.epochs": 60, "lrs": SGD_LRS},
    },
    description="E1's ablation: He, He with the schedule's logit scale sqrt(V), He with its per-layer learning "
    "rates, both (which is the schedule), and the increasing and decreasing schedules themselves.",
    key="E1-ablation",
    chapter="e1_cifar10_mlp",
    title="E1: what a depth schedule does (ablation)",
)
