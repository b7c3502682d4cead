"""Reliability of the trainers (issue 14, found by benchmarks/attacks.py): bad settings and bad
data are refused before the first step with an error naming the value, the model left as it was.
Before, NaN inputs gave a run marked "diverged" (blamed on its initialization), an empty test set
gave test accuracy 0, fractional labels were truncated, and out-of-range labels or mismatched
shapes failed with raw IndexError/RuntimeError halfway through an evaluation."""

import math

import pytest
import torch

import depthinit
from depthinit.models import MLP
from depthinit.train import Tensors, TrainConfig, train_many, train_one

pytestmark = pytest.mark.usefixtures("one_thread")
CFG = TrainConfig(lr=0.05, epochs=1, batch_size=16)


def _data(**changes):
    g = torch.Generator().manual_seed(3)
    x = torch.rand(60, 16, generator=g)
    y = (x.mean(1) * 30).long() % 3
    fields = {"x_train": x[:40], "y_train": y[:40], "x_test": x[40:], "y_test": y[40:], **changes}
    return Tensors(**fields)


def _model(seed=0):
    m = MLP(16, 3, depth=3, width=8)
    depthinit.init_(m, "he", generator=torch.Generator().manual_seed(seed))
    return m


def _state(model):
    return [t.detach().clone() for t in model.state_dict().values()], [m.training for m in model.modules()]


def _train(trainer, model, data, config=CFG):
    if trainer == "one":
        return train_one(model, data, config)
    return train_many([model, _model(1)], data, config, seeds=[0, 1])


def _nan_at(x, row):
    x = x.clone()
    x[row, 3] = math.nan
    return x


BAD_DATA = [
    ("NaN input", lambda d: {"x_train": _nan_at(d.x_train, 7)}, r"data\.x_train holds a non-finite value .* example 7"),
    (
        "inf input",
        lambda d: {"x_train": d.x_train.index_fill(0, torch.tensor([2]), math.inf)},
        "x_train holds a non-finite",
    ),
    ("NaN test input", lambda d: {"x_test": _nan_at(d.x_test, 0)}, "x_test holds a non-finite"),
    ("complex inputs", lambda d: {"x_train": d.x_train.to(torch.cfloat)}, "x_train must be a real tensor"),
    ("fractional labels", lambda d: {"y_train": d.y_train.double() + 0.5}, "not whole numbers"),
    ("negative label", lambda d: {"y_train": d.y_train.index_fill(0, torch.tensor([1]), -1)}, "holds the label -1"),
    ("2-D labels", lambda d: {"y_train": d.y_train[:, None]}, "must be a 1-D tensor of class indices"),
    ("labels shorter than inputs", lambda d: {"y_train": d.y_train[:-3]}, "has 37 labels for 40 inputs"),
    (
        "label above the outputs",
        lambda d: {"y_train": d.y_train.index_fill(0, torch.tensor([4]), 7)},
        r"y_train holds the label 7 but MLP has 3 outputs",
    ),
    (
        "test label above the outputs",
        lambda d: {"y_test": d.y_test.index_fill(0, torch.tensor([0]), 9)},
        r"y_test holds the label 9 but MLP has 3 outputs",
    ),
    ("empty test set", lambda d: {"x_test": d.x_test[:0], "y_test": d.y_test[:0]}, "the test set is empty"),
    (
        "inputs of another size",
        lambda d: {"x_train": torch.rand(40, 25), "x_test": torch.rand(20, 25)},
        r"MLP cannot run on the training inputs \(one example of shape \(25,\)",
    ),
    ("test inputs of another shape", lambda d: {"x_test": torch.rand(20, 9)}, r"x_test has example shape \(9,\)"),
]


@pytest.mark.parametrize("trainer", ["one", "many"])
@pytest.mark.parametrize("case, change, match", BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_bad_data_is_refused_before_the_first_step(trainer, case, change, match):
    model = _model()
    model.train()
    before = _state(model)
    with pytest.raises(ValueError, match=match):
        _train(trainer, model, _data(**change(_data())))
    after = _state(model)
    assert all(torch.equal(a, b) for a, b in zip(before[0], after[0])) and before[1] == after[1]


def test_integral_float_labels_are_accepted():
    d = _data()
    r = train_one(_model(), Tensors(d.x_train, d.y_train.double(), d.x_test, d.y_test.float()), CFG)
    assert r.status == "ok" and r.history["test_acc"].notna().all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weight_decay": True}, "weight_decay=True is not valid"),
        ({"weight_decay": "0"}, "weight_decay='0' is not valid"),
        ({"nesterov": "yes"}, "nesterov='yes' is not valid; expected True or False"),
        ({"eval_init": "no"}, "eval_init='no' is not valid; expected True or False"),
        ({"probe_epochs": 3}, r"probe_epochs=3 is not valid; expected a tuple of epochs"),
    ],
)
def test_train_config_refuses_values_of_the_wrong_type(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: train_one(None, _data(), CFG), TypeError, "model 0 is a NoneType, not a torch.nn.Module"),
        (lambda: train_many([_model(), "m"], _data(), CFG, seeds=[0, 1]), TypeError, "model 1 is a str"),
        (lambda: train_one(_model(), _data(), {"lr": 0.1}), TypeError, "config must be a depthinit.train.TrainConfig"),
        (lambda: train_one(_model(), _data(), CFG, seed=2**64), ValueError, r"expected an integer in 0\.\.2\*\*64-1"),
        (lambda: train_one(_model(), _data(), TrainConfig(epochs=1, device="meta")), ValueError, "holds no data"),
        (
            lambda: train_many([_model()], _data(), TrainConfig(epochs=1, device="cuda:7"), seeds=[0]),
            ValueError,
            "cuda:7",
        ),
    ],
)
def test_arguments_of_the_wrong_kind_are_refused(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_a_model_with_nothing_to_train_is_refused():
    frozen = _model()
    for p in frozen.parameters():
        p.requires_grad_(False)
    for call in (
        lambda: train_one(torch.nn.Flatten(), _data(), CFG),
        lambda: train_many([frozen], _data(), CFG, seeds=[0]),
    ):
        with pytest.raises(ValueError, match="so there is nothing to train"):
            call()


def test_train_many_leaves_a_frozen_parameter_as_train_one_does():
    """train_many used to train a tensor with requires_grad=False (train_one, through torch.optim, does not)."""
    import copy

    m = _model()
    m.layers[0].weight.requires_grad_(False)
    w0 = m.layers[0].weight.detach().clone()
    one, many = copy.deepcopy(m), copy.deepcopy(m)
    a = train_one(one, _data(), CFG)
    b = train_many([many, _model(1)], _data(), CFG, seeds=[0, 1])[0]
    assert torch.equal(one.layers[0].weight, w0) and torch.equal(many.layers[0].weight, w0)
    assert torch.allclose(
        torch.tensor(a.history["test_loss"].to_numpy()), torch.tensor(b.history["test_loss"].to_numpy()), atol=1e-5
    )
