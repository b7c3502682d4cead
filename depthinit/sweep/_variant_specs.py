"""Experiments E4 and E5 as specs: the uniform-He stall and the sensitivity of the schedules.

Chapters: "E4: the uniform-He stall" and "E5: sensitivity". Both reuse E1's
setting (the paper's 54 x 64 ReLU MLP on CIFAR-10, batch 128, the data of E1's
default profile; see :mod:`depthinit.sweep._paper_specs`) and change one thing
at a time through :class:`~depthinit.sweep.Variant`, so every difference between
their runs is a difference of initialization, input scaling, network variance,
depth function, offset or depth.

* ``HE_UNIFORM_STALL`` (E4): He uniform against He normal, plain and with the
  paper's increasing schedule (4 initializations), once with pixels scaled to
  [0, 1] (the paper) and once standardized per channel, under SGD with E1's
  learning-rate grid and validation split (each configuration at its rate
  chosen on validation), probes after epochs 0, 1, 2 and the last. The paper's
  explanation of the stall is that the variance arguments assume zero-mean
  inputs; the chapter measures that at initialization and over the first
  epochs, and the paper's claim 3 is decided on these runs.
* ``SENSITIVITY`` (E5): He normal with the constant, increasing and decreasing
  schedules at network variance V in {1, 2, 5, 22, 100} (and plain He for
  reference); the offset c in {1, 5} and the depth functions power, linear and
  geometric at V = 22; depth L in {10, 20} (and 100 in the paper profile) at
  width 64. One learning rate, SGD 0.001 (the middle of E1's grid): E5 shows
  what the schedules do at a fixed rate, which by the reparameterization
  theorem includes changing every layer's effective rate; E1 shows them tuned.

Profiles: ``"smoke"`` (seconds, numbers meaningless), ``"default"`` (two CPU
cores: 7000 training images; E4 4 epochs and 3 seeds, E5 4 epochs and 2 seeds) and
``"paper"`` (all the data, 30 epochs; 10 seeds for E4, 5 for E5).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ._labels import PAPER_V
from ._paper_specs import DEFAULT_SGD_LRS, FCNN_CIFAR10, PAPER, SGD_LRS, SMOKE, SMOKE_SGD_LRS
from ._spec import Experiment, InitConfig, ModelConfig, Variant, depth_grid, init

_SMOKE = SMOKE
_PAPER = {**PAPER, "train.probe_epochs": (0, 1, 2, 3, 10, 30)}

# E1's training under SGD, 4 epochs (the stall is about the first epochs), probed after epochs 0, 1, 2, 4 (E4).
_E1 = replace(FCNN_CIFAR10.train, optimizer="sgd")
_E1_TRAIN = replace(_E1, epochs=4, probe_epochs=(0, 1, 2, 4))
# E1's data and length at one rate, no validation split, probed at both ends (E5).
_E1_ENDS = replace(_E1, lr=0.001, n_val=0, probe_epochs=(0, _E1.epochs))


def stall_inits() -> tuple[InitConfig, ...]:
    """E4's initializations: plain He and the paper's proposal (the increasing schedule
    at V = 22), each with the normal and the uniform distribution."""
    return depth_grid(
        base=("he",), distribution=("normal", "uniform"), schedule=("unit", "increasing"), network_variance=(PAPER_V,)
    )


HE_UNIFORM_STALL = Experiment(
    name="he-uniform-stall",
    dataset="cifar10",
    model=ModelConfig("mlp", depth=54, width=64),
    train=_E1_TRAIN,
    inits=stall_inits(),
    seeds=(0, 1, 2),
    preprocess="unit",
    lrs=DEFAULT_SGD_LRS,
    variants=(Variant("inputs [0, 1]", {"preprocess": "unit"}), Variant("standardized", {"preprocess": "standardize"})),
    profiles={
        "smoke": {**_SMOKE, "train.n_val": 256, "lrs": SMOKE_SGD_LRS},
        "default": {},
        "paper": {**_PAPER, "seeds": (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), "train.n_val": 5000, "lrs": SGD_LRS},
    },
    description="E4: He uniform vs He normal, plain and with the increasing schedule, on the 54 x 64 ReLU MLP, "
    "CIFAR-10 with pixels in [0, 1] vs standardized per channel, 8 configurations.",
    key="E4",
    chapter="e4_uniform_he_stall",
    title="E4: the uniform-He stall",
)

#: E5's values of the network variance, depth-function readings, offsets and depths.
SENSITIVITY_V: tuple[float, ...] = (1.0, 2.0, 5.0, 22.0, 100.0)
SENSITIVITY_DEPTH_FNS: tuple[str, ...] = ("power", "linear", "geometric")  # "log" is the V variant's reading
SENSITIVITY_OFFSETS: tuple[float, ...] = (1.0, 5.0)  # c = 0 is the V variant's offset
SENSITIVITY_DEPTHS: tuple[int, ...] = (10, 20, 100)  # L = 54 is the V variant's depth
#: The depths of the default (CPU) profile: L = 100 costs as much as the rest of E5 together.
DEFAULT_DEPTHS: tuple[int, ...] = (10, 20)


def sensitivity_variants(depths: tuple[int, ...] = SENSITIVITY_DEPTHS) -> tuple[Variant, ...]:
    """E5's variants; each names the one setting it varies and holds its own inits
    (one variant per depth in ``depths``)."""
    schedules = ("constant", "increasing", "decreasing")
    he: dict[str, Any] = {"base": ("he",), "distribution": ("normal",)}
    return (
        Variant(
            "network variance",
            {"inits": depth_grid(**he, schedule=("unit",) + schedules, network_variance=SENSITIVITY_V)},
        ),
        Variant(
            "offset",
            {
                "inits": depth_grid(
                    **he, schedule=("increasing", "decreasing"), network_variance=(PAPER_V,), offset=SENSITIVITY_OFFSETS
                )
            },
        ),
        Variant(
            "depth function",
            {
                "inits": depth_grid(
                    **he,
                    schedule=("increasing", "decreasing"),
                    network_variance=(PAPER_V,),
                    depth_fn=SENSITIVITY_DEPTH_FNS,
                )
            },
        ),
        *(
            Variant(
                f"L={L}",
                {
                    "model.depth": L,
                    "inits": depth_grid(**he, schedule=("unit",) + schedules, network_variance=(PAPER_V,)),
                },
            )
            for L in depths
        ),
    )


SENSITIVITY = Experiment(
    name="sensitivity",
    dataset="cifar10",
    model=ModelConfig("mlp", depth=54, width=64),
    train=_E1_ENDS,
    inits=(init("depth", base="he", distribution="normal", schedule="unit"),),  # replaced by each variant
    seeds=(0, 1, 2),
    preprocess="unit",
    variants=sensitivity_variants(),  # 2 seeds in the default profile
    profiles={
        "smoke": {**_SMOKE, "train.probe_epochs": (0,), "variants": sensitivity_variants(DEFAULT_DEPTHS)},
        "default": {"variants": sensitivity_variants(DEFAULT_DEPTHS), "seeds": (0, 1)},
        "paper": {**_PAPER, "train.probe_epochs": (0, 30)},
    },
    description="E5: He normal with the constant, increasing and decreasing schedules over V in {1, 2, 5, 22, 100}, "
    "the offset c, the depth-function readings and depth L in {10, 20, 54} (and 100 in the paper "
    "profile; width 64), CIFAR-10.",
    key="E5",
    chapter="e5_sensitivity",
    title="E5: sensitivity",
)
