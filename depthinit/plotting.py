"""The book's figure style: sizes that fit the page, a colour-blind-safe palette, direct labels.

Chapter: every chapter with a figure. Nothing here runs on import; call
:func:`use_book_style` to set the style (it changes matplotlib's global
rcParams) or create figures with :func:`figure`, which sizes them for the page
without touching global state.

The rules the figures follow (checked by ``tests/test_book_figures.py``):

* **Width.** At most ``FIG_WIDTH`` inches at ``DPI`` dots per inch, so a
  figure is at most ``FIG_WIDTH * DPI`` pixels wide (680 px) and is never
  scaled down by more than the column (about 620-720 px at a 1280 px window).
* **Fonts.** No text below ``MIN_FONT_PT`` points, which is 12.5 px at
  100 dpi and stays above 10 px when the column shrinks the image.
* **Colour.** The Okabe-Ito palette (Okabe and Ito 2008), distinguishable with
  the common colour-vision deficiencies; line styles carry a second cue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Figure width in inches; with ``DPI`` the PNG is at most 680 px wide.
FIG_WIDTH: float = 6.8
#: Dots per inch of every book figure (the inline PNG is drawn at this resolution).
DPI: int = 100
#: The smallest font size any text of a book figure may have, in points (12.5 px at 100 dpi).
MIN_FONT_PT: float = 9.0

#: The Okabe-Ito colour-blind-safe palette by name.
PALETTE: Mapping[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}
#: The colour of each depth schedule (``depthinit.init.SCHEDULES``; "unit" is the plain scheme).
SCHEDULE_COLORS: Mapping[str, str] = {
    "unit": PALETTE["black"],
    "constant": PALETTE["green"],
    "increasing": PALETTE["vermillion"],
    "decreasing": PALETTE["blue"],
}
#: The colour of each reference scheme.
REFERENCE_COLORS: Mapping[str, str] = {
    "orthogonal": PALETTE["orange"],
    "random_walk": PALETTE["purple"],
    "lsuv": PALETTE["sky"],
}
#: The colour of each verdict of :mod:`depthinit.analysis` (the site's CSS uses the same).
VERDICT_COLORS: Mapping[str, str] = {
    "supported": PALETTE["green"],
    "contradicted": PALETTE["vermillion"],
    "equivalent": PALETTE["blue"],
    "inconclusive": PALETTE["grey"],
}


def book_rc(**overrides: Any) -> dict[str, Any]:
    """The rcParams of the book's style (plain matplotlib, no seaborn needed), with ``overrides``."""
    rc: dict[str, Any] = {
        "figure.figsize": (FIG_WIDTH, 3.6),
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "font.size": 10.0,
        "axes.titlesize": 10.0,
        "axes.labelsize": 10.0,
        "xtick.labelsize": MIN_FONT_PT,
        "ytick.labelsize": MIN_FONT_PT,
        "legend.fontsize": MIN_FONT_PT,
        "legend.title_fontsize": MIN_FONT_PT,
        "figure.titlesize": 11.0,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "0.9",
        "grid.linewidth": 0.8,
        "axes.edgecolor": "0.3",
        "axes.titlelocation": "left",
        "legend.frameon": False,
        "lines.linewidth": 1.8,
        "image.cmap": "viridis",
        "axes.prop_cycle": _cycler(
            [PALETTE[k] for k in ("blue", "vermillion", "green", "orange", "purple", "sky", "black", "yellow", "grey")]
        ),
    }
    rc.update(overrides)
    return rc


def _cycler(colors: Sequence[str]) -> Any:
    from cycler import cycler

    return cycler(color=list(colors))


def use_book_style(**overrides: Any) -> None:
    """Set matplotlib's global rcParams to the book's style (:func:`book_rc`); ``overrides`` go to rcParams."""
    import matplotlib as mpl

    mpl.rcParams.update(book_rc(**overrides))  # type: ignore[arg-type]


def figure(
    nrows: int = 1, ncols: int = 1, *, height: float = 3.6, width: float = FIG_WIDTH, **subplot_kw: Any
) -> tuple[Any, Any]:
    """``plt.subplots`` at the book's size and style: ``width`` (at most ``FIG_WIDTH``) by
    ``height`` inches at ``DPI``, constrained layout, the axes always a 2-d array.
    The style applies to this figure only (global rcParams are left as they are)."""
    import matplotlib.pyplot as plt

    if not 0 < width <= FIG_WIDTH:
        raise ValueError(f"width={width!r} is not valid; expected 0 < width <= {FIG_WIDTH} inches (the page)")
    with plt.rc_context(book_rc()):  # type: ignore[arg-type]
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(width, height), dpi=DPI, squeeze=False, layout="constrained", **subplot_kw
        )
    _restyle(fig, axes)
    return fig, axes


def _restyle(fig: Any, axes: Any) -> None:
    """Apply the book's tick/label/title sizes to axes made outside an rc context."""
    rc = book_rc()
    for ax in axes.ravel():
        ax.tick_params(labelsize=rc["xtick.labelsize"])
        ax.title.set_fontsize(rc["axes.titlesize"])
        ax.xaxis.label.set_fontsize(rc["axes.labelsize"])
        ax.yaxis.label.set_fontsize(rc["axes.labelsize"])
        ax.grid(True, color=rc["grid.color"], linewidth=rc["grid.linewidth"])
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)


def direct_labels(
    ax: Any,
    ends: Mapping[str, tuple[float, float]],
    colors: Mapping[str, Any],
    *,
    min_gap: float = 0.075,
    pad: float = 0.02,
) -> None:
    """Write each line's name at its right end (``ends[name] = (x, y)``) in its colour,
    instead of a legend. Labels closer than ``min_gap`` (a fraction of the y range)
    are pushed apart, so they never overlap; they sit just right of the axes."""
    import matplotlib.transforms as mtransforms

    if not ends:
        return
    low, high = ax.get_ylim()
    span = (high - low) or 1.0
    log = ax.get_yscale() == "log"
    import math

    def frac(y: float) -> float:
        if log:
            return (math.log10(y) - math.log10(low)) / (math.log10(high) - math.log10(low))
        return (y - low) / span

    items = sorted(((frac(y), name) for name, (_, y) in ends.items() if not math.isnan(y)), key=lambda t: t[0])
    placed: list[float] = []
    for f, _ in items:
        placed.append(max(f, placed[-1] + min_gap) if placed else f)
    if placed and placed[-1] > 1.0:  # shift the stack down to stay inside the axes
        shift = placed[-1] - 1.0
        placed = [p - shift for p in placed]
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - min_gap)
    trans = mtransforms.blended_transform_factory(ax.transAxes, ax.transAxes)
    for (_, name), y in zip(items, placed):
        ax.text(
            1 + pad,
            y,
            name,
            transform=trans,
            color=colors.get(name, "0.2"),
            fontsize=MIN_FONT_PT,
            va="center",
            ha="left",
            clip_on=False,
        )


__all__ = [
    "DPI",
    "FIG_WIDTH",
    "MIN_FONT_PT",
    "PALETTE",
    "REFERENCE_COLORS",
    "SCHEDULE_COLORS",
    "VERDICT_COLORS",
    "book_rc",
    "direct_labels",
    "figure",
    "use_book_style",
]
