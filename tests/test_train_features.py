"""Training features: validation data, per-parameter learning-rate factors, logit scale,
warm-up, any model through torch.func (batch norm, gates), the CUDA-graph step path
(walked on the CPU through its stand-in), architecture descriptions."""

import copy
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import depthinit
from depthinit.models import CNN, MLP, ResMLP
from depthinit.train import (
    HISTORY_COLUMNS,
    FlatOptimizer,
    Stack,
    Tensors,
    TrainConfig,
    architecture,
    benchmark_step,
    default_strategy,
    evaluate,
    stack_kind,
    train_many,
    train_one,
)

pytestmark = pytest.mark.usefixtures("one_thread")


class GatedBlock(nn.Module):
    """x + gate * fc2(relu(bn(fc1(x)))): the residual block of a ResMLP, from standard modules."""

    def __init__(self, width: int, batch_norm: bool, gate: float) -> None:
        super().__init__()
        # no bias before batch norm: its gradient is zero up to rounding, which Adam would
        # turn into steps of size lr in directions set by rounding noise
        self.fc1 = nn.Linear(width, width, bias=not batch_norm)
        self.bn = nn.BatchNorm1d(width) if batch_norm else nn.Identity()
        self.fc2 = nn.Linear(width, width)
        self.gate = gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gate * self.fc2(torch.relu(self.bn(self.fc1(x))))


class TinyResMLP(nn.Module):
    """A stem Linear, residual blocks with batch norm and a scalar gate, a classifier."""

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        blocks: int = 2,
        width: int = 12,
        batch_norm: bool = True,
        gate: float = 0.5,
    ) -> None:
        super().__init__()
        self.stem = nn.Linear(in_features, width)
        self.blocks = nn.ModuleList(GatedBlock(width, batch_norm, gate) for _ in range(blocks))
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x.flatten(1))
        for b in self.blocks:
            x = b(x)
        return self.classifier(x)


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(11)
    x = torch.rand(190, 3, 4, 4, generator=g)
    y = torch.randint(0, 5, (190,), generator=g)
    return Tensors(x[:100], y[:100], x[100:160], y[100:160], x[160:], y[160:])


def _init(models, scheme="he"):
    for i, m in enumerate(models):
        depthinit.init_(m, scheme, generator=torch.Generator().manual_seed(50 + i))
    return models


