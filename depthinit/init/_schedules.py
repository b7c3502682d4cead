"""Depth schedules: the per-layer variance factors alpha_1..alpha_L of the paper.

Chapter: "Depth scaling" and "The depth function and its hyperparameters".

Every schedule keeps alpha_1 = 1 and makes the factors of layers 2..L multiply to
the network variance V (the paper's product over layers of Var[w_l] n_l / 2):

* ``"unit"``: all ones (He or Glorot unchanged; V is ignored).
* ``"constant"``: alpha_l = V^(1/(L-1)) (Section 4.1.1, equations 22-23).
* ``"increasing"``: alpha_l = V^(1/(L-1)) g(l) / G, with g a positive depth
  function and G the geometric mean of g(2..L) (Sections 4.1.2 and 6-8).
* ``"decreasing"``: the increasing factors reversed over l = 2..L (Section 4.1.3).

With g(l) = ln(l + c) (the default ``"log"`` reading) the paper's
alpha_l = log_k(l) / beta, once its product is pinned to V, no longer depends on k
or beta; only the offset c changes its shape.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Literal

import numpy as np

Schedule = Literal["unit", "constant", "increasing", "decreasing"]
DepthFn = Literal["log", "power", "linear", "geometric"]

SCHEDULES: tuple[str, ...] = ("unit", "constant", "increasing", "decreasing")

#: Each depth function g(l) (before rescaling) and the default of its shape parameter.
#: ``l`` already includes the offset c.
_DEPTH_FNS: dict[str, tuple[Callable[[np.ndarray, float], np.ndarray], float | None, str]] = {
    # The paper's reading: alpha_l = log_k(l + c) / beta. Shape fixed by c alone.
    "log": (lambda l, s: np.log(l), None, "g(l) = ln(l + c); no shape parameter"),
    # alpha_l = ((l + c) / k)^(1/beta): a power law with exponent p = 1/beta.
    "power": (lambda l, s: l**s, 0.5, "g(l) = (l + c)^p, shape = p > 0 (default 0.5)"),
    # alpha_l proportional to the depth itself.
    "linear": (lambda l, s: l, None, "g(l) = l + c; no shape parameter"),
    # alpha_l grows by a fixed ratio r per layer: ln(alpha_l) linear in l.
    "geometric": (lambda l, s: s**l, 1.05, "g(l) = r^(l + c), shape = r > 0 (default 1.05)"),
}
DEPTH_FNS: tuple[str, ...] = tuple(_DEPTH_FNS)


def _check_choice(name: str, value: object, valid: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"{name}={value!r} is not valid; expected one of {', '.join(map(repr, valid))}")


def _check_positive_finite(name: str, value: float, *, allow_zero: bool = False) -> float:
    """``value`` as a float, or ValueError: a real number (not a bool, not a string), finite, > 0
    (>= 0 with ``allow_zero``)."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} is a bool, not a number; pass a finite float")
    if not isinstance(value, numbers.Real):
        raise ValueError(f"{name}={value!r} is not a number ({type(value).__name__}); pass a finite float")
    value = float(value)
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        need = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name}={value!r} is not valid; expected {need}")
    return value


def depth_shape(
    L: int,
    *,
    depth_fn: DepthFn | Callable[[np.ndarray], np.ndarray] = "log",
    offset: float = 0.0,
    shape: float | None = None,
) -> np.ndarray:
    """The unnormalised depth function g(l) for l = 2..L (an array of L - 1 positive values).

    ``depth_fn`` is one of :data:`DEPTH_FNS` or a callable mapping an array of
    depths ``l + c`` to positive values.
    """
    L = _check_depth(L)
    offset = _check_positive_finite("offset", offset, allow_zero=True)
    l = np.arange(2, L + 1, dtype=np.float64) + offset
    if callable(depth_fn):
        try:
            g = np.asarray(depth_fn(l), dtype=np.float64)
        except Exception as exc:  # the user's function: any error, reported with what it was given
            raise ValueError(
                f"depth function {depth_fn!r} failed on the depths l + c = {l.tolist()} with "
                f"{type(exc).__name__}: {exc}; depth_fn must map an array of depths to as many finite positive "
                "numbers (e.g. lambda l: np.sqrt(l)), or be one of " + ", ".join(map(repr, DEPTH_FNS))
            ) from exc
    else:
        _check_choice("depth_fn", depth_fn, DEPTH_FNS)
        fn, default, _ = _DEPTH_FNS[depth_fn]
        if default is None:
            if shape is not None:
                raise ValueError(
                    f"depth_fn={depth_fn!r} takes no shape parameter, got shape={shape!r}; "
                    "leave shape=None (its form is set by the offset c)"
                )
            s = 0.0
        else:
            s = default if shape is None else _check_positive_finite("shape", shape)
        g = fn(l, s)
    if g.shape != l.shape or not np.all(np.isfinite(g)) or not np.all(g > 0):
        raise ValueError(
            f"depth function {depth_fn!r} must give {L - 1} finite positive values for l = 2..{L} "
            f"(offset {offset}); got {g!r}"
        )
    return g


def _check_depth(L: int) -> int:
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 2:
        raise ValueError(f"L={L!r} is not valid; a depth schedule needs an integer number of weight layers L >= 2")
    return int(L)


def alphas(
    L: int,
    *,
    schedule: Schedule,
    network_variance: float = 22.0,
    depth_fn: DepthFn | Callable[[np.ndarray], np.ndarray] = "log",
    offset: float = 0.0,
    shape: float | None = None,
) -> np.ndarray:
    """Per-layer variance factors alpha_1..alpha_L (a float64 array of length L).

    alpha_1 = 1 and, for every schedule but ``"unit"``,
    ``prod(alpha[1:]) == network_variance`` (relative error below 1e-9). For the
    increasing schedule,

    .. math:: \\alpha_l = V^{1/(L-1)} \\, g(l) / \\Big(\\prod_{j=2}^{L} g(j)\\Big)^{1/(L-1)},

    with g given by ``depth_fn`` (default ``"log"``: g(l) = ln(l + c), c = ``offset``).
    ``shape`` is the depth function's shape parameter (the exponent p of
    ``"power"``, the ratio r of ``"geometric"``). Chapter: "The depth function
    and its hyperparameters".

    >>> a = alphas(54, schedule="increasing", network_variance=22.0)
    >>> round(float(a[1]), 3), round(float(a[-1]), 3)
    (0.248, 1.43)
    """
    L = _check_depth(L)
    _check_choice("schedule", schedule, SCHEDULES)
    V = _check_positive_finite("network_variance", network_variance)
    out = np.ones(L, dtype=np.float64)
    if schedule == "unit":
        return out
    log_root = math.log(V) / (L - 1)
    if schedule == "constant":
        out[1:] = math.exp(log_root)
        return out
    log_g = np.log(depth_shape(L, depth_fn=depth_fn, offset=offset, shape=shape))
    inc = np.exp(log_root + log_g - log_g.mean())
    out[1:] = inc if schedule == "increasing" else inc[::-1]
    return out
