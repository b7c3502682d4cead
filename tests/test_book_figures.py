"""Every chapter's figure functions, rendered on synthetic results: at most the page's width in
pixels, no text below 10 px at that width, accuracy axes inside [0, 100] %."""

from __future__ import annotations

import io
import itertools
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import matplotlib.text
import pandas as pd
import pytest
import torch
from PIL import Image
from test_book import V, _train, ablation_spec, grid_spec, run_into

import depthinit.sweep as sw
from depthinit import analysis, book, plotting

#: The content column of the site at a 1280 px window is about 720 px; figures stay inside it.
MAX_WIDTH_PX = 720
MIN_FONT_PX = 10.0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("figs")
    grid = sw.load(run_into(root, grid_spec()))
    stall = sw.Experiment(
        name="he-uniform-stall",
        dataset="mnist",
        model=sw.ModelConfig("mlp", depth=4, width=8),
        train=_train(),
        inits=sw.depth_grid(base=("he",), schedule=("unit", "increasing"), network_variance=(V,)),
        seeds=(0, 1),
        variants=(sw.Variant("a", {"preprocess": "unit"}), sw.Variant("b", {"preprocess": "standardize"})),
    )
    grid5 = sw.depth_grid(
        base=("he",),
        distribution=("normal",),
        network_variance=(1.0, 5.0, V),
        offset=(0.0, 1.0),
        depth_fn=("log", "power"),
    )
    sens = sw.Experiment(
        name="sensitivity",
        dataset="mnist",
        model=sw.ModelConfig("mlp", depth=4, width=8),
        train=_train(),
        inits=grid5,
        seeds=(0, 1),
        variants=(
            sw.Variant("v", {}),
            sw.Variant(
                "deep",
                {
                    "model.depth": 6,
                    "inits": sw.depth_grid(base=("he",), distribution=("normal",), network_variance=(V,)),
                },
            ),
        ),
    )
    out = {
        "grid": grid,
        "stall": sw.load(run_into(root, stall)),
        "sens": sw.load(run_into(root, sens)),
        "ablation": sw.load(run_into(root, ablation_spec()), probes=False),
    }
    torch.set_num_threads(before)
    return out


def measure(fig) -> tuple[int, float]:
    """The PNG's width in pixels as the notebook shows it (tight bounding box) and the smallest
    font of any visible text in pixels at that resolution."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    width = Image.open(io.BytesIO(buf.getvalue())).size[0]
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    smallest = min(t.get_fontsize() for t in texts) * fig.dpi / 72
    plt.close(fig)
    return width, smallest


def figures(runs) -> dict[str, object]:
    g = runs["grid"]
    sgd = g.results[g.results["optimizer"] == "sgd"]
    s = runs["stall"]
    e5 = runs["sens"]
    configs = book.configurations(e5.results)
    x = torch.rand(16, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    signals = book.signal_summary(
        book.signals_at_init({"unit": x, "standardize": (x - 0.5) / 0.3}, seeds=range(3), depth=5, width=8, classes=4)
    )
    verdicts = book.book_verdicts({"E1": g.results}, source="synthetic", profile="default")
    times = book.timing_table(
        {
            n: {"seconds": 10.0 * (i + 1), "profile": "default"}
            for i, n in enumerate(["index", "e1_cifar10_mlp", "e2_mnist_mlp", "verdicts", "theory_forward"])
        }
    )
    (abl,) = book.ablation_findings(runs["ablation"].results)
    return {
        "accuracy dots (two sources)": lambda: book.plot_accuracy_dots(
            {
                "stored": book.at_chosen_lr(sgd)[0],
                "live, SGD": book.at_chosen_lr(sgd)[0],
                "live, Adam": book.at_chosen_lr(g.results[g.results["optimizer"] == "adam"])[0],
            }
        ),
        "hero": lambda: book.plot_hero(sgd, title="synthetic run"),
        "curves": lambda: book.plot_curves(sgd),
        "best epochs": lambda: book.plot_best_epochs(g.results),
        "layer profiles": lambda: book.plot_layer_profiles(g.probes, g.results),
        "mechanism": lambda: book.plot_mechanism(54, 22.0),
        "ablation": lambda: book.plot_ablation(abl),
        "signals": lambda: book.plot_signals(signals),
        "stall curves": lambda: book.plot_stall_curves(s.results),
        "sensitivity maps": lambda: book.plot_sensitivity_maps(configs),
        "V response": lambda: book.plot_v_response(configs),
        "verdict forest": lambda: book.plot_verdict_forest(verdicts.primary.details),
        "chapter times": lambda: book.plot_chapter_times(times),
        "empty": lambda: book.plot_verdict_forest(pd.DataFrame()),
    }


def test_every_figure_fits_the_page_and_is_readable(runs):
    made = figures(runs)
    for name, make in made.items():
        fig = make()
        assert fig.dpi == plotting.DPI, name
        width, smallest = measure(fig)
        assert width <= MAX_WIDTH_PX, f"{name}: {width} px wide"
        assert smallest >= MIN_FONT_PX, f"{name}: smallest text {smallest:.1f} px"


def test_accuracy_axes_stay_in_the_measures_range(runs):
    sgd = runs["grid"].results[runs["grid"].results["optimizer"] == "sgd"]
    fig = book.plot_curves(sgd)
    for ax in fig.axes:
        if ax.get_visible() and ax.axison:
            low, high = ax.get_ylim()
            assert 0.0 <= low and high <= 1.0
    plt.close(fig)
    fig = book.plot_accuracy_dots({"run": book.at_chosen_lr(sgd)[0]})
    low, high = fig.axes[0].get_xlim()
    assert 0.0 <= low and high <= 1.0
    plt.close(fig)


def test_direct_labels_never_overlap():
    fig, axes = plotting.figure(height=2.5)
    ax = axes[0, 0]
    ends = {f"line {i}": (5.0, 0.30 + 0.001 * i) for i in range(5)}  # five lines ending together
    for xe, ye in ends.values():
        ax.plot([0, xe], [0.1, ye])
    ax.set_ylim(0, 1)
    plotting.direct_labels(ax, ends, {})
    fig.canvas.draw()
    boxes = sorted((t.get_window_extent() for t in ax.texts), key=lambda b: b.y0)
    assert len(boxes) == 5
    for a, b in itertools.pairwise(boxes):
        assert a.y1 <= b.y0 + 0.5, "two labels overlap"
    plt.close(fig)


def test_palette_and_style_are_applied_only_when_asked():
    before = matplotlib.rcParams["font.size"]
    fig, _ = plotting.figure()
    assert matplotlib.rcParams["font.size"] == before  # figure() changes no global state
    plt.close(fig)
    assert set(plotting.VERDICT_COLORS) == set(analysis.VERDICTS)
    assert set(plotting.SCHEDULE_COLORS) == set(book._tables.SCHEDULES)
    with pytest.raises(ValueError, match="width=9 is not valid"):
        plotting.figure(width=9)
    assert math.isclose(plotting.FIG_WIDTH * plotting.DPI, 680)
