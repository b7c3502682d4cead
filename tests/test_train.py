"""Training: the vectorised trainer against one-by-one training, determinism, divergence, probes."""

import copy

import numpy as np
import pytest
import torch

import depthinit
from depthinit.models import CNN, MLP
from depthinit.train import (
    HIST_EDGES,
    METRIC_COLUMNS,
    QUANTILES,
    STAT_COLUMNS,
    Stack,
    Tensors,
    TrainConfig,
    benchmark_step,
    member_stats,
    train_many,
    train_one,
)

SCHEMES = [
    ("he", {}),
    ("depth", {"schedule": "increasing", "network_variance": 22.0}),
    ("glorot", {"distribution": "uniform"}),
    ("depth", {"schedule": "constant", "network_variance": 1e6}),  # with a large lr, it diverges
    ("orthogonal", {}),
]
SEEDS = [0, 1, 0, 2, 1]  # three batch orders; members 0 and 2 (and 1 and 4) share theirs


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(7)
    x = torch.rand(200, 3, 8, 8, generator=g)
    y = torch.randint(0, 10, (200,), generator=g)
    return Tensors(x[:150], y[:150], x[150:], y[150:])


@pytest.fixture(scope="module")
def data_val(data):
    """The same training and test sets with 30 validation examples beside them."""
    g = torch.Generator().manual_seed(8)
    return Tensors(
        data.x_train,
        data.y_train,
        data.x_test,
        data.y_test,
        torch.rand(30, 3, 8, 8, generator=g),
        torch.randint(0, 10, (30,), generator=g),
    )


def _members(kind: str) -> list[torch.nn.Module]:
    out = []
    for i, (scheme, opts) in enumerate(SCHEMES):
        m = MLP(192, 10, depth=5, width=16) if kind == "mlp" else CNN(3, 10, depth=3, channels=4, pool_every=2)
        depthinit.init_(m, scheme, generator=torch.Generator().manual_seed(100 + i), **opts)
        out.append(m)
    return out


def _assert_same_run(single, many, m1, m2, *, rtol=2e-4, atol=2e-5):
    assert single.status == many.status
    assert single.diverged_step == many.diverged_step
    assert single.diverged_epoch == many.diverged_epoch
    h1 = single.history.drop(columns="wall_s").to_numpy()
    h2 = many.history.drop(columns="wall_s").to_numpy()
    assert h1.shape == h2.shape
    np.testing.assert_allclose(h2, h1, rtol=rtol, atol=atol, equal_nan=True)
    if single.status == "ok":
        for (name, p1), (_, p2) in zip(m1.named_parameters(), m2.named_parameters()):
            torch.testing.assert_close(p2, p1, rtol=rtol, atol=atol, msg=name)
        a, b = single.probes, many.probes
        assert list(a.columns) == list(b.columns)
        assert (
            a[["epoch", "layer", "depth", "kind"]].to_numpy() == b[["epoch", "layer", "depth", "kind"]].to_numpy()
        ).all()
        for c in ("mean", "std", "q50", "q95"):
            scale = np.maximum(np.abs(a[c].to_numpy()), a["std"].to_numpy()) + 1e-6
            assert np.all(np.abs(a[c].to_numpy() - b[c].to_numpy()) <= 1e-3 * scale + 1e-6), c


#: lr_scales, logit_scale, warm-up and validation, on top of the plain setting
EXTRAS = dict(warmup_epochs=0.7, logit_scale=1.5, lr_scales={"classifier.bias": 0.5, "layers.0.weight": 0.25})


