"""Experiments the paper planned but did not run (E6-E8), and the schemes that came after it.

Chapters: "E6: width and depth", "E7: tanh", "E8: normalization and residual
networks". The paper's Section 9 lists experiments on "tanh", "number of layers,
number of hidden units per layer", and Section 8 names batch normalization as
the remedy for high variance; none were reported. Each spec changes one thing
against E1's setting and keeps its training (SGD, momentum 0.9, batch 128, a
learning-rate grid with each configuration's rate chosen on a validation split,
see :mod:`depthinit.sweep._paper_specs`).

* ``WIDTH_DEPTH`` (E6): widths {32, 64, 256} x depths {20, 54} of the plain ReLU
  MLP on MNIST, He, the increasing and decreasing schedules at V = 22, and LSUV.
  The question: is the schedules' effect a finite-width effect (the theory's
  log-variance grows with the sum of 1/n_l, so it would fade as n grows)?
* ``TANH`` (E7): the 54-layer MLP with tanh on CIFAR-10: Glorot, Glorot with the
  increasing schedule, the mean-field critical initialization (edge of chaos,
  sigma_b^2 = 0.05) and LSUV.
* ``NORM_RESIDUAL`` (E8): BatchNorm off and on for He and the three schedules
  (does BN cancel V, as the theory predicts?), and a residual MLP (26 blocks of
  two layers, L = 54 weight layers, with scalar gates) under He, DS-Init, Fixup,
  ReZero and the increasing schedule.

The claims these experiments decide are the book's own, not the paper's:
:func:`depthinit.analysis.book_claims`.
"""

from __future__ import annotations

from dataclasses import replace

from ..train import TrainConfig
from ._labels import PAPER_V
from ._paper_specs import PAPER, SGD_LRS, SMOKE
from ._spec import Experiment, ModelConfig, Variant, depth_grid, init

_TRAIN = TrainConfig(
    optimizer="sgd",
    lr=0.001,
    momentum=0.9,
    batch_size=128,
    epochs=5,
    n_train=5000,
    n_val=1000,
    n_test=2000,
    probe_epochs=(0, 5),
)
_SMOKE = {**SMOKE, "train.n_val": 256, "train.probe_epochs": (0, 1)}
_PAPER = {**PAPER, "train.n_val": 5000, "lrs": SGD_LRS, "train.probe_epochs": (0, 1, 10, 30)}

WIDTHS: tuple[int, ...] = (32, 64, 256)
DEPTHS: tuple[int, ...] = (20, 54)


def _he_schedules() -> tuple:
    return depth_grid(
        base=("he",),
        distribution=("normal",),
        schedule=("unit", "increasing", "decreasing"),
        network_variance=(PAPER_V,),
    )


WIDTH_DEPTH = Experiment(
    name="width-depth",
    dataset="mnist",
    model=ModelConfig("mlp", depth=54, width=64),
    train=replace(_TRAIN, n_train=2500, epochs=4, probe_epochs=(0, 4)),
    inits=_he_schedules() + (init("lsuv"),),
    seeds=(0, 1),
    lrs=(0.0003, 0.001),
    variants=tuple(
        Variant(f"width {w}, L = {d}", {"model.width": w, "model.depth": d}) for d in DEPTHS for w in WIDTHS
    ),
    profiles={
        "smoke": {
            **_SMOKE,
            "lrs": (0.001,),
            "variants": tuple(
                Variant(f"width {w}, L = {d}", {"model.width": w, "model.depth": d}) for d in (6, 20) for w in (16, 32)
            ),
        },
        "default": {},
        "paper": _PAPER,
    },
    description="E6: the plain ReLU MLP on MNIST at widths 32, 64, 256 and depths 20, 54 under He, the increasing "
    "and decreasing schedules (V = 22) and LSUV: is the schedules' effect a finite-width effect?",
    key="E6",
    chapter="e6_width_depth",
    title="E6: width and depth",
)

TANH = Experiment(
    name="tanh",
    dataset="cifar10",
    model=ModelConfig("mlp", depth=54, width=64, activation="tanh"),
    train=replace(_TRAIN, n_train=7000, n_val=2000),
    inits=(
        init("glorot"),
        init("depth", base="glorot", schedule="increasing", nonlinearity="tanh"),
        init("critical", nonlinearity="tanh", sigma_b2=0.05),
        init("lsuv"),
    ),
    seeds=(0, 1),
    lrs=(0.0003, 0.001, 0.003),
    profiles={"smoke": {**_SMOKE, "lrs": (0.001,)}, "default": {}, "paper": _PAPER},
    description="E7: the 54 x 64 tanh MLP on CIFAR-10 under Glorot, Glorot with the increasing schedule, the "
    "mean-field critical initialization (sigma_b^2 = 0.05) and LSUV.",
    key="E7",
    chapter="e7_tanh",
    title="E7: tanh",
)

_RES = ModelConfig("resmlp", depth=26, width=64, gate=True)  # 26 blocks: 2 + 2 x 26 = 54 weight layers

NORM_RESIDUAL = Experiment(
    name="norm-residual",
    dataset="cifar10",
    model=ModelConfig("mlp", depth=54, width=64),
    train=replace(_TRAIN, n_train=4000),
    inits=_he_schedules(),
    seeds=(0, 1),
    lrs=(0.001, 0.003),
    variants=(
        Variant(
            "plain",
            {"inits": _he_schedules() + depth_grid(base=("he",), distribution=("normal",), schedule=("constant",))},
        ),
        Variant(
            "batch norm",
            {
                "model.batch_norm": True,
                "inits": _he_schedules() + depth_grid(base=("he",), distribution=("normal",), schedule=("constant",)),
            },
        ),
        Variant(
            "residual",
            {
                "model": _RES,
                "inits": (
                    init("depth", base="he", distribution="normal", schedule="unit"),
                    init("ds_init"),
                    init("fixup"),
                    init("rezero"),
                    init("depth", base="he", distribution="normal", schedule="increasing"),
                ),
            },
        ),
    ),
    profiles={"smoke": {**_SMOKE, "lrs": (0.001,)}, "default": {}, "paper": _PAPER},
    description="E8: the 54-layer ReLU MLP without and with batch norm under He and the three schedules, and a "
    "residual MLP (26 gated blocks, 54 weight layers) under He, DS-Init, Fixup, ReZero and the "
    "increasing schedule, on CIFAR-10.",
    key="E8",
    chapter="e8_norm_residual",
    title="E8: normalization and residual networks",
)
