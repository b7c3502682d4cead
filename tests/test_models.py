"""Model builders: shapes, depth bookkeeping, validation."""

import pytest
import torch

from depthinit.models import CNN, MLP, flops_per_example


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


@pytest.mark.parametrize("kwargs, match", [
    ({"depth": 0}, "depth=0 is not valid"),
    ({"width": 2.5}, "width=2.5 is not valid"),
    ({"activation": "gelu"}, "activation='gelu' is not valid"),
])
def test_mlp_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP(10, 2, **kwargs)


def test_cnn_bad_arguments():
    with pytest.raises(ValueError, match="pool_every=0"):
        CNN(pool_every=0)