def _same(r1, r2, m1, m2, rtol=2e-4, atol=2e-5):
    assert (r1.status, r1.diverged_step) == (r2.status, r2.diverged_step)
    np.testing.assert_allclose(
        r2.history.drop(columns="wall_s").to_numpy(),
        r1.history.drop(columns="wall_s").to_numpy(),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
    )
    if r1.status != "ok":
        return  # a diverged run's weights are undefined
    for (name, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        if a.is_floating_point():
            torch.testing.assert_close(b, a, rtol=rtol, atol=atol, msg=name)
        else:
            assert torch.equal(a, b), name


# -- TrainConfig ----------------------------------------------------------------------------------
def test_config_new_fields_defaults_normalisation_and_json():
    c = TrainConfig()
    assert (c.n_val, c.lr_scales, c.logit_scale, c.warmup_epochs) == (0, (), 1.0, 0.0)
    c = TrainConfig(n_val=5, lr_scales={"b": 2, "a": 0.5}, logit_scale=3, warmup_epochs=2)
    assert c.lr_scales == (("a", 0.5), ("b", 2.0))
    assert all(isinstance(f, float) for _, f in c.lr_scales)
    assert isinstance(c.logit_scale, float) and isinstance(c.warmup_epochs, float)
    assert TrainConfig(lr_scales=[("b", 2.0), ("a", 0.5)]) == TrainConfig(lr_scales={"a": 0.5, "b": 2.0})
    d = c.to_dict()
    assert d["lr_scales"] == [["a", 0.5], ["b", 2.0]]
    assert TrainConfig(**json.loads(json.dumps(d))) == c
    # warm-up steps: W = max(1, round(warmup_epochs * steps)), factor min(1, t / W)
    assert TrainConfig().warmup_steps(10) == 0 and TrainConfig().lr_factor(1, 10) == 1.0
    w = TrainConfig(warmup_epochs=1.5)
    assert w.warmup_steps(4) == 6 and w.lr_factor(1, 4) == pytest.approx(1 / 6) and w.lr_factor(6, 4) == 1.0
    assert TrainConfig(warmup_epochs=0.01).warmup_steps(3) == 1


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n_val": -1}, "n_val"),
        ({"n_val": True}, "n_val"),
        ({"n_val": 1.5}, "n_val"),
        ({"lr_scales": (("a", -1.0),)}, r"lr_scales\['a'\]"),
        ({"lr_scales": (("a", float("nan")),)}, "lr_scales"),
        ({"lr_scales": (("a", True),)}, "lr_scales"),
        ({"lr_scales": (("a",),)}, "pair"),
        ({"lr_scales": ((1, 2.0),)}, "pair"),
        ({"lr_scales": (("a", 1.0), ("a", 2.0))}, "twice"),
        ({"lr_scales": 3}, "lr_scales"),
        ({"logit_scale": 0}, "logit_scale"),
        ({"logit_scale": float("inf")}, "logit_scale"),
        ({"logit_scale": True}, "logit_scale"),
        ({"warmup_epochs": -1}, "warmup_epochs"),
        ({"warmup_epochs": float("nan")}, "warmup_epochs"),
        ({"warmup_epochs": True}, "warmup_epochs"),
    ],
)
def test_config_new_field_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_unknown_lr_scale_name_lists_the_parameters(data):
    model = MLP(48, 5, depth=2, width=4)
    cfg = TrainConfig(epochs=1, lr_scales={"layers.9.weight": 2.0})
    with pytest.raises(ValueError, match=r"layers\.9\.weight.*layers\.0\.weight.*layers\.1\.bias"):
        train_one(model, data, cfg, progress=False)
    with pytest.raises(ValueError, match="not parameters of the model"):
        train_many([model, copy.deepcopy(model)], data, cfg, seeds=[0, 1], progress=False)
    with pytest.raises(ValueError, match="not parameters"):
        train_many([model], data, TrainConfig(epochs=1), seeds=[0], lr_scales=[{"nope": 1.0}], progress=False)
    with pytest.raises(ValueError, match="one mapping per model"):
        train_many([model], data, TrainConfig(epochs=1), seeds=[0], lr_scales=[{}, {}], progress=False)
    with pytest.raises(ValueError, match="logit scale"):
        train_many([model], data, TrainConfig(epochs=1), seeds=[0], logit_scales=[0.0], progress=False)
    with pytest.raises(ValueError, match="logit scales"):
        train_many([model], data, TrainConfig(epochs=1), seeds=[0], logit_scales=[1.0, 2.0], progress=False)
    with pytest.raises(ValueError, match="cuda_graph"):
        train_many([model], data, TrainConfig(epochs=1), seeds=[0], cuda_graph="yes", progress=False)


# -- semantics, checked against plain PyTorch -----------------------------------------------------
@pytest.mark.parametrize("nesterov", [False, True])
def test_per_parameter_factors_equal_torch_sgd_with_one_group_per_tensor(data, nesterov):
    """SGD with lr_scales equals torch.optim.SGD with one parameter group per tensor whose lr
    is lr * factor (an independent loop here), for train_one and train_many."""
    scales = {"layers.0.weight": 0.5, "layers.1.bias": 0.0, "layers.2.weight": 2.0}
    cfg = TrainConfig(
        lr=0.05,
        momentum=0.9,
        nesterov=nesterov,
        epochs=2,
        batch_size=40,
        eval_init=False,
        dtype="float64",
        lr_scales=scales,
    )
    base = _init([MLP(48, 5, depth=3, width=8) for _ in range(2)])
    ref = copy.deepcopy(base[0]).double()
    groups = [{"params": [p], "lr": 0.05 * scales.get(n, 1.0)} for n, p in ref.named_parameters()]
    opt = torch.optim.SGD(groups, lr=0.05, momentum=0.9, nesterov=nesterov)
    gen = torch.Generator().manual_seed(3)
    x, y = data.x_train.double(), data.y_train
    for _ in range(2):
        order = torch.randperm(len(x), generator=gen)
        for s in range(0, len(x), 40):
            idx = order[s : s + 40]
            opt.zero_grad()
            F.cross_entropy(ref(x[idx]), y[idx]).backward()
            opt.step()
    one = copy.deepcopy(base[0])
    train_one(one, data, cfg, seed=3, progress=False)
    many = [copy.deepcopy(m) for m in base]
    train_many(many, data, cfg, seeds=[3, 4], progress=False)
    for m in (one, many[0]):
        for (name, p), q in zip(ref.named_parameters(), m.parameters()):
            torch.testing.assert_close(q, p, rtol=1e-10, atol=1e-12, msg=name)
    torch.testing.assert_close(many[0].layers[1].bias, base[0].layers[1].bias.double())  # factor 0 froze it


