"""Model builders: shapes, depth bookkeeping, validation."""

import pytest
import torch

from depthinit.models import CNN, MLP, ResidualBlock, ResMLP, flops_per_example


def test_mlp_paper_shape():
    m = MLP(3072, 10, depth=54, width=64)
    layers = m.weight_layers()
    assert len(layers) == 54
    assert layers[0][1].weight.shape == (64, 3072) and layers[-1][1].weight.shape == (10, 64)
    assert m(torch.zeros(5, 3, 32, 32)).shape == (5, 10)
    assert flops_per_example(m, (3, 32, 32)) == 2 * (3072 * 64 + 52 * 64 * 64 + 64 * 10)


def test_cnn_shape_and_batch_norm():
    c = CNN(3, 10, depth=3, channels=8, batch_norm=True, pool_every=2)
    assert [n for n, _ in c.weight_layers()] == ["convs.0", "convs.1", "convs.2", "classifier"]
    assert c(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert c.training
    flops_per_example(c, (3, 32, 32))
    assert c.training  # mode restored


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"depth": 0}, "depth=0 is not valid"),
        ({"width": 2.5}, "width=2.5 is not valid"),
        ({"activation": "gelu"}, "activation='gelu' is not valid"),
    ],
)
def test_mlp_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(10, 2, **kwargs)


def test_cnn_bad_arguments():
    with pytest.raises(ValueError, match="pool_every=0"):
        CNN(pool_every=0)


def _call_order(model, x):
    names = {id(m): n for n, m in model.named_modules()}
    order = []
    hooks = [
        m.register_forward_hook(lambda mod, a, o: order.append(names[id(mod)]))
        for _, m in model.named_modules()
        if not list(m.children())
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return order


def test_mlp_batch_norm_after_each_hidden_linear_before_the_activation():
    m = MLP(12, 3, depth=4, width=8, batch_norm=True, activation="tanh")
    assert isinstance(m.norms[0], torch.nn.BatchNorm1d) and len(m.norms) == 3
    assert isinstance(m.act, torch.nn.Tanh)
    order = _call_order(m.eval(), torch.zeros(2, 12))
    assert order == [
        "layers.0",
        "norms.0",
        "act",
        "layers.1",
        "norms.1",
        "act",
        "layers.2",
        "norms.2",
        "act",
        "layers.3",
    ]
    assert [n for n, _ in m.weight_layers()] == ["layers.0", "layers.1", "layers.2", "layers.3"]
    plain = MLP(12, 3, depth=4, width=8)
    assert plain.norms is None and not any(isinstance(x, torch.nn.BatchNorm1d) for x in plain.modules())
    # Without batch norm the state dict is the one of earlier versions (stored runs stay loadable).
    assert sorted(plain.state_dict()) == sorted(f"layers.{i}.{p}" for i in range(4) for p in ("weight", "bias"))


def test_resmlp_computes_its_documented_formula():
    g = torch.Generator().manual_seed(0)
    net = ResMLP(6, 3, blocks=2, width=5, gate=True, activation="tanh").eval()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    x = torch.randn(4, 2, 3, generator=g)
    h = torch.tanh(net.stem(x.flatten(1)))
    for blk in net.blocks:
        f = blk.branch
        h = h + blk.gate * f.fc2(torch.tanh(f.fc1(h)))
    with torch.no_grad():
        assert torch.allclose(net(x), net.classifier(h), atol=1e-6)
    names = [n for n, _ in net.weight_layers()]
    assert names == [
        "stem",
        "blocks.0.branch.fc1",
        "blocks.0.branch.fc2",
        "blocks.1.branch.fc1",
        "blocks.1.branch.fc2",
        "classifier",
    ]
    assert net.depth == len(names) == 6
    assert net.residual_branches() == [
        [net.blocks[0].branch.fc1, net.blocks[0].branch.fc2],
        [net.blocks[1].branch.fc1, net.blocks[1].branch.fc2],
    ]
    assert [p is blk.gate for p, blk in zip(net.residual_gates(), net.blocks)] == [True, True]
    assert net.blocks[0].branch_layers() == [net.blocks[0].branch.fc1, net.blocks[0].branch.fc2]
    assert [float(p.detach()) for p in ResMLP(6, 3, blocks=3, gate=True).residual_gates()] == [1.0, 1.0, 1.0]


def test_resmlp_batch_norm_and_no_gate():
    net = ResMLP(6, 3, blocks=1, width=5, batch_norm=True, bias=False)
    assert net.residual_gates() == [] and net.blocks[0].gate is None
    assert net.stem.bias is None and net.classifier.bias is None
    order = _call_order(net.eval(), torch.zeros(2, 6))
    assert order == [
        "stem",
        "stem_norm",
        "act",
        "blocks.0.branch.fc1",
        "blocks.0.branch.norm",
        "blocks.0.branch.act",
        "blocks.0.branch.fc2",
        "classifier",
    ]
    assert net(torch.zeros(3, 6)).shape == (3, 3)
    assert flops_per_example(net, (6,)) == 2 * (6 * 5 + 2 * 5 * 5 + 5 * 3)


def test_residual_block_wraps_any_branch():
    blk = ResidualBlock(torch.nn.Sequential(torch.nn.Conv1d(2, 2, 3, padding=1), torch.nn.ReLU()), gate=True)
    x = torch.randn(1, 2, 7, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        blk.gate.fill_(0.0)
        assert torch.equal(blk(x), x)
    assert [type(m).__name__ for m in blk.branch_layers()] == ["Conv1d"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"blocks": 0}, "blocks=0 is not valid"),
        ({"blocks": True}, "blocks=True is not valid"),
        ({"blocks": 2, "width": 0}, "width=0 is not valid"),
        ({"blocks": 2, "gate": 1}, "gate=1 is not valid; expected True or False"),
        ({"blocks": 2, "activation": "gelu"}, "activation='gelu' is not valid"),
    ],
)
def test_resmlp_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResMLP(10, 2, **kwargs)


def test_mlp_batch_norm_must_be_a_bool():
    with pytest.raises(ValueError, match="batch_norm='yes' is not valid"):
        MLP(10, 2, batch_norm="yes")
    with pytest.raises(ValueError, match="branch must be a torch.nn.Module"):
        ResidualBlock(lambda x: x)