@pytest.mark.parametrize("extras", [False, True], ids=["plain", "extras"])
@pytest.mark.parametrize(
    "kind,strategy,optimizer",
    [
        ("mlp", "bmm", "sgd"),
        ("mlp", "bmm", "adam"),
        ("mlp", "loop", "sgd"),
        ("mlp", "func", "adam"),
        ("cnn", "grouped", "sgd"),
        ("cnn", "loop", "adam"),
        ("cnn", "func", "sgd"),
    ],
)
def test_vectorised_equals_one_by_one(data, data_val, kind, strategy, optimizer, extras):
    """Each member's trajectory (history, weights, probes) equals training it alone, over
    2 epochs of 3 steps, while member 3 diverges (at step 4 or 2) and the others go on;
    with ``extras`` also under per-parameter lr factors, a logit scale, a warm-up and
    with validation data (the val columns then hold numbers, else NaN)."""
    lr = 0.05 if optimizer == "sgd" else 2e-3
    more = {}
    if extras:
        names = {"mlp": "layers.0.weight", "cnn": "convs.0.weight"}
        more = dict(EXTRAS, lr_scales={"classifier.bias" if kind == "cnn" else "layers.4.bias": 0.5, names[kind]: 0.25})
    cfg = TrainConfig(
        optimizer=optimizer, lr=lr, epochs=2, batch_size=64, n_train=None, probe_epochs=(0, 2), probe_batch=32, **more
    )
    d = data_val if extras else data
    lrs = [lr] * 5
    lrs[3] = 1.0 if (kind, optimizer) == ("mlp", "sgd") else 1e20  # NaN at step 4 (epoch 2) or at step 2
    base = _members(kind)
    singles = []
    for m, seed, rate in zip(base, SEEDS, lrs):
        m1 = copy.deepcopy(m)
        singles.append((m1, train_one(m1, d, cfg, seed=seed, lr=rate, progress=False)))
    models = [copy.deepcopy(m) for m in base]
    many = train_many(models, d, cfg, seeds=SEEDS, lrs=lrs, strategy=strategy, progress=False)
    assert [r.status for r in many] == ["ok", "ok", "ok", "diverged", "ok"]
    if not extras:
        assert many[3].diverged_step == (4 if (kind, optimizer) == ("mlp", "sgd") else 2)
    for (m1, r1), m2, r2 in zip(singles, models, many):
        _assert_same_run(r1, r2, m1, m2)
        val = r2.history[["val_loss", "val_acc"]]
        if r2.status == "ok":
            assert val.notna().all().all() if extras else val.isna().all().all()
    assert many[3].history.iloc[-1][list(METRIC_COLUMNS)].isna().all()


def test_vectorised_equals_one_by_one_float64_is_tight(data):
    cfg = TrainConfig(lr=0.05, epochs=2, batch_size=50, dtype="float64", eval_init=False)
    base = _members("mlp")[:3]
    models = [copy.deepcopy(m) for m in base]
    many = train_many(models, data, cfg, seeds=[0, 1, 0], progress=False)
    for m, m2, seed, r2 in zip(base, models, [0, 1, 0], many):
        m1 = copy.deepcopy(m)
        r1 = train_one(m1, data, cfg, seed=seed, progress=False)
        np.testing.assert_allclose(
            r2.history.drop(columns="wall_s").to_numpy(),
            r1.history.drop(columns="wall_s").to_numpy(),
            rtol=1e-12,
            atol=1e-13,
        )
        for p1, p2 in zip(m1.parameters(), m2.parameters()):
            torch.testing.assert_close(p2, p1, rtol=1e-11, atol=1e-12)


def test_same_seed_same_result(data):
    cfg = TrainConfig(lr=0.05, epochs=2, batch_size=64, probe_epochs=(2,), probe_batch=16)
    runs = []
    for _ in range(2):
        models = _members("mlp")[:3]
        runs.append((train_many(models, data, cfg, seeds=[0, 1, 2], progress=False), models))
    (r1, m1), (r2, m2) = runs
    for a, b in zip(r1, r2):
        assert a.history.drop(columns="wall_s").equals(b.history.drop(columns="wall_s"))
        assert a.probes.equals(b.probes)
    for a, b in zip(m1, m2):
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.equal(p, q)
    # a different seed changes the batch order and hence the trajectory
    models = _members("mlp")[:3]
    other = train_many(models, data, cfg, seeds=[5, 1, 2], progress=False)
    assert not np.allclose(other[0].history["train_loss"], r1[0].history["train_loss"])
    np.testing.assert_allclose(other[1].history["train_loss"], r1[1].history["train_loss"], rtol=1e-6)