def test_warmup_first_step_is_lr_over_w_and_logit_scale_enters_the_loss(data):
    """Plain SGD, one step per epoch: step 1 moves by -(lr / W) * grad of the mean
    cross-entropy of s * logits, computed here with autograd."""
    n = 40
    small = Tensors(data.x_train[:n], data.y_train[:n], data.x_test, data.y_test)
    model = _init([MLP(48, 5, depth=2, width=6)])[0]
    before = copy.deepcopy(model)
    cfg = TrainConfig(lr=0.1, momentum=0.0, batch_size=n, epochs=1, warmup_epochs=4, logit_scale=2.5, eval_init=False)
    train_one(model, small, cfg, seed=0, progress=False)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    loss = F.cross_entropy(2.5 * before(small.x_train[order]), small.y_train[order])
    grads = torch.autograd.grad(loss, list(before.parameters()))
    for p0, g, p1 in zip(before.parameters(), grads, model.parameters()):
        torch.testing.assert_close(p1, p0 - 0.1 / 4 * g, rtol=1e-5, atol=1e-7)


def test_validation_columns_and_logit_scaled_evaluation(data):
    model = _init([MLP(48, 5, depth=3, width=8)])[0]
    cfg = TrainConfig(lr=0.05, epochs=1, batch_size=50, logit_scale=0.5)
    r = train_one(copy.deepcopy(model), data, cfg, seed=0, progress=False)
    assert tuple(r.history.columns) == HISTORY_COLUMNS
    assert HISTORY_COLUMNS == (
        "epoch",
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "test_loss",
        "test_acc",
        "wall_s",
    )
    with torch.no_grad():
        out = model.eval()(data.x_val)
        expect = float(F.cross_entropy(0.5 * out, data.y_val))
        acc = float((out.argmax(1) == data.y_val).double().mean())
    assert r.history.loc[0, "val_loss"] == pytest.approx(expect, rel=1e-5)
    assert r.history.loc[0, "val_acc"] == pytest.approx(acc)
    assert evaluate(model, data.x_val, data.y_val, 7, logit_scale=0.5) == pytest.approx((expect, acc), rel=1e-5)
    # without validation tensors (or with zero rows) the columns are NaN
    for d in (
        Tensors(data.x_train, data.y_train, data.x_test, data.y_test),
        Tensors(data.x_train, data.y_train, data.x_test, data.y_test, data.x_val[:0], data.y_val[:0]),
    ):
        h = train_many([copy.deepcopy(model)], d, cfg, seeds=[0], progress=False)[0].history
        assert h[["val_loss", "val_acc"]].isna().all().all() and h["test_loss"].notna().all()
    with pytest.raises(ValueError, match="validation"):
        train_one(
            copy.deepcopy(model),
            Tensors(data.x_train, data.y_train, data.x_test, data.y_test, data.x_val, data.y_val[:3]),
            cfg,
            progress=False,
        )


@pytest.mark.parametrize("optimizer,nesterov", [("sgd", False), ("sgd", True), ("adam", False)])
def test_per_member_overrides_train_in_one_stack(data, optimizer, nesterov):
    """Members differing only in lr, lr_scales and logit scale: each equals train_one with
    those settings in its config."""
    lr = 0.05 if optimizer == "sgd" else 3e-3
    cfg = TrainConfig(
        optimizer=optimizer,
        nesterov=nesterov,
        lr=lr,
        epochs=2,
        batch_size=32,
        warmup_epochs=1.5,
        probe_epochs=(2,),
        probe_batch=20,
    )
    base = _init([MLP(48, 5, depth=3, width=8) for _ in range(3)])
    scales = [{}, {"layers.0.weight": 0.3}, {"layers.2.bias": 2.0, "layers.1.weight": 0.5}]
    logits = [1.0, 2.0, 0.7]
    lrs = [lr, lr * 0.5, lr]
    many = [copy.deepcopy(m) for m in base]
    res = train_many(many, data, cfg, seeds=[0, 0, 1], lrs=lrs, lr_scales=scales, logit_scales=logits, progress=False)
    for k in range(3):
        m1 = copy.deepcopy(base[k])
        c = TrainConfig(**{**cfg.to_dict(), "lr_scales": scales[k], "logit_scale": logits[k]})
        r1 = train_one(m1, data, c, seed=[0, 0, 1][k], lr=lrs[k], progress=False)
        _same(r1, res[k], m1, many[k])
        np.testing.assert_allclose(res[k].probes["std"], r1.probes["std"], rtol=1e-3, atol=1e-7)


