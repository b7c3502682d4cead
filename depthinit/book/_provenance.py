"""Provenance in words: what produced a sweep, what a profile ran, when a run is too small to
conclude, and the collapsed footer every chapter ends with.

Chapter: every experiment chapter (their opening "Finding" boxes and footers) and
"Reproducibility". Every function returns plain text (or MyST Markdown) built from the
results table, the folder's provenance record and the registry's spec.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..sweep import Experiment, ModelConfig, Results
from ._tables import OPTIMIZER_NAMES, lr_counts

#: Fewer seeds than this per configuration: the chapter says the run is too small to conclude.
MIN_SEEDS = 3


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def join_words(items: Sequence[str], *, empty: str = "none") -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"`` (``empty`` for no items); items holding a comma
    are separated by semicolons so that labels such as "He normal, increasing" stay whole."""
    items = [str(i) for i in items]
    if not items:
        return empty
    if len(items) == 1:
        return items[0]
    if any("," in i for i in items):
        return "; ".join(items[:-1]) + ("; and " if len(items) > 2 else " and ") + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def run_scale(results: pd.DataFrame) -> str:
    """What a results table holds, in words: optimizers with their learning rates, seeds,
    epochs and data sizes, e.g. ``"SGD with momentum at one learning rate (0.002), 5 seeds,
    30 epochs, 50000 training images, no validation split"``."""
    if results.empty:
        return "no finished runs"
    parts = []
    for opt in dict.fromkeys(results["optimizer"].astype(str)) if "optimizer" in results else [""]:
        sub = results[results["optimizer"].astype(str) == opt] if opt else results
        lrs = sorted({float(x) for x in sub["lr"]}) if "lr" in sub else []
        name = OPTIMIZER_NAMES.get(opt, opt)
        if len(lrs) == 1:
            parts.append(f"{name} at one learning rate ({lrs[0]:g})")
        elif lrs:
            parts.append(f"{name} over {len(lrs)} learning rates ({lrs[0]:g} to {lrs[-1]:g})")
    seeds = int(results["seed"].nunique())
    epochs = int(results["epochs"].max()) if "epochs" in results else int(results["epoch"].max())
    n_train = int(results["n_train"].iloc[0]) if "n_train" in results else 0
    n_val = int(results["n_val"].max()) if "n_val" in results and results["n_val"].notna().any() else 0
    val = f"{n_val} validation images carved from them" if n_val else "no validation split"
    return (
        f"{join_words(parts)}, {_plural(seeds, 'seed')}, {_plural(epochs, 'epoch')}, {n_train} training images, {val}"
    )


def source_note(r: Results) -> str:
    """One line naming what produced a sweep: experiment, profile, runs, scale, device, data
    source with its sha256 prefix, and the code commit."""
    p, res = r.provenance, r.results
    if res.empty:
        return f"{r.out}: no finished runs"
    exp = p.get("experiment") or str(res["experiment"].iloc[0])
    profile = p.get("profile") or str(res["profile"].iloc[0])
    dev = p.get("device", {})
    device = f"{dev.get('type', '?')} ({dev.get('name', '?')})" if dev else "device not recorded"
    data = []
    for d in p.get("data", []):
        sha = d.get("sha256") or {}
        digest = ", ".join(f"sha256 {str(v)[:12]}" for v in sha.values()) if isinstance(sha, dict) else str(sha)
        data.append(f"{d.get('source', d.get('name'))} ({digest})" if digest else str(d.get("source")))
    data_text = "; ".join(dict.fromkeys(data)) or "not recorded"
    code = p.get("code", {})
    commit = (code.get("commit") or "")[:10]
    code_text = (
        f"code {commit}{' (dirty)' if code.get('dirty') else ''}"
        if commit
        else f"depthinit {code.get('depthinit', '?')} (commit not recorded)"
    )
    return (
        f"experiment {exp}, profile {profile}: {_plural(int(res['run_id'].nunique()), 'run')}, {run_scale(res)}; "
        f"device {device}; data {data_text}; {code_text}"
    )


def profile_note(profile: str, spec: Experiment) -> str:
    """A sentence saying what this build's profile is for (smoke: nothing to read; default: a
    CPU-sized version; paper: the full scale), with the spec's run count."""
    e = spec.resolve(profile) if spec.profiles else spec
    runs = len(e.runs(profile))
    if profile == "smoke":
        return (
            f"This page was built with the smoke profile ({_plural(runs, 'run')}): it only checks that the code "
            "runs, and its numbers mean nothing."
        )
    if profile == "default":
        return (
            f"This page was built with the default profile ({_plural(runs, 'run')}), a version of the experiment "
            "that a two-core CPU finishes in minutes: a subset of the data and a few epochs, so read its "
            "numbers as early training, not as the paper's scale."
        )
    return f"This page was built with the paper profile ({_plural(runs, 'run')})."


