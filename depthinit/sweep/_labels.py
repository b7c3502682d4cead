"""The one function that names an initialization for tables, legends and the results' ``init`` column.

Chapter: every experiment chapter (the row and line labels). Examples:
``"He normal"``, ``"He uniform, increasing"``, ``"He normal, constant, V=5"``,
``"He normal, increasing, power"``, ``"He normal, increasing, c=1"``, ``"LSUV"``,
``"Orthogonal"``, ``"Random walk"``, ``"DS-Init (He normal)"``, ``"Fixup"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..init._schemes import resolve_options

#: The network variance of the paper's comparison (the depth scheme's default); labels leave it out.
PAPER_V: float = float(resolve_options("depth", {})["network_variance"])

_NAMES = {
    "he": "He",
    "glorot": "Glorot",
    "lecun": "LeCun",
    "orthogonal": "Orthogonal",
    "random_walk": "Random walk",
    "lsuv": "LSUV",
    "ds_init": "DS-Init",
    "critical": "Critical",
    "fixup": "Fixup",
    "rezero": "ReZero",
    "skipinit": "SkipInit",
}
# options that, at these values, are the scheme's usual setting and stay out of the label
_QUIET = {
    "mode": "fan_in",
    "nonlinearity": "relu",
    "gain": None,
    "tol": 0.02,
    "max_iter": 20,
    "base": "he",
    "distribution": "normal",
    "zero_gate": False,
}


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def init_label(scheme: str, options: Mapping[str, Any]) -> str:
    """A readable name for ``scheme`` with its resolved ``options`` (defaults filled in).

    The depth scheme reads ``"<Base> <distribution>, <schedule>"`` followed by what
    differs from the paper's setting (``V=…`` when V is not 22, the depth function
    when it is not ``log``, ``c=…`` for a non-zero offset, ``k=…`` for a shape);
    its unit schedule is the plain base (``"He normal"``). Other options that differ
    from the scheme's usual setting are appended as ``name=value``.
    """
    o = dict(options)
    if scheme == "depth":
        head = f"{_NAMES.get(str(o.get('base')), o.get('base'))} {o.get('distribution', 'normal')}"
        schedule = o.get("schedule", "increasing")
        if schedule == "unit":
            return head + _extras(
                o,
                skip=(
                    "base",
                    "distribution",
                    "schedule",
                    "network_variance",
                    "depth_fn",
                    "offset",
                    "shape",
                    "v_reading",
                ),
            )
        parts = [head, str(schedule)]
        v = _number(o.get("network_variance"))
        if v is not None and v != PAPER_V:
            parts.append(f"V={v:g}")
        if schedule in ("increasing", "decreasing"):
            fn = o.get("depth_fn", "log")
            if fn != "log":
                parts.append(str(fn))
            c = _number(o.get("offset"))
            if c:
                parts.append(f"c={c:g}")
            k = _number(o.get("shape"))
            if k is not None:
                parts.append(f"k={k:g}")
        if o.get("v_reading") not in (None, "multiplier"):
            parts.append(f"V as {o['v_reading']}")
        return ", ".join(parts) + _extras(
            o, skip=("base", "distribution", "schedule", "network_variance", "depth_fn", "offset", "shape", "v_reading")
        )
    name = _NAMES.get(scheme, scheme)
    if scheme in ("he", "glorot", "lecun"):
        return f"{name} {o.get('distribution', 'normal')}" + _extras(o, skip=("distribution",))
    if scheme == "ds_init":
        base = _NAMES.get(str(o.get("base", "he")), o.get("base"))
        return f"{name} ({base} {o.get('distribution', 'normal')})" + _extras(o, skip=("base", "distribution"))
    if scheme == "random_walk":
        dist = o.get("distribution", "normal")
        return name + ("" if dist == "normal" else f" {dist}") + _extras(o, skip=("distribution",))
    return name + _extras(o, skip=())


def _extras(o: Mapping[str, Any], *, skip: tuple[str, ...]) -> str:
    parts = []
    for k in sorted(o):
        if k in skip:
            continue
        v = o[k]
        if k in _QUIET and v == _QUIET[k]:
            continue
        if v is None:
            continue
        if k == "nonlinearity" and v == "tanh":
            parts.append("tanh")
            continue
        x = _number(v)
        parts.append(f"{k}={x:g}" if x is not None else f"{k}={v}")
    return (", " + ", ".join(parts)) if parts else ""
