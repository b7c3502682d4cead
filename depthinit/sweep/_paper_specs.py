"""The paper's three experiments (E1-E3) as specs, with the profiles the book runs.

Chapter: "E1: the 54-layer MLP on CIFAR-10", "E2: the MLP on MNIST", "E3: a
plain CNN on CIFAR-10". The grid of each is the paper's comparison
(:func:`paper_grid`): {he, glorot} x {normal, uniform} x {unit, constant,
increasing, decreasing} at network variance V = 22, plus orthogonal, random
walk and LSUV, 19 initializations.

What the paper does not state, chosen here and recorded with every result:
the optimizer (SGD with momentum 0.9, the classic setting for plain ReLU
networks), the learning rate, the batch size (128), the epochs, and the CNN's
architecture (the paper gives none).

The MLPs' learning rate is 0.002, measured (full MNIST, 10 epochs, the 19
initializations x 2 seeds, on an H200): with momentum 0.9, lr 0.01 let 9 of
38 runs diverge (NaN loss), 0.005 let 5 diverge, 0.002 none, while after one
epoch He-normal reached the same test accuracy (0.47 at 0.002, 0.48 at 0.01);
Keras's default SGD (lr 0.01, no momentum) let 3 diverge and Adam (lr 0.001)
none. Over 30 epochs at lr 0.01, 4 of 5 He-normal runs diverged. The CNN
(11 weight layers) keeps lr 0.01.

Profiles:

* ``"smoke"``: seconds; 512 training and 256 test images, 1 epoch, 1 seed;
* ``"default"``: what the book runs on a 2-core CPU; for the MLPs 10000
  training and 2000 test images, 5 epochs, 3 seeds; the CNN is smaller still;
* ``"paper"``: the full data sets, 30 epochs, 5 seeds (use a GPU).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from ..train import TrainConfig
from ._spec import Experiment, ModelConfig, paper_grid

#: Overrides every experiment's ``smoke`` profile starts from: seconds, numbers meaningless.
SMOKE = {"train.n_train": 512, "train.n_test": 256, "train.epochs": 1, "seeds": (0,), "train.probe_epochs": (0, 1)}
#: Overrides every experiment's ``paper`` profile starts from: all the data, 30 epochs, 5 seeds.
PAPER = {"train.n_train": None, "train.n_test": None, "train.epochs": 30, "seeds": (0, 1, 2, 3, 4),
         "train.probe_epochs": (0, 1, 5, 10, 20, 30)}

_MLP_TRAIN = TrainConfig(
    optimizer="sgd", lr=0.002, momentum=0.9, batch_size=128, epochs=5, n_train=10000, n_test=2000,
    probe_epochs=(0, 1, 5),
)

FCNN_CIFAR10 = Experiment(
    name="fcnn-cifar10",
    dataset="cifar10",
    model=ModelConfig("mlp", depth=54, width=64),
    train=_MLP_TRAIN,
    inits=paper_grid(),
    seeds=(0, 1, 2),
    preprocess="unit",
    profiles={"smoke": SMOKE, "default": {}, "paper": PAPER},
    description="E1: the paper's 54 x 64 ReLU MLP on CIFAR-10, pixels scaled to [0, 1], 19 initializations.",
    key="E1",
    chapter="e1_cifar10_mlp",
    title="E1: the 54-layer MLP on CIFAR-10",
)

FCNN_MNIST = dataclasses.replace(
    FCNN_CIFAR10,
    name="fcnn-mnist",
    dataset="mnist",
    description="E2: the same 54 x 64 ReLU MLP on MNIST, pixels scaled to [0, 1], 19 initializations.",
    key="E2",
    chapter="e2_mnist_mlp",
    title="E2: the MLP on MNIST",
)

CNN_CIFAR10 = Experiment(
    name="cnn-cifar10",
    dataset="cifar10",
    model=ModelConfig("cnn", depth=10, channels=16, pool_every=2),
    train=TrainConfig(optimizer="sgd", lr=0.01, momentum=0.9, batch_size=128, epochs=4, n_train=3000,
                      n_test=1000, probe_epochs=(0, 4), probe_batch=64),
    inits=paper_grid(),
    seeds=(0, 1),
    preprocess="unit",
    profiles={
        "smoke": {**SMOKE, "model.depth": 6},
        "default": {},
        "paper": {**PAPER, "model.pool_every": 4, "model.channels": 32},
    },
    description="E3: a plain 10-convolution ReLU CNN (16 channels, 2 x 2 max-pool after every second "
                "convolution, global average pooling, no batch norm) on CIFAR-10, 19 initializations.",
    key="E3",
    chapter="e3_cifar10_cnn",
    title="E3: a plain CNN on CIFAR-10",
)
