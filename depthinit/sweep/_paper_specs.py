"""The paper's three experiments (E1-E3) as specs, with the profiles the book runs.

Chapter: "E1: the 54-layer MLP on CIFAR-10", "E2: the MLP on MNIST", "E3: a
plain CNN on CIFAR-10". The grid is the paper's comparison (:func:`paper_grid`):
{he, glorot} x {normal, uniform} x {unit, constant, increasing, decreasing} at
network variance V = 22, plus orthogonal, random walk and LSUV, 19
initializations (E1 adds Glorot with V read as the network's gain).

What the paper does not state, chosen here and recorded with every result: the
optimizer, the learning rate, the batch size (128), the epochs and the CNN's
architecture. So that a verdict compares initializations and not one learning
rate's luck, E1 trains every initialization with each rate of a stated grid,
with two optimizers (SGD with heavy-ball momentum 0.9, and Adam), holds out a
validation split carved from the training set (seeded; never the test set),
and each initialization's rate is chosen on validation accuracy
(:func:`depthinit.analysis.tune`); the verdicts read the test accuracy of the
chosen setting. The grids were placed by a measured probe (one seed, 10000
CIFAR-10 images, 6 epochs): SGD's best rate was 0.003 for He normal,
0.0003-0.001 for LSUV and orthogonal and at most 0.0003 for the increasing
schedule (which collapsed to chance at 0.001); Adam's best lay between 0.0001
and 0.001. No warm-up is used (``TrainConfig.warmup_epochs`` = 0).

Profiles:

* ``"smoke"``: seconds; 512 training and 256 test images, 1 epoch, 1 seed, the
  smallest grids; numbers meaningless;
* ``"default"``: what the book runs on a 2-core CPU: 7000 training, 2000
  validation and 2000 test images, 4 epochs, 3 seeds (2 under Adam), three rates per
  optimizer, the He-normal schedules with LSUV and orthogonal under both
  optimizers and the uniform/Glorot configurations the claims need under SGD;
* ``"paper"``: all the data (5000 of the training images held out for
  validation), 60 epochs so the curves reach their plateau, 5 seeds, five rates
  per optimizer spanning 100x, every initialization under both optimizers (use
  a GPU: ``benchmarks/gpu_check.sh``).
"""

from __future__ import annotations

import dataclasses

from ..train import TrainConfig
from ._spec import Experiment, InitConfig, ModelConfig, Variant, depth_grid, init, paper_grid

#: Overrides every experiment's ``smoke`` profile starts from: seconds, numbers meaningless.
SMOKE = {"train.n_train": 512, "train.n_test": 256, "train.epochs": 1, "seeds": (0,), "train.probe_epochs": (0, 1)}
#: Overrides every experiment's ``paper`` profile starts from: all the data, 30 epochs, 5 seeds.
PAPER = {
    "train.n_train": None,
    "train.n_test": None,
    "train.epochs": 30,
    "seeds": (0, 1, 2, 3, 4),
    "train.probe_epochs": (0, 1, 5, 10, 20, 30),
}

#: SGD (momentum 0.9) and Adam learning-rate grids: the paper profile's five rates spanning 100x;
#: the default profile uses the middle three, the smoke profile two.
SGD_LRS: tuple[float, ...] = (0.0001, 0.0003, 0.001, 0.003, 0.01)
ADAM_LRS: tuple[float, ...] = (0.00003, 0.0001, 0.0003, 0.001, 0.003)
DEFAULT_SGD_LRS, DEFAULT_ADAM_LRS = SGD_LRS[1:4], ADAM_LRS[1:4]
SMOKE_SGD_LRS, SMOKE_ADAM_LRS = SGD_LRS[1:3], ADAM_LRS[1:3]

_MLP_TRAIN = TrainConfig(
    optimizer="sgd",
    lr=0.002,
    momentum=0.9,
    batch_size=128,
    epochs=5,
    n_train=7000,
    n_test=2000,
    probe_epochs=(0, 1, 5),
)


def glorot_gain_inits(schedules: tuple[str, ...] = ("increasing",)) -> tuple[InitConfig, ...]:
    """Glorot normal and uniform with V read as the network's own gain (``v_reading="gain"``)."""
    return tuple(
        init("depth", base="glorot", distribution=d, schedule=s, v_reading="gain")
        for d in ("normal", "uniform")
        for s in schedules
    )


def e1_inits(profile: str, optimizer: str) -> tuple[InitConfig, ...]:
    """E1's initializations in a profile under an optimizer.

    Paper profile: the 19 of the paper's grid and Glorot with V as gain, under both
    optimizers. Default (and smoke): the He-normal schedules, LSUV and orthogonal under
    both; under SGD also what claims 3-7 need (He uniform plain and increasing, Glorot
    normal plain, Glorot increasing under both readings of V, random walk).
    """
    if profile == "paper":
        return paper_grid() + glorot_gain_inits(("constant", "increasing", "decreasing"))
    core = depth_grid(base=("he",), distribution=("normal",)) + (init("lsuv"), init("orthogonal"))
    if optimizer == "adam" or profile == "smoke":
        return core
    return (
        core
        + depth_grid(base=("he",), distribution=("uniform",), schedule=("unit", "increasing"))
        + depth_grid(base=("glorot",), distribution=("normal",), schedule=("unit",))
        + depth_grid(base=("glorot",), distribution=("normal", "uniform"), schedule=("increasing",))
        + glorot_gain_inits()
        + (init("random_walk"),)
    )


