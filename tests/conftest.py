import os
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _one_thread_per_worker():
    """Under pytest-xdist (``make test`` runs one worker per core) each worker uses one torch
    thread, so the workers do not oversubscribe the cores."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Tests never write to the user's cache: decoded data sets go to a folder of this session."""
    before = os.environ.get("DEPTHINIT_CACHE")
    os.environ["DEPTHINIT_CACHE"] = str(tmp_path_factory.mktemp("depthinit-cache"))
    yield
    if before is None:
        os.environ.pop("DEPTHINIT_CACHE", None)
    else:
        os.environ["DEPTHINIT_CACHE"] = before


@pytest.fixture
def gen():
    """A seeded generator: tests draw all randomness from it."""
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The offline data sets (../shared/data beside the checkout, or $DEPTHINIT_DATA)."""
    env = os.environ.get("DEPTHINIT_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    if not root.is_dir():
        pytest.skip(f"no offline data at {root}; set DEPTHINIT_DATA")
    return root


@pytest.fixture
def one_thread():
    """Tiny models: one torch thread is as fast, and does not stall when other work shares
    the cores. The previous setting is restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
