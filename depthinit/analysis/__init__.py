"""From a tidy results table to summaries, tuned learning rates, failure rates and verdicts.

Chapter: "The verdicts". One rule for diverged runs (:func:`final_rows`), used by
``depthinit report`` and every chapter; four verdicts (``supported``,
``contradicted``, ``equivalent``, ``inconclusive``) decided by rules fixed before
the numbers, with Holm's correction over the comparisons of a table.
"""

from ._claims import READINGS, TRAINS_MARGIN, book_claims, paper_claims
from ._stats import Estimate, holm, p_equivalent, p_greater, p_less, t_interval, wilson_interval
from ._tables import (
    CHANCE,
    CONFIG_KEYS,
    FAILURE_MARGIN,
    PLATEAU_GAIN,
    PLATEAU_SHARE,
    best_epochs,
    curve_frame,
    filled_curves,
    final_rows,
    summary,
    time_to,
    tune,
    tuned,
)
from ._verdicts import (
    ALPHA,
    CONTRADICTED,
    DELTA,
    EQUIVALENT,
    INCONCLUSIVE,
    SUPPORTED,
    VERDICTS,
    Claim,
    Comparison,
    Contrast,
    Selector,
    Tests,
    combine,
    config,
    decide,
    decide_claims,
    effect,
    level_of,
    per_seed,
    prepare,
    select,
    tests_of,
    verdict_from,
    verdict_table,
)

__all__ = [
    "ALPHA", "CHANCE", "CONFIG_KEYS", "CONTRADICTED", "DELTA", "EQUIVALENT", "FAILURE_MARGIN", "INCONCLUSIVE",
    "PLATEAU_GAIN", "PLATEAU_SHARE", "READINGS", "SUPPORTED", "TRAINS_MARGIN", "VERDICTS", "Claim", "Comparison", "Contrast", "Estimate",
    "Selector", "Tests", "best_epochs", "book_claims", "combine", "config", "curve_frame", "decide", "decide_claims", "effect", "filled_curves",
    "final_rows", "holm", "level_of", "p_equivalent", "p_greater", "p_less", "paper_claims", "per_seed", "prepare", "select",
    "summary", "t_interval", "tests_of", "time_to", "tune", "tuned", "verdict_from", "verdict_table",
    "wilson_interval",
]