def e1_variants(profile: str) -> tuple[Variant, ...]:
    """E1's two arms, ``"sgd"`` and ``"adam"``, each with its own learning-rate grid and inits
    (in the default profile Adam, the second optimizer, runs two seeds)."""
    grids = {
        "paper": (SGD_LRS, ADAM_LRS),
        "default": (DEFAULT_SGD_LRS, DEFAULT_ADAM_LRS),
        "smoke": (SMOKE_SGD_LRS, SMOKE_ADAM_LRS),
    }[profile]
    adam_seeds = {"default": {"seeds": (0, 1)}}.get(profile, {})
    return (
        Variant("sgd", {"train.optimizer": "sgd", "lrs": grids[0], "inits": e1_inits(profile, "sgd")}),
        Variant("adam", {"train.optimizer": "adam", "lrs": grids[1], "inits": e1_inits(profile, "adam"), **adam_seeds}),
    )


#: E1's training in the default profile: 4 epochs, 2000 validation images, probes at both ends
#: (7000 training images and 4 epochs keep the clean CI build inside its 45-minute budget,
#: depthinit/book/_budgets.py).
E1_TRAIN = dataclasses.replace(_MLP_TRAIN, epochs=4, n_val=2000, probe_epochs=(0, 4))

FCNN_CIFAR10 = Experiment(
    name="fcnn-cifar10",
    dataset="cifar10",
    model=ModelConfig("mlp", depth=54, width=64),
    train=E1_TRAIN,
    inits=paper_grid(),  # replaced by each arm
    seeds=(0, 1, 2),
    preprocess="unit",
    variants=e1_variants("default"),
    profiles={
        "smoke": {**SMOKE, "variants": e1_variants("smoke"), "train.n_val": 256},
        "default": {},
        "paper": {
            **PAPER,
            "variants": e1_variants("paper"),
            "train.n_val": 5000,
            "train.epochs": 60,
            "train.probe_epochs": (0, 1, 5, 10, 30, 60),
        },
    },
    description="E1: the paper's 54 x 64 ReLU MLP on CIFAR-10, pixels scaled to [0, 1]: the paper's "
    "initializations under SGD and Adam, each at its learning rate chosen on a validation split.",
    key="E1",
    chapter="e1_cifar10_mlp",
    title="E1: the 54-layer MLP on CIFAR-10",
)

FCNN_MNIST = Experiment(
    name="fcnn-mnist",
    dataset="mnist",
    model=ModelConfig("mlp", depth=54, width=64),
    train=dataclasses.replace(_MLP_TRAIN, epochs=4, n_val=2000, probe_epochs=(0, 4)),
    inits=paper_grid(),
    seeds=(0, 1),
    preprocess="unit",
    lrs=(0.0003, 0.002),
    profiles={
        "smoke": {**SMOKE, "train.n_val": 256, "lrs": (0.002,)},
        "default": {},
        "paper": {**PAPER, "train.n_val": 5000, "lrs": SGD_LRS},
    },
    description="E2: the same 54 x 64 ReLU MLP on MNIST, pixels scaled to [0, 1], the paper's 19 "
    "initializations under SGD, each at its learning rate chosen on a validation split.",
    key="E2",
    chapter="e2_mnist_mlp",
    title="E2: the MLP on MNIST",
)

CNN_CIFAR10 = Experiment(
    name="cnn-cifar10",
    dataset="cifar10",
    model=ModelConfig("cnn", depth=10, channels=16, pool_every=2),
    train=TrainConfig(
        optimizer="sgd",
        lr=0.01,
        momentum=0.9,
        batch_size=128,
        epochs=3,
        n_train=1200,
        n_test=1000,
        probe_epochs=(0, 3),
        probe_batch=64,
    ),
    inits=paper_grid(),
    seeds=(0, 1),
    preprocess="unit",
    profiles={
        "smoke": {**SMOKE, "model.depth": 4, "model.channels": 8},
        "default": {},
        "paper": {
            **PAPER,
            "model.pool_every": 4,
            "model.channels": 32,
            "train.n_val": 5000,
            "lrs": (0.003, 0.01, 0.03),
        },
    },
    description="E3: a plain 10-convolution ReLU CNN (16 channels, 2 x 2 max-pool after every second "
    "convolution, global average pooling, no batch norm) on CIFAR-10, 19 initializations.",
    key="E3",
    chapter="e3_cifar10_cnn",
    title="E3: a plain CNN on CIFAR-10",
)