def too_small(results: pd.DataFrame) -> str:
    """A sentence when a results table is too small to conclude from (fewer than ``MIN_SEEDS``
    seeds per configuration, or a single epoch), else ``""``."""
    if results.empty:
        return "No run finished, so there is nothing to conclude."
    seeds = (
        int(results.groupby("init")["seed"].nunique().min()) if "init" in results else int(results["seed"].nunique())
    )
    epochs = int(results["epoch"].max())
    reasons = []
    if seeds < MIN_SEEDS:
        reasons.append(
            f"{_plural(seeds, 'seed')} per configuration (an interval needs at least {MIN_SEEDS} to say much)"
        )
    if epochs <= 1:
        reasons.append(f"{_plural(epochs, 'epoch')} of training")
    if not reasons:
        return ""
    return f"This run is too small to conclude from: {join_words(reasons)}."


def describe_model(model: ModelConfig) -> str:
    """The architecture of a spec in words, e.g. ``"a plain CNN of 10 3 x 3 convolutions with 16
    channels, 2 x 2 max-pooling after every second convolution, global average pooling and a
    linear classifier (11 weight layers), ReLU, no batch norm"``."""
    act = {"relu": "ReLU", "tanh": "tanh"}.get(model.activation, model.activation)
    norm = "with batch norm" if model.batch_norm else "no batch norm"
    if model.kind == "mlp":
        return (
            f"a plain fully connected {act} network of {model.depth} weight layers, {model.width} units per "
            f"hidden layer, {norm}"
        )
    if model.kind == "resmlp":
        return (
            f"a residual {act} MLP of {model.depth} blocks of two linear layers ({model.layers} weight layers), "
            f"{model.width} units wide, {norm}" + (", a scalar gate on each branch" if model.gate else "")
        )
    pool = (
        f", 2 x 2 max-pooling after every {_ordinal(model.pool_every)} convolution"
        if model.pool_every
        else ", no pooling between convolutions"
    )
    return (
        f"a plain {act} CNN of {model.depth} 3 x 3 convolutions with {model.channels} channels{pool}, global "
        f"average pooling and a linear classifier ({model.layers} weight layers), {norm}"
    )


def _ordinal(n: int | None) -> str:
    return {1: "", 2: "second", 3: "third", 4: "fourth"}.get(n or 0, f"{n}th")


def describe_design(spec: Experiment) -> str:
    """The variants of a resolved spec that change the kind of network (its builder, batch norm or
    activation; sizes are in the variants' names), in words ("" when none do):
    e.g. ``"its variants: plain; batch norm, with batch norm; residual, a residual ReLU MLP of
    26 blocks ..."``."""
    from ..sweep import override

    parts = []
    for v in spec.variants:
        if not any(k == "model" or k.startswith("model.") for k in v.overrides):
            continue
        model = override(spec, {k: x for k, x in v.overrides.items() if k == "model" or k.startswith("model.")}).model
        if (model.kind, model.batch_norm, model.activation) != (
            spec.model.kind,
            spec.model.batch_norm,
            spec.model.activation,
        ):
            parts.append(f"{v.name}: {describe_model(model)}")
    return f"Its designs are {join_words(parts)}." if parts else ""


def training_note(spec: Experiment) -> str:
    """The training of a resolved spec in words: optimizer(s), learning rates, momentum, batch,
    epochs, data sizes, validation split, warm-up."""
    t = spec.train
    lrs = spec.lrs or (t.lr,)
    opts = {v.overrides.get("train.optimizer", t.optimizer) for v in spec.variants}
    names = join_words(
        [
            OPTIMIZER_NAMES.get(str(o), str(o))
            for o in sorted(opts, key=lambda o: ({"sgd": 0, "adam": 1}.get(str(o), 2), str(o)))
        ]
    )
    lr_text = f"learning rate {lrs[0]:g}" if len(lrs) == 1 else f"learning rates {join_words([f'{x:g}' for x in lrs])}"
    if any("train.lr" in v.overrides or "lrs" in v.overrides for v in spec.variants):
        lr_text = "a learning-rate grid per optimizer"
    warm = getattr(t, "warmup_epochs", 0.0)
    n_val = getattr(t, "n_val", 0)
    extra = [
        f"{n_val} validation images carved from the training set" if n_val else "no validation split",
        f"a linear warm-up over {warm:g} epochs" if warm else "no warm-up",
    ]
    return (
        f"{names}, {lr_text}, momentum {t.momentum:g} (SGD), batch {t.batch_size}, {_plural(t.epochs, 'epoch')}, "
        f"{t.n_train or 'all'} training and {t.n_test or 'all'} test images, {join_words(extra)}"
    )