# -- any model: torch.func with batch norm and gates ----------------------------------------------
def _resmlp(bias: bool) -> nn.Module:
    return ResMLP(48, 5, blocks=2, width=8, batch_norm=True, gate=True, bias=bias)


def _mlp_bn(bias: bool) -> nn.Module:
    return MLP(48, 5, depth=3, width=8, batch_norm=True, bias=bias)


def _tiny(bias: bool) -> nn.Module:
    return TinyResMLP(48, 5)


@pytest.mark.parametrize(
    "build,strategy,optimizer",
    [
        (_resmlp, "func", "sgd"),
        (_resmlp, "func", "adam"),
        (_resmlp, "loop", "sgd"),
        (_resmlp, "loop", "adam"),
        (_mlp_bn, "func", "sgd"),
        (_mlp_bn, "func", "adam"),
        (_tiny, "func", "sgd"),
    ],
    ids=[
        "resmlp-func-sgd",
        "resmlp-func-adam",
        "resmlp-loop-sgd",
        "resmlp-loop-adam",
        "mlp_bn-func-sgd",
        "mlp_bn-func-adam",
        "gated-func-sgd",
    ],
)
def test_any_model_with_batch_norm_and_gate_equals_one_by_one(data, build, strategy, optimizer):
    """ResMLP (batch norm, learnable scalar gates), MLP(batch_norm=True) and a hand-made
    gated block train in a stack exactly as alone: per-member batch statistics, running
    statistics and batch counters, gates, probes. (With Adam the models have no biases:
    a bias right before a batch norm has a gradient that is zero up to rounding, which
    Adam's normalisation turns into steps of size lr whose signs are rounding noise.)"""
    lr = 0.05 if optimizer == "sgd" else 3e-3
    cfg = TrainConfig(
        optimizer=optimizer,
        lr=lr,
        epochs=2,
        batch_size=32,
        warmup_epochs=0.5,
        logit_scale=1.3,
        probe_epochs=(0, 2),
        probe_batch=16,
    )
    base = _init([build(optimizer == "sgd") for _ in range(3)])
    assert stack_kind(base[0]) == "module"
    singles = []
    for m, seed in zip(base, [0, 1, 0]):
        m1 = copy.deepcopy(m)
        singles.append((m1, train_one(m1, data, cfg, seed=seed, progress=False)))
    many = [copy.deepcopy(m) for m in base]
    res = train_many(many, data, cfg, seeds=[0, 1, 0], strategy=strategy, progress=False)
    for (m1, r1), m2, r2 in zip(singles, many, res):
        _same(r1, r2, m1, m2)
        assert list(r2.probes["layer"].unique()) == list(r1.probes["layer"].unique())
        np.testing.assert_allclose(r2.probes["mean"], r1.probes["mean"], rtol=1e-3, atol=1e-6)
    # the running statistics moved, member by member; batches counted (4 steps per epoch)
    bns = [[m for m in model.modules() if isinstance(m, nn.BatchNorm1d)] for model in many]
    assert all(int(bn.num_batches_tracked) == 8 for bn in bns[0])
    assert not torch.allclose(bns[0][-1].running_mean, bns[1][-1].running_mean)
    if build is _resmlp:
        gates = [float(g.detach()) for g in many[0].residual_gates()]
        assert gates != [1.0, 1.0]  # the gates trained


