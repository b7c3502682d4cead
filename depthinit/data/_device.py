"""Check that a device can hold the data, before anything is read or decoded.

Chapter: "Reproducibility" (where the experiments run).
"""

from __future__ import annotations

import torch


def usable_device(device: str | int | torch.device) -> torch.device:
    """``torch.device(device)`` after checking that tensors can live there; ValueError otherwise.

    Refused: a string torch does not parse; ``"meta"`` (it holds shapes, not
    data); ``"cuda"``/``"cuda:i"`` when ``torch.cuda.is_available()`` is False or
    ``i`` is not below ``torch.cuda.device_count()``; ``"mps"`` when
    ``torch.backends.mps.is_available()`` is False; any other type on which an
    empty tensor cannot be created. The check is cheap (no data moves).
    """
    if isinstance(device, bool) or not isinstance(device, (str, int, torch.device)):
        raise TypeError(
            f"device={device!r} is not valid; expected a str such as 'cpu' or 'cuda', a CUDA index or a torch.device"
        )
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as e:
        raise ValueError(f"device={device!r} is not a valid torch device ({e}); expected e.g. 'cpu' or 'cuda'") from e
    if dev.type == "cpu":
        return dev
    if dev.type == "meta":
        raise ValueError(
            f"device={device!r} holds no data (meta tensors have shapes only); "
            "expected a device with memory, e.g. 'cpu' or 'cuda'"
        )
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for but CUDA is not available here "
                "(torch.cuda.is_available() is False); use device='cpu', or a machine and a torch build with CUDA"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(
                f"device={device!r} does not exist: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}"
            )
        return dev
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device={device!r} was asked for but MPS is not available here "
                "(torch.backends.mps.is_available() is False); use device='cpu'"
            )
        return dev
    try:
        torch.empty(0, device=dev)
    except (RuntimeError, AssertionError, NotImplementedError) as e:
        raise ValueError(f"device={device!r} cannot hold tensors here ({e}); use device='cpu'") from e
    return dev