def test_divergence_stops_cleanly_and_keeps_history(data):
    m = _members("mlp")[0]
    cfg = TrainConfig(lr=0.05, epochs=4, batch_size=64)
    r0 = train_one(copy.deepcopy(m), data, cfg, seed=0, progress=False)
    assert r0.status == "ok" and r0.diverged_step is None and len(r0.history) == 5
    r = train_one(copy.deepcopy(m), data, cfg, seed=0, lr=1e20, progress=False)
    assert r.status == "diverged" and r.diverged
    assert r.diverged_step is not None and 1 <= r.diverged_step <= 12
    h = r.history
    assert h["epoch"].tolist() == list(range(0, r.diverged_epoch + 1))
    assert h.iloc[-1][["train_loss", "train_acc", "test_loss", "test_acc"]].isna().all()
    assert np.isfinite(h.iloc[:-1][["train_loss", "test_loss"]].to_numpy()).all()


def test_all_members_diverging_is_a_result_not_a_crash(data):
    models = _members("mlp")[:2]
    cfg = TrainConfig(lr=1e20, epochs=3, batch_size=64, probe_epochs=(3,))
    res = train_many(models, data, cfg, seeds=[0, 1], progress=False)
    assert [r.status for r in res] == ["diverged", "diverged"]
    for r in res:
        assert r.history["epoch"].iloc[-1] == r.diverged_epoch
        assert r.probes.empty


def test_probes_tidy_and_consistent(data):
    m = _members("mlp")[1]
    cfg = TrainConfig(lr=0.05, epochs=1, batch_size=64, probe_epochs=(0, 1), probe_batch=40)
    r = train_one(m, data, cfg, seed=0, progress=False)
    p, h = r.probes, r.histograms
    assert list(p.columns) == ["epoch", "layer", "depth", "kind", *STAT_COLUMNS]
    assert len(p) == 2 * 5 * 3  # epochs x layers x kinds
    assert set(p["kind"]) == {"weight", "gradient", "activation"}
    assert sorted(p["depth"].unique()) == [1, 2, 3, 4, 5]
    q = p[[f"q{int(x * 100):02d}" for x in QUANTILES]].to_numpy()
    assert (np.diff(q, axis=1) >= -1e-12).all()
    assert ((p["min"] <= p["q01"]) & (p["q99"] <= p["max"])).all()
    act = p[(p["kind"] == "activation") & (p["epoch"] == 0)]
    assert act["n"].tolist() == [40 * 16] * 4 + [40 * 10]
    w = p[(p["kind"] == "weight") & (p["epoch"] == 0)]
    assert w["n"].tolist() == [192 * 16, 256, 256, 256, 160]
    counts = h.groupby(["epoch", "layer", "kind"])["count"].sum()
    sizes = p.set_index(["epoch", "layer", "kind"])["n"]
    assert (counts.sort_index() == sizes.sort_index()).all()
    assert set(h.columns) == {"epoch", "layer", "depth", "kind", "bin", "left", "right", "count"}
    # the weight probe at epoch 0 is the initialization: std matches the plan's std
    plan = depthinit.plan(_members("mlp")[1], "depth", schedule="increasing").to_frame()
    np.testing.assert_allclose(w["std"].to_numpy(), plan["std"].to_numpy(), rtol=0.2)


def test_member_stats_against_numpy(gen):
    v = torch.randn(3, 5000, generator=gen, dtype=torch.float64) * torch.tensor([[1.0], [10.0], [1e-3]])
    v[2, 7] = float("nan")
    stats, counts = member_stats(v)
    cols = dict(zip(STAT_COLUMNS, stats.T))
    ref = v[:2].numpy()
    np.testing.assert_allclose(cols["mean"][:2], ref.mean(1), rtol=1e-12)
    np.testing.assert_allclose(cols["std"][:2], ref.std(1), rtol=1e-12)
    np.testing.assert_allclose(cols["q25"][:2], np.quantile(ref, 0.25, axis=1), rtol=1e-12)
    assert cols["nonfinite"].tolist() == [0, 0, 1] and cols["n"].tolist() == [5000, 5000, 4999]
    assert counts.shape == (3, len(HIST_EDGES) + 1)
    assert counts.sum(1).tolist() == [5000, 5000, 4999]
    ref_counts = np.histogram(ref[1], bins=np.concatenate([[-np.inf], HIST_EDGES, [np.inf]]))[0]
    assert counts[1].tolist() == ref_counts.tolist()