def test_cnn_with_batch_norm_and_tanh_mlp(data):
    cfg = TrainConfig(lr=0.03, epochs=1, batch_size=32)
    cnns = _init([CNN(3, 5, depth=2, channels=3, batch_norm=True) for _ in range(2)])
    tanh = _init([MLP(48, 5, depth=3, width=8, activation="tanh") for _ in range(2)], "glorot")
    assert stack_kind(tanh[0]) == "mlp" and stack_kind(cnns[0]) == "cnn"
    for models, strategies in ((cnns, ("grouped", "func", "loop")), (tanh, ("bmm", "func"))):
        singles = []
        for m in models:
            m1 = copy.deepcopy(m)
            singles.append((m1, train_one(m1, data, cfg, seed=2, progress=False)))
        for strategy in strategies:
            many = [copy.deepcopy(m) for m in models]
            res = train_many(many, data, cfg, seeds=[2, 2], strategy=strategy, progress=False)
            for (m1, r1), m2, r2 in zip(singles, many, res):
                _same(r1, r2, m1, m2)


def test_architecture_describes_structure_not_values():
    a, b = TinyResMLP(6, 3), TinyResMLP(6, 3)
    with torch.no_grad():
        b.stem.weight.mul_(3.0)
    hash(architecture(a))
    assert architecture(a) == architecture(b)
    assert architecture(a) != architecture(TinyResMLP(6, 3, gate=0.25))  # a plain attribute
    assert architecture(a) != architecture(TinyResMLP(6, 3, width=13))  # shapes
    assert architecture(a) != architecture(TinyResMLP(6, 3, batch_norm=False))  # modules
    assert architecture(MLP(6, 3, depth=2, width=4)) != architecture(MLP(6, 3, depth=2, width=4, activation="tanh"))
    seq = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
    assert architecture(seq) == architecture(copy.deepcopy(seq))
    with pytest.raises(TypeError, match="nn.Module"):
        architecture("mlp")
    with pytest.raises(ValueError, match="architecture"):
        Stack([TinyResMLP(6, 3), TinyResMLP(6, 3, gate=0.1)])
    with pytest.raises(ValueError, match="cannot train a TinyResMLP"):
        Stack([TinyResMLP(6, 3)], strategy="bmm")


def test_sequential_model_without_weight_layers_trains_in_a_stack(data):
    """Any model of standard modules, even one without weight_layers(): depth order by call."""
    base = [nn.Sequential(nn.Flatten(), nn.Linear(48, 7), nn.Tanh(), nn.Linear(7, 5)) for _ in range(2)]
    _init(base)
    cfg = TrainConfig(lr=0.05, epochs=1, batch_size=25, probe_epochs=(1,), probe_batch=10)
    m1 = copy.deepcopy(base[1])
    r1 = train_one(m1, data, cfg, seed=1, progress=False)
    many = [copy.deepcopy(m) for m in base]
    r2 = train_many(many, data, cfg, seeds=[0, 1], progress=False)[1]
    _same(r1, r2, m1, many[1])
    assert list(r2.probes["layer"].unique()) == ["1", "3"] and list(r2.probes["depth"].unique()) == [1, 2]


def test_default_strategy_table():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    mlp, cnn, other = MLP(6, 3, depth=2, width=4), CNN(3, 3, depth=2, channels=2), TinyResMLP(6, 3)
    assert default_strategy(mlp, cpu, 16) == default_strategy(mlp, cuda, 320) == "bmm"
    assert default_strategy(cnn, cpu, 16) == "loop"
    assert default_strategy(cnn, cuda, 1) == "loop" and default_strategy(cnn, cuda, 16) == "func"
    assert default_strategy(other, cpu, 4) == default_strategy(other, cuda, 4) == "func"
    assert default_strategy(other, cpu, 1) == default_strategy(other, cuda, 3) == "loop"


