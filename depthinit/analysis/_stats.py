"""Small statistics for few seeds: t intervals, one-sided t tests, TOST, Wilson intervals, Holm.

Chapter: "The verdicts". Every function takes plain numbers and returns plain
numbers; SciPy (the ``experiments`` extra) is imported when one is called.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A mean over seeds with its two-sided t interval, its standard error and the degrees of freedom."""

    mean: float
    low: float
    high: float
    n: int
    se: float = math.nan

    def as_text(self, scale: float = 100.0, unit: str = " pts") -> str:
        """``"+3.1 pts [+0.4, +5.8] (n=5)"``."""
        if self.n < 2 or not math.isfinite(self.low):
            return f"{self.mean * scale:+.1f}{unit} (n={self.n})"
        return f"{self.mean * scale:+.1f}{unit} [{self.low * scale:+.1f}, {self.high * scale:+.1f}] (n={self.n})"

    def shifted(self, by: float, sign: int = 1) -> Estimate:
        """``sign * (estimate - by)`` (the interval flips with the sign)."""
        m, lo, hi = self.mean - by, self.low - by, self.high - by
        if sign < 0:
            m, lo, hi = -m, -hi, -lo
        return Estimate(m, lo, hi, self.n, self.se)


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"values {values!r:.80} are not numbers ({err}); pass a sequence of floats") from None
    return v[np.isfinite(v)].ravel()


def _check_level(level: float) -> None:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(
            f"level={level!r} is not valid; expected a confidence level strictly between 0 and 1, e.g. 0.95"
        )


def t_interval(values: Sequence[float] | np.ndarray, *, level: float = 0.95) -> Estimate:
    """Mean of ``values`` (non-finite left out) and its Student-t interval:
    mean ± t_{(1+level)/2, n-1} s / √n (NaN bounds for fewer than two values)."""
    from scipy import stats

    _check_level(level)
    v = _finite(values)
    n = len(v)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    m = float(v.mean())
    if n < 2:
        return Estimate(m, math.nan, math.nan, n)
    se = float(v.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * se)
    return Estimate(m, m - half, m + half, n, se)


def p_greater(est: Estimate, bound: float) -> float:
    """One-sided t-test p-value of H0: mean <= ``bound`` (small when the mean is clearly above).

    A zero standard error (identical seeds) gives 0 or 1 by the sign of mean - bound."""
    from scipy import stats

    if est.n < 2 or not math.isfinite(est.mean):
        return 1.0
    if not est.se > 0:
        return 0.0 if est.mean > bound else 1.0
    return float(stats.t.sf((est.mean - bound) / est.se, est.n - 1))


def p_less(est: Estimate, bound: float) -> float:
    """One-sided t-test p-value of H0: mean >= ``bound``."""
    return p_greater(Estimate(-est.mean, -est.high, -est.low, est.n, est.se), -bound)


def p_equivalent(est: Estimate, delta: float) -> float:
    """TOST (Schuirmann 1987) p-value of H0: abs(mean) >= ``delta``: the larger of the two one-sided
    p-values; below alpha exactly when the (1 - 2 alpha) interval lies inside (-delta, delta)."""
    return max(p_greater(est, -delta), p_less(est, delta))


def wilson_interval(k: int, n: int, *, level: float = 0.95) -> tuple[float, float, float]:
    """Proportion k/n with its Wilson score interval (Wilson 1927): (p, low, high); NaN for n = 0.

    low/high = (p + z²/2n ∓ z √(p(1-p)/n + z²/4n²)) / (1 + z²/n), z the normal quantile."""
    from scipy import stats

    if isinstance(k, bool) or isinstance(n, bool) or not (0 <= k <= n):
        raise ValueError(f"k={k!r}, n={n!r} is not a count; expected integers 0 <= k <= n")
    _check_level(level)
    if n == 0:
        return math.nan, math.nan, math.nan
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (Holm 1979), in the input order:
    sorted ascending, p_(i) * (m - i + 1), made monotone, capped at 1."""
    if isinstance(pvalues, (str, bytes)):
        raise ValueError(f"pvalues={pvalues!r} is text; pass a sequence of p-values in [0, 1]")
    try:
        p = [float(x) for x in pvalues]
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"pvalues {pvalues!r:.80} are not numbers ({err}); pass a sequence of p-values in [0, 1]"
        ) from None
    bad = [x for x in p if not 0.0 <= x <= 1.0]  # NaN fails both comparisons
    if bad:
        raise ValueError(f"p-value {bad[0]!r} is not in [0, 1]; pass p-values (a NaN p-value is no test: leave it out)")
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out