def test_stack_round_trip_and_compaction():
    models = _members("cnn")
    stack = Stack(models)
    assert stack.strategy == "loop" and stack.K == 5
    views = stack.params()
    torch.testing.assert_close(views["convs.1.weight"][3], models[3].convs[1].weight)
    x = torch.rand(1, 6, 3, 8, 8)
    out = stack.forward(x, (5,), training=False)
    for k, m in enumerate(models):
        torch.testing.assert_close(out[k], m.eval()(x[0]), rtol=1e-5, atol=1e-6)
    buf = torch.arange(stack.flat.numel(), dtype=torch.float32)
    (kept,) = stack.compact([1, 4], buf)
    assert stack.K == 2
    torch.testing.assert_close(stack.params()["classifier.bias"][1], models[4].classifier.bias)
    assert kept.numel() == stack.flat.numel()


def test_stack_rejects_mixed_architectures():
    with pytest.raises(ValueError, match="architecture"):
        Stack([MLP(12, 3, depth=3, width=4), MLP(12, 3, depth=4, width=4)])
    with pytest.raises(ValueError, match="strategy"):
        Stack([MLP(12, 3, depth=3, width=4)], strategy="grouped")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"lr": 0}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 2, "probe_epochs": (3,)}, "probe_epochs"),
        ({"dtype": "float16"}, "dtype"),
        ({"device": "gpu0"}, "device"),
        ({"n_train": -1}, "n_train"),
    ],
)
def test_train_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_train_many_input_errors(data):
    models = _members("mlp")[:2]
    with pytest.raises(ValueError, match="seeds"):
        train_many(models, data, seeds=[0])
    with pytest.raises(ValueError, match="learning rate"):
        train_many(models, data, seeds=[0, 1], lrs=[0.1, -1.0])
    with pytest.raises(ValueError, match="lacks"):
        train_one(models[0], object())
    assert train_many([], data, seeds=[]) == []


def test_progress_is_quiet_when_not_a_terminal(data, capsys):
    train_one(_members("mlp")[0], data, TrainConfig(epochs=1), progress=None)
    train_many(_members("mlp")[:2], data, TrainConfig(epochs=1), seeds=[0, 1], progress=None)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_benchmark_step_runs_and_trains():
    for kind in ("mlp", "cnn"):
        step = benchmark_step(kind, 2, input_shape=(3, 8, 8), batch_size=4)
        before = step.stack.flat.detach().clone()
        step()
        step()
        assert torch.isfinite(step.stack.flat).all() and not torch.equal(step.stack.flat, before)
    with pytest.raises(ValueError, match="kind"):
        benchmark_step("rnn", 2)
    with pytest.raises(ValueError, match="K="):
        benchmark_step("mlp", 0)


# -- signals --------------------------------------------------------------------------------------
def test_signal_statistics_measure_the_common_part_of_the_signal(gen):
    from depthinit.train import SIGNAL_COLUMNS, signal_statistics

    model = MLP(256, 10, depth=6, width=128)
    depthinit.init_(model, "he", generator=gen)
    x = torch.randn(512, 256, generator=gen)
    centred = signal_statistics(model, x)
    shifted = signal_statistics(model, x * 0.25 + 0.5)  # [0, 1]-like: mean 0.5, std 0.25
    assert list(centred.columns) == list(SIGNAL_COLUMNS)
    assert list(centred["depth"]) == list(range(1, 7))
    assert centred.loc[0, "common_share"] == pytest.approx(0.0, abs=0.02)
    assert abs(centred.loc[0, "cosine"]) < 0.02
    assert shifted.loc[0, "common_share"] > 0.6 and shifted.loc[0, "cosine"] > 0.7
    assert shifted.loc[0, "input_mean"] == pytest.approx(0.5, abs=0.01)
    # E[y^2] of the first layer: n Var[w] E[x^2] whatever the input's mean
    for frame, moment in ((centred, 1.0), (shifted, 0.25**2 + 0.5**2)):
        assert frame.loc[0, "second_moment"] == pytest.approx(2 * moment, rel=0.1)
    # matches the theory module's measurement of E[y^2]
    from depthinit.theory import measure_variances

    m = measure_variances(model, x, generator=torch.Generator().manual_seed(0))
    assert np.allclose(centred["second_moment"], m["forward_variance"], rtol=1e-4)
    with pytest.raises(ValueError, match="B >= 2"):
        signal_statistics(model, x[:1])