def footer(sources: dict[str, Results], *, profile: str) -> str:
    """The collapsed provenance footer of a chapter (MyST: a ``{dropdown}``), one bullet per
    source: its folder, :func:`source_note`, and how to rerun it."""
    lines = [":::{dropdown} Provenance: what produced the numbers on this page", ""]
    for name, r in sources.items():
        lines.append(f"- **{name}** (`{_rel(r)}`): {source_note(r)}.")
    if not sources:
        lines.append("- No sweep ran for this page.")
    lines += [
        "",
        (
            f"This build's profile: {profile}. Every number and figure above is computed from these folders "
            "when the page is executed; rerun one chapter with `make chapter NAME=<chapter>` (see the "
            'README, "Rerun one chapter").'
        ),
        ":::",
    ]
    return "\n".join(lines)


def _rel(r: Results) -> str:
    parts = r.out.parts
    for anchor in ("book", "results"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    return r.out.as_posix()


def scale_words(profile: str) -> str:
    """What a profile's numbers can be read as, in a clause."""
    return {
        "smoke": "the smoke profile, whose numbers mean nothing (tiny subsets, one epoch)",
        "default": "a CPU-sized version of the experiment (a subset of the data, a few epochs, a few seeds)",
        "paper": "the paper profile (all the data, 30 epochs, at least 5 seeds)",
    }.get(profile, profile)


def format_lr_count(results: pd.DataFrame) -> str:
    """``"one learning rate per configuration"`` or ``"a grid of N learning rates, chosen on validation"``."""
    n = lr_counts(results)
    return (
        "one learning rate per configuration"
        if n <= 1
        else f"a grid of {n} learning rates per configuration, each chosen on validation accuracy"
    )


def stored_label(key: str, stored: Results) -> str:
    """The short name of a stored paper-profile run in headlines: ``"stored paper-profile run"``,
    with ``", earlier spec"`` when it was trained under an earlier version of the spec."""
    from ._runs import is_current_spec

    return "stored paper-profile run" + ("" if is_current_spec(key, stored) else " (earlier spec)")


def stored_note(key: str, stored: Results) -> str:
    """A sentence on what the stored paper-profile run is: its scale, device, and whether it
    comes from the current spec or an earlier one."""
    from ._runs import is_current_spec

    dev = stored.provenance.get("device", {})
    where = f" on {dev.get('name')}" if dev.get("name") else ""
    spec = (
        "the current spec"
        if is_current_spec(key, stored)
        else "an earlier version of this spec, so it is shown as it was trained and not re-run"
    )
    return (
        f"The stored paper-profile run (`results/{stored.out.name}/`, run{where}) comes from {spec}: "
        f"{run_scale(stored.results)}."
    )


def build_record(*, root: str | os.PathLike[str] = ".") -> dict[str, str]:
    """This build in words, for the reproducibility appendix: when, the code commit, the
    versions of depthinit and Python, the OS, CPU, cores, torch threads, RAM, GPUs and the
    MathJax release the site serves (:mod:`depthinit.provenance` reads the machine)."""
    import datetime

    from .. import __version__, provenance

    commit = provenance.git_commit(root)
    hw = provenance.hardware()
    commit_text = (
        "not a git checkout"
        if commit["commit"] is None
        else (commit["commit"][:12] + (" with uncommitted changes" if commit["dirty"] else ""))
    )
    mathjax = sorted(p.name.removeprefix(".mathjax-") for p in (Path(root) / "book/_static/mathjax").glob(".mathjax-*"))
    return {
        "built": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit_text,
        "depthinit": __version__,
        "python": str(hw["python"]),
        "os": str(hw["os"]),
        "CPU": str(hw["cpu"]),
        "cores (logical / usable)": f"{hw['logical_cores']} / {hw['usable_cores']}",
        "torch threads": str(hw["torch_threads"]),
        "RAM": f"{hw['ram_gib']} GiB" if hw["ram_gib"] else "unknown",
        "GPU": ", ".join(hw["gpus"]) or "none (CPU only)",
        "MathJax (served from this site)": mathjax[-1] if mathjax else "not found",
    }


def finite(x: float) -> bool:
    """True for a finite float (not NaN, not infinite)."""
    return isinstance(x, (int, float)) and math.isfinite(x)


__all__ = [
    "MIN_SEEDS",
    "build_record",
    "describe_design",
    "describe_model",
    "finite",
    "footer",
    "format_lr_count",
    "join_words",
    "profile_note",
    "run_scale",
    "scale_words",
    "source_note",
    "stored_label",
    "stored_note",
    "too_small",
    "training_note",
]
