"""Argument checks shared by the theory chapters' modules: one message for each kind of value."""

from __future__ import annotations

import math

import numpy as np


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int, or a ValueError naming it when it is not an integer >= ``minimum``
    (bools are not integers)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} is not valid; expected an integer >= {minimum}")
    return int(value)


def check_variance(V: object, name: str = "V") -> float:
    """``V`` as a float, or a ValueError naming it when it is not a finite network variance > 0."""
    if (
        isinstance(V, bool)
        or not isinstance(V, (int, float, np.integer, np.floating))
        or not math.isfinite(V)
        or V <= 0
    ):
        raise ValueError(f"{name}={V!r} is not valid; expected a finite network variance > 0")
    return float(V)
