"""In-place samplers that take an explicit generator and never touch global RNG state.

Values are drawn on the generator's device (CPU by default) and copied to the
weight's device, so one seed gives bit-identical weights on CPU and CUDA. They are
drawn in float32 (float64 for float64 weights, so a tiny or huge std keeps its
precision) and then cast to the weight's dtype.
"""

from __future__ import annotations

import math

import torch


def fresh_generator() -> torch.Generator:
    """A CPU generator seeded from the operating system, leaving torch's global RNG alone."""
    g = torch.Generator()
    g.seed()
    return g


def _draw(weight: torch.Tensor, generator: torch.Generator, fill) -> torch.Tensor:
    dtype = torch.float64 if weight.dtype == torch.float64 else torch.float32
    buf = torch.empty(weight.shape, dtype=dtype, device=generator.device)
    fill(buf)
    with torch.no_grad():
        weight.copy_(buf.to(device=weight.device, dtype=weight.dtype))
    return weight


def normal_(weight: torch.Tensor, std: float, *, generator: torch.Generator) -> torch.Tensor:
    """Fill ``weight`` with N(0, std^2) draws."""
    return _draw(weight, generator, lambda b: b.normal_(0.0, std, generator=generator))


def uniform_(weight: torch.Tensor, std: float, *, generator: torch.Generator) -> torch.Tensor:
    """Fill ``weight`` with U(-a, a) draws, a = sqrt(3) * std (so the std is ``std``)."""
    bound = math.sqrt(3.0) * std
    return _draw(weight, generator, lambda b: b.uniform_(-bound, bound, generator=generator))


def zero_(weight: torch.Tensor) -> torch.Tensor:
    """Fill ``weight`` with zeros (Fixup's last branch layers and classifier)."""
    with torch.no_grad():
        weight.zero_()
    return weight


def orthogonal_(weight: torch.Tensor, gain: float, *, generator: torch.Generator) -> torch.Tensor:
    """Fill ``weight`` with a Haar-distributed (semi-)orthogonal matrix times ``gain``.

    The weight is viewed as ``rows = shape[0]`` by ``cols = prod(shape[1:])`` (conv
    kernels flattened as PyTorch does); Q of the QR factorisation of a Gaussian
    matrix, with columns multiplied by sign(diag R) (Saxe et al. 2013; Mezzadri
    2007). Rows are orthonormal when rows <= cols, columns otherwise.
    """
    rows = weight.shape[0]
    cols = weight.numel() // rows

    def fill(buf: torch.Tensor) -> None:
        flat = torch.empty(max(rows, cols), min(rows, cols), dtype=torch.float64, device=buf.device)
        flat.normal_(0.0, 1.0, generator=generator)
        q, r = torch.linalg.qr(flat)
        q = q * torch.sign(torch.diagonal(r)).masked_fill(torch.diagonal(r) == 0, 1.0)
        if rows < cols:
            q = q.T
        buf.copy_((gain * q).reshape(buf.shape))

    return _draw(weight, generator, fill)


def orthogonal_std(shape: torch.Size | tuple[int, ...], gain: float) -> float:
    """Entry std of :func:`orthogonal_`: gain / sqrt(max(rows, cols)), exact (unit rows or columns)."""
    rows = shape[0]
    cols = math.prod(shape[1:])
    return gain / math.sqrt(max(rows, cols))