# -- the CUDA-graph step path, walked on the CPU ----------------------------------------------------
def test_graph_path_replays_and_equals_eager(data):
    """cuda_graph=True off CUDA: warm-up steps, a stand-in capture and replays from static
    buffers; the trajectory equals the eager path and train_one (last batch eager)."""
    cfg = TrainConfig(optimizer="adam", lr=3e-3, epochs=3, batch_size=30, warmup_epochs=1.0, probe_epochs=(3,))
    base = _init([MLP(48, 5, depth=3, width=8) for _ in range(3)])
    runs = {}
    for graph in (False, True):
        many = [copy.deepcopy(m) for m in base]
        runs[graph] = (
            many,
            train_many(many, data, cfg, seeds=[0, 1, 0], lrs=[3e-3, 1e20, 3e-3], cuda_graph=graph, progress=False),
        )
    assert [r.status for r in runs[True][1]] == ["ok", "diverged", "ok"]
    for k in range(3):
        _same(runs[False][1][k], runs[True][1][k], runs[False][0][k], runs[True][0][k], rtol=1e-5, atol=1e-6)
    m1 = copy.deepcopy(base[2])
    _same(train_one(m1, data, cfg, seed=0, progress=False), runs[True][1][2], m1, runs[True][0][2])
    step = benchmark_step("mlp", 2, input_shape=(3, 4, 4), batch_size=8, cuda_graph=True)
    ref = benchmark_step("mlp", 2, input_shape=(3, 4, 4), batch_size=8, cuda_graph=False)
    for _ in range(6):
        step()
        ref()
    assert step.runner.replays == 3 and ref.runner.replays == 0
    torch.testing.assert_close(step.stack.flat, ref.stack.flat, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("optimizer,nesterov,wd", [("sgd", False, 0.0), ("sgd", True, 1e-3), ("adam", False, 1e-3)])
def test_device_scalar_optimizer_equals_the_default(gen, optimizer, nesterov, wd):
    """The capturable form (count, warm-up and bias corrections on the device) takes the same
    steps as the default form, with one rate or one per entry."""
    cfg = TrainConfig(optimizer=optimizer, nesterov=nesterov, weight_decay=wd, lr=0.01)
    p0 = torch.randn(50, generator=gen, dtype=torch.float64)
    grads = [torch.randn(50, generator=gen, dtype=torch.float64) for _ in range(7)]
    for lr in (0.01, torch.linspace(0.001, 0.02, 50, dtype=torch.float64)):
        ps = []
        for device_scalars in (False, True):
            p = p0.clone()
            opt = FlatOptimizer(p, cfg, lr, warmup_steps=4, device_scalars=device_scalars)
            for g in grads:
                opt.step(p, g.clone())
            ps.append(p)
        torch.testing.assert_close(ps[1], ps[0], rtol=1e-12, atol=1e-14)
        assert not torch.allclose(ps[0], p0)


def test_import_needs_no_tqdm(tmp_path):
    """The core install is torch + numpy (+ pandas): depthinit.train imports and trains
    where tqdm cannot be imported (a stand-in package that raises on import shadows it)."""
    fake = tmp_path / "tqdm"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('tqdm is not installed here')\n")
    code = (
        "import sys, torch\n"
        "from depthinit.models import MLP\n"
        "from depthinit.train import Tensors, TrainConfig, train_many, train_one\n"
        "x = torch.rand(20, 4); y = torch.randint(0, 2, (20,))\n"
        "r = train_one(MLP(4, 2, depth=2, width=3), Tensors(x, y, x, y), TrainConfig(epochs=1), progress=True)\n"
        "rs = train_many([MLP(4, 2, depth=2, width=3)], Tensors(x, y, x, y), TrainConfig(epochs=1), seeds=[0],\n"
        "                progress=True)\n"
        "assert 'tqdm' not in sys.modules\n"
        "print(len(r.history), len(rs[0].history))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2 2"


def test_probe_gradient_uses_the_logit_scale(data):
    """The gradient probe is that of the training loss, logits times logit_scale."""
    model = _init([MLP(48, 5, depth=2, width=6)])[0]
    r = [
        train_one(
            copy.deepcopy(model),
            data,
            TrainConfig(epochs=0, probe_epochs=(0,), probe_batch=20, logit_scale=s),
            progress=False,
        )
        for s in (1.0, 3.0)
    ]
    g1 = r[0].probes[r[0].probes["kind"] == "gradient"]["std"].to_numpy()
    g3 = r[1].probes[r[1].probes["kind"] == "gradient"]["std"].to_numpy()
    x, y = data.x_train[:20], data.y_train[:20]
    w = model.layers[1].weight
    expect = torch.autograd.grad(F.cross_entropy(3.0 * model.eval()(x), y), w)[0].std(unbiased=False)
    assert g3[1] == pytest.approx(float(expect), rel=1e-5)
    assert not math.isclose(g1[1], g3[1], rel_tol=1e-3)
