"""Adversarial attacks on depthinit: bad inputs and faults, each classified by what really happens.

Run: ``.venv/bin/python benchmarks/attacks.py [--json out.json] [--surface init] [-v]``
(not collected by pytest). Prints, per surface and in total, how many attacks were
tried and how each ended:

* ``clear error``: the documented exception type, a message that names the value
  (the attack's ``mentions``) and says what to do, and the library's state unchanged
  (the model bit-identical, the sweep folder as it was, the global RNG untouched);
* ``handled``: the documented behaviour, verified by an assertion of the invariant;
* ``unclear``: a raw traceback, an undocumented exception type, or a message that
  does not name the value or say what to do;
* ``silently wrong``: an invariant violated without an error (a std claimed that the
  model does not have, a model changed after an error, a run counted twice or lost
  from the count, a NaN accepted as a result, a bad value taken as a good one);
* ``data lost``: finished runs disappear or are corrupted.

Each attack states what it expects (``error`` or ``handled``; ``either`` accepts a clear
error or a verified handling). Tiny models and tiny synthetic data; real data only
where a reader needs a real file (``$DEPTHINIT_DATA``, default ../shared/data).
The whole catalogue runs in a few minutes on two CPU cores, with one torch thread.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gzip
import io
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import signal
import struct
import sys
import tarfile
import tempfile
import time
import traceback
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import depthinit  # noqa: E402
import depthinit.sweep as sw  # noqa: E402
from depthinit import cli  # noqa: E402
from depthinit import data as dd  # noqa: E402
from depthinit.data import DataError  # noqa: E402
from depthinit.models import CNN, MLP, ResMLP  # noqa: E402
from depthinit.sweep import SweepError  # noqa: E402
from depthinit.sweep import _store as store  # noqa: E402
from depthinit.train import Tensors, TrainConfig, train_many, train_one  # noqa: E402

CLASSES = ("clear error", "handled", "unclear", "silently wrong", "data lost")
SURFACES = ("init", "data", "train", "sweep", "cli", "analysis")
DATA_ROOT = Path(os.environ.get("DEPTHINIT_DATA", ROOT.parent / "shared" / "data"))
#: A CUDA device this machine lacks: "cuda" without CUDA, else the index after the last device.
ABSENT_CUDA = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"

#: Words of a message that says what to do (or what was expected instead).
ADVICE = re.compile(
    r"\b(expected|expect|use|pass|choose|run|delete|set|give|check|install|initiali[sz]e|build|remove|make|"
    r"free|move|convert|wait|call|raise|get|put|leave|replace|materiali[sz]e|keep|restore|declare|merge|"
    r"write|apply|look|provide|add|start|finish|lower|try|change|fix|need|needs|must|should|only|refusing|"
    r"drop|register|load|define|list|usage|divide|multiply|group|select|name|rename|clean|retry|update|upgrade|"
    r"see|reduce|increase|pick|omit|skip|edit|split)\b",
    re.IGNORECASE,
)


class Wrong(Exception):
    """An invariant did not hold, without an error from the library: silently wrong."""


class Lost(Exception):
    """Finished results disappeared or were corrupted: data lost."""


class CliError(Exception):
    """The command line refused with one clear line and exit status 2."""


class RawCrash(Exception):
    """The command line printed a traceback, an internal error, or a wrong exit status."""


@dataclass
class Attack:
    surface: str
    name: str
    expect: str  # "error" | "handled" | "either"
    fn: Callable[[Ctx], Any]
    errors: tuple[type[BaseException], ...] = (ValueError, TypeError)
    mentions: tuple[str, ...] = ()


@dataclass
class Ctx:
    tmp: Path
    caught: list[warnings.WarningMessage] = field(default_factory=list)

    def warned(self, category: type[Warning], pattern: str = "") -> bool:
        return any(
            issubclass(w.category, category) and re.search(pattern, str(w.message), re.IGNORECASE) for w in self.caught
        )


ATTACKS: list[Attack] = []


def attack(
    surface: str,
    name: str,
    expect: str,
    errors: tuple[type[BaseException], ...] | None = None,
    mentions: tuple[str, ...] = (),
) -> Callable[[Callable[[Ctx], Any]], Callable[[Ctx], Any]]:
    """Register the decorated function as one attack."""

    def deco(fn: Callable[[Ctx], Any]) -> Callable[[Ctx], Any]:
        add(surface, name, expect, fn, errors, mentions)
        return fn

    return deco


def add(
    surface: str,
    name: str,
    expect: str,
    fn: Callable[[Ctx], Any],
    errors: tuple[type[BaseException], ...] | None = None,
    mentions: tuple[str, ...] = (),
) -> None:
    assert surface in SURFACES and expect in ("error", "handled", "either"), (surface, expect)
    if errors is None:
        errors = {
            "data": (DataError, ValueError, TypeError, ImportError),
            "sweep": (SweepError, ValueError, TypeError),
            "cli": (CliError,),
        }.get(surface, (ValueError, TypeError))
    assert all(a.name != name or a.surface != surface for a in ATTACKS), name
    ATTACKS.append(Attack(surface, name, expect, fn, errors, tuple(mentions)))


def clear(message: str, mentions: tuple[str, ...]) -> str | None:
    """None when ``message`` is clear, else why not."""
    text = " ".join(message.split())
    if len(text) < 20:
        return f"too short: {text!r}"
    missing = [m for m in mentions if m.lower() not in text.lower()]
    if missing:
        return f"does not name {missing}: {text[:160]!r}"
    if not ADVICE.search(text):
        return f"does not say what to do: {text[:160]!r}"
    return None


def classify(a: Attack, tmp: Path) -> tuple[str, str]:
    ctx = Ctx(tmp)
    rng = torch.get_rng_state()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ctx.caught = caught
            a.fn(ctx)
    except Lost as e:
        return "data lost", str(e)
    except Wrong as e:
        return "silently wrong", str(e)
    except CliError as e:
        if a.expect == "handled":
            return "unclear", f"refused where it should work: {e}"
        why = clear(str(e), a.mentions)
        return ("unclear", why) if why else ("clear error", str(e)[:160])
    except RawCrash as e:
        return "unclear", str(e)[:300]
    except AssertionError as e:  # an assert in the attack: the invariant did not hold
        tb = traceback.extract_tb(e.__traceback__)
        if tb and Path(tb[-1].filename).resolve() == Path(__file__).resolve():
            return "silently wrong", f"invariant failed: {e or tb[-1].line}"
        return "unclear", f"AssertionError from the library: {e}"
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # classifying every outcome is the point
        if not torch.equal(torch.get_rng_state(), rng) and a.surface == "init":
            return "silently wrong", "the global RNG advanced"
        text = f"{type(e).__name__}: {e}"
        if a.expect == "handled":
            return "unclear", f"raised where it should work: {text[:300]}"
        if not isinstance(e, a.errors):
            return "unclear", f"undocumented exception {text[:300]}"
        why = clear(str(e), a.mentions)
        return ("unclear", why) if why else ("clear error", text[:160])
    if a.surface == "init" and not torch.equal(torch.get_rng_state(), rng):
        return "silently wrong", "the global RNG advanced"
    if a.expect == "error":
        return "silently wrong", "accepted without an error"
    return "handled", ""


# ============================================================================ helpers
def quiet_build(make: Callable[[], nn.Module]) -> nn.Module:
    """Build a model without advancing the global RNG (PyTorch's constructors draw from it)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return make()


def mlp(depth: int = 3, width: int = 8, inp: int = 6, out: int = 3, bias: bool = True) -> nn.Sequential:
    def make() -> nn.Sequential:
        layers: list[nn.Module] = [nn.Linear(inp, width, bias=bias), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Linear(width, width, bias=bias), nn.ReLU()]
        layers.append(nn.Linear(width, out, bias=bias))
        return nn.Sequential(*layers)

    return quiet_build(make)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def snapshot(model: nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in [*model.parameters(), *model.buffers()]]


def same(model: nn.Module, snap: list[torch.Tensor]) -> bool:
    now = [*model.parameters(), *model.buffers()]
    return len(now) == len(snap) and all(
        a.shape == b.shape and a.dtype == b.dtype and torch.equal(a.detach(), b) for a, b in zip(now, snap)
    )


@contextlib.contextmanager
def keeps(model: nn.Module) -> Iterator[None]:
    """On an error inside the block, the model must be bit-identical to before (and its modes kept)."""
    snap = snapshot(model)
    modes = [m.training for m in model.modules()]
    try:
        yield
    except BaseException:
        if not same(model, snap):
            raise Wrong("the model changed although the call raised") from None
        if [m.training for m in model.modules()] != modes:
            raise Wrong("train/eval modes changed although the call raised") from None
        raise


def refuse(call: Callable[[], Any], model: nn.Module | None = None) -> Callable[[Ctx], Any]:
    """An attack body: ``call()`` must raise (with ``model`` unchanged)."""

    def fn(ctx: Ctx) -> None:
        if model is None:
            call()
        else:
            with keeps(model):
                call()

    return fn


def std_of(w: torch.Tensor) -> float:
    return float(w.detach().double().std())


def check_std(w: torch.Tensor, claimed: float, what: str, tol: float = 0.2) -> None:
    if not math.isfinite(claimed):
        raise Wrong(f"{what}: the plan claims std {claimed}")
    got = std_of(w)
    if not math.isfinite(got):
        raise Wrong(f"{what}: the weights are not finite")
    if claimed == 0:
        if got != 0:
            raise Wrong(f"{what}: std 0 claimed, {got:.3g} found")
        return
    if abs(got / claimed - 1) > tol:
        raise Wrong(f"{what}: std {claimed:.4g} claimed, {got:.4g} found")


def plan_matches(model: nn.Module, p: Any, tol: float = 0.2) -> None:
    """Every planned weight has the std the plan claims."""
    params = dict(model.named_parameters())
    for l in p.layers:
        w = _weight_of(model, l.layer, params)
        if w is None:
            continue
        check_std(w, l.std, l.layer, tol)


def _weight_of(model: nn.Module, name: str, params: dict[str, nn.Parameter]) -> torch.Tensor | None:
    mods = dict(model.named_modules())
    if name in mods:
        m = mods[name]
        w = getattr(m, "weight", None)
        return w if isinstance(w, torch.Tensor) else None
    head, _, proj = name.rpartition(".")
    if head in mods and isinstance(mods[head], nn.MultiheadAttention) and proj in "qkv":
        mha = mods[head]
        E = mha.embed_dim
        c = "qkv".index(proj)
        if mha._qkv_same_embed_dim:
            return mha.in_proj_weight[c * E : (c + 1) * E]
        return getattr(mha, f"{proj}_proj_weight")
    return None


def tiny_data(
    n: int = 96, n_test: int = 32, shape: tuple[int, ...] = (1, 4, 4), classes: int = 3, seed: int = 3
) -> Tensors:
    g = gen(seed)
    x = torch.rand(n + n_test, *shape, generator=g)
    y = (x.flatten(1).mean(1) * 30).long() % classes
    return Tensors(x[:n], y[:n], x[n:], y[n:])


def tiny_spec(name: str = "tiny", **kw: Any) -> sw.Experiment:
    base: dict[str, Any] = {
        "name": name,
        "dataset": "mnist",
        "model": sw.ModelConfig("mlp", depth=3, width=8),
        "train": TrainConfig(lr=0.05, epochs=1, batch_size=32),
        "inits": (sw.init("he"), sw.init("glorot")),
        "seeds": (0, 1),
    }
    base.update(kw)
    return sw.Experiment(**base)


def sweep(out: Path, spec: sw.Experiment | None = None, **kw: Any):
    kw.setdefault("data", tiny_data())
    kw.setdefault("max_members", 2)
    kw.setdefault("device", "cpu")
    return sw.run(spec or tiny_spec(), out=out, progress=False, **kw)


def finished(out: Path) -> dict[str, Any]:
    """Finished runs of a folder with their result rows (for data-loss checks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = sw.load(out, probes=False, warn=False)
    return {
        rid: g.drop(columns=["wall_s"]).sort_values("epoch").reset_index(drop=True)
        for rid, g in r.results.groupby("run_id")
    }


def kept(out: Path, before: dict[str, Any], now: dict[str, Any] | None = None) -> None:
    """Raise Lost unless every run finished before is still finished, with the same rows."""
    import pandas as pd

    now = finished(out) if now is None else now
    gone = sorted(set(before) - set(now))
    if gone:
        raise Lost(f"{len(gone)} finished run(s) disappeared: {gone[:3]}")
    for rid, rows in before.items():
        try:
            pd.testing.assert_frame_equal(rows, now[rid], check_dtype=False)
        except AssertionError as e:
            raise Lost(f"run {rid} changed: {str(e)[:120]}") from None


def once(out: Path, runs: int, before: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every run of the folder exactly once, ``runs`` of them, each with complete rows and no
    damage left unresolved (and, with ``before``, every run finished before kept as it was)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = sw.load(out, probes=False, warn=False)
    n = r.results["run_id"].nunique()
    if n != runs:
        raise Wrong(f"{n} runs finished, expected {runs}")
    if r.results.duplicated(["run_id", "epoch"]).any():
        raise Wrong("a run is recorded twice")
    if r.problems:
        raise Wrong(f"damage still reported after a resume that trained every run: {r.problems[:2]}")
    if set(r.runs["run_id"]) != set(r.finished) or set(r.plans["run_id"]) != set(r.finished):
        raise Wrong("the runs and plans tables disagree with the results")
    now = {
        rid: g.drop(columns=["wall_s"]).sort_values("epoch").reset_index(drop=True)
        for rid, g in r.results.groupby("run_id")
    }
    if before is not None:
        kept(out, before, now)
    return now


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except Exception as e:  # a traceback reaches the user
        raise RawCrash(f"traceback: {type(e).__name__}: {e}") from None
    return code, out.getvalue(), err.getvalue()


def cli_refuses(argv: list[str], *, creates: Path | None = None) -> Callable[[Ctx], None]:
    """An attack body: the command must exit 2 with one clear line (no traceback), and
    ``creates`` (a path the command was told to write) must not appear."""

    def fn(ctx: Ctx) -> None:
        args = [str(a).replace("{tmp}", str(ctx.tmp)) for a in argv]
        target = None if creates is None else Path(str(creates).replace("{tmp}", str(ctx.tmp)))
        existed = target is not None and target.exists()
        code, _, err = run_cli(args)
        if target is not None and not existed and target.exists():
            raise Wrong(f"{target} was created although the command failed (exit {code})")
        if "Traceback" in err:
            raise RawCrash(f"traceback on stderr: {err[-300:]}")
        if code == 0:
            raise Wrong(f"exit 0 for a bad command: {' '.join(args)}")
        if code != 2:
            raise RawCrash(f"exit {code}: {err.strip()[-300:]}")
        lines = [l for l in err.strip().splitlines() if l.strip()]
        last = lines[-1] if lines else ""
        if not re.search(r"error:", last):
            raise RawCrash(f"no error line: {err[-300:]}")
        usage = [l for l in lines if l.startswith("usage:")]
        raise CliError(last + (" (usage shown: use the form it gives)" if usage else ""))

    return fn


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


@contextlib.contextmanager
def patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def enospc(*args: Any, **kw: Any) -> Any:
    raise OSError(errno.ENOSPC, "No space left on device")


def in_child(target: Callable[..., Any], *args: Any, timeout: float = 60.0) -> int:
    """Run ``target(*args)`` in a forked process; its exit code (-9 when it killed itself)."""
    ctx = mp.get_context("fork")
    p = ctx.Process(target=target, args=args)
    p.start()
    p.join(timeout)
    if p.is_alive():
        p.kill()
        p.join()
        raise Wrong(f"a child process hung for {timeout} s")
    return int(p.exitcode or 0)


# ============================================================================ attacks: init
def _init_options() -> None:
    """Every numeric and choice option of every scheme, abused."""
    numeric = [  # (scheme, option, extra options, must be > 0)
        ("depth", "network_variance", {}, True),
        ("depth", "offset", {}, False),
        ("depth", "shape", {"depth_fn": "power"}, True),
        ("depth", "gain", {}, True),
        ("he", "gain", {}, True),
        ("glorot", "gain", {}, True),
        ("lecun", "gain", {}, True),
        ("orthogonal", "gain", {}, True),
        ("lsuv", "tol", {}, True),
        ("critical", "sigma_b2", {}, False),
        ("ds_init", "gain", {}, True),
    ]
    bad = [
        ("True", True),
        ("np.bool_", np.bool_(True)),
        ("nan", math.nan),
        ("inf", math.inf),
        ("-1", -1.0),
        ("str", "2"),
        ("complex", 1j),
        ("list", [1.0]),
    ]
    for scheme, opt, extra, positive in numeric:
        values = bad + ([("0", 0.0)] if positive else [])
        for label, value in values:

            def fn(ctx: Ctx, scheme=scheme, opt=opt, extra=extra, value=value) -> None:
                m = mlp()
                x = torch.rand(16, 6, generator=gen()) if scheme == "lsuv" else None
                with keeps(m):
                    depthinit.init_(m, scheme, generator=gen(), example_input=x, **extra, **{opt: value})

            add("init", f"{scheme} {opt}={label}", "error", fn, mentions=(opt,))
    choices = [
        ("he", "mode", "fan_avg"),
        ("he", "nonlinearity", "gelu"),
        ("he", "distribution", "Normal"),
        ("depth", "schedule", "Increasing"),
        ("depth", "depth_fn", "exp"),
        ("depth", "base", "lecun"),
        ("depth", "v_reading", "both"),
        ("he", "zero_gate", 1),
        ("he", "zero_gate", "yes"),
        ("depth", "schedule", None),
        ("he", "distribution", ["normal"]),
        ("critical", "nonlinearity", "relu6"),
        ("random_walk", "nonlinearity", "tanh"),
        ("glorot", "distribution", ""),
        ("ds_init", "base", None),
        ("fixup", "mode", 0),
        ("depth", "zero_gate", np.float64(1.0)),
    ]
    for scheme, opt, value in choices:

        def fn(ctx: Ctx, scheme=scheme, opt=opt, value=value) -> None:
            m = mlp()
            with keeps(m):
                depthinit.init_(m, scheme, generator=gen(), **{opt: value})

        add("init", f"{scheme} {opt}={value!r}", "error", fn, mentions=(opt,))
    for value in (0, -1, 1.5, True, "3"):

        def fn(ctx: Ctx, value=value) -> None:
            m = mlp()
            with keeps(m):
                depthinit.init_(m, "lsuv", example_input=torch.rand(16, 6, generator=gen()), max_iter=value)

        add("init", f"lsuv max_iter={value!r}", "error", fn, mentions=("max_iter",))
    for scheme, opts, name in [
        ("he", {"network_variance": 2.0}, "network_variance"),
        ("glorot", {"mode": "fan_in"}, "mode"),
        ("lsuv", {"gain": 2.0}, "gain"),
        ("depth", {"netwrok_variance": 2.0}, "netwrok_variance"),
        ("orthogonal", {"distribution": "normal"}, "distribution"),
        ("rezero", {"zero_gate": True}, "zero_gate"),
    ]:
        add(
            "init",
            f"{scheme} unknown option {name}",
            "error",
            lambda ctx, s=scheme, o=opts: depthinit.init_(mlp(), s, generator=gen(), **o),
            mentions=(name,),
        )


_init_options()


def _init_extremes() -> None:
    """Finite options whose std over- or underflows the dtype must be refused; large valid ones must hold."""
    refused = [
        ("depth network_variance=1e80", "depth", {"network_variance": 1e80}, torch.float32, "network_variance"),
        ("depth network_variance=1e-300", "depth", {"network_variance": 1e-300}, torch.float32, "network_variance"),
        ("depth network_variance=1e300", "depth", {"network_variance": 1e300}, torch.float32, "network_variance"),
        ("he gain=1e300", "he", {"gain": 1e300}, torch.float32, "gain"),
        ("he gain=1e-300", "he", {"gain": 1e-300}, torch.float32, "gain"),
        ("glorot gain=1e39", "glorot", {"gain": 1e39}, torch.float32, "gain"),
        ("orthogonal gain=1e300", "orthogonal", {"gain": 1e300}, torch.float32, "gain"),
        ("critical sigma_b2=1e300", "critical", {"sigma_b2": 1e300}, torch.float32, "sigma_b2"),
        ("fp16 he gain=1e5", "he", {"gain": 1e5}, torch.float16, "gain"),
        ("fp16 he gain=1e-6", "he", {"gain": 1e-6}, torch.float16, "gain"),
        ("bf16 depth network_variance=1e300", "depth", {"network_variance": 1e300}, torch.bfloat16, "network_variance"),
        ("fp16 depth network_variance=1e12", "depth", {"network_variance": 1e12}, torch.float16, "network_variance"),
        ("ds_init gain=1e-300", "ds_init", {"gain": 1e-300}, torch.float32, "gain"),
    ]
    for name, scheme, opts, dtype, mention in refused:

        def fn(ctx: Ctx, scheme=scheme, opts=opts, dtype=dtype) -> None:
            m = mlp().to(dtype)
            if scheme == "critical":
                m = quiet_build(lambda: nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))).to(dtype)
                opts = {**opts, "nonlinearity": "tanh"}
            with keeps(m):
                depthinit.init_(m, scheme, generator=gen(), **opts)

        add("init", name, "error", fn, mentions=(mention,))
    for name, scheme, opts, dtype in [
        ("float64 depth network_variance=1e80", "depth", {"network_variance": 1e80}, torch.float64),
        ("he gain=1e30", "he", {"gain": 1e30}, torch.float32),
        ("he gain=1e-30", "he", {"gain": 1e-30}, torch.float32),
        ("depth network_variance=1e-20", "depth", {"network_variance": 1e-20}, torch.float32),
        ("bf16 he", "he", {}, torch.bfloat16),
        ("fp16 depth", "depth", {}, torch.float16),
        ("float64 glorot uniform", "glorot", {"distribution": "uniform"}, torch.float64),
    ]:

        def fn(ctx: Ctx, scheme=scheme, opts=opts, dtype=dtype) -> None:
            m = mlp(width=64).to(dtype)
            p = depthinit.init_(m, scheme, generator=gen(), **opts)
            plan_matches(m, p, tol=0.3)
            assert all(w.dtype == dtype for w in m.parameters())

        add("init", name, "handled", fn)


_init_extremes()


def _init_arguments() -> None:
    for label, scheme in [
        ("'nope'", "nope"),
        ("'HE'", "HE"),
        ("''", ""),
        ("None", None),
        ("5", 5),
        ("['he']", ["he"]),
        ("('he',)", ("he",)),
        ("b'he'", b"he"),
    ]:
        add(
            "init", f"scheme={label}", "error", refuse(lambda s=scheme: depthinit.init_(mlp(), s)), mentions=("scheme",)
        )
        if scheme in ("nope", ["he"], None):
            add(
                "init",
                f"plan scheme={label}",
                "error",
                refuse(lambda s=scheme: depthinit.plan(mlp(), s)),
                mentions=("scheme",),
            )
    for label, g in [
        ("42", 42),
        ("'seed'", "seed"),
        ("numpy Generator", np.random.default_rng(0)),
        ("True", True),
        ("torch.manual_seed module", torch.random),
        ("a tensor", torch.tensor(3)),
    ]:
        m = mlp()
        add(
            "init",
            f"generator={label}",
            "error",
            refuse(lambda g=g, m=m: depthinit.init_(m, "he", generator=g), m),
            mentions=("generator",),
        )
    add(
        "init",
        "plan generator=42 (lsuv)",
        "error",
        refuse(lambda: depthinit.plan(mlp(), "lsuv", example_input=torch.rand(8, 6, generator=gen()), generator=42)),
        mentions=("generator",),
    )
    for label, model in [
        ("None", None),
        ("a function", lambda x: x),
        ("a list of layers", [nn.Linear(2, 2)]),
        ("a tensor", torch.zeros(2, 2)),
        ("a class", nn.Linear),
        ("a state dict", {"w": torch.zeros(2)}),
    ]:
        add("init", f"model={label}", "error", refuse(lambda m=model: depthinit.init_(m, "he")), mentions=("model",))
    for label, model in [
        ("nn.ReLU()", nn.ReLU()),
        ("nn.Identity()", nn.Identity()),
        ("only BatchNorm", nn.BatchNorm1d(4)),
        ("only Embedding", nn.Embedding(5, 3)),
    ]:
        add(
            "init",
            f"no weight layer: {label}",
            "error",
            refuse(lambda m=model: depthinit.init_(m, "he"), model),
            mentions=("weight layer",),
        )


_init_arguments()


def _example_inputs() -> None:
    cases = [
        ("wrong feature size", lambda: torch.rand(8, 5, generator=gen())),
        ("int tensor", lambda: torch.randint(0, 3, (8, 6), generator=gen())),
        ("a string", lambda: "x"),
        ("meta tensor", lambda: torch.empty(8, 6, device="meta")),
        ("tuple of two", lambda: (torch.rand(8, 6, generator=gen()), torch.rand(8, 6, generator=gen()))),
        ("dict with a wrong key", lambda: {"y": torch.rand(8, 6, generator=gen())}),
        ("a list of floats", lambda: [0.1] * 6),
        ("float64 batch", lambda: torch.rand(8, 6, dtype=torch.float64, generator=gen())),
        ("3-D batch of another size", lambda: torch.rand(2, 8, 5, generator=gen())),
    ]
    for label, make in cases:
        for scheme in ("lsuv", "he"):

            def fn(ctx: Ctx, make=make, scheme=scheme) -> None:
                m = mlp()
                with keeps(m):
                    depthinit.init_(m, scheme, example_input=make(), generator=gen())

            add("init", f"{scheme} example_input={label}", "error", fn, mentions=("example_input",))
    add(
        "init",
        "lsuv without example_input",
        "error",
        refuse(lambda: depthinit.init_(mlp(), "lsuv")),
        mentions=("example_input",),
    )
    add(
        "init",
        "plan lsuv without example_input",
        "error",
        refuse(lambda: depthinit.plan(mlp(), "lsuv")),
        mentions=("example_input",),
    )

    def degenerate(make: Callable[[], torch.Tensor]) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            m = mlp()
            snap = snapshot(m)
            try:
                with keeps(m):
                    p = depthinit.init_(m, "lsuv", example_input=make(), generator=gen())
            except (ValueError, TypeError) as e:
                if clear(str(e), ("example_input",)) is None and same(m, snap):
                    raise
                raise Wrong(f"unclear refusal of a degenerate batch: {e}") from None
            if p.converged or not ctx.warned(depthinit.LSUVConvergenceWarning):
                raise Wrong("a degenerate batch gave a converged LSUV plan without a warning")
            for w in m.parameters():
                if not torch.isfinite(w).all():
                    raise Wrong("LSUV on a degenerate batch left non-finite weights")
            plan_matches(m, p, tol=1e-3)

        return fn

    for label, make in [
        ("zeros", lambda: torch.zeros(16, 6)),
        ("NaN", lambda: torch.full((16, 6), math.nan)),
        ("inf", lambda: torch.full((16, 6), math.inf)),
        ("empty batch", lambda: torch.rand(0, 6, generator=gen())),
        ("one NaN entry", lambda: torch.rand(16, 6, generator=gen()).index_fill_(0, torch.tensor([3]), math.nan)),
    ]:
        add("init", f"lsuv example_input {label}", "either", degenerate(make), mentions=("example_input",))

    def ok_forms(ctx: Ctx) -> None:
        class Two(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)

            def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
                return self.b(torch.relu(self.a(x * scale)))

        m = quiet_build(Two)
        x = torch.rand(16, 6, generator=gen())
        for form in (x, (x,), [x, 2.0], {"x": x, "scale": 0.5}):
            p = depthinit.init_(m, "lsuv", example_input=form, generator=gen())
            assert p.order == "forward" and p.L == 2
            plan_matches(m, p, tol=1e-6)

    add("init", "example_input as tensor, tuple, list and dict", "handled", ok_forms)

    def grad_input(ctx: Ctx) -> None:
        m = mlp()
        x = torch.rand(16, 6, generator=gen(), requires_grad=True)
        p = depthinit.init_(m, "lsuv", example_input=x, generator=gen())
        assert x.grad is None and all(w.grad is None for w in m.parameters())
        plan_matches(m, p, 1e-6)

    add("init", "lsuv example_input requiring grad", "handled", grad_input)


_example_inputs()


def _model_states() -> None:
    def meta(scheme: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            with torch.device("meta"):
                m = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
            x = torch.rand(8, 6, generator=gen()) if scheme == "lsuv" else None
            depthinit.init_(m, scheme, example_input=x, generator=gen())

        return fn

    for scheme in ("he", "lsuv", "depth"):
        add("init", f"meta model {scheme}", "error", meta(scheme), mentions=("meta",))

    def inference(scheme: str, plan: bool = False) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            with torch.inference_mode():
                m = mlp()
            x = torch.rand(8, 6, generator=gen()) if scheme == "lsuv" else None
            with keeps(m):
                (depthinit.plan if plan else depthinit.init_)(m, scheme, example_input=x, generator=gen())

        return fn

    for scheme in ("he", "lsuv", "orthogonal"):
        add("init", f"inference-mode model {scheme}", "error", inference(scheme), mentions=("inference",))
    add("init", "inference-mode model plan lsuv", "error", inference("lsuv", plan=True), mentions=("inference",))

    def inside_inference(ctx: Ctx) -> None:
        m = mlp()
        with torch.inference_mode():
            p = depthinit.init_(m, "he", generator=gen())
        plan_matches(m, p)

    add("init", "init_ called inside inference_mode on a normal model", "either", inside_inference)

    def lazy(ctx: Ctx) -> None:
        m = quiet_build(lambda: nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.Linear(8, 3)))
        depthinit.init_(m, "he", generator=gen())

    add("init", "lazy layer", "error", lazy, mentions=("lazy",))

    def complex_w(ctx: Ctx) -> None:
        m = quiet_build(lambda: nn.Sequential(nn.Linear(6, 8, dtype=torch.cfloat), nn.Linear(8, 3, dtype=torch.cfloat)))
        with keeps(m):
            depthinit.init_(m, "he", generator=gen())

    add("init", "complex weights", "error", complex_w, mentions=("complex",))

    def complex_second(ctx: Ctx) -> None:
        m = quiet_build(lambda: nn.Sequential(nn.Linear(6, 8), nn.Linear(8, 3, dtype=torch.cdouble)))
        with keeps(m):
            depthinit.init_(m, "he", generator=gen())

    add("init", "complex second layer (partial failure)", "error", complex_second, mentions=("complex",))

    def int_w(ctx: Ctx) -> None:
        m = mlp()
        m[2].weight = nn.Parameter(torch.zeros(8, 8, dtype=torch.int64), requires_grad=False)
        with keeps(m):
            depthinit.init_(m, "he", generator=gen())

    add("init", "integer weight", "error", int_w, mentions=("int64",))

    def frozen(ctx: Ctx) -> None:
        m = mlp(width=64)
        for p_ in m.parameters():
            p_.requires_grad_(False)
        p = depthinit.init_(m, "he", generator=gen())
        plan_matches(m, p)
        assert not any(w.requires_grad for w in m.parameters())

    add("init", "frozen parameters (requires_grad=False)", "handled", frozen)

    def nan_before(ctx: Ctx) -> None:
        m = mlp(width=64)
        with torch.no_grad():
            for w in m.parameters():
                w.fill_(math.nan)
        p = depthinit.init_(m, "he", generator=gen())
        assert all(torch.isfinite(w).all() for w in m.parameters())
        plan_matches(m, p)

    add("init", "weights NaN before init", "handled", nan_before)

    def zero_in(ctx: Ctx) -> None:
        m = quiet_build(lambda: nn.Sequential(nn.Linear(0, 8), nn.ReLU(), nn.Linear(8, 3)))
        with keeps(m):
            p = depthinit.init_(m, "he", generator=gen())
        plan_matches(m, p)

    add("init", "Linear(0, 8): zero fan-in", "error", zero_in, mentions=("fan",))

    def zero_out(ctx: Ctx) -> None:
        m = quiet_build(lambda: nn.Sequential(nn.Linear(6, 0), nn.Linear(0, 3)))
        with keeps(m):
            depthinit.init_(m, "glorot", generator=gen())

    add("init", "Linear(6, 0) then Linear(0, 3): empty layers", "error", zero_out, mentions=("fan",))

    def zero_channels(ctx: Ctx) -> None:
        m = quiet_build(lambda: nn.Sequential(nn.Conv2d(0, 4, 3), nn.Conv2d(4, 2, 3)))
        with keeps(m):
            depthinit.init_(m, "lecun", generator=gen())

    add("init", "Conv2d(0, 4): zero input channels", "error", zero_channels, mentions=("fan",))

    def modes(ctx: Ctx) -> None:
        m = quiet_build(
            lambda: nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 3))
        )
        m.train()
        m[1].eval()
        before = [x.training for x in m.modules()]
        bn = [b.clone() for b in m.buffers()]
        depthinit.init_(m, "lsuv", example_input=torch.rand(32, 6, generator=gen()), generator=gen())
        assert [x.training for x in m.modules()] == before, "modes changed"
        assert all(torch.equal(a, b) for a, b in zip(bn, m.buffers())), "BatchNorm running stats changed"

    add("init", "lsuv keeps mixed train/eval modes and BatchNorm buffers", "handled", modes)


_model_states()


def _parametrized() -> None:
    from torch.nn.utils import parametrizations as P
    from torch.nn.utils import parametrize

    def case(apply: Callable[[nn.Module], Any], scheme: str = "he") -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            m = mlp()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quiet_build(lambda: apply(m[2]) or m)
            x = torch.rand(16, 6, generator=gen()) if scheme == "lsuv" else None
            with keeps(m):
                p = depthinit.init_(m, scheme, example_input=x, generator=gen())
            plan_matches(m, p, tol=0.05)

        return fn

    class Double(nn.Module):
        def forward(self, w: torch.Tensor) -> torch.Tensor:
            return 2 * w

    cases = [
        ("parametrizations.weight_norm", lambda l: P.weight_norm(l)),
        ("parametrizations.spectral_norm", lambda l: P.spectral_norm(l)),
        ("parametrizations.orthogonal", lambda l: P.orthogonal(l)),
        ("legacy weight_norm", lambda l: nn.utils.weight_norm(l)),
        ("legacy spectral_norm", lambda l: nn.utils.spectral_norm(l)),
        ("custom parametrization", lambda l: parametrize.register_parametrization(l, "weight", Double())),
    ]
    for label, apply in cases:
        add("init", f"{label} he", "either", case(apply), mentions=("weight",))
        if label in ("parametrizations.weight_norm", "legacy weight_norm"):
            add("init", f"{label} lsuv", "either", case(apply, "lsuv"), mentions=("weight",))
            add("init", f"{label} depth", "either", case(apply, "depth"), mentions=("weight",))

    def bias_param(ctx: Ctx) -> None:
        m = mlp()
        parametrize.register_parametrization(m[2], "bias", Double())
        with keeps(m):
            p = depthinit.init_(m, "he", generator=gen())
        plan_matches(m, p)
        if float(m[2].bias.abs().sum()) != 0 and not any("parametrizations" in n for n, _ in p.skipped):
            raise Wrong("a parametrized bias is neither set to zero nor listed in plan.skipped")

    add("init", "parametrized bias only", "either", bias_param, mentions=("bias",))


_parametrized()


def _tied() -> None:
    def two_linears(ctx: Ctx) -> None:
        class T(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.a, self.mid, self.b = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 8)
                self.b.weight = self.a.weight

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.b(torch.relu(self.mid(torch.relu(self.a(x)))))

        m = quiet_build(T)
        for scheme in ("he", "depth"):
            p = depthinit.init_(m, scheme, generator=gen(), example_input=torch.rand(4, 8, generator=gen()))
            assert p.L == 2, f"a tied weight planned {p.L} times"
            assert any(l.tied for l in p.layers), "the plan does not name the tied users"
            plan_matches(m, p, 0.3)
            assert m.a.weight is m.b.weight
            assert float(m.b.bias.abs().sum()) == 0.0, "the tied user's bias was not set"

    add("init", "two Linears sharing one weight", "handled", two_linears)

    def embedding_tie(ctx: Ctx) -> None:
        class LM(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.emb = nn.Embedding(50, 16)
                self.hidden = nn.Linear(16, 16)
                self.head = nn.Linear(16, 50, bias=False)
                self.head.weight = self.emb.weight

            def forward(self, t: torch.Tensor) -> torch.Tensor:
                return self.head(torch.relu(self.hidden(self.emb(t))))

        m = quiet_build(LM)
        p = depthinit.init_(m, "he", generator=gen(), example_input=torch.randint(0, 50, (4, 5), generator=gen()))
        head = [l for l in p.layers if l.layer == "head"]
        assert head and "emb" in head[0].tied, f"the embedding is not named as a user of the head's weight: {p.layers}"
        check_std(m.emb.weight, head[0].std, "emb (tied to head)")
        assert all(n != "emb" for n, _ in p.skipped), "the tied embedding is listed as skipped though it was set"

    add("init", "embedding tied to the output layer", "handled", embedding_tie)

    def reused(ctx: Ctx) -> None:
        class R(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inp, self.block, self.out = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8, 3)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                h = torch.relu(self.inp(x))
                for _ in range(3):
                    h = torch.relu(self.block(h))
                return self.out(h)

        m = quiet_build(R)
        p = depthinit.init_(m, "lsuv", generator=gen(), example_input=torch.rand(32, 6, generator=gen()))
        assert [l.layer for l in p.layers] == ["inp", "block", "out"], [l.layer for l in p.layers]
        plan_matches(m, p, 1e-6)

    add("init", "a module called three times", "handled", reused)

    def shared_module(ctx: Ctx) -> None:
        lin = quiet_build(lambda: nn.Linear(8, 8))
        m = quiet_build(lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), lin, nn.ReLU(), lin, nn.Linear(8, 3)))
        p = depthinit.init_(m, "depth", generator=gen())
        assert p.L == 3, p.L
        plan_matches(m, p, 0.3)

    add("init", "one module registered twice", "handled", shared_module)


_tied()


def _coverage() -> None:
    def fan_rule(w: torch.Tensor) -> tuple[int, int]:
        rec = math.prod(w.shape[2:]) if w.dim() > 2 else 1
        return w.shape[1] * rec, w.shape[0] * rec

    def conv_t(make: Callable[[], nn.Module], x: Callable[[], torch.Tensor], scheme: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            m = quiet_build(make)
            p = depthinit.init_(m, scheme, generator=gen(), example_input=x())
            names = dict(m.named_modules())
            planned = {l.layer for l in p.layers}
            for n, mod in names.items():
                if isinstance(mod, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Conv2d, nn.Linear)):
                    assert n in planned, f"{n} ({type(mod).__name__}) not planned"
            for l in p.layers:
                w = names[l.layer].weight
                assert (l.fan_in, l.fan_out) == fan_rule(w), (l.layer, l.fan_in, l.fan_out, fan_rule(w))
                if scheme == "he":
                    expected = math.sqrt(2.0 / l.fan_in)
                    assert abs(l.std / expected - 1) < 1e-9, (l.layer, l.std, expected)
            plan_matches(m, p, 0.25)

        return fn

    cases = [
        (
            "ConvTranspose1d",
            lambda: nn.Sequential(nn.ConvTranspose1d(4, 8, 3), nn.ReLU(), nn.ConvTranspose1d(8, 2, 3)),
            lambda: torch.rand(2, 4, 10, generator=gen()),
        ),
        (
            "ConvTranspose2d",
            lambda: nn.Sequential(nn.ConvTranspose2d(4, 8, 3, stride=2), nn.ReLU(), nn.ConvTranspose2d(8, 2, 3)),
            lambda: torch.rand(2, 4, 6, 6, generator=gen()),
        ),
        (
            "ConvTranspose3d",
            lambda: nn.Sequential(nn.ConvTranspose3d(2, 4, 2), nn.ReLU(), nn.ConvTranspose3d(4, 2, 2)),
            lambda: torch.rand(1, 2, 4, 4, 4, generator=gen()),
        ),
        (
            "grouped ConvTranspose2d",
            lambda: nn.Sequential(
                nn.ConvTranspose2d(4, 8, 3, groups=2), nn.ReLU(), nn.ConvTranspose2d(8, 4, 3, groups=4)
            ),
            lambda: torch.rand(2, 4, 6, 6, generator=gen()),
        ),
        (
            "grouped Conv2d",
            lambda: nn.Sequential(nn.Conv2d(4, 8, 3, groups=4), nn.ReLU(), nn.Conv2d(8, 4, 1, groups=2)),
            lambda: torch.rand(2, 4, 8, 8, generator=gen()),
        ),
        (
            "encoder-decoder conv",
            lambda: nn.Sequential(nn.Conv2d(2, 6, 3, stride=2), nn.ReLU(), nn.ConvTranspose2d(6, 2, 3, stride=2)),
            lambda: torch.rand(2, 2, 9, 9, generator=gen()),
        ),
    ]
    for label, make, x in cases:
        for scheme in ("he", "depth", "lsuv"):
            add("init", f"{label} {scheme}", "handled", conv_t(make, x, scheme))

    def encoder(layers: int, scheme: str, **kw: Any) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            m = quiet_build(
                lambda: nn.TransformerEncoder(
                    nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0, batch_first=True, **kw),
                    layers,
                    enable_nested_tensor=False,
                )
            )
            x = torch.rand(4, 5, 16, generator=gen())
            p = depthinit.init_(m, scheme, generator=gen(), example_input=x)
            names = [l.layer for l in p.layers]
            for i in range(layers):
                for proj in ("q", "k", "v", "out_proj"):
                    assert f"layers.{i}.self_attn.{proj}" in names, f"layers.{i}.self_attn.{proj} not planned: {names}"
            assert not p.unreached, p.unreached
            assert all("self_attn" not in n or "norm" in n for n, _ in p.skipped), p.skipped
            plan_matches(m, p, 0.25 if scheme != "lsuv" else 1e-6)
            if scheme == "lsuv":
                assert all(l.lsuv_converged for l in p.layers), "LSUV did not converge on every matrix"

        return fn

    for scheme in ("he", "glorot", "depth", "lsuv"):
        add("init", f"3-layer TransformerEncoder {scheme}", "handled", encoder(3, scheme))
    add("init", "TransformerEncoder norm_first lsuv", "handled", encoder(2, "lsuv", norm_first=True))

    def mha(
        kw: dict[str, Any], scheme: str, check: Callable[[nn.MultiheadAttention, Any], None]
    ) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            class M(nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.attn = nn.MultiheadAttention(8, 2, batch_first=True, **kw)
                    self.head = nn.Linear(8, 3)

                def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
                    return self.head(self.attn(q, k, v, need_weights=False)[0])

            m = quiet_build(M)
            kd, vd = kw.get("kdim", 8), kw.get("vdim", 8)
            x = (
                torch.rand(3, 4, 8, generator=gen()),
                torch.rand(3, 6, kd, generator=gen()),
                torch.rand(3, 6, vd, generator=gen()),
            )
            p = depthinit.init_(m, scheme, generator=gen(), example_input=x)
            assert [l.layer for l in p.layers] == ["attn.q", "attn.k", "attn.v", "attn.out_proj", "head"], [
                l.layer for l in p.layers
            ]
            plan_matches(m, p, 0.3 if scheme != "lsuv" else 1e-6)
            check(m.attn, p)

        return fn

    def fans_ok(a: nn.MultiheadAttention, p: Any) -> None:
        k = next(l for l in p.layers if l.layer == "attn.k")
        assert k.fan_in == (a.kdim or a.embed_dim) and k.fan_out == a.embed_dim, (k.fan_in, k.fan_out)

    def bias_kv(a: nn.MultiheadAttention, p: Any) -> None:
        assert any(n == "attn" and "bias_k" in why for n, why in p.skipped), p.skipped

    def no_bias(a: nn.MultiheadAttention, p: Any) -> None:
        assert a.in_proj_bias is None

    def zero_bias(a: nn.MultiheadAttention, p: Any) -> None:
        assert float(a.in_proj_bias.abs().sum()) == 0 and float(a.out_proj.bias.abs().sum()) == 0

    for label, kw, check in [
        ("kdim/vdim", {"kdim": 5, "vdim": 7}, fans_ok),
        ("add_bias_kv", {"add_bias_kv": True}, bias_kv),
        ("bias=False", {"bias": False}, no_bias),
        ("biases zeroed", {}, zero_bias),
    ]:
        for scheme in ("he", "lsuv"):
            add("init", f"MultiheadAttention {label} {scheme}", "handled", mha(kw, scheme, check))

    def skipped(
        make: Callable[[], nn.Module], x: Callable[[], Any], expect_names: tuple[str, ...], scheme: str = "he"
    ) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            m = quiet_build(make)
            before = {n: t.detach().clone() for n, t in m.named_parameters()}
            p = depthinit.init_(m, scheme, generator=gen(), example_input=x())
            listed = {n for n, _ in p.skipped}
            for n in expect_names:
                assert n in listed, f"{n} not in plan.skipped: {p.skipped}"
                for pn, t in m.named_parameters():
                    if pn.startswith(n + "."):
                        assert torch.equal(t, before[pn]), f"{pn} was changed although skipped"
            assert all(why for _, why in p.skipped)

        return fn

    class Emb(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb, self.fc = nn.Embedding(20, 6), nn.Linear(6, 3)

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return self.fc(self.emb(t).mean(1))

    class Rec(nn.Module):
        def __init__(self, cell: type[nn.Module]) -> None:
            super().__init__()
            self.rnn, self.fc = cell(6, 8, batch_first=True), nn.Linear(8, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.rnn(x)[0][:, -1])

    class Bil(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc, self.bil = nn.Linear(6, 4), nn.Bilinear(4, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.fc(x)
            return self.bil(h, h)

    class Raw(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.ones(6))
            self.fc = nn.Linear(6, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x * self.scale)

    def ids() -> torch.Tensor:
        return torch.randint(0, 20, (4, 5), generator=gen())

    def seq() -> torch.Tensor:
        return torch.rand(4, 5, 6, generator=gen())

    def flat() -> torch.Tensor:
        return torch.rand(4, 6, generator=gen())

    for label, make, x, names in [
        ("Embedding", Emb, ids, ("emb",)),
        ("LSTM", lambda: Rec(nn.LSTM), seq, ("rnn",)),
        ("GRU", lambda: Rec(nn.GRU), seq, ("rnn",)),
        ("RNN", lambda: Rec(nn.RNN), seq, ("rnn",)),
        ("Bilinear", Bil, flat, ("bil",)),
        ("a raw Parameter", Raw, flat, ("Raw",)),
        ("LayerNorm", lambda: nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Linear(8, 3)), flat, ("1",)),
        ("PReLU", lambda: nn.Sequential(nn.Linear(6, 8), nn.PReLU(), nn.Linear(8, 3)), flat, ("1",)),
    ]:
        add("init", f"skipped lists {label}", "handled", skipped(make, x, names))
    add("init", "skipped lists Embedding under lsuv", "handled", skipped(Emb, ids, ("emb",), "lsuv"))

    def unreached(scheme: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            class U(nn.Module):
                def __init__(self) -> None:
                    super().__init__()
                    self.a, self.b, self.aux = nn.Linear(6, 8), nn.Linear(8, 3), nn.Linear(8, 8)

                def forward(self, x: torch.Tensor) -> torch.Tensor:
                    return self.b(torch.relu(self.a(x)))

            m = quiet_build(U)
            aux = m.aux.weight.detach().clone()
            p = depthinit.init_(m, scheme, generator=gen(), example_input=torch.rand(16, 6, generator=gen()))
            assert p.unreached == ("aux",), p.unreached
            assert torch.equal(m.aux.weight, aux), "an unreached layer was changed"
            assert [l.layer for l in p.layers] == ["a", "b"]

        return fn

    for scheme in ("he", "lsuv", "depth"):
        add("init", f"unreached layer {scheme}", "handled", unreached(scheme))

    def norm_warning(ctx: Ctx) -> None:
        m = quiet_build(lambda: MLP(6, 3, depth=4, width=8, batch_norm=True))
        depthinit.init_(m, "depth", generator=gen())
        assert ctx.warned(depthinit.NormalizationCancelsDepthWarning), (
            "no warning for a depth schedule under batch norm"
        )

    add("init", "depth schedule under batch norm warns", "handled", norm_warning)

    def big_print(ctx: Ctx) -> None:
        m = quiet_build(lambda: MLP(6, 3, depth=200, width=4))
        p = depthinit.plan(m, "depth")
        text = str(p)
        assert max(map(len, text.splitlines())) <= 80, "the plan's table is wider than 80 columns"
        assert p.L == 200

    add("init", "plan of a 200-layer MLP prints in 80 columns", "handled", big_print)


_coverage()


def _rng_and_determinism() -> None:
    class Noisy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.drop, self.b = nn.Linear(6, 8), nn.Dropout(0.3), nn.Linear(8, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + 0.01 * torch.randn_like(x)  # draws from the global RNG
            return self.b(self.drop(torch.relu(self.a(x))))

    def noisy(scheme: str, fn_name: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:  # the harness checks the global RNG around every init attack
            m = quiet_build(Noisy)
            m.train()
            getattr(depthinit, fn_name)(m, scheme, generator=gen(), example_input=torch.rand(16, 6, generator=gen()))
            assert m.training and m.drop.training

        return fn

    for scheme in ("lsuv", "he", "depth"):
        for fn_name in ("init_", "plan"):
            add(
                "init",
                f"{fn_name} {scheme} on a model drawing random numbers keeps the global RNG",
                "handled",
                noisy(scheme, fn_name),
            )

    def no_generator(ctx: Ctx) -> None:
        m = mlp(width=64)
        p = depthinit.init_(m, "he")
        plan_matches(m, p)

    add("init", "generator=None draws without the global RNG", "handled", no_generator)

    def repeat(scheme: str, **kw: Any) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            x = torch.rand(32, 6, generator=gen(5)) if scheme == "lsuv" else None
            ws = []
            for _ in range(2):
                m = mlp()
                depthinit.init_(m, scheme, generator=gen(7), example_input=x, **kw)
                ws.append(snapshot(m))
            assert all(torch.equal(a, b) for a, b in zip(*ws)), "same seed, different weights"

        return fn

    for scheme, kw in [
        ("he", {}),
        ("orthogonal", {}),
        ("depth", {"distribution": "uniform"}),
        ("lsuv", {}),
        ("random_walk", {}),
        ("critical", {"nonlinearity": "relu"}),
    ]:
        add("init", f"{scheme} twice with one seed is bit-identical", "handled", repeat(scheme, **kw))

    def plan_is_pure(scheme: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            m = mlp()
            snap = snapshot(m)
            g = gen(3)
            state = g.get_state()
            x = torch.rand(32, 6, generator=gen(5))
            p = depthinit.plan(m, scheme, generator=g, example_input=x)
            assert same(m, snap), "plan changed the model"
            assert torch.equal(g.get_state(), state), "plan advanced the generator"
            q = depthinit.init_(m, scheme, generator=gen(3), example_input=x)
            for a, b in zip(p.layers, q.layers):
                assert a.std == b.std, f"plan says std {a.std}, init_ applied {b.std} ({a.layer})"

        return fn

    for scheme in ("lsuv", "he", "orthogonal", "depth"):
        add("init", f"plan({scheme}) changes nothing and predicts init_", "handled", plan_is_pure(scheme))

    def threads(ctx: Ctx) -> None:
        x = torch.rand(64, 6, generator=gen(5))
        m1, m2 = mlp(width=32), mlp(width=32)
        before = torch.get_num_threads()
        try:
            torch.set_num_threads(1)
            depthinit.init_(m1, "lsuv", generator=gen(7), example_input=x)
            depthinit.init_(m2, "lsuv", generator=gen(7), example_input=x)
        finally:
            torch.set_num_threads(before)
        assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))
        doc = depthinit.init_.__doc__ or ""
        assert "get_num_threads" in doc, "the docstring's bit-identical promise does not state the thread condition"

    add("init", "lsuv bit-identical under a fixed thread count, and documented so", "handled", threads)


_rng_and_determinism()


def _partial_failure() -> None:
    class Flaky(nn.Module):
        """Fails on the n-th forward call (during LSUV's rescaling passes)."""

        def __init__(self, n: int, exc: type[BaseException]) -> None:
            super().__init__()
            self.a, self.b, self.c = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8, 3)
            self.n, self.calls, self.exc = n, 0, exc

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.calls += 1
            if self.calls == self.n:
                raise self.exc("boom")
            return self.c(torch.relu(self.b(torch.relu(self.a(x)))))

    def flaky(n: int, exc: type[BaseException]) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            m = quiet_build(lambda: Flaky(n, exc))
            snap = snapshot(m)
            try:
                depthinit.init_(m, "lsuv", generator=gen(), example_input=torch.rand(16, 6, generator=gen()))
            except KeyboardInterrupt:
                assert same(m, snap), "the model changed after a KeyboardInterrupt"
                return
            except BaseException:
                if not same(m, snap):
                    raise Wrong("the model changed after an error in the middle of LSUV") from None
                raise
            raise Wrong("a failing forward pass was not reported")

        return fn

    for n in (2, 3, 5):
        add(
            "init",
            f"lsuv forward fails on call {n}",
            "error",
            flaky(n, RuntimeError),
            errors=(ValueError,),
            mentions=("boom",),
        )
    add("init", "KeyboardInterrupt in the middle of lsuv", "handled", flaky(4, KeyboardInterrupt))

    def fixup_bad(ctx: Ctx) -> None:
        m = mlp()
        with keeps(m):
            depthinit.init_(m, "fixup", generator=gen())

    add("init", "fixup without a residual structure", "error", fixup_bad, mentions=("residual",))
    for scheme, kw in [("rezero", {}), ("he", {"zero_gate": True}), ("depth", {"zero_gate": True})]:
        add(
            "init",
            f"{scheme} {kw} on a model without gates",
            "error",
            refuse(lambda s=scheme, k=kw: depthinit.init_(mlp(), s, generator=gen(), **k)),
            mentions=("gate",),
        )

    def tanh_mlp() -> nn.Module:
        return quiet_build(lambda: nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)))

    add(
        "init",
        "critical tanh on a ReLU model",
        "error",
        refuse(lambda: depthinit.init_(mlp(), "critical", nonlinearity="tanh")),
        mentions=("activation",),
    )
    add(
        "init",
        "critical relu with sigma_b2=0.1",
        "error",
        refuse(lambda: depthinit.init_(mlp(), "critical", nonlinearity="relu", sigma_b2=0.1)),
        mentions=("sigma_b2",),
    )
    add(
        "init",
        "critical with biases on a bias-free model",
        "error",
        refuse(
            lambda: depthinit.init_(
                quiet_build(lambda: nn.Sequential(nn.Linear(6, 8, bias=False), nn.Tanh(), nn.Linear(8, 3, bias=False))),
                "critical",
            )
        ),
        mentions=("bias",),
    )

    def critical_ok(ctx: Ctx) -> None:
        m = quiet_build(
            lambda: nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 3))
        )
        p = depthinit.init_(m, "critical", generator=gen())
        plan_matches(m, p)
        check_std(m[0].bias, p.layers[0].bias_std, "bias", 0.4)

    add("init", "critical tanh draws biases with the claimed std", "handled", critical_ok)

    def fixup_ok(ctx: Ctx) -> None:
        m = quiet_build(lambda: ResMLP(6, 3, blocks=3, width=16))
        p = depthinit.init_(m, "fixup", generator=gen())
        zero = [l for l in p.layers if l.distribution == "zero"]
        assert len(zero) == 4, len(zero)
        plan_matches(m, p, 0.35)

    add("init", "fixup on ResMLP sets branch ends and the classifier to zero", "handled", fixup_ok)

    def rezero_ok(ctx: Ctx) -> None:
        m = quiet_build(lambda: ResMLP(6, 3, blocks=2, width=16, gate=True))
        with torch.no_grad():
            for _, g in depthinit.init.find_residual(m).gates:
                g.fill_(0.7)
        p = depthinit.init_(m, "rezero", generator=gen())
        assert p.gates and all(v == 0.0 for _, v in p.gates)
        assert all(float(g) == 0.0 for _, g in depthinit.init.find_residual(m).gates)

    add("init", "rezero sets every gate to zero", "handled", rezero_ok)

    class BadBranches(nn.Module):
        def __init__(self, branches: Any, gates: Any = None) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)
            self._branches, self._gates = branches, gates

        def residual_branches(self) -> Any:
            return self._branches(self) if callable(self._branches) else self._branches

        def residual_gates(self) -> Any:
            return [] if self._gates is None else self._gates(self)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(torch.relu(self.a(x)))

    for label, branches, gates in [
        ("returns 5", 5, None),
        ("returns a module", lambda s: s.a, None),
        ("lists a ReLU", lambda s: [[nn.ReLU()]], None),
        ("an empty branch", lambda s: [[]], None),
        ("gates are plain tensors", lambda s: [[s.a]], lambda s: [torch.zeros(())]),
        ("the classifier in a branch", lambda s: [[s.a, s.b]], None),
    ]:

        def fn(ctx: Ctx, branches=branches, gates=gates) -> None:
            m = quiet_build(lambda: BadBranches(branches, gates))
            with keeps(m):
                depthinit.init_(m, "fixup", generator=gen())

        add(
            "init",
            f"residual_branches() {label}",
            "error",
            fn,
            mentions=("residual" if "gate" not in label else "gate",),
        )

    def one_layer(ctx: Ctx) -> None:
        m = quiet_build(lambda: nn.Linear(6, 3))
        with keeps(m):
            depthinit.init_(m, "depth", generator=gen())

    add("init", "depth scheme on one layer", "error", one_layer, mentions=("2 weight layers",))

    for label, fn_, mention in [
        ("negative values", lambda l: -l, "depth function"),
        ("the wrong length", lambda l: l[:-1], "depth function"),
        ("NaN", lambda l: l * math.nan, "depth function"),
        ("a string", lambda l: "x", "depth"),
        ("raising", lambda l: 1 / 0, "depth_fn"),
    ]:
        add(
            "init",
            f"depth_fn callable returning {label}",
            "error",
            refuse(lambda f=fn_: depthinit.init_(mlp(), "depth", depth_fn=f, generator=gen())),
            mentions=(mention,),
        )
    add(
        "init",
        "shape with depth_fn='log'",
        "error",
        refuse(lambda: depthinit.init_(mlp(), "depth", shape=2.0)),
        mentions=("shape",),
    )

    def callable_ok(ctx: Ctx) -> None:
        m = mlp(depth=5, width=64)
        p = depthinit.init_(m, "depth", depth_fn=lambda l: np.sqrt(l), generator=gen())
        assert abs(math.prod(l.alpha for l in p.layers[1:]) / 22.0 - 1) < 1e-9
        plan_matches(m, p, 0.3)

    add("init", "depth_fn callable, product of alphas is V", "handled", callable_ok)


_partial_failure()


def _helpers() -> None:
    A = depthinit.alphas
    for label, call, mention in [
        ("L=1", lambda: A(1, schedule="constant"), "L"),
        ("L=True", lambda: A(True, schedule="constant"), "L"),
        ("L=2.5", lambda: A(2.5, schedule="constant"), "L"),
        ("L='3'", lambda: A("3", schedule="constant"), "L"),
        ("schedule='nope'", lambda: A(5, schedule="nope"), "schedule"),
        ("network_variance=0", lambda: A(5, schedule="constant", network_variance=0), "network_variance"),
        ("network_variance=nan", lambda: A(5, schedule="constant", network_variance=math.nan), "network_variance"),
        ("offset=-1", lambda: A(5, schedule="increasing", offset=-1), "offset"),
        ("network_variance=1e309", lambda: A(5, schedule="constant", network_variance=1e309), "network_variance"),
    ]:
        add("init", f"alphas {label}", "error", refuse(call), mentions=(mention,))

    def huge_v(ctx: Ctx) -> None:
        a = A(10, schedule="increasing", network_variance=1e300)
        assert np.all(np.isfinite(a)) and abs(np.sum(np.log(a[1:])) / math.log(1e300) - 1) < 1e-9

    add("init", "alphas with V=1e300 stays finite and exact", "handled", huge_v)
    for label, arg in [
        ("a 1-D tensor", torch.zeros(4)),
        ("a MultiheadAttention", nn.MultiheadAttention(4, 2)),
        ("an int", 5),
        ("a ReLU", nn.ReLU()),
        ("a 0-D tensor", torch.tensor(1.0)),
    ]:
        add("init", f"fans of {label}", "error", refuse(lambda a=arg: depthinit.fans(a)), mentions=("weight",))
    for label, arg in [("'nope'", "nope"), ("None", None), ("5", 5)]:
        add("init", f"describe({label})", "error", refuse(lambda a=arg: depthinit.describe(a)), mentions=("scheme",))

    def schemes_fresh(ctx: Ctx) -> None:
        s = depthinit.schemes()
        s["he"]["mode"] = "hacked"
        assert depthinit.schemes()["he"]["mode"] == "fan_in", "schemes() returns shared state"
        m = mlp(width=64)
        p = depthinit.init_(m, "he", generator=gen())
        assert p.options["mode"] == "fan_in"

    add("init", "mutating schemes() changes no default", "handled", schemes_fresh)

    def options_frozen(ctx: Ctx) -> None:
        m = mlp(width=64)
        p = depthinit.plan(m, "he")
        p.options["gain"] = 100.0
        q = depthinit.plan(m, "he")
        assert q.layers[0].std < 1, "plan options leak between calls"

    add("init", "mutating a plan's options changes no later plan", "handled", options_frozen)


_helpers()


def _init_more() -> None:
    def uncopyable(ctx: Ctx) -> None:
        import threading

        class Locked(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.a, self.b = nn.Linear(6, 8), nn.Linear(8, 3)
                self.lock = threading.Lock()

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                with self.lock:
                    return self.b(torch.relu(self.a(x)))

        m = quiet_build(Locked)
        x = torch.rand(16, 6, generator=gen())
        with keeps(m):
            p = depthinit.plan(m, "lsuv", example_input=x, generator=gen(1))
        q = depthinit.init_(m, "lsuv", example_input=x, generator=gen(1))
        assert [l.std for l in p.layers] == [l.std for l in q.layers]

    add("init", "plan lsuv on a model that cannot be deep-copied", "either", uncopyable, mentions=("copy",))

    def never_converges(ctx: Ctx) -> None:
        m = mlp(width=32)
        p = depthinit.init_(
            m, "lsuv", example_input=torch.rand(64, 6, generator=gen()), tol=1e-12, max_iter=2, generator=gen()
        )
        assert not p.converged and ctx.warned(depthinit.LSUVConvergenceWarning, "max_iter")
        assert all(l.lsuv_iterations == 2 for l in p.layers if not l.lsuv_converged)
        plan_matches(m, p, 1e-6)

    add("init", "lsuv tol=1e-12 stops at max_iter and says so", "handled", never_converges)

    def unit_ignores_v(ctx: Ctx) -> None:
        m = mlp(width=64)
        p = depthinit.init_(m, "depth", schedule="unit", network_variance=1e80, generator=gen())
        assert all(l.alpha == 1.0 for l in p.layers)
        plan_matches(m, p)

    add("init", "unit schedule ignores a huge V", "handled", unit_ignores_v)

    def number_types(ctx: Ctx) -> None:
        from fractions import Fraction

        for v in (np.float32(22.0), Fraction(22), 22, np.int64(22)):
            m = mlp(width=64)
            p = depthinit.init_(m, "depth", network_variance=v, generator=gen())
            assert abs(math.prod(l.alpha for l in p.layers[1:]) / 22.0 - 1) < 1e-6, v
            assert isinstance(p.options["network_variance"], float)

    add("init", "network_variance as numpy, Fraction and int", "handled", number_types)
    add(
        "init",
        "network_variance as Decimal",
        "either",
        lambda ctx: depthinit.init_(mlp(), "depth", network_variance=__import__("decimal").Decimal("22")),
        mentions=("network_variance",),
    )
    add(
        "init",
        "network_variance as a 0-d tensor",
        "either",
        lambda ctx: plan_matches(m := mlp(width=64), depthinit.init_(m, "depth", network_variance=torch.tensor(22.0))),
        mentions=("network_variance",),
    )

    def fp16_lsuv(ctx: Ctx) -> None:
        m = mlp(width=32).to(torch.float16)
        p = depthinit.init_(m, "lsuv", example_input=torch.rand(64, 6, generator=gen()).half(), generator=gen())
        assert all(torch.isfinite(w).all() for w in m.parameters())
        plan_matches(m, p, 1e-2)

    add("init", "lsuv on a float16 model", "handled", fp16_lsuv)

    def mixed(ctx: Ctx) -> None:
        m = mlp(width=64)
        m[0].double()
        p = depthinit.init_(m, "he", generator=gen())
        plan_matches(m, p)
        assert m[0].weight.dtype == torch.float64 and m[2].weight.dtype == torch.float32

    add("init", "mixed float64/float32 layers (data-free)", "handled", mixed)

    def buffer_weight(ctx: Ctx) -> None:
        m = mlp()
        w = m[2].weight.detach().clone()
        del m[2].weight
        m[2].register_buffer("weight", w)
        with keeps(m):
            depthinit.init_(m, "he", generator=gen())

    add("init", "a Linear whose weight is a buffer", "error", buffer_weight, mentions=("weight",))

    def iterator_input(ctx: Ctx) -> None:
        m = mlp()
        with keeps(m):
            depthinit.init_(m, "lsuv", example_input=iter([torch.rand(4, 6, generator=gen())]), generator=gen())

    add("init", "example_input an iterator", "error", iterator_input, mentions=("example_input",))

    def gen_advances(ctx: Ctx) -> None:
        g = gen(9)
        m1, m2 = mlp(), mlp()
        depthinit.init_(m1, "he", generator=g)
        depthinit.init_(m2, "he", generator=g)
        assert not torch.equal(m1[0].weight, m2[0].weight), "a shared generator gave two models the same weights"

    add("init", "one generator over two models gives different draws", "handled", gen_advances)


_init_more()


# ============================================================================ attacks: data
MIB = 1 << 20
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def idx_header(shape: tuple[int, ...], code: int = 0x08) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def idx_file(path: Path, arr: np.ndarray, code: int = 0x08, gz: bool = False) -> Path:
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    data = idx_header(arr.shape, code) + arr.astype(dtype).tobytes()
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def gzip_bomb(prefix: bytes, n_mib: int) -> bytes:
    member = gzip.compress(bytes(MIB), compresslevel=9, mtime=0)
    return gzip.compress(prefix, mtime=0) + member * n_mib


def raw_zip(path: Path, members: list[tuple[str, bytes, int, int, int]], flags: int = 0) -> Path:
    """A zip written by hand: (name, stored bytes, crc32, declared uncompressed size, method)."""
    out, central = bytearray(), bytearray()
    for name, data, crc, size, method in members:
        offset, encoded = len(out), name.encode()
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0, crc, len(data), size, len(encoded), 0)
        out += encoded + data
        central += (
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                flags,
                method,
                0,
                0,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + eocd))
    return path


def stored(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    return (name, data, zlib.crc32(data), len(data), zipfile.ZIP_STORED)


def deflated(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (name, c.compress(data) + c.flush(), zlib.crc32(data), len(data), zipfile.ZIP_DEFLATED)


def png(img: np.ndarray, fmt: str = "PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt)
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(bytes(64)))
        + chunk(b"IEND", b"")
    )


def img(seed: int, size: int = 8, channels: int = 3) -> np.ndarray:
    shape = (size, size, channels) if channels > 1 else (size, size)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def image_zip(
    path: Path,
    extra: list[tuple[str, bytes, int, int, int]] = (),
    size: int = 8,
    classes: tuple[str, ...] = ("cat", "dog"),
    prefix: str = "",
) -> Path:
    members = [
        stored(f"{prefix}{split}/{c}/{i}.png", png(img(hash((split, c, i)) % 1000, size)))
        for split in ("train", "test")
        for c in classes
        for i in range(2)
    ]
    return raw_zip(path, members + list(extra))


def tiny_mnist(folder: Path, n: int = 12, n_test: int = 6, labels: int = 10, size: int = 28, gz: bool = True) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    shapes = {
        MNIST_NAMES[0]: (n, size, size),
        MNIST_NAMES[1]: (n,),
        MNIST_NAMES[2]: (n_test, size, size),
        MNIST_NAMES[3]: (n_test,),
    }
    for name, shape in shapes.items():
        values = rng.integers(0, labels if len(shape) == 1 else 256, shape, dtype=np.uint8)
        idx_file(folder / (name + (".gz" if gz else "")), values, gz=gz)
    return folder


def cifar_folder(folder: Path, records: int = 2, label: int | None = None, meta: str = "\n".join(CIFAR)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        recs = rng.integers(0, 256, (records, 3073), dtype=np.uint8)
        recs[:, 0] = rng.integers(0, 10, records) if label is None else label
        (folder / name).write_bytes(recs.tobytes())
    (folder / "batches.meta.txt").write_text(meta)
    return folder


def cifar_tar(path: Path, folder: Path, mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        tar.add(folder, arcname="cifar-10-batches-bin")
    return path


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith((".tmp", ".part")) or ".tmp-" in p.name)


def host_tag() -> str:
    import hashlib
    import socket

    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _data_idx() -> None:
    R = dd.read_idx

    def bomb(ctx: Ctx) -> None:
        p = ctx.tmp / "bomb.gz"
        p.write_bytes(gzip_bomb(idx_header((10, 10)) + bytes(100), 64))
        t = time.perf_counter()
        try:
            R(p)
        finally:
            if time.perf_counter() - t > 2:
                raise Wrong("the bomb was inflated before the refusal")

    add("data", "idx gzip bomb behind a small header", "error", bomb, mentions=("bomb.gz",))

    def declares_huge(ctx: Ctx) -> None:
        p = ctx.tmp / "huge.gz"
        p.write_bytes(gzip.compress(idx_header((60000, 1000, 1000)) + bytes(10)))
        R(p)

    add("data", "idx header declaring 60 GB", "error", declares_huge, mentions=("huge.gz",))

    def beyond_gzip(ctx: Ctx) -> None:
        p = ctx.tmp / "x.gz"
        p.write_bytes(gzip.compress(idx_header((4000, 28, 28)) + bytes(10)))
        R(p)

    add("data", "idx header declaring more than the gzip can hold", "error", beyond_gzip, mentions=("x.gz",))
    for label, make, mention in [
        (
            "corrupt deflate stream",
            lambda: (lambda b: b[:20] + bytes(x ^ 0x5A for x in b[20:60]) + b[60:])(
                gzip.compress(idx_header((50, 28)) + bytes(range(256)) * 6, mtime=0)
            ),
            "f.gz",
        ),
        ("truncated gzip", lambda: gzip.compress(idx_header((50, 28)) + bytes(1400), mtime=0)[:40], "f.gz"),
        (
            "bad gzip CRC",
            lambda: (lambda b: b[:-8] + bytes(4) + b[-4:])(gzip.compress(idx_header((5,)) + bytes(5), mtime=0)),
            "f.gz",
        ),
        (
            "gzip with trailing garbage",
            lambda: gzip.compress(idx_header((5,)) + bytes(5), mtime=0) + b"garbage!",
            "f.gz",
        ),
        ("gzip magic only", lambda: b"\x1f\x8b", "f.gz"),
    ]:

        def fn(ctx: Ctx, make=make) -> None:
            p = ctx.tmp / "f.gz"
            p.write_bytes(make())
            R(p)

        add("data", f"idx {label}", "error", fn, mentions=(mention,))
    for label, content, mention in [
        ("truncated raw", idx_header((10, 10)) + bytes(50), "f.idx"),
        ("longer than its header", idx_header((2,)) + bytes(9), "f.idx"),
        ("PNG magic", b"\x89PNG\r\n\x1a\n" + bytes(20), "f.idx"),
        ("unknown type code 0x07", idx_header((2,), 0x07) + bytes(2), "0x07"),
        ("zero dimensions", bytes([0, 0, 8, 0]), "dimensions"),
        ("empty file", b"", "f.idx"),
        ("dims cut short", bytes([0, 0, 8, 3, 0, 0]), "f.idx"),
        ("text file", b"hello world, not idx\n", "f.idx"),
    ]:

        def fn(ctx: Ctx, content=content) -> None:
            p = ctx.tmp / "f.idx"
            p.write_bytes(content)
            R(p)

        add("data", f"idx {label}", "error", fn, mentions=(mention,))
    add("data", "idx a directory", "error", lambda ctx: R(ctx.tmp), mentions=(str(Path(tempfile.gettempdir())),))
    add("data", "idx a missing file", "error", lambda ctx: R(ctx.tmp / "nope.idx"), mentions=("nope.idx",))
    for v in (-1, True, 1.5, "10"):
        add(
            "data",
            f"idx max_bytes={v!r}",
            "error",
            lambda ctx, v=v: R(idx_file(ctx.tmp / "a", np.zeros(3)), max_bytes=v),
            mentions=("max_bytes",),
        )
    add(
        "data",
        "idx max_bytes below the payload",
        "error",
        lambda ctx: R(idx_file(ctx.tmp / "a", np.zeros(300)), max_bytes=100),
        mentions=("max_bytes",),
    )
    add("data", "idx path=None", "error", lambda ctx: R(None), mentions=("path",))

    def values(code: int, dtype: str, gz: bool) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
            got = R(idx_file(ctx.tmp / "v", arr, code, gz))
            assert got.dtype.isnative and got.shape == arr.shape and np.array_equal(got, arr), (got.dtype, got.shape)
            got[0, 0, 0] = 1  # writable

        return fn

    for code, dtype in [(0x08, "u1"), (0x09, "i1"), (0x0B, "i2"), (0x0C, "i4"), (0x0D, "f4"), (0x0E, "f8")]:
        add("data", f"idx values of type {dtype}", "handled", values(code, dtype, False))
    add("data", "idx gzip values exact", "handled", values(0x0B, "i2", True))

    def empty_dim(ctx: Ctx) -> None:
        got = R(idx_file(ctx.tmp / "e", np.zeros((0, 28, 28), dtype=np.uint8)))
        assert got.shape == (0, 28, 28)

    add("data", "idx with a zero-length dimension", "handled", empty_dim)


_data_idx()


def _data_cifar() -> None:
    R = dd.read_cifar_binary
    add("data", "cifar missing path", "error", lambda ctx: R(ctx.tmp / "none.tar.gz"), mentions=("none.tar.gz",))

    def member_size(ctx: Ctx) -> None:
        f = cifar_folder(ctx.tmp / "b")
        (f / "data_batch_3.bin").write_bytes(bytes(3073 * 2 + 5))
        R(cifar_tar(ctx.tmp / "c.tar.gz", f))

    add("data", "cifar tar member of a wrong size", "error", member_size, mentions=("data_batch_3.bin",))

    def bomb(ctx: Ctx) -> None:
        p = ctx.tmp / "bomb.tar.gz"
        with tarfile.open(p, "w:gz") as tar:
            info = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
            info.size = 3073 * 70000

            class Zeros(io.RawIOBase):
                def __init__(self, n: int) -> None:
                    self.left = n

                def readable(self) -> bool:
                    return True

                def readinto(self, b: Any) -> int:
                    n = min(len(b), self.left)
                    b[:n] = bytes(n)
                    self.left -= n
                    return n

            tar.addfile(info, io.BufferedReader(Zeros(info.size)))
        t = time.perf_counter()
        try:
            R(p)
        finally:
            if time.perf_counter() - t > 2:
                raise Wrong("the bomb member was inflated before the refusal")

    add("data", "cifar tar bomb member (215 MB of zeros)", "error", bomb, mentions=("data_batch_1.bin",))
    for label, mutate, mention in [
        ("label 12 above the classes", lambda f: cifar_folder(f, label=12), "label"),
        ("empty class list", lambda f: cifar_folder(f, meta="\n\n"), "class"),
        ("batch of zero bytes", lambda f: (cifar_folder(f), (f / "test_batch.bin").write_bytes(b"")), "test_batch.bin"),
        ("missing batch", lambda f: (cifar_folder(f), (f / "data_batch_5.bin").unlink()), "data_batch_5.bin"),
        ("class list above 64 KiB", lambda f: cifar_folder(f, meta="x" * 70000), "batches.meta.txt"),
    ]:

        def fn(ctx: Ctx, mutate=mutate) -> None:
            f = ctx.tmp / "cifar-10-batches-bin"
            mutate(f)
            R(f)

        add("data", f"cifar folder {label}", "error", fn, mentions=(mention,))
    for label, make in [
        ("random bytes", lambda p: p.write_bytes(os.urandom(4000))),
        ("truncated tar.gz", lambda p: p.write_bytes(cifar_tar(p, cifar_folder(p.parent / "f")).read_bytes()[:900])),
        (
            "corrupt deflate",
            lambda p: p.write_bytes(
                (lambda b: b[:30] + bytes(x ^ 0x33 for x in b[30:200]) + b[200:])(
                    cifar_tar(p, cifar_folder(p.parent / "f")).read_bytes()
                )
            ),
        ),
        ("plain tar without gzip", lambda p: cifar_tar(p, cifar_folder(p.parent / "f"), "w")),
        ("empty tar", lambda p: tarfile.open(p, "w:gz").close()),
    ]:
        expect = "handled" if label == "plain tar without gzip" else "error"

        def fn(ctx: Ctx, make=make, expect=expect) -> None:
            p = ctx.tmp / "c.tar.gz"
            make(p)
            raw = R(p)
            if expect == "handled":
                assert raw.x_train.shape == (10, 3, 32, 32) and raw.classes == CIFAR

        add("data", f"cifar {label}", expect, fn, mentions=("c.tar.gz",))

    def ok(ctx: Ctx) -> None:
        f = cifar_folder(ctx.tmp / "cifar-10-batches-bin", records=3)
        a, b = R(f), R(cifar_tar(ctx.tmp / "c.tar.gz", f))
        assert a.x_train.shape == (15, 3, 32, 32) and np.array_equal(a.x_train, b.x_train) and a.classes == CIFAR
        first = np.frombuffer((f / "data_batch_1.bin").read_bytes(), np.uint8)[:3073]
        assert a.y_train[0] == first[0] and np.array_equal(a.x_train[0].ravel(), first[1:])

    add("data", "cifar folder and tar read the same exact records", "handled", ok)


_data_cifar()


def _data_images() -> None:
    R = dd.read_image_folder

    def zbomb(first: bool) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            data = c.compress(bytes(MIB)) * 1 + c.flush(zlib.Z_FULL_FLUSH)
            body = data * 300 + c.flush()
            crc = 0
            for _ in range(300):
                crc = zlib.crc32(bytes(MIB), crc)
            member = ("train/cat/0000.png" if first else "train/dog/9.png", body, crc, 300 * MIB, zipfile.ZIP_DEFLATED)
            p = raw_zip(ctx.tmp / "z.zip", [member] + ([] if first else [stored("train/cat/0.png", png(img(0)))]))
            t = time.perf_counter()
            try:
                R(p)
            finally:
                if time.perf_counter() - t > 3:
                    raise Wrong("the zip bomb was inflated before the refusal")

        return fn

    add("data", "zip bomb member after the first image", "error", zbomb(False), mentions=("train/dog/9.png",))
    add("data", "zip bomb as the first image", "error", zbomb(True), mentions=("train/cat/0000.png",))

    def zfile(extra: list[Any] = (), **kw: Any) -> Callable[[Ctx], Path]:
        return lambda ctx: image_zip(ctx.tmp / "z.zip", list(extra), **kw)

    good = png(img(5))
    corrupt = (lambda m: (m[0], m[1][:10] + bytes(x ^ 0x5A for x in m[1][10:40]) + m[1][40:], m[2], m[3], m[4]))(
        deflated("train/cat/zz.png", good * 3)
    )
    cases = [
        ("corrupt deflate member", [corrupt], "train/cat/zz.png"),
        (
            "unknown compression method",
            [("train/cat/zz.png", good, zlib.crc32(good), len(good), 99)],
            "train/cat/zz.png",
        ),
        ("image declaring 2^31 pixels", [stored("train/cat/zz.png", png_declaring(50000, 50000))], "train/cat/zz.png"),
        ("image of another size", [stored("train/cat/zz.png", png(img(1, 16)))], "train/cat/zz.png"),
        ("corrupt PNG", [stored("train/cat/zz.png", good[:30] + bytes(60))], "train/cat/zz.png"),
        ("a text file named .jpg", [stored("train/cat/zz.jpg", b"not an image at all")], "train/cat/zz.jpg"),
        (
            "wrong CRC",
            [("train/cat/zz.png", good, zlib.crc32(good) ^ 1, len(good), zipfile.ZIP_STORED)],
            "train/cat/zz.png",
        ),
        ("test class without train folder", [stored("test/bird/0.png", good)], "bird"),
        (
            "two train/test trees",
            [stored("other/train/cat/0.png", good), stored("other/test/cat/0.png", good)],
            "trees",
        ),
    ]
    for label, extra, mention in cases:

        def fn(ctx: Ctx, extra=extra) -> None:
            R(image_zip(ctx.tmp / "z.zip", extra))

        add("data", f"zip {label}", "error", fn, mentions=(mention,))

    def encrypted(ctx: Ctx) -> None:
        p = raw_zip(ctx.tmp / "z.zip", [stored("train/cat/0.png", good), stored("test/cat/0.png", good)], flags=1)
        R(p)

    add("data", "zip with encrypted members", "error", encrypted, mentions=("z.zip",))
    for label, content in [("not a zip", b"hello"), ("empty file", b""), ("zip cut in half", None)]:

        def fn(ctx: Ctx, content=content) -> None:
            p = ctx.tmp / "z.zip"
            if content is None:
                image_zip(p)
                p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
            else:
                p.write_bytes(content)
            R(p)

        add("data", f"zip {label}", "error", fn, mentions=("z.zip",))
    add(
        "data",
        "zip with no images",
        "error",
        lambda ctx: R(raw_zip(ctx.tmp / "z.zip", [stored("readme.txt", b"hi")])),
        mentions=("z.zip",),
    )
    add(
        "data",
        "zip without train/",
        "error",
        lambda ctx: R(raw_zip(ctx.tmp / "z.zip", [stored("test/cat/0.png", good)])),
        mentions=("train",),
    )
    for label, kw, mention in [
        ("mode='CMYK'", {"mode": "CMYK"}, "mode"),
        ("image_size=(0, 8)", {"image_size": (0, 8)}, "image_size"),
        ("image_size=[8, 8]", {"image_size": [8, 8]}, "image_size"),
        ("image_size=(True, 8)", {"image_size": (True, 8)}, "image_size"),
        ("image_size=8", {"image_size": 8}, "image_size"),
    ]:
        add(
            "data",
            f"image folder {label}",
            "error",
            lambda ctx, kw=kw: R(image_zip(ctx.tmp / "z.zip"), **kw),
            mentions=(mention,),
        )

    def ok(ctx: Ctx) -> None:
        extra = [stored("__MACOSX/train/cat/._0.png", b"junk"), stored("train/cat/.hidden.png", b"junk")]
        raw = R(image_zip(ctx.tmp / "z.zip", extra, prefix="top/"))
        assert raw.classes == ("cat", "dog") and raw.x_train.shape == (4, 3, 8, 8) and list(raw.y_train) == [0, 0, 1, 1]
        want = img(hash(("train", "cat", 0)) % 1000)
        assert np.array_equal(raw.x_train[0], want.transpose(2, 0, 1)), "pixels differ"

    add("data", "zip under a top folder, hidden entries ignored, exact pixels", "handled", ok)

    def gray(ctx: Ctx) -> None:
        members = [stored(f"{s}/c/{i}.png", png(img(i, channels=1))) for s in ("train", "test") for i in range(2)]
        raw = R(raw_zip(ctx.tmp / "g.zip", members))
        assert raw.x_train.shape == (2, 1, 8, 8)

    add("data", "grayscale images read as one channel", "handled", gray)

    def palette(ctx: Ctx) -> None:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(img(3)).convert("P").save(buf, format="PNG")
        members = [stored(f"{s}/c/{i}.png", buf.getvalue()) for s in ("train", "test") for i in range(2)]
        raw = R(raw_zip(ctx.tmp / "p.zip", members), mode="RGB")
        assert raw.x_train.shape == (2, 3, 8, 8)

    add("data", "palette images converted to RGB", "handled", palette)

    def folder_big(ctx: Ctx) -> None:
        root = ctx.tmp / "imgs"
        for s in ("train", "test"):
            (root / s / "c").mkdir(parents=True)
            (root / s / "c" / "0.png").write_bytes(png(img(0)))
        with open(root / "train" / "c" / "1.png", "wb") as f:
            f.truncate(65 * MIB)  # sparse
        R(root, image_size=(8, 8))

    add("data", "image folder with a 65 MB file", "error", folder_big, mentions=("1.png",))

    def folder_dir_named_png(ctx: Ctx) -> None:
        root = ctx.tmp / "imgs"
        for s in ("train", "test"):
            (root / s / "c").mkdir(parents=True)
            (root / s / "c" / "0.png").write_bytes(png(img(0)))
        (root / "train" / "c" / "dir.png").mkdir()
        raw = R(root)
        assert raw.x_train.shape[0] == 1

    add("data", "image folder with a directory named x.png", "handled", folder_dir_named_png)
    add(
        "data",
        "image folder missing test/",
        "error",
        lambda ctx: (os.makedirs(ctx.tmp / "i" / "train" / "c"), R(ctx.tmp / "i")),
        mentions=("test",),
    )


_data_images()


def _data_load() -> None:
    L = dd.load_dataset
    for label, kw, mention in [
        ("name='mnist2'", {"name": "mnist2"}, "mnist2"),
        ("name=None", {"name": None}, "None"),
        ("name=5", {"name": 5}, "5"),
        ("preprocess='zscore'", {"preprocess": "zscore"}, "zscore"),
        ("preprocess=None", {"preprocess": None}, "preprocess"),
    ]:
        add(
            "data",
            f"load_dataset {label}",
            "error",
            lambda ctx, kw=kw: L(**{"name": "mnist", "root": ctx.tmp, **kw}),
            mentions=(mention,),
        )
    for dev in (ABSENT_CUDA, "cuda:7", "mps", "meta", "gpu", 5, None, True, "cpu:0:1", torch.device("meta")):

        def fn(ctx: Ctx, dev=dev) -> None:
            tiny_mnist(ctx.tmp / "mnist")
            cache = ctx.tmp / "cache"
            try:
                L("mnist", root=ctx.tmp, device=dev, cache_dir=cache, verify=False)
            finally:
                if cache.exists() and any(cache.iterdir()):
                    raise Wrong("the data were decoded and cached before the device was refused")

        add("data", f"load_dataset device={dev!r}", "error", fn, mentions=("device",))
    add(
        "data",
        "load_dataset missing root",
        "error",
        lambda ctx: L("mnist", root=ctx.tmp / "nowhere"),
        mentions=("nowhere",),
    )
    add(
        "data",
        "load_dataset root is a file",
        "error",
        lambda ctx: (ctx.tmp.joinpath("f").write_text("x"), L("mnist", root=ctx.tmp / "f")),
        mentions=("f",),
    )

    def digest_mismatch(ctx: Ctx) -> None:
        tiny_mnist(ctx.tmp / "mnist")
        L("mnist", root=ctx.tmp, cache_dir=ctx.tmp / "cache")

    add(
        "data",
        "load_dataset synthetic files under canonical names (digest check)",
        "error",
        digest_mismatch,
        mentions=("train-images-idx3-ubyte",),
    )
    for label, kw, mention in [
        ("labels above 9", {"labels": 12}, "labels"),
        ("32x32 images", {"size": 32}, "28"),
        ("no test images", {"n_test": 0}, "test"),
    ]:

        def fn(ctx: Ctx, kw=kw, label=label) -> None:
            tiny_mnist(ctx.tmp / "mnist", **kw)
            ds = L("mnist", root=ctx.tmp, cache_dir=ctx.tmp / "cache", verify=False)
            if label == "no test images" and len(ds.y_test) == 0:
                raise Wrong("a data set without test images was loaded")

        add("data", f"load_dataset MNIST with {label}", "error", fn, mentions=(mention,))

    def counts_differ(ctx: Ctx) -> None:
        f = tiny_mnist(ctx.tmp / "mnist")
        idx_file(f / (MNIST_NAMES[1] + ".gz"), np.zeros(11, np.uint8), gz=True)
        L("mnist", root=ctx.tmp, cache_dir=ctx.tmp / "cache", verify=False)

    add("data", "load_dataset MNIST image and label counts differ", "error", counts_differ, mentions=("labels",))

    def constant_standardized(ctx: Ctx) -> None:
        f = tiny_mnist(ctx.tmp / "mnist")
        idx_file(f / (MNIST_NAMES[0] + ".gz"), np.zeros((12, 28, 28), np.uint8), gz=True)
        ds = L("mnist", root=ctx.tmp, cache_dir=ctx.tmp / "cache", verify=False, preprocess="standardize")
        if not torch.isfinite(ds.x_train).all():
            raise Wrong("standardizing a constant channel gave NaN inputs without an error")

    add("data", "standardize a constant channel", "error", constant_standardized, mentions=("std 0",))

    def raw_files(ctx: Ctx) -> None:
        tiny_mnist(ctx.tmp / "mnist", gz=False)
        ds = L("mnist", root=ctx.tmp, cache_dir=ctx.tmp / "cache", verify=False)
        assert ds.x_train.shape == (12, 1, 28, 28) and float(ds.x_train.max()) <= 1.0

    add("data", "load_dataset raw (not gzip) IDX files", "handled", raw_files)

    def cache_damaged(how: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            tiny_mnist(ctx.tmp / "mnist")
            cache = ctx.tmp / "cache"
            a = L("mnist", root=ctx.tmp, cache_dir=cache, verify=False)
            (f,) = list(cache.glob("*.npz"))
            if how == "truncated":
                f.write_bytes(f.read_bytes()[:100])
            elif how == "garbage":
                f.write_bytes(os.urandom(2000))
            elif how == "other arrays":
                np.savez(
                    f,
                    x_train=np.zeros((2, 1, 28, 28), np.uint8),
                    y_train=np.array([0, 99]),
                    x_test=np.zeros((1, 1, 28, 28), np.uint8),
                    y_test=np.array([0]),
                    classes=np.array(list("0123456789")),
                )
            elif how == "empty":
                f.write_bytes(b"")
            b = L("mnist", root=ctx.tmp, cache_dir=cache, verify=False)
            assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test), "a damaged cache was used"

        return fn

    for how in ("truncated", "garbage", "other arrays", "empty"):
        add("data", f"cache file {how}: decoded again", "handled", cache_damaged(how))

    def cache_full(ctx: Ctx) -> None:
        from depthinit.data import _cache

        tiny_mnist(ctx.tmp / "mnist")
        cache = ctx.tmp / "cache"

        def half(f: Any, raw: Any) -> None:
            f.write(b"x" * 1000)
            raise OSError(errno.ENOSPC, "No space left on device")

        try:
            with patched(_cache, "_write_npz", half):
                L("mnist", root=ctx.tmp, cache_dir=cache, verify=False)
        finally:
            if temps(cache):
                raise Wrong(f"temporary files left: {temps(cache)}")

    add("data", "full disk while writing the cache", "error", cache_full, mentions=("space",))

    def cache_readonly(ctx: Ctx) -> None:
        from depthinit.data import _cache

        tiny_mnist(ctx.tmp / "mnist")

        def denied(f: Any, raw: Any) -> None:
            raise PermissionError(errno.EACCES, "Permission denied")

        with patched(_cache, "_write_npz", denied):
            ds = L("mnist", root=ctx.tmp, cache_dir=ctx.tmp / "cache", verify=False)
        assert len(ds.y_train) == 12 and not temps(ctx.tmp / "cache")

    add("data", "unwritable cache: loads and leaves nothing", "handled", cache_readonly)

    def cache_is_file(ctx: Ctx) -> None:
        tiny_mnist(ctx.tmp / "mnist")
        (ctx.tmp / "cachefile").write_text("x")
        ds = L("mnist", root=ctx.tmp, cache_dir=ctx.tmp / "cachefile", verify=False)
        assert len(ds.y_train) == 12

    add("data", "cache_dir is a file", "either", cache_is_file, mentions=("cachefile",))

    def stale(alive: bool) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            tiny_mnist(ctx.tmp / "mnist")
            cache = ctx.tmp / "cache"
            cache.mkdir()
            pid = os.getpid() if alive else dead_pid()
            t = cache / f".mnist-{'0' * 24}.npz.part-{pid}-{host_tag()}-0123abcd.tmp"
            t.write_bytes(bytes(1000))
            L("mnist", root=ctx.tmp, cache_dir=cache, verify=False)
            assert t.exists() == alive, (
                "a live writer's temporary file was removed" if alive else "a killed writer's temporary file was left"
            )

        return fn

    add("data", "stale temp file of a killed cache writer is removed", "handled", stale(False))
    add("data", "temp file of a live writer is kept", "handled", stale(True))

    def killed_writer(ctx: Ctx) -> None:
        from depthinit.data import _cache

        tiny_mnist(ctx.tmp / "mnist")
        cache = ctx.tmp / "cache"

        def child() -> None:
            def die(f: Any, raw: Any) -> None:
                f.write(b"x" * 5000)
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)

            _cache._write_npz = die
            L("mnist", root=ctx.tmp, cache_dir=cache, verify=False)

        code = in_child(child)
        assert code == -signal.SIGKILL, code
        assert temps(cache), "the killed writer left no temporary file (the attack did not work)"
        ds = L("mnist", root=ctx.tmp, cache_dir=cache, verify=False)
        assert not temps(cache), f"left after the next start: {temps(cache)}"
        assert len(ds.y_train) == 12

    add("data", "writer killed with SIGKILL while caching; next start cleans", "handled", killed_writer)

    def real_mnist(ctx: Ctx) -> None:
        if not (DATA_ROOT / "mnist").is_dir():
            raise Wrong(f"no real MNIST at {DATA_ROOT}")
        ds = L("mnist", root=DATA_ROOT, cache_dir=ctx.tmp / "cache", preprocess="standardize", progress=False)
        assert ds.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
        assert abs(float(ds.x_train.mean())) < 1e-3 and abs(float(ds.x_train.std()) - 1) < 1e-3

    add("data", "real MNIST: verified digests, labels and standardization", "handled", real_mnist)


_data_load()


def _data_misc() -> None:
    def ds(n: int = 10) -> Any:
        x = torch.zeros(n, 1, 2, 2)
        return dd.Dataset(
            "t",
            x,
            torch.zeros(n, dtype=torch.long),
            x[:4],
            torch.zeros(4, dtype=torch.long),
            ["a"],
            "unit",
            None,
            None,
            "mem",
            {},
        )

    for label, kw, mention in [
        ("n_train=-1", {"n_train": -1}, "n_train"),
        ("n_train=True", {"n_train": True}, "n_train"),
        ("n_train=11", {"n_train": 11}, "n_train"),
        ("n_val=11", {"n_val": 11}, "n_val"),
        ("n_train + n_val > N", {"n_train": 6, "n_val": 6}, "n_val"),
        ("seed='0'", {"seed": "0"}, "seed"),
        ("n_test=2.0", {"n_test": 2.0}, "n_test"),
        ("n_train=0 (empty)", {"n_train": 0}, "n_train"),
    ]:

        def fn(ctx: Ctx, kw=kw, label=label) -> None:
            out = ds().subset(**kw)
            if label.startswith("n_train=0") and len(out.y_train) == 0:
                raise Wrong("an empty training subset was returned")

        add("data", f"subset {label}", "error", fn, mentions=(mention,))
    add(
        "data",
        "subset of a subset with validation",
        "error",
        lambda ctx: ds().subset(n_val=2).subset(n_val=2),
        mentions=("validation",),
    )
    add("data", "Dataset.to('meta')", "error", lambda ctx: ds().to("meta"), mentions=("meta",))

    def subset_ok(ctx: Ctx) -> None:
        d = dd.Dataset(
            "t",
            torch.arange(20.0).view(20, 1, 1, 1),
            torch.arange(20),
            torch.arange(8.0).view(8, 1, 1, 1),
            torch.arange(8),
            ["a"],
            "unit",
            None,
            None,
            "mem",
            {},
        )
        s = d.subset(10, 4, n_val=5, seed=1)
        tr, va = set(s.y_train.tolist()), set(s.y_val.tolist())
        assert len(tr) == 10 and len(va) == 5 and not tr & va, "validation overlaps training"
        assert set(d.subset(10, seed=1).y_train.tolist()) == tr, "the training subset depends on n_val"

    add("data", "subset: validation disjoint from training, stable", "handled", subset_ok)

    def fetch_bad(ctx: Ctx) -> None:
        src = ctx.tmp / "src.bin"
        src.write_bytes(b"payload")
        try:
            dd.fetch([src.as_uri(), (ctx.tmp / "missing").as_uri()], ctx.tmp / "dest.bin", md5="0" * 32, progress=False)
        finally:
            if (ctx.tmp / "dest.bin").exists() or temps(ctx.tmp):
                raise Wrong("a file with the wrong digest, or a temporary file, was left")

    add("data", "fetch: every mirror has the wrong digest or fails", "error", fetch_bad, mentions=("src.bin",))

    def fetch_ok(ctx: Ctx) -> None:
        import hashlib

        src = ctx.tmp / "src.bin"
        src.write_bytes(b"payload")
        p = dd.fetch(
            [(ctx.tmp / "missing").as_uri(), src.as_uri()],
            ctx.tmp / "d" / "dest.bin",
            md5=hashlib.md5(b"payload").hexdigest(),
            progress=False,
        )
        assert p.read_bytes() == b"payload" and not temps(ctx.tmp)

    add("data", "fetch: falls back to the next mirror and verifies", "either", fetch_ok, mentions=("dest.bin",))

    def fetch_full(ctx: Ctx) -> None:
        from depthinit.data import _download

        src = ctx.tmp / "src.bin"
        src.write_bytes(b"x" * 100000)
        calls = []

        def full(url: str, out: Any, **kw: Any) -> Any:
            calls.append(url)
            out.write(b"x" * 10)
            raise OSError(errno.ENOSPC, "No space left on device")

        try:
            with patched(_download, "_fetch_once", full):
                dd.fetch([src.as_uri(), src.as_uri()], ctx.tmp / "dest.bin", progress=False)
        finally:
            if temps(ctx.tmp) or len(calls) != 1:
                raise Wrong(f"temporary files {temps(ctx.tmp)}, {len(calls)} tries on a full disk")

    add("data", "fetch on a full disk stops at once", "error", fetch_full, mentions=("space",))

    def download_offline(ctx: Ctx) -> None:
        dd.download("mnist", ctx.tmp, mirrors=[(ctx.tmp / "mirror").as_uri() + "/"], progress=False)

    add("data", "download with an unreachable mirror", "error", download_offline, mentions=("mnist",))

    def hostile_tar(ctx: Ctx, name_of: Callable[[str], str], kind: bytes = tarfile.REGTYPE) -> Path:
        """A CIFAR tar whose members have hostile names or types (path traversal, links, devices)."""
        src = cifar_folder(ctx.tmp / "src")
        p = ctx.tmp / "hostile.tar.gz"
        with tarfile.open(p, "w:gz") as tar:
            for f in sorted(src.iterdir()):
                info = tarfile.TarInfo(name_of(f.name))
                if kind == tarfile.REGTYPE or f.name != "data_batch_1.bin":
                    data = f.read_bytes()
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                else:
                    info.type, info.linkname = kind, "/etc/passwd"
                    tar.addfile(info)
        return p

    def in_place(ctx: Ctx) -> None:
        raw = dd.read_cifar_binary(hostile_tar(ctx, lambda n: f"../../../{n}"))
        assert raw.x_train.shape == (10, 3, 32, 32)
        for base in (Path.cwd(), ctx.tmp):
            assert not (base / "../../../data_batch_1.bin").exists(), "a member was written outside"

    add("data", "cifar tar with '../' member names is read in place, nothing written", "handled", in_place)
    for label, kind in [
        ("a symlink", tarfile.SYMTYPE),
        ("a hard link", tarfile.LNKTYPE),
        ("a device file", tarfile.CHRTYPE),
    ]:
        add(
            "data",
            f"cifar tar whose data_batch_1.bin is {label}",
            "error",
            lambda ctx, kind=kind: dd.read_cifar_binary(hostile_tar(ctx, lambda n: f"cifar-10-batches-bin/{n}", kind)),
            mentions=("data_batch_1.bin",),
        )
    add(
        "data",
        "verify_file with a wrong digest",
        "error",
        lambda ctx: (
            ctx.tmp.joinpath("train-images-idx3-ubyte.gz").write_bytes(b"x"),
            dd.verify_file(ctx.tmp / "train-images-idx3-ubyte.gz", "0" * 64),
        ),
        mentions=("train-images",),
    )

    def clean_missing(ctx: Ctx) -> None:
        assert dd.clean_stale_temp_files(ctx.tmp / "nope") == []

    add("data", "clean_stale_temp_files on a missing folder", "handled", clean_missing)

    def clean_old(ctx: Ctx) -> None:
        t = ctx.tmp / f".x.npz.part-{os.getpid()}-{host_tag()}-0123abcd.tmp"
        t.write_bytes(b"x")
        other = ctx.tmp / "keep.tmp"
        other.write_bytes(b"x")
        os.utime(t, (time.time() - 2 * dd.STALE_TEMP_AGE_S,) * 2)
        assert dd.clean_stale_temp_files(ctx.tmp) == [t] and other.exists()

    add("data", "clean_stale_temp_files removes an old one, nothing else", "handled", clean_old)
    add(
        "data",
        "channel_stats of an empty array",
        "error",
        lambda ctx: dd.channel_stats(np.zeros((0, 3, 2, 2), np.uint8)),
        mentions=("empty",),
    )
    add(
        "data",
        "channel_stats of a float array",
        "either",
        lambda ctx: dd.channel_stats(np.zeros((2, 3, 2, 2), np.float32)),
        mentions=("uint8",),
    )


_data_misc()


# ============================================================================ attacks: train
def tmlp(seed: int = 0, inp: int = 16, classes: int = 3) -> nn.Module:
    m = quiet_build(lambda: MLP(inp, classes, depth=3, width=8))
    depthinit.init_(m, "he", generator=gen(seed))
    return m


def _train_config() -> None:
    cases = [
        ("lr=0", {"lr": 0}),
        ("lr=nan", {"lr": math.nan}),
        ("lr=True", {"lr": True}),
        ("lr='0.1'", {"lr": "0.1"}),
        ("lr=-0.1", {"lr": -0.1}),
        ("momentum=1", {"momentum": 1.0}),
        ("momentum=nan", {"momentum": math.nan}),
        ("momentum=True", {"momentum": True}),
        ("betas=(1, 0.9)", {"betas": (1.0, 0.9)}),
        ("betas='ab'", {"betas": "ab"}),
        ("betas=(0.9,)", {"betas": (0.9,)}),
        ("eps=0", {"eps": 0.0}),
        ("weight_decay=-1", {"weight_decay": -1.0}),
        ("weight_decay=nan", {"weight_decay": math.nan}),
        ("weight_decay=True", {"weight_decay": True}),
        ("weight_decay='0'", {"weight_decay": "0"}),
        ("batch_size=0", {"batch_size": 0}),
        ("batch_size=1.5", {"batch_size": 1.5}),
        ("batch_size=True", {"batch_size": True}),
        ("epochs=-1", {"epochs": -1}),
        ("epochs=2.0", {"epochs": 2.0}),
        ("n_train=0", {"n_train": 0}),
        ("n_test=-5", {"n_test": -5}),
        ("optimizer='rmsprop'", {"optimizer": "rmsprop"}),
        ("optimizer='SGD'", {"optimizer": "SGD"}),
        ("dtype='float16'", {"dtype": "float16"}),
        ("dtype=torch.float32", {"dtype": torch.float32}),
        ("device='gpu'", {"device": "gpu"}),
        ("device=None", {"device": None}),
        ("device=5.5", {"device": 5.5}),
        ("probe_epochs=(7,) beyond epochs", {"probe_epochs": (7,)}),
        ("probe_epochs=(-1,)", {"probe_epochs": (-1,)}),
        ("probe_epochs=3", {"probe_epochs": 3}),
        ("lr_scales={'x': -1}", {"lr_scales": {"x": -1.0}}),
        ("lr_scales=5", {"lr_scales": 5}),
        ("lr_scales={'x': nan}", {"lr_scales": {"x": math.nan}}),
        ("logit_scale=0", {"logit_scale": 0.0}),
        ("logit_scale=inf", {"logit_scale": math.inf}),
        ("warmup_epochs=-1", {"warmup_epochs": -1.0}),
        ("warmup_epochs=True", {"warmup_epochs": True}),
        ("nesterov with adam", {"nesterov": True, "optimizer": "adam"}),
        ("nesterov='yes'", {"nesterov": "yes"}),
        ("eval_init='no'", {"eval_init": "no"}),
        ("eval_batch_size=0", {"eval_batch_size": 0}),
        ("probe_batch=0", {"probe_batch": 0}),
        ("n_val=-1", {"n_val": -1}),
        ("n_val=True", {"n_val": True}),
    ]
    for label, kw in cases:
        name = label.split("=")[0].split(" ")[0]
        add("train", f"TrainConfig {label}", "error", lambda ctx, kw=kw: TrainConfig(**kw), mentions=(name,))


_train_config()


def _train_calls() -> None:
    cfg = TrainConfig(lr=0.05, epochs=1, batch_size=32)

    def data_with(**changes: Any) -> Tensors:
        d = tiny_data()
        fields = {k: getattr(d, k) for k in ("x_train", "y_train", "x_test", "y_test")}
        fields.update(changes)
        return Tensors(**fields)

    d0 = tiny_data()
    nan_x = d0.x_train.clone()
    nan_x[5, 0, 1, 1] = math.nan
    inf_x = d0.x_train.clone()
    inf_x[0] = math.inf
    frac = d0.y_train.double() + 0.5
    cases = [
        ("data=None", lambda: None, "data"),
        ("data is a dict", lambda: {"x_train": d0.x_train}, "data"),
        ("x_train is a numpy array", lambda: data_with(x_train=d0.x_train.numpy()), "x_train"),
        ("labels shorter than inputs", lambda: data_with(y_train=d0.y_train[:-3]), "labels"),
        ("empty training set", lambda: data_with(x_train=d0.x_train[:0], y_train=d0.y_train[:0]), "empty"),
        ("empty test set", lambda: data_with(x_test=d0.x_test[:0], y_test=d0.y_test[:0]), "test"),
        ("NaN in x_train", lambda: data_with(x_train=nan_x), "x_train"),
        ("inf in x_train", lambda: data_with(x_train=inf_x), "x_train"),
        ("NaN in x_test", lambda: data_with(x_test=d0.x_test * math.nan), "x_test"),
        ("label 7 for 3 classes", lambda: data_with(y_train=d0.y_train.index_fill(0, torch.tensor([4]), 7)), "label"),
        ("negative label", lambda: data_with(y_train=d0.y_train.index_fill(0, torch.tensor([4]), -1)), "label"),
        (
            "test label 9 for 3 classes",
            lambda: data_with(y_test=d0.y_test.index_fill(0, torch.tensor([0]), 9)),
            "label",
        ),
        ("fractional float labels", lambda: data_with(y_train=frac), "label"),
        (
            "inputs of the wrong size",
            lambda: data_with(
                x_train=torch.rand(96, 1, 5, 5, generator=gen()), x_test=torch.rand(32, 1, 5, 5, generator=gen())
            ),
            "shape",
        ),
        ("test inputs of another shape", lambda: data_with(x_test=torch.rand(32, 1, 3, 3, generator=gen())), "x_test"),
        ("2-D labels", lambda: data_with(y_train=d0.y_train[:, None]), "y_train"),
        ("complex inputs", lambda: data_with(x_train=d0.x_train.to(torch.cfloat)), "x_train"),
    ]
    for label, make, mention in cases:
        for trainer in ("train_one", "train_many"):

            def fn(ctx: Ctx, make=make, trainer=trainer) -> None:
                m = tmlp()
                with keeps(m):
                    if trainer == "train_one":
                        r = train_one(m, make(), cfg, seed=0)
                        rs = [r]
                    else:
                        rs = train_many([m, tmlp(1)], make(), cfg, seeds=[0, 1])
                for r in rs:
                    h = r.history
                    if r.status != "ok" or h[["train_loss", "test_acc"]].isna().any().any():
                        raise Wrong(f"bad data gave a {r.status} run with NaN metrics instead of an error")
                    raise Wrong("bad data were trained on without an error")

            add("train", f"{trainer} {label}", "error", fn, mentions=(mention,))

    for label, call, mention in [
        ("model=None", lambda: train_one(None, tiny_data(), cfg), "model"),
        ("seed=-1", lambda: train_one(tmlp(), tiny_data(), cfg, seed=-1), "seed"),
        ("seed=True", lambda: train_one(tmlp(), tiny_data(), cfg, seed=True), "seed"),
        ("seed=2**64", lambda: train_one(tmlp(), tiny_data(shape=(16,)), cfg, seed=2**64), "seed"),
        ("lr=0 argument", lambda: train_one(tmlp(), tiny_data(), cfg, lr=0.0), "lr"),
        ("config is a dict", lambda: train_one(tmlp(), tiny_data(), {"lr": 0.1}), "config"),
        (
            "lr_scales naming no parameter",
            lambda: train_one(tmlp(), tiny_data(), TrainConfig(epochs=1, lr_scales={"nope": 0.5})),
            "nope",
        ),
        (
            "train_many seeds of another length",
            lambda: train_many([tmlp(), tmlp(1)], tiny_data(), cfg, seeds=[0]),
            "seeds",
        ),
        (
            "train_many lrs of another length",
            lambda: train_many([tmlp(), tmlp(1)], tiny_data(), cfg, seeds=[0, 1], lrs=[0.1]),
            "learning rates",
        ),
        (
            "train_many lr nan",
            lambda: train_many([tmlp(), tmlp(1)], tiny_data(), cfg, seeds=[0, 1], lrs=[0.1, math.nan]),
            "nan",
        ),
        (
            "train_many different architectures",
            lambda: train_many(
                [tmlp(), quiet_build(lambda: MLP(16, 3, depth=4, width=8))], tiny_data(), cfg, seeds=[0, 1]
            ),
            "architecture",
        ),
        (
            "train_many strategy='nope'",
            lambda: train_many([tmlp()], tiny_data(), cfg, seeds=[0], strategy="nope"),
            "strategy",
        ),
        (
            "train_many strategy='bmm' on a CNN",
            lambda: train_many(
                [quiet_build(lambda: CNN(1, 3, depth=2, channels=4))], tiny_data(), cfg, seeds=[0], strategy="bmm"
            ),
            "bmm",
        ),
        (
            "train_many a model that is not a Module",
            lambda: train_many(["model"], tiny_data(), cfg, seeds=[0]),
            "model",
        ),
        (
            "train_many logit_scales with 0",
            lambda: train_many([tmlp()], tiny_data(), cfg, seeds=[0], logit_scales=[0.0]),
            "logit",
        ),
        (
            "train_many cuda_graph='yes'",
            lambda: train_many([tmlp()], tiny_data(), cfg, seeds=[0], cuda_graph="yes"),
            "cuda_graph",
        ),
        (
            "train_many lr_scales a mapping",
            lambda: train_many([tmlp()], tiny_data(), cfg, seeds=[0], lr_scales={"a": 1.0}),
            "lr_scales",
        ),
        (
            "device cuda without CUDA",
            lambda: train_one(tmlp(), tiny_data(), TrainConfig(epochs=1, device=ABSENT_CUDA)),
            "cuda",
        ),
        ("device meta", lambda: train_one(tmlp(), tiny_data(), TrainConfig(epochs=1, device="meta")), "meta"),
    ]:
        add("train", label, "error", refuse(call), mentions=(mention,))

    def diverge(trainer: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            c = TrainConfig(lr=1e6, epochs=3, batch_size=16, momentum=0.9)
            if trainer == "one":
                rs = [train_one(tmlp(), tiny_data(), c, seed=0)]
            else:
                rs = train_many([tmlp(), tmlp(1)], tiny_data(), c, seeds=[0, 1], lrs=[1e6, 0.01])
            r = rs[0]
            assert r.status == "diverged" and r.diverged_step is not None, r.status
            last = r.history.iloc[-1]
            assert int(last["epoch"]) == r.diverged_epoch and math.isnan(last["test_acc"]), (
                "a diverged run reports a number"
            )
            if trainer == "many":
                ok = rs[1]
                ref = train_one(tmlp(1), tiny_data(), c, seed=1, lr=0.01)
                assert ok.status == "ok" and np.allclose(ok.history["test_acc"], ref.history["test_acc"]), (
                    "a diverging member changed its neighbour"
                )

        return fn

    add("train", "train_one diverges: status and NaN metrics", "handled", diverge("one"))
    add("train", "train_many: one member diverges, the other is unaffected", "handled", diverge("many"))

    def epochs0(ctx: Ctx) -> None:
        m = tmlp()
        snap = snapshot(m)
        r = train_one(m, tiny_data(), TrainConfig(epochs=0))
        assert list(r.history["epoch"]) == [0] and same(m, snap)

    add("train", "epochs=0 evaluates and changes nothing", "handled", epochs0)

    def big_batch(ctx: Ctx) -> None:
        a = train_one(tmlp(), tiny_data(), TrainConfig(epochs=2, batch_size=10000, lr=0.05), seed=0)
        b = train_many([tmlp()], tiny_data(), TrainConfig(epochs=2, batch_size=10000, lr=0.05), seeds=[0])[0]
        assert np.allclose(a.history["train_loss"], b.history["train_loss"], atol=1e-5)

    add("train", "batch_size above the data set: one step per epoch, both trainers agree", "handled", big_batch)

    def repro(ctx: Ctx) -> None:
        a = train_one(tmlp(), tiny_data(), cfg, seed=4).history
        b = train_one(tmlp(), tiny_data(), cfg, seed=4).history
        assert a.drop(columns="wall_s").equals(b.drop(columns="wall_s")), "same seed, different trajectory"

    add("train", "train_one from one seed is reproducible", "handled", repro)

    def many_equals_one(ctx: Ctx) -> None:
        rs = train_many([tmlp(0), tmlp(1), tmlp(2)], tiny_data(), cfg, seeds=[5, 5, 6])
        for k, (r, s) in enumerate(zip(rs, [5, 5, 6])):
            ref = train_one(tmlp(k), tiny_data(), cfg, seed=s)
            assert np.allclose(r.history["test_loss"], ref.history["test_loss"], atol=1e-5), k

    add("train", "train_many equals train_one member by member", "handled", many_equals_one)

    def empty_models(ctx: Ctx) -> None:
        assert train_many([], tiny_data(), cfg, seeds=[]) == []

    add("train", "train_many of no models", "handled", empty_models)

    def labels_float_integral(ctx: Ctx) -> None:
        r = train_one(tmlp(), data_with(y_train=d0.y_train.double(), y_test=d0.y_test.double()), cfg)
        assert r.status == "ok"

    add("train", "integral float labels are accepted", "handled", labels_float_integral)

    def nan_weights(ctx: Ctx) -> None:
        m = tmlp()
        with torch.no_grad():
            m.layers[0].weight[0, 0] = math.nan
        r = train_one(m, tiny_data(), cfg)
        if r.status == "ok" and r.history["test_acc"].notna().all():
            raise Wrong("a model with NaN weights trained to finite metrics?")
        assert r.status == "diverged", r.status

    add("train", "a model with a NaN weight is reported diverged", "either", nan_weights, mentions=("nan",))


_train_calls()


# ============================================================================ attacks: sweep
_BASE: dict[str, Any] = {}


def base_folder(ctx: Ctx, kind: str = "whole") -> Path:
    """A copy of a finished tiny sweep (4 runs, 2 stacks) in ``ctx.tmp/out``; built once per kind."""
    if kind not in _BASE:
        where = Path(tempfile.mkdtemp(prefix=f"attacks-base-{kind}-"))
        if kind == "whole":
            sweep(where / "out")
        elif kind == "probes":
            sweep(
                where / "out",
                tiny_spec(train=TrainConfig(lr=0.05, epochs=1, batch_size=32, probe_epochs=(0, 1), probe_batch=8)),
            )
        elif kind.startswith("shard"):
            n = int(kind[5:])
            for i in range(n):
                sweep(where / f"s{i}", shard=f"{i}/{n}")
        _BASE[kind] = where
    dest = ctx.tmp / "base"
    shutil.copytree(_BASE[kind], dest)
    return dest / "out" if kind in ("whole", "probes") else dest


def parts(out: Path, table: str = "results") -> list[Path]:
    return sorted((out / table).glob("part-*"))


def damage(
    edit: Callable[[str], str], table: str = "results", which: int = -1, mode: str = "reported"
) -> Callable[[Ctx], None]:
    """Damage one part of a finished folder; the damage must be reported, the damaged runs
    (and only those) trained again, and every run end up exactly once."""

    def fn(ctx: Ctx) -> None:
        out = base_folder(ctx)
        before = base_finished()
        p = parts(out, table)[which]
        p.write_text(edit(p.read_text()))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = sw.load(out, probes=False)
        still = set(r.finished)
        if mode == "reported" and not (
            r.problems or any(issubclass(w.category, sw.DamagedResultsWarning) for w in caught)
        ):
            raise Wrong(f"damage to {p.relative_to(out)} was not reported")
        bad = [
            rid
            for rid in still
            if rid in before
            and not r.results[r.results.run_id == rid]
            .drop(columns="wall_s")
            .sort_values("epoch")
            .reset_index(drop=True)
            .equals(before[rid])
        ]
        if bad:
            raise Wrong(f"damaged rows were accepted as finished: {bad}")
        if len(still) == len(before) and mode == "reported":
            raise Wrong("a damaged run is still counted as done")
        df = sweep(out)
        assert df["run_id"].nunique() == 4
        after = once(out, 4, {k: v for k, v in before.items() if k in still})
        for rid in before:
            a, b = before[rid], after[rid]
            cols = ["epoch", "test_acc", "train_loss"]
            assert np.allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), equal_nan=True), (
                f"{rid} retrained differently"
            )

    return fn


def base_finished() -> dict[str, Any]:
    if "whole-finished" not in _BASE:
        base_folder(Ctx(Path(tempfile.mkdtemp(prefix="attacks-w-"))))
        _BASE["whole-finished"] = finished(_BASE["whole"] / "out")  # type: ignore[assignment]
    return _BASE["whole-finished"]  # type: ignore[return-value]


def _sweep_integrity() -> None:
    def cut_last(t: str) -> str:
        return t[: len(t.rstrip("\n")) - 20] + "\n"

    def flip_digit(line_no: int) -> Callable[[str], str]:
        def edit(t: str) -> str:
            lines = t.split("\n")
            line = lines[line_no]
            i = next(i for i, ch in enumerate(line) if ch.isdigit() and i > 30)
            lines[line_no] = line[:i] + str((int(line[i]) + 1) % 10) + line[i + 1 :]
            return "\n".join(lines)

        return edit

    def garble(t: str) -> str:
        b = bytearray(t.encode())
        mid = len(b) // 2
        b[mid : mid + 8] = b"\xff\xfe\x00\x01\x02\x03\x04\x05"
        return b.decode("utf-8", errors="replace")

    def drop_line(n: int) -> Callable[[str], str]:
        return lambda t: "\n".join(l for i, l in enumerate(t.split("\n")) if i != n)

    def dup_line(n: int) -> Callable[[str], str]:
        def edit(t: str) -> str:
            ls = t.split("\n")
            return "\n".join([*ls[: n + 1], ls[n], *ls[n + 1 :]])

        return edit

    for label, edit in [
        ("last line cut in half", cut_last),
        ("a digit changed in line 2", flip_digit(1)),
        ("a digit changed in the last line", flip_digit(-2)),
        ("garbled bytes in the middle", garble),
        ("a line deleted", drop_line(2)),
        ("a line repeated", dup_line(1)),
        ("CRLF line endings", lambda t: t.replace("\n", "\r\n")),
        ("a NUL byte inside a line", lambda t: t.replace(",ok,", ",o\x00,", 1)),
        ("the status edited from ok to diverged", lambda t: t.replace(",ok,", ",diverged,", 1)),
        (
            "two lines swapped between runs",
            lambda t: "\n".join([(ls := t.split("\n"))[0], ls[3], ls[2], ls[1], *ls[4:]]),
        ),
        ("emptied to zero bytes", lambda t: ""),
        ("only the header left", lambda t: t.split("\n")[0] + "\n"),
        ("header garbled", lambda t: "x" + t[1:]),
        ("a BOM before the header", lambda t: "\ufeff" + t),
        ("binary garbage", lambda t: "\x00\x01\x02garbage" * 10),
        ("the file cut after the header's first half", lambda t: t[:100]),
    ]:
        mode = "any" if label in ("two lines swapped between runs", "CRLF line endings") else "reported"
        add("sweep", f"results part: {label}", "handled", damage(edit, mode=mode))
    for label, edit in [("last line cut", cut_last), ("emptied", lambda t: ""), ("garbled", garble)]:
        add("sweep", f"runs part: {label}", "handled", damage(edit, "runs", mode="reported"))
        add("sweep", f"plans part: {label}", "handled", damage(edit, "plans", mode="reported"))

    def aux_deleted(table: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            out = base_folder(ctx)
            before = base_finished()
            parts(out, table)[0].unlink()
            r = sw.load(out, probes=False, warn=False)
            missing = set(r.finished) - set(getattr(r, table)["run_id"])
            if missing and not r.problems:
                raise Wrong(f"{len(missing)} run(s) counted done without their {table} rows, and no problem reported")
            sweep(out)
            once(out, 4)
            r = sw.load(out, probes=False, warn=False)
            assert set(r.runs["run_id"]) == set(r.finished) == set(r.plans["run_id"]), "tables disagree after a resume"
            kept(out, {k: v for k, v in before.items() if k in r.finished})

        return fn

    add("sweep", "a runs part deleted", "handled", aux_deleted("runs"))
    add("sweep", "a plans part deleted", "handled", aux_deleted("plans"))

    def parquet_garbled(ctx: Ctx) -> None:
        out = base_folder(ctx, "probes")
        p = parts(out, "probes")[0]
        p.write_bytes(p.read_bytes()[:50])
        r = sw.load(out)
        assert ctx.warned(sw.DamagedResultsWarning), "a torn Parquet part was not reported"
        assert len(r.finished) == 4

    add("sweep", "a probes Parquet part torn", "handled", parquet_garbled)

    def foreign(where: str, name: str, expect_error: bool) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            out = base_folder(ctx)
            before = base_finished()
            target = out / where / name if where else out / name
            target.write_text("a,b\n1,2\n")
            try:
                sweep(out)
            finally:
                kept(out, before)
            if expect_error:
                raise Wrong("a foreign file was accepted")
            r = sw.load(out, probes=False, warn=False)
            if name.startswith("part-") and not any(name in m for m in r.problems):
                raise Wrong(f"an unreadable foreign part {name} is not reported")
            if len(r.finished) != 4 or [m for m in r.problems if name not in m]:
                raise Wrong(f"{len(r.finished)} runs finished, problems {r.problems[:2]}")

        return fn

    add("sweep", "a foreign file at the top", "error", foreign("", "notes.csv", True), mentions=("notes.csv",))
    add(
        "sweep", "a foreign file in results/", "either", foreign("results", "notes.txt", False), mentions=("notes.txt",)
    )
    add(
        "sweep",
        "a foreign CSV named like a part",
        "either",
        foreign("results", "part-zzz.csv", False),
        mentions=("part-zzz.csv",),
    )

    def prov(content: str | None, expect: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            out = base_folder(ctx)
            before = base_finished()
            p = out / "provenance.json"
            if content is None:
                p.unlink()
            else:
                p.write_text(content)
            try:
                sweep(out)
            finally:
                kept(out, before)
            once(out, 4)

        return fn

    for label, content in [
        ("garbled", "{not json"),
        ("a JSON list", "[1, 2]"),
        ("a JSON string", '"hello"'),
        ("empty", ""),
        ("experiment missing", json.dumps({"profile": "default"})),
    ]:
        add("sweep", f"provenance.json {label}", "either", prov(content, "error"), mentions=("provenance.json",))
    add("sweep", "provenance.json deleted: the same sweep resumes", "handled", prov(None, "handled"))

    def prov_deleted_other(ctx: Ctx) -> None:
        out = base_folder(ctx)
        before = base_finished()
        (out / "provenance.json").unlink()
        try:
            sweep(out, tiny_spec("other"))
        finally:
            kept(out, before)
        r = sw.load(out, probes=False, warn=False)
        if r.results["experiment"].nunique() > 1:
            raise Wrong("results of two experiments were mixed in one folder")

    add("sweep", "provenance.json deleted, another experiment", "error", prov_deleted_other, mentions=("tiny",))


_sweep_integrity()


def _sweep_guards() -> None:
    def guard(**kw: Any) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            out = base_folder(ctx)
            before = base_finished()
            mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
            try:
                sweep(out, **kw)
            finally:
                kept(out, before)
                now = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
                if now != mtimes:
                    raise Wrong("the folder was changed by a refused sweep")

        return fn

    add(
        "sweep",
        "another experiment into a finished folder",
        "error",
        guard(spec=tiny_spec("other")),
        mentions=("tiny",),
    )
    add("sweep", "another profile into a finished folder", "error", guard(profile="smoke"), mentions=("smoke",))
    add("sweep", "a shard into a whole sweep's folder", "error", guard(shard="0/2"), mentions=("shard",))

    def resume_done(ctx: Ctx) -> None:
        out = base_folder(ctx)
        ps = {p: p.stat().st_mtime_ns for p in out.rglob("part-*")}
        df = sweep(out)
        assert df["run_id"].nunique() == 4 and {p: p.stat().st_mtime_ns for p in out.rglob("part-*")} == ps, (
            "a finished sweep trained again"
        )
        once(out, 4)

    add("sweep", "resume a finished sweep: nothing trained again", "handled", resume_done)

    def grown(ctx: Ctx) -> None:
        out = base_folder(ctx)
        before = base_finished()
        df = sweep(out, tiny_spec(seeds=(0, 1, 2)))
        assert df["run_id"].nunique() == 6
        once(out, 6, before)

    add("sweep", "a seed added: only the new runs train", "handled", grown)

    def changed_spec(ctx: Ctx) -> None:
        out = base_folder(ctx)
        before = base_finished()
        df = sweep(out, tiny_spec(train=TrainConfig(lr=0.05, epochs=2, batch_size=32)))
        assert df["run_id"].nunique() == 4 and set(df["epochs"]) == {2}, "run() returned runs of the old spec"
        kept(out, before)

    add("sweep", "the spec changed under the same name: run() returns the new runs", "handled", changed_spec)

    for label, kw, mention in [
        ("profile='fast'", {"profile": "fast"}, "fast"),
        ("profile=None", {"profile": None}, "profile"),
        ("device='meta'", {"device": "meta"}, "meta"),
        ("device='cuda:7'", {"device": "cuda:7"}, "cuda"),
        ("device='mps'", {"device": "mps"}, "mps"),
        ("device='tpu'", {"device": "tpu"}, "tpu"),
        ("device=None", {"device": None}, "device"),
        ("device=5", {"device": 5}, "device"),
        ("shard='1/0'", {"shard": "1/0"}, "shard"),
        ("shard='2/2'", {"shard": "2/2"}, "shard"),
        ("shard='-1/2'", {"shard": "-1/2"}, "shard"),
        ("shard='a/b'", {"shard": "a/b"}, "shard"),
        ("shard='1/2/3'", {"shard": "1/2/3"}, "shard"),
        ("shard=(True, 2)", {"shard": (True, 2)}, "shard"),
        ("shard=3", {"shard": 3}, "shard"),
        ("shard='0/9' (more shards than runs)", {"shard": "7/9"}, "shard"),
        ("max_members=0", {"max_members": 0}, "max_members"),
        ("max_members=1.5", {"max_members": 1.5}, "max_members"),
        ("strategy='nope'", {"strategy": "nope"}, "strategy"),
        ("data without tensors", {"data": object()}, "data"),
        (
            "data with NaN inputs",
            {
                "data": Tensors(
                    tiny_data().x_train * math.nan, tiny_data().y_train, tiny_data().x_test, tiny_data().y_test
                )
            },
            "x_train",
        ),
        (
            "test labels beyond the training classes",
            {"data": Tensors(tiny_data().x_train, tiny_data().y_train, tiny_data().x_test, tiny_data().y_test + 50)},
            "label",
        ),
        ("spec=5", {"spec": 5}, "spec"),
        ("spec='nope'", {"spec": "nope"}, "nope"),
        ("n_val without a Dataset", {"spec": tiny_spec(train=TrainConfig(epochs=1, n_val=8))}, "n_val"),
        ("fixup on an MLP", {"spec": tiny_spec(inits=(sw.init("he"), sw.init("fixup")))}, "fixup"),
        (
            "an image model on flat data",
            {
                "spec": tiny_spec(model=sw.ModelConfig("cnn", depth=2, channels=4)),
                "data": Tensors(
                    torch.rand(8, 16),
                    torch.zeros(8, dtype=torch.long),
                    torch.rand(4, 16),
                    torch.zeros(4, dtype=torch.long),
                ),
            },
            "shape",
        ),
    ]:

        def fn(ctx: Ctx, kw=kw) -> None:
            out = ctx.tmp / "fresh"
            kw = dict(kw)
            spec = kw.pop("spec", tiny_spec())
            try:
                if isinstance(spec, sw.Experiment):
                    sweep(out, spec, **kw)
                else:
                    kw.setdefault("data", tiny_data())
                    sw.run(spec, out=out, device=kw.pop("device", "cpu"), progress=False, **kw)
            finally:
                if out.exists():
                    left = sorted(p.name for p in out.iterdir())
                    raise Wrong(f"the folder was created although the sweep was refused: {left}")

        add("sweep", f"run {label}", "error", fn, mentions=(mention,))
    for label, make in [
        ("out is a file", lambda t: (t / "f").write_text("x") and t / "f"),
        ("out is the current folder of foreign files", lambda t: t),
        ("results/ replaced by a file", None),
    ]:

        def fn(ctx: Ctx, make=make) -> None:
            if make is None:
                out = base_folder(ctx)
                shutil.rmtree(out / "results")
                (out / "results").write_text("x")
            else:
                (ctx.tmp / "thesis.tex").write_text("x")
                out = make(ctx.tmp)
            sweep(out)

        add("sweep", f"run {label}", "error", fn, mentions=("out" if make else "results",))

    def deep(ctx: Ctx) -> None:
        out = ctx.tmp / "a" / "b" / "out"
        sweep(out)
        once(out, 4)

    add("sweep", "run into an out folder whose parents do not exist", "handled", deep)

    def diverged(ctx: Ctx) -> None:
        out = ctx.tmp / "out"
        spec = tiny_spec(train=TrainConfig(lr=1e6, epochs=2, batch_size=16))
        sweep(out, spec)
        r = sw.load(out, probes=False)
        assert (r.runs["status"] == "diverged").any(), "nothing diverged (the attack did not work)"
        d = r.runs[r.runs["status"] == "diverged"]
        assert d["final_test_acc"].isna().all() and d["best_test_acc"].isna().all(), (
            "runs.csv gives a diverged run a final accuracy"
        )
        text = sw.report(out)
        assert "diverged" in text and "nan" not in text.lower().replace("nan_", ""), "report shows NaN"
        from depthinit.analysis import final_rows

        f = final_rows(r.results)
        assert f["test_acc"].notna().all(), "final_rows leaves NaN for diverged runs"

    add("sweep", "diverged runs: NaN final accuracy in runs.csv, chance in the report", "handled", diverged)


_sweep_guards()


def _sweep_faults() -> None:
    def kill_at(target: str, nth: int, stage: str = "before") -> Callable[[Ctx], None]:
        """A sweep process killed with SIGKILL at the nth call of ``target``; the restart must
        finish the grid with every run exactly once and leave no temporary file."""

        def fn(ctx: Ctx) -> None:
            out = ctx.tmp / "out"

            def child() -> None:
                calls = [0]
                if target == "write":  # inside a part's temporary file, before os.replace
                    real = os.fsync

                    def die(fd: int) -> None:
                        calls[0] += 1
                        if calls[0] == nth:
                            os.kill(os.getpid(), signal.SIGKILL)
                        real(fd)

                    os.fsync = die
                else:
                    real_fn = getattr(store, target)

                    def die2(*a: Any, **k: Any) -> Any:
                        calls[0] += 1
                        if calls[0] == nth and stage == "before":
                            os.kill(os.getpid(), signal.SIGKILL)
                        r = real_fn(*a, **k)
                        if calls[0] == nth:
                            os.kill(os.getpid(), signal.SIGKILL)
                        return r

                    setattr(store, target, die2)
                sweep(out)

            code = in_child(child)
            if code != -signal.SIGKILL:
                raise Wrong(f"the child was not killed (exit {code}): the kill point was never reached")
            before = finished(out) if out.is_dir() else {}
            sweep(out)
            once(out, 4, before)
            left = [p.name for p in out.rglob("*") if ".tmp" in p.name]
            assert not left, f"temporary files left: {left}"
            assert json.loads((out / "provenance.json").read_text())["status"] == "complete"

        return fn

    for label, target, nth, stage in [
        ("in the first part's temporary file", "write", 1, ""),
        ("in the results part's temporary file", "write", 4, ""),
        ("in the second stack's results temporary file", "write", 8, ""),
        ("before the first runs part", "write_part", 1, "before"),
        ("after the runs part", "write_part", 1, "after"),
        ("after the plans part", "write_part", 2, "after"),
        ("right after the first results part", "write_part", 3, "after"),
        ("before the second stack's results", "write_part", 6, "before"),
        ("while writing provenance at the start", "atomic_write_text", 1, "before"),
        ("after the first stack's provenance", "atomic_write_text", 2, "after"),
        ("before the final provenance", "atomic_write_text", 4, "before"),
    ]:
        add("sweep", f"kill -9 {label}, then resume", "handled", kill_at(target, nth, stage))

    def interrupt(ctx: Ctx) -> None:
        out = ctx.tmp / "out"
        real = store.write_part
        calls = [0]

        def stop(*a: Any, **k: Any) -> Any:
            calls[0] += 1
            if calls[0] == 4:
                raise KeyboardInterrupt
            return real(*a, **k)

        try:
            with patched(store, "write_part", stop):
                sweep(out)
        except KeyboardInterrupt:
            pass
        lock = store.Lock(out)
        assert lock.acquire(), "the lock is still held after an interrupt"
        lock.release()
        sweep(out)
        once(out, 4)

    add("sweep", "KeyboardInterrupt mid-sweep, then resume", "handled", interrupt)

    def concurrent(ctx: Ctx) -> None:
        out = ctx.tmp / "out"
        barrier = mp.get_context("fork").Barrier(2)

        def child() -> None:
            barrier.wait()
            try:
                sweep(out)
            except SweepError as e:
                os._exit(3 if "another sweep" in str(e) else 4)
            os._exit(0)

        procs = [mp.get_context("fork").Process(target=child) for _ in range(2)]
        for p_ in procs:
            p_.start()
        for p_ in procs:
            p_.join(120)
        codes = sorted(p_.exitcode for p_ in procs)
        if 4 in codes or any(c not in (0, 3) for c in codes):
            raise Wrong(f"two concurrent sweeps ended with {codes}")
        once(out, 4)

    add("sweep", "two sweeps start on one folder at once", "handled", concurrent)

    def lock_race(n_procs: int, rounds: int, stale: bool) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            folder = ctx.tmp / "lock"
            folder.mkdir()
            c = mp.get_context("fork")
            barrier = c.Barrier(n_procs)
            holders = c.Array("i", rounds)

            def child() -> None:
                for r in range(rounds):
                    if stale and r % 10 == 0:
                        (folder / ".lock").write_text(f"{2**22 + 7} deadhost")  # a lock file left by a dead process
                    barrier.wait()
                    lock = store.Lock(folder)
                    if lock.acquire():
                        with holders.get_lock():
                            holders[r] += 1
                        time.sleep(0.0005)
                    barrier.wait()
                    lock.release()
                    barrier.wait()
                os._exit(0)

            procs = [c.Process(target=child) for _ in range(n_procs)]
            for p_ in procs:
                p_.start()
            for p_ in procs:
                p_.join(120)
                if p_.is_alive():
                    p_.kill()
                    raise Wrong("a lock racer hung")
            bad = [(r, h) for r, h in enumerate(holders[:]) if h != 1]
            if bad:
                raise Wrong(f"{len(bad)} of {rounds} rounds had not exactly one holder: {bad[:5]}")

        return fn

    add("sweep", "lock race: 2 processes, 150 rounds", "handled", lock_race(2, 150, False))
    add("sweep", "lock race: 8 processes, 60 rounds over stale lock files", "handled", lock_race(8, 60, True))

    def held_message(ctx: Ctx) -> None:
        out = base_folder(ctx)
        with store.Lock(out):

            def child() -> None:
                try:
                    sweep(out, tiny_spec(seeds=(0, 1, 2)))
                except SweepError as e:
                    os._exit(3 if str(os.getpid()) not in str(e) and "another sweep" in str(e) else 4)
                os._exit(0)

            code = in_child(child)
        assert code == 3, f"a second writer was not refused clearly (exit {code})"
        once(out, 4)

    add("sweep", "a second writer while the lock is held", "handled", held_message)

    def stale_temps(ctx: Ctx) -> None:
        out = base_folder(ctx)
        dead = dead_pid()
        junk = [
            out / f".provenance.json.tmp-{dead}",
            out / "results" / f".part-x.csv.tmp-{dead}",
            out / "runs" / f".part-y.csv.tmp-{dead}",
        ]
        for j in junk:
            j.write_text("half")
        live = out / "results" / f".part-z.csv.tmp-{os.getpid()}"
        live.write_text("mine")
        odd = out / "results" / ".part-q.csv.tmp-notapid"
        odd.write_text("?")
        sweep(out, tiny_spec(seeds=(0, 1, 2)))
        assert not any(j.exists() for j in junk), "a killed writer's temporary file was left"
        assert live.exists(), "a live writer's temporary file was removed"
        once(out, 6)

    add("sweep", "stale temporary files of dead writers are removed, live ones kept", "handled", stale_temps)

    def orphan(ctx: Ctx) -> None:
        out = base_folder(ctx)
        stem = "0" * 8 + "-deadbeefdeadbeef"
        for t in ("runs", "plans"):
            shutil.copy(parts(out, t)[0], out / t / f"part-{stem}.csv")
        sweep(out)
        assert not (out / "runs" / f"part-{stem}.csv").exists(), "an orphan part (no results part) was kept"
        once(out, 4)

    add("sweep", "orphan parts of a killed stack are dropped", "handled", orphan)

    def full(where: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            out = ctx.tmp / "out"
            if where == "second stack":
                sweep(out, tiny_spec(seeds=(0,)))
            before = finished(out) if out.exists() else {}
            real = os.replace

            def replace(src: Any, dst: Any) -> None:
                if (where == "provenance" and str(dst).endswith("provenance.json")) or (
                    where != "provenance" and "/results/" in str(dst)
                ):
                    raise OSError(errno.ENOSPC, "No space left on device")
                real(src, dst)

            try:
                with patched(os, "replace", replace):
                    sweep(out)
            finally:
                left = [p.name for p in out.rglob("*") if ".tmp" in p.name] if out.exists() else []
                if left:
                    raise Wrong(f"temporary files left on a full disk: {left}")
                if out.exists():
                    kept(out, before)

        return fn

    for where in ("results", "provenance", "second stack"):
        add("sweep", f"full disk writing {where}", "error", full(where), mentions=("space",))

    def full_then_resume(ctx: Ctx) -> None:
        out = ctx.tmp / "out"
        try:
            full("results")(ctx)
        except SweepError:
            pass
        sweep(out)
        once(out, 4)

    add("sweep", "full disk, then space again: the same command finishes", "handled", full_then_resume)


_sweep_faults()


def _sweep_merge() -> None:
    M = sw.merge

    def merged_ok(ctx: Ctx) -> None:
        base = base_folder(ctx, "shard2")
        n = M(ctx.tmp / "m", [base / "s0", base / "s1"])
        whole = base_folder_copy_whole(ctx)
        assert n == 4
        a, b = finished(ctx.tmp / "m"), finished(whole)
        assert set(a) == set(b)
        for rid in a:
            assert np.allclose(a[rid]["test_acc"], b[rid]["test_acc"]), "a merged run differs from the unsharded one"
        once(ctx.tmp / "m", 4)

    add("sweep", "merge two shards equals the whole sweep", "handled", merged_ok)

    def bad(
        make: Callable[[Ctx, Path], list[Path]], out_of: Callable[[Ctx], Path] | None = None
    ) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            base = base_folder(ctx, "shard2")
            folders = make(ctx, base)
            snap = {p: p.read_bytes() for f in folders if Path(f).is_dir() for p in Path(f).rglob("*") if p.is_file()}
            out = out_of(ctx) if out_of else ctx.tmp / "m"
            existed = out.exists()
            try:
                M(out, folders)
            finally:
                for p, data in snap.items():
                    if not p.exists() or p.read_bytes() != data:
                        raise Lost(f"merge changed a shard's file {p}")
                if not existed and out.exists() and any(out.iterdir()):
                    raise Wrong("merge wrote its output although it refused")

        return fn

    def incomplete(ctx: Ctx, b: Path) -> list[Path]:
        p = b / "s1" / "provenance.json"
        d = json.loads(p.read_text())
        d["status"] = "running"
        p.write_text(json.dumps(d))
        return [b / "s0", b / "s1"]

    def other_exp(ctx: Ctx, b: Path) -> list[Path]:
        sweep(ctx.tmp / "o1", tiny_spec("other"), shard="1/2")
        return [b / "s0", ctx.tmp / "o1"]

    def damaged(ctx: Ctx, b: Path) -> list[Path]:
        p = parts(b / "s1")[0]
        p.write_text(p.read_text()[:-15])
        return [b / "s0", b / "s1"]

    def bad_shard_text(ctx: Ctx, b: Path) -> list[Path]:
        p = b / "s1" / "provenance.json"
        d = json.loads(p.read_text())
        d["shard"] = "one/two"
        p.write_text(json.dumps(d))
        return [b / "s0", b / "s1"]

    def whole(ctx: Ctx, b: Path) -> list[Path]:
        return [b / "s0", base_folder_copy_whole(ctx)]

    def three_of_two(ctx: Ctx, b: Path) -> list[Path]:
        sweep(ctx.tmp / "t", shard="2/3")
        return [b / "s0", b / "s1", ctx.tmp / "t"]

    def renamed(ctx: Ctx, b: Path) -> list[Path]:  # shard 1 copied over as if it were shard 0
        p = b / "s1" / "provenance.json"
        d = json.loads(p.read_text())
        d["shard"] = "0/2"
        p.write_text(json.dumps(d))
        return [b / "s0", b / "s1"]

    def other_data(ctx: Ctx, b: Path) -> list[Path]:  # the shards read different files of one data set
        for i, tag in ((0, "aaaa"), (1, "bbbb")):
            p = b / f"s{i}" / "provenance.json"
            d = json.loads(p.read_text())
            d["data"] = [{"name": "mnist", "source": tag, "sha256": {"f": tag}}]
            p.write_text(json.dumps(d))
        return [b / "s0", b / "s1"]

    def missing_runs(ctx: Ctx, b: Path) -> list[Path]:  # a results part deleted: the shard says complete
        parts(b / "s1")[0].unlink()
        return [b / "s0", b / "s1"]

    for label, make, mention in [
        ("no folders", lambda c, b: [], "folder"),
        ("one shard missing", lambda c, b: [b / "s0"], "missing"),
        ("a shard given twice", lambda c, b: [b / "s0", b / "s0"], "twice"),
        ("a folder that does not exist", lambda c, b: [b / "s0", c.tmp / "nope"], "nope"),
        ("an incomplete shard", incomplete, "s1"),
        ("shards of two experiments", other_exp, "experiment"),
        ("a damaged shard", damaged, "s1"),
        ("a malformed shard field", bad_shard_text, "one/two"),
        ("a whole sweep among shards", whole, "whole"),
        ("shards of different splits", three_of_two, "split"),
        ("two folders claiming shard 0", renamed, "twice"),
        ("a shard whose results part was deleted", missing_runs, "missing"),
        ("shards trained on different data files", other_data, "sha256"),
        ("a foreign folder", lambda c, b: [b / "s0", (c.tmp / "f").mkdir() or c.tmp / "f"], "f"),
    ]:
        add("sweep", f"merge {label}", "error", bad(make), mentions=(mention,))
    add(
        "sweep",
        "merge into a non-empty folder",
        "error",
        bad(
            lambda c, b: [b / "s0", b / "s1"],
            lambda c: (c.tmp / "full").mkdir() or ((c.tmp / "full" / "x").write_text("x") and c.tmp / "full"),
        ),
        mentions=("full",),
    )
    add(
        "sweep",
        "merge into one of its shards",
        "error",
        bad(lambda c, b: [b / "s0", b / "s1"], lambda c: c.tmp / "base" / "s0"),
        mentions=("s0",),
    )
    add(
        "sweep",
        "merge into a file",
        "error",
        bad(lambda c, b: [b / "s0", b / "s1"], lambda c: (c.tmp / "file").write_text("x") and c.tmp / "file"),
        mentions=("file",),
    )

    def merge_full_disk(ctx: Ctx) -> None:
        base = base_folder(ctx, "shard2")
        real = shutil.copy2
        calls = [0]

        def copy(src: Any, dst: Any, **k: Any) -> Any:
            calls[0] += 1
            if calls[0] == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(src, dst, **k)

        try:
            with patched(shutil, "copy2", copy):
                M(ctx.tmp / "m", [base / "s0", base / "s1"])
        finally:
            m = ctx.tmp / "m"
            if m.exists() and (m / "provenance.json").exists():
                raise Wrong("a half-merged folder was left looking complete")

    add("sweep", "merge on a full disk", "error", merge_full_disk, mentions=("space",))

    def merge_then_sweep(ctx: Ctx) -> None:
        base = base_folder(ctx, "shard2")
        M(ctx.tmp / "m", [base / "s0", base / "s1"])
        ps = {p: p.stat().st_mtime_ns for p in (ctx.tmp / "m").rglob("part-*")}
        df = sweep(ctx.tmp / "m")
        assert df["run_id"].nunique() == 4 and {p: p.stat().st_mtime_ns for p in (ctx.tmp / "m").rglob("part-*")} == ps

    add("sweep", "a merged folder resumes as the whole sweep, training nothing", "handled", merge_then_sweep)


def base_folder_copy_whole(ctx: Ctx) -> Path:
    if "whole" not in _BASE:
        base_folder(Ctx(Path(tempfile.mkdtemp(prefix="attacks-w-"))))
    dest = ctx.tmp / "whole-copy"
    shutil.copytree(_BASE["whole"] / "out", dest)
    return dest


_sweep_merge()


def layout1(out: Path) -> Path:
    """A folder as depthinit 0.1 wrote it (results.csv at the top)."""
    src = Path(tempfile.mkdtemp(prefix="attacks-l1-")) / "src"
    sweep(src, tiny_spec(seeds=(0,)))
    r = sw.load(src)
    out.mkdir(parents=True, exist_ok=True)
    old = r.results.drop(columns=["val_loss", "val_acc", "n_val", "logit_scale", "activation", "batch_norm"])
    old.to_csv(out / "results.csv", index=False)
    r.runs.drop(columns=["best_epoch", "final_val_acc", "best_val_acc"]).to_csv(out / "runs.csv", index=False)
    r.plans.to_csv(out / "plans.csv", index=False)
    (out / "provenance.json").write_text(json.dumps({"experiment": "tiny", "profile": "default"}))
    return out


def _sweep_layouts() -> None:
    def migrate_ok(ctx: Ctx) -> None:
        out = layout1(ctx.tmp / "old")
        r = sw.load(out)
        assert r.layout == 1 and len(r.finished) == 2
        assert "depthinit migrate" in sw.report(out)
        ids = set(r.finished)
        assert sw.migrate(out) == 2 and sw.load(out).layout == 2 and set(sw.load(out).finished) == ids
        sweep(out)
        once(out, 4)

    add("sweep", "a layout-1 folder reads, migrates and resumes", "handled", migrate_ok)

    def sweep_on_old(ctx: Ctx) -> None:
        out = layout1(ctx.tmp / "old")
        try:
            sweep(out)
        finally:
            if (out / "results").exists():
                raise Wrong("a sweep wrote into a layout-1 folder")

    add("sweep", "a sweep on a layout-1 folder", "error", sweep_on_old, mentions=("migrate",))

    def migrate_twice(ctx: Ctx) -> None:
        out = layout1(ctx.tmp / "old")
        sw.migrate(out)
        before = finished(out)
        assert sw.migrate(out) == 2
        kept(out, before)

    add("sweep", "migrate a folder twice", "handled", migrate_twice)

    def torn_old(ctx: Ctx) -> None:
        out = layout1(ctx.tmp / "old")
        t = (out / "results.csv").read_text()
        (out / "results.csv").write_text(t[: len(t) - 30])
        sw.migrate(out)

    add("sweep", "migrate a layout-1 folder whose results.csv is torn", "either", torn_old, mentions=("results.csv",))

    def no_config(ctx: Ctx) -> None:
        out = layout1(ctx.tmp / "old")
        import pandas as pd

        runs = pd.read_csv(out / "runs.csv")
        runs.drop(columns=["config"]).to_csv(out / "runs.csv", index=False)
        n = sw.migrate(out)
        assert n == 2

    add("sweep", "migrate a layout-1 folder without run configs", "either", no_config, mentions=("config",))

    def bad_config(ctx: Ctx) -> None:
        out = layout1(ctx.tmp / "old")
        import pandas as pd

        runs = pd.read_csv(out / "runs.csv")
        runs.loc[0, "config"] = "{not json"
        runs.to_csv(out / "runs.csv", index=False)
        sw.load(out)

    add("sweep", "a layout-1 folder with a garbled run config", "error", bad_config, mentions=("runs.csv",))
    for label, make, mention in [
        ("an empty folder", lambda t: (t / "e").mkdir() or t / "e", "e"),
        ("a missing folder", lambda t: t / "nope", "nope"),
        ("a file", lambda t: (t / "f").write_text("x") and t / "f", "f"),
    ]:
        add("sweep", f"migrate {label}", "error", lambda ctx, make=make: sw.migrate(make(ctx.tmp)), mentions=(mention,))

    def stored_paper(ctx: Ctx) -> None:
        r = sw.load(ROOT / "results" / "fcnn-cifar10-paper", probes=False)
        assert r.layout == 2 and not r.problems and len(r.finished) == 95, (r.layout, r.problems[:2], len(r.finished))

    add("sweep", "the stored paper run reads cleanly", "handled", stored_paper)


_sweep_layouts()


def _sweep_reading() -> None:
    for label, make, mention in [
        ("a missing folder", lambda t: t / "nope", "nope"),
        ("a file", lambda t: (t / "f").write_text("x") and t / "f", "f"),
        (
            "a foreign folder",
            lambda t: (t / "f").mkdir() or ((t / "f" / "thesis.tex").write_text("x") and t / "f"),
            "not",
        ),
        ("an empty folder", lambda t: (t / "e").mkdir() or t / "e", "e"),
    ]:
        expect = "either" if label == "an empty folder" else "error"

        def fn(ctx: Ctx, make=make, label=label) -> None:
            text = sw.report(make(ctx.tmp))
            if label == "a foreign folder" and "not a depthinit sweep folder" not in text:
                raise Wrong(f"report of a foreign folder reads like an empty sweep: {text!r}")
            assert "no finished runs" in text

        add("sweep", f"report {label}", expect, fn, mentions=(mention,))

        def load(ctx: Ctx, make=make, label=label) -> None:
            sw.load(make(ctx.tmp))
            if label == "a foreign folder":
                raise Wrong("load of a foreign folder returned an empty result")

        add("sweep", f"load {label}", expect, load, mentions=(mention,))

    def report_damaged(ctx: Ctx) -> None:
        out = base_folder(ctx)
        p = parts(out)[0]
        p.write_text(p.read_text()[:-20])
        text = sw.report(out)
        assert "damaged" in text, "report hides the damage"
        assert "3 runs intact here" in text and "4 of 4 runs done" not in text, "report counts a damaged run as done"

    add("sweep", "report of a damaged folder names the damage", "handled", report_damaged)

    def report_prov_only(ctx: Ctx) -> None:
        out = ctx.tmp / "o"
        out.mkdir()
        (out / "provenance.json").write_text(
            json.dumps(
                {"experiment": "tiny", "profile": "default", "status": "running", "runs_total": 4, "runs_done": 3}
            )
        )
        text = sw.report(out)
        assert "3 of 4" not in text or "no finished runs" in text

    add("sweep", "report of a folder whose provenance claims runs that are not there", "handled", report_prov_only)

    def only(ctx: Ctx) -> None:
        r = sw.load(base_folder(ctx), probes=False)
        o = r.only(["nope"])
        assert o.results.empty and o.runs.empty and list(o.results.columns) == list(r.results.columns)

    add("sweep", "Results.only with unknown ids", "handled", only)

    def types(ctx: Ctx) -> None:
        r = sw.load(base_folder(ctx), probes=False)
        assert r.results["run_id"].map(type).eq(str).all() and str(r.results["epoch"].dtype) == "int64"
        assert r.results["test_acc"].dtype == float

    add("sweep", "tables read with their declared types", "handled", types)
    for label, call, mention in [
        ("get_experiment(5)", lambda: sw.get_experiment(5), "5"),
        ("get_experiment('E99')", lambda: sw.get_experiment("E99"), "E99"),
        ("init('nope')", lambda: sw.init("nope"), "nope"),
        ("init('depth', depth_fn=callable)", lambda: sw.init("depth", depth_fn=lambda l: l), "depth_fn"),
        ("ModelConfig kind='rnn'", lambda: sw.ModelConfig("rnn"), "rnn"),
        (
            "ModelConfig depth=0",
            lambda: tiny_spec(model=sw.ModelConfig("mlp", depth=0)).runs()[0].model.build((1, 4, 4), 3),
            "depth",
        ),
        ("ModelConfig activation='swish'", lambda: sw.ModelConfig(activation="swish"), "swish"),
        ("Experiment seeds=(0, 0)", lambda: tiny_spec(seeds=(0, 0)), "seeds"),
        ("Experiment seeds=()", lambda: tiny_spec(seeds=()), "seeds"),
        ("Experiment seeds=(2**64,)", lambda: tiny_spec(seeds=(2**64,)), "seeds"),
        ("Experiment inits=()", lambda: tiny_spec(inits=()), "initializations"),
        ("Experiment name with a slash", lambda: tiny_spec("a/b"), "a/b"),
        ("Experiment dataset='svhn'", lambda: tiny_spec(dataset="svhn"), "svhn"),
        ("Experiment lrs=(0.1, 0.1)", lambda: tiny_spec(lrs=(0.1, 0.1)), "lrs"),
        ("Experiment duplicate labels", lambda: tiny_spec(inits=(sw.init("he"), sw.init("he"))), "label"),
        ("Experiment profile 'fast'", lambda: tiny_spec(profiles={"fast": {}}), "fast"),
        ("override unknown field", lambda: sw.override(tiny_spec(), {"train.epochz": 2}), "epochz"),
        ("override bad value", lambda: sw.override(tiny_spec(), {"train.epochs": -1}), "epochs"),
        ("resolve unknown profile", lambda: tiny_spec().resolve("smoke"), "smoke"),
        ("stacks max_members=0", lambda: sw.stacks(tiny_spec().runs(), 0), "max_members"),
        ("parse_shard('x')", lambda: sw.parse_shard("x"), "x"),
        ("resolve_device('cuda')", lambda: sw.resolve_device(ABSENT_CUDA), "cuda"),
    ]:
        add("sweep", label, "error", refuse(call), mentions=(mention,))


_sweep_reading()


# ============================================================================ attacks: cli
def _cli() -> None:
    T = "{tmp}"
    refused = [
        ("no arguments", []),
        ("unknown subcommand", ["train"]),
        ("an unknown global option", ["--verbose", "list"]),
        ("plan --scheme nope", ["plan", "--scheme", "nope"]),
        ("plan --depth 0", ["plan", "--depth", "0"]),
        ("plan --depth -3", ["plan", "--depth", "-3"]),
        ("plan --depth 1 (depth scheme)", ["plan", "--depth", "1"]),
        ("plan --depth x", ["plan", "--depth", "x"]),
        ("plan --width 0", ["plan", "--width", "0"]),
        ("plan --example-batch -1", ["plan", "--example-batch", "-1"]),
        ("plan --example-batch 0", ["plan", "--example-batch", "0"]),
        ("plan --option without =", ["plan", "--option", "gain"]),
        ("plan --option unknown=1", ["plan", "--option", "nope=1"]),
        ("plan --option gain=true", ["plan", "--scheme", "he", "--option", "gain=true"]),
        ("plan --option gain=abc", ["plan", "--scheme", "he", "--option", "gain=abc"]),
        ("plan --network-variance nan", ["plan", "--network-variance", "nan"]),
        ("plan --network-variance 1e80", ["plan", "--network-variance", "1e80"]),
        ("plan --network-variance -1", ["plan", "--network-variance", "-1"]),
        ("plan --network-variance inf", ["plan", "--network-variance", "inf"]),
        ("plan --model rnn", ["plan", "--model", "rnn"]),
        ("plan --input svhn", ["plan", "--input", "svhn"]),
        ("plan --pool-every 0", ["plan", "--model", "cnn", "--pool-every", "0"]),
        ("plan --channels -1", ["plan", "--model", "cnn", "--channels", "-1"]),
        ("plan --schedule Increasing", ["plan", "--schedule", "Increasing"]),
        ("plan --base lecun", ["plan", "--base", "lecun"]),
        ("plan --distribution cauchy", ["plan", "--distribution", "cauchy"]),
        ("plan --depth-fn exp", ["plan", "--depth-fn", "exp"]),
        ("plan --scheme fixup on an MLP", ["plan", "--scheme", "fixup"]),
        ("plan --scheme rezero", ["plan", "--scheme", "rezero"]),
        ("plan --seed -1", ["plan", "--seed", "-1", "--depth", "3"]),
        ("plan --seed x", ["plan", "--seed", "x"]),
        ("plan --cnn with --depth 0", ["plan", "--model", "cnn", "--depth", "0"]),
        ("plan --scheme lsuv -o tol=0", ["plan", "--scheme", "lsuv", "--depth", "3", "-o", "tol=0"]),
        ("plan --scheme lsuv -o max_iter=1.5", ["plan", "--scheme", "lsuv", "--depth", "3", "-o", "max_iter=1.5"]),
        ("plan -o schedule=unit -o schedule=x", ["plan", "-o", "schedule=unit", "-o", "schedule=x"]),
    ]
    for label, argv in refused:
        expect = "either" if label.startswith("plan --seed -1") else "error"
        mention = {
            "plan --scheme nope": "nope",
            "plan --depth 0": "depth",
            "plan --example-batch -1": "example-batch",
            "plan --option unknown=1": "nope",
            "plan --network-variance 1e80": "network_variance",
            "plan --model rnn": "rnn",
        }.get(label, "")
        add(
            "cli",
            label,
            expect,
            cli_refuses(argv)
            if expect == "error"
            else (lambda ctx, argv=argv: (lambda c: None if c[0] == 0 else cli_refuses(argv)(ctx))(run_cli(argv))),
            mentions=(mention,) if mention else (),
        )
    sweeps = [
        ("sweep an unknown experiment", ["sweep", "nope", "--out", f"{T}/o"], "nope"),
        ("sweep --profile fast", ["sweep", "E2", "--profile", "fast", "--out", f"{T}/o"], "fast"),
        ("sweep --device mps", ["sweep", "E2", "--device", "mps", "--out", f"{T}/o"], "mps"),
        ("sweep --device meta", ["sweep", "E2", "--device", "meta", "--out", f"{T}/o"], "meta"),
        ("sweep --device cuda:7", ["sweep", "E2", "--device", "cuda:7", "--out", f"{T}/o"], "cuda"),
        ("sweep --device cuda", ["sweep", "E2", "--device", ABSENT_CUDA, "--out", f"{T}/o"], "cuda"),
        ("sweep --device gpu", ["sweep", "E2", "--device", "gpu", "--out", f"{T}/o"], "gpu"),
        ("sweep --device ''", ["sweep", "E2", "--device", "", "--out", f"{T}/o"], "device"),
        ("sweep --shard 5/2", ["sweep", "E2", "--shard", "5/2", "--out", f"{T}/o"], "5/2"),
        ("sweep --shard x", ["sweep", "E2", "--shard", "x", "--out", f"{T}/o"], "shard"),
        ("sweep --shard 0/0", ["sweep", "E2", "--shard", "0/0", "--out", f"{T}/o"], "shard"),
        (
            "sweep --shard 0/100000",
            [
                "sweep",
                "E2",
                "--profile",
                "smoke",
                "--shard",
                "99999/100000",
                "--out",
                f"{T}/o",
                "--data-root",
                f"{T}/nodata",
            ],
            "shard",
        ),
        ("sweep --max-members 0", ["sweep", "E2", "--max-members", "0", "--out", f"{T}/o"], "max_members"),
        ("sweep --max-members -1", ["sweep", "E2", "--max-members", "-1", "--out", f"{T}/o"], "max_members"),
        ("sweep --max-members x", ["sweep", "E2", "--max-members", "x", "--out", f"{T}/o"], "max-members"),
        ("sweep --strategy nope", ["sweep", "E2", "--strategy", "nope", "--out", f"{T}/o"], "strategy"),
        ("sweep without --out", ["sweep", "E2"], "out"),
        (
            "sweep --data-root missing",
            ["sweep", "E2", "--profile", "smoke", "--out", f"{T}/o", "--data-root", f"{T}/nodata", "--no-progress"],
            "nodata",
        ),
        (
            "sweep --data-root is a file",
            ["sweep", "E2", "--profile", "smoke", "--out", f"{T}/o", "--data-root", f"{T}/o2", "--no-progress"],
            "o2",
        ),
    ]
    for label, argv, mention in sweeps:

        def fn(ctx: Ctx, argv=argv) -> None:
            (ctx.tmp / "o2").write_text("x")
            cli_refuses(argv, creates=Path(f"{T}/o"))(ctx)

        add("cli", label, "error", fn, mentions=(mention,))

    def into(kind: str, argv_tail: list[str], mention: str) -> None:
        def fn(ctx: Ctx) -> None:
            out = ctx.tmp / "o"
            out.mkdir()
            if kind == "foreign":
                (out / "thesis.tex").write_text("x")
            elif kind == "file":
                out.rmdir()
                out.write_text("x")
            elif kind == "other":
                shutil.copytree(base_folder(ctx), out, dirs_exist_ok=True)
            before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} if out.is_dir() else {}
            try:
                cli_refuses(["sweep", "E2", "--profile", "smoke", "--out", str(out), "--no-progress", *argv_tail])(ctx)
            finally:
                if out.is_dir() and {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} != before:
                    raise Wrong("the refused command changed the folder")

        add("cli", f"sweep --out {kind} folder", "error", fn, mentions=(mention,))

    into("foreign", [], "not a depthinit sweep folder")
    into("file", [], "not a folder")
    into("other", [], "tiny")

    def full_disk(ctx: Ctx) -> None:
        real = os.replace

        def full(src: Any, dst: Any) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        with (
            patched(os, "replace", full),
            patched(sw, "run", lambda *a, **k: store.atomic_write_text(ctx.tmp / "o" / "provenance.json", "{}")),
        ):
            (ctx.tmp / "o").mkdir()
            cli_refuses(["sweep", "E2", "--out", str(ctx.tmp / "o")])(ctx)
        del real

    add("cli", "sweep on a full disk names the folder", "error", full_disk, mentions=("no space", "/o"))

    def interrupted(ctx: Ctx) -> None:
        def stop(*a: Any, **k: Any) -> None:
            raise KeyboardInterrupt

        with patched(sw, "run", stop):
            code, _, err = run_cli(["sweep", "E2", "--out", str(ctx.tmp / "o")])
        assert code == 130 and "resume" in err and "Traceback" not in err, (code, err)

    add("cli", "Ctrl-C during a sweep: exit 130 and how to resume", "handled", interrupted)

    def internal(ctx: Ctx) -> None:
        def bug(*a: Any, **k: Any) -> None:
            return {}["missing"]

        with patched(sw, "run", bug):
            code, _, err = run_cli(["sweep", "E2", "--out", str(ctx.tmp / "o")])
        assert code == 1 and "internal error" in err and "--debug" in err and "Traceback" not in err, (code, err)

    add("cli", "an internal error: one line, exit 1, how to see more", "handled", internal)

    def debug(ctx: Ctx) -> None:
        try:
            run_cli(["--debug", "plan", "--scheme", "nope"])
        except RawCrash as e:
            assert "nope" in str(e)
            return
        raise Wrong("--debug did not show the traceback")

    add("cli", "--debug shows the traceback", "handled", debug)
    for label, argv, mention in [
        ("report a missing folder", ["report", f"{T}/nope"], "nope"),
        ("report a file", ["report", f"{T}/f"], "f"),
        ("report a foreign folder", ["report", f"{T}/foreign"], "not a depthinit sweep folder"),
        ("report without a folder", ["report"], "out"),
        ("merge nothing", ["merge", f"{T}/m"], "folders"),
        ("merge missing folders", ["merge", f"{T}/m", f"{T}/a", f"{T}/b"], "a"),
        ("merge into a file", ["merge", f"{T}/f", f"{T}/foreign"], "f"),
        ("merge a foreign folder", ["merge", f"{T}/m", f"{T}/foreign"], "foreign"),
        ("migrate a missing folder", ["migrate", f"{T}/nope"], "nope"),
        ("migrate a foreign folder", ["migrate", f"{T}/foreign"], "foreign"),
        ("migrate a file", ["migrate", f"{T}/f"], "f"),
        ("migrate nothing", ["migrate"], "folders"),
        ("list with an argument", ["list", "E1"], "E1"),
        ("bench --device tpu", ["bench", "--device", "tpu", "--no-throughput", "--mlp-k", "1", "--cnn-k", "0"], "tpu"),
        ("bench --mlp-k x", ["bench", "--mlp-k", "x", "--no-throughput"], "mlp-k"),
        ("bench --rounds 0", ["bench", "--rounds", "0", "--no-throughput"], "rounds"),
        ("bench --methods nope", ["bench", "--methods", "nope", "--no-throughput"], "nope"),
        ("bench --device cuda", ["bench", "--device", ABSENT_CUDA, "--no-throughput"], "cuda"),
    ]:

        def fn(ctx: Ctx, argv=argv) -> None:
            (ctx.tmp / "f").write_text("x")
            (ctx.tmp / "foreign").mkdir()
            (ctx.tmp / "foreign" / "thesis.tex").write_text("x")
            cli_refuses(argv)(ctx)

        add("cli", label, "error", fn, mentions=(mention,))

    def ok(
        argv: list[str], check: Callable[[str], bool], setup: Callable[[Ctx], None] | None = None
    ) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            if setup:
                setup(ctx)
            args = [a.replace(T, str(ctx.tmp)) for a in argv]
            code, out, err = run_cli(args)
            if code != 0:
                raise RawCrash(f"exit {code}: {err.strip()[-300:]}")
            assert check(out), out[-300:]

        return fn

    add("cli", "--version", "handled", ok(["--version"], lambda o: o.startswith("depthinit ")))
    add("cli", "list", "handled", ok(["list"], lambda o: "fcnn-cifar10 (E1)" in o and "smoke" in o))
    add("cli", "plan (default: depth on the 54-layer MLP)", "handled", ok(["plan"], lambda o: "54 weight layers" in o))
    add(
        "cli",
        "plan --scheme lsuv --depth 4",
        "handled",
        ok(["plan", "--scheme", "lsuv", "--depth", "4"], lambda o: "4 weight layers" in o),
    )
    add(
        "cli",
        "plan --model cnn --input mnist --depth 3",
        "handled",
        ok(
            ["plan", "--model", "cnn", "--input", "mnist", "--depth", "3", "--scheme", "he"],
            lambda o: "4 weight layers" in o,
        ),
    )
    add(
        "cli",
        "plan -o offset=2 -o mode=fan_out",
        "handled",
        ok(["plan", "--depth", "5", "-o", "offset=2", "-o", "mode=fan_out"], lambda o: "'offset': 2" in o),
    )
    add(
        "cli",
        "report a sweep folder",
        "handled",
        ok(
            ["report", f"{T}/base/out"],
            lambda o: "4 runs" in o and "experiment 'tiny'" in o,
            lambda c: base_folder(c) and None,
        ),
    )
    add(
        "cli",
        "report a damaged folder shows the damage",
        "handled",
        ok(
            ["report", f"{T}/base/out"],
            lambda o: "damaged" in o,
            lambda c: (lambda p: p.write_text(p.read_text()[:-20]))(parts(base_folder(c))[0]),
        ),
    )
    add(
        "cli",
        "report the stored paper run",
        "handled",
        ok(["report", str(ROOT / "results" / "fcnn-cifar10-paper")], lambda o: "95 of 95 runs done (complete)" in o),
    )
    add(
        "cli",
        "migrate a current folder",
        "handled",
        ok(["migrate", f"{T}/base/out"], lambda o: "4 runs" in o, lambda c: base_folder(c) and None),
    )
    add(
        "cli",
        "merge two shards",
        "handled",
        ok(
            ["merge", f"{T}/m", f"{T}/base/s0", f"{T}/base/s1"],
            lambda o: "merged 4 runs" in o,
            lambda c: base_folder(c, "shard2") and None,
        ),
    )


_cli()


# ============================================================================ attacks: analysis
def _analysis() -> None:
    import pandas as pd

    from depthinit import analysis as an

    def results() -> pd.DataFrame:
        if "results" not in _BASE:
            _BASE["results"] = sw.load(
                _BASE["whole"] / "out" if "whole" in _BASE else base_folder(Ctx(Path(tempfile.mkdtemp()))), probes=False
            ).results
        return _BASE["results"].copy()

    frames = [
        ("an empty DataFrame", lambda: pd.DataFrame()),
        ("None", lambda: None),
        ("a list of dicts", lambda: [{"a": 1}]),
        ("no test_acc column", lambda: results().drop(columns="test_acc")),
        ("zero rows with the columns", lambda: results().iloc[:0]),
        ("a dict of columns", lambda: results().to_dict("list")),
    ]
    for label, make in frames:
        for fname in ("summary", "final_rows", "tune", "best_epochs", "curve_frame", "filled_curves"):

            def fn(ctx: Ctx, make=make, fname=fname) -> None:
                getattr(an, fname)(make())

            add("analysis", f"{fname} of {label}", "error", fn, mentions=("result",))

    def all_nan(ctx: Ctx) -> None:
        r = results()
        r["test_acc"] = math.nan
        r["status"] = "diverged"
        s = an.summary(r)
        assert s["mean"].notna().all(), "summary of diverged runs gives NaN instead of chance"
        assert (s["failed_rate"] == 1.0).all()

    add("analysis", "summary of runs that all diverged", "handled", all_nan)

    def nan_ok(ctx: Ctx) -> None:
        r = results()
        r.loc[r.index[-1], "test_acc"] = math.nan  # status still "ok": a NaN result that is not a divergence
        s = an.summary(r)
        assert int(s["diverged"].sum()) == 1 and s["mean"].notna().all(), "a NaN accuracy was not counted as diverged"

    add("analysis", "summary with a NaN accuracy on an ok run counts it diverged", "handled", nan_ok)

    def acc_range(ctx: Ctx) -> None:
        r = results()
        r["test_acc"] = r["test_acc"] * 100  # percent instead of a fraction
        an.summary(r)

    add("analysis", "summary of accuracies in percent", "error", acc_range, mentions=("test_acc",))

    def text_epochs(ctx: Ctx) -> None:
        r = results()
        extra = r[r.epoch == 1].assign(epoch=10, test_acc=0.99)
        f = an.final_rows(pd.concat([r, extra]).astype({"epoch": str}))
        assert (f["epoch"].astype(int) == 10).all(), "the final epoch was found by text order"

    add("analysis", "final_rows with epochs as text", "either", text_epochs, mentions=("epoch",))
    add(
        "analysis",
        "summary measure='nope'",
        "error",
        lambda ctx: an.summary(results(), measure="nope"),
        mentions=("nope",),
    )
    add(
        "analysis",
        "summary by an unknown column",
        "error",
        lambda ctx: an.summary(results(), by=["nope"]),
        mentions=("nope",),
    )
    add("analysis", "tune without validation", "error", lambda ctx: an.tune(results()), mentions=("val",))
    add(
        "analysis",
        "curve_frame measure='nope'",
        "error",
        lambda ctx: an.curve_frame(results(), measure="nope"),
        mentions=("nope",),
    )
    add("analysis", "time_to threshold 2.0", "either", lambda ctx: an.time_to(results(), 2.0), mentions=("threshold",))
    for label, call, mention in [
        ("t_interval level=1.5", lambda: an.t_interval([0.1, 0.2], level=1.5), "level"),
        ("t_interval of strings", lambda: an.t_interval(["a", "b"]), "values"),
        ("wilson_interval(5, 3)", lambda: an.wilson_interval(5, 3), "k"),
        ("wilson_interval(True, 3)", lambda: an.wilson_interval(True, 3), "k"),
        ("wilson_interval(1, 0)", lambda: an.wilson_interval(1, 0), "n"),
        ("wilson_interval level=0", lambda: an.wilson_interval(1, 3, level=0), "level"),
        ("holm of p > 1", lambda: an.holm([0.5, 1.5]), "1.5"),
        ("holm of NaN", lambda: an.holm([0.1, math.nan]), "nan"),
        ("holm of a string", lambda: an.holm("abc"), "p"),
        (
            "verdict_table correction='bonferroni'",
            lambda: an.verdict_table({"E1": results()}, [], correction="bonferroni"),
            "correction",
        ),
        ("paper_claims glorot_reading='x'", lambda: an.paper_claims(glorot_reading="x"), "glorot_reading"),
        ("select with an unknown column", lambda: an.select(results(), {"nope": 1}), "nope"),
        ("config with an unknown scheme", lambda: an.select(results(), an.config(scheme="nope")), "nope"),
        ("combine of an unknown verdict", lambda: an.combine(["maybe"]), "maybe"),
    ]:
        add("analysis", label, "error", refuse(call), mentions=(mention,))

    def t_empty(ctx: Ctx) -> None:
        for v in ([], [math.nan], [math.inf, math.nan]):
            e = an.t_interval(v)
            assert e.n == 0 and math.isnan(e.mean) and math.isnan(e.low), e

    add("analysis", "t_interval of no finite value is NaN with n=0 (documented)", "handled", t_empty)

    def no_results(ctx: Ctx) -> None:
        summary_, _ = an.decide_claims({})
        assert len(summary_) == 0 or set(summary_["verdict"]) <= {an.INCONCLUSIVE}, summary_

    add("analysis", "decide_claims of no results: nothing decided", "handled", no_results)

    def holm_empty(ctx: Ctx) -> None:
        assert an.holm([]) == []

    add("analysis", "holm([])", "handled", holm_empty)

    def t_one(ctx: Ctx) -> None:
        e = an.t_interval([0.5])
        assert e.mean == 0.5 and (math.isnan(e.low) or e.low <= 0.5 <= e.high)

    add("analysis", "t_interval of one value", "handled", t_one)

    def wilson_ok(ctx: Ctx) -> None:
        lo, p, hi = an.wilson_interval(0, 10)
        assert lo == 0 and 0 <= p <= hi <= 1

    add("analysis", "wilson_interval(0, 10)", "handled", wilson_ok)

    def summary_ok(ctx: Ctx) -> None:
        s = an.summary(results())
        assert len(s) == 2 and s["mean"].between(0, 1).all()

    add("analysis", "summary of a finished sweep", "handled", summary_ok)

    def final_diverged(ctx: Ctx) -> None:
        r = results()
        rid = r["run_id"].iloc[0]
        r.loc[(r.run_id == rid) & (r.epoch == r.epoch.max()), ["test_acc", "status"]] = [math.nan, "diverged"]
        f = an.final_rows(r)
        row = f[f.run_id == rid]
        assert len(row) == 1 and float(row["test_acc"].iloc[0]) == an.CHANCE, "a diverged run is not at chance"

    add("analysis", "final_rows puts a diverged run at chance", "handled", final_diverged)


_analysis()


# ============================================================================ attacks: second pass
def _second_pass() -> None:
    def race_other_experiment(ctx: Ctx) -> None:
        """Another experiment finishes into the folder while this sweep validates its data (after
        its folder check, before its lock): this sweep must still refuse the folder."""
        out = ctx.tmp / "out"
        from depthinit.sweep import _runner

        real = _runner._validate
        done = []

        def slow(*a: Any, **k: Any) -> None:
            real(*a, **k)
            if not done:
                done.append(1)
                sweep(out, tiny_spec("first"))

        try:
            with patched(_runner, "_validate", slow):
                sweep(out, tiny_spec("second"))
        finally:
            r = sw.load(out, probes=False, warn=False)
            if r.results["experiment"].nunique() > 1:
                raise Wrong("two experiments' results were mixed in one folder")

    add(
        "sweep",
        "another experiment finishes into the folder while this one validates",
        "error",
        race_other_experiment,
        mentions=("first",),
    )

    def lock_dir(ctx: Ctx) -> None:
        out = base_folder(ctx)
        (out / ".lock").mkdir()
        sweep(out, tiny_spec(seeds=(0, 1, 2)))

    add("sweep", "the lock file is a directory", "error", lock_dir, mentions=(".lock",))

    def part_dir(ctx: Ctx) -> None:
        out = base_folder(ctx)
        (out / "results" / "part-zz.csv").mkdir()
        sw.load(out)
        r = sw.load(out, warn=False)
        assert len(r.finished) == 4

    add("sweep", "a directory named like a results part", "either", part_dir, mentions=("part-zz.csv",))

    def prov_dir(ctx: Ctx) -> None:
        out = base_folder(ctx)
        (out / "provenance.json").unlink()
        (out / "provenance.json").mkdir()
        sweep(out)

    add("sweep", "provenance.json is a directory", "error", prov_dir, mentions=("provenance.json",))

    def empty_out(ctx: Ctx) -> None:
        cwd = os.getcwd()
        os.chdir(ctx.tmp)
        try:
            (ctx.tmp / "notes.txt").write_text("x")
            sweep(Path(""))
        finally:
            os.chdir(cwd)

    add("sweep", "out='' (the current folder)", "error", empty_out, mentions=("notes.txt",))

    def resume_diverged(ctx: Ctx) -> None:
        out = ctx.tmp / "out"
        spec = tiny_spec(train=TrainConfig(lr=1e6, epochs=2, batch_size=16))
        sweep(out, spec)
        ps = {p: p.stat().st_mtime_ns for p in out.rglob("part-*")}
        sweep(out, spec)
        assert {p: p.stat().st_mtime_ns for p in out.rglob("part-*")} == ps, "a diverged run was trained again"

    add("sweep", "a diverged run is a result: resuming trains nothing", "handled", resume_diverged)

    def crash_second_stack(ctx: Ctx) -> None:
        from depthinit.sweep import _runner

        out = ctx.tmp / "out"
        real = _runner.train_many
        calls = [0]

        def boom(*a: Any, **k: Any) -> Any:
            calls[0] += 1
            if calls[0] == 2:
                raise RuntimeError("simulated crash in the second stack")
            return real(*a, **k)

        try:
            with patched(_runner, "train_many", boom):
                sweep(out)
        except RuntimeError:
            pass
        lock = store.Lock(out)
        assert lock.acquire(), "the lock is still held after a crash"
        lock.release()
        before = finished(out)
        assert len(before) == 2, f"{len(before)} runs kept from the first stack"
        sweep(out)
        once(out, 4, before)

    add("sweep", "an exception in the second stack, then resume", "handled", crash_second_stack)

    def empty_lock(ctx: Ctx) -> None:
        out = base_folder(ctx)
        (out / ".lock").write_text("")
        df = sweep(out, tiny_spec(seeds=(0, 1, 2)))
        assert df["run_id"].nunique() == 6

    add("sweep", "an empty lock file left behind is no holder", "handled", empty_lock)

    def holder_vanished(ctx: Ctx) -> None:
        out = base_folder(ctx)
        lock = store.Lock(out)
        assert lock.acquire()
        real = Path.read_text

        def gone(self: Path, *a: Any, **k: Any) -> str:
            if self.name == ".lock":
                raise FileNotFoundError(2, "No such file or directory", str(self))
            return real(self, *a, **k)

        try:

            def child() -> None:
                Path.read_text = gone  # the holder's file vanishes between the try and the message
                try:
                    sweep(out, tiny_spec(seeds=(0, 1, 2)))
                except SweepError as e:
                    os._exit(3 if "another sweep" in str(e) else 4)
                os._exit(0)

            code = in_child(child)
        finally:
            lock.release()
        assert code == 3, f"exit {code}"

    add("sweep", "the lock holder's file vanishes before the message is built", "handled", holder_vanished)

    def merge_killed(ctx: Ctx) -> None:
        base = base_folder(ctx, "shard2")

        def child() -> None:
            real = shutil.copy2
            calls = [0]

            def die(src: Any, dst: Any, **k: Any) -> Any:
                calls[0] += 1
                if calls[0] == 3:
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(src, dst, **k)

            shutil.copy2 = die
            sw.merge(ctx.tmp / "m", [base / "s0", base / "s1"])

        assert in_child(child) == -signal.SIGKILL
        assert not (ctx.tmp / "m" / "provenance.json").exists(), "a killed merge left a folder that looks complete"
        assert sw.merge(ctx.tmp / "m", [base / "s0", base / "s1"]) == 4
        left = [p.name for p in ctx.tmp.iterdir() if "merge-tmp" in p.name]
        assert not left, f"a killed merge's temporary folder was left: {left}"

    add("sweep", "kill -9 during a merge, then merge again", "handled", merge_killed)

    def expanded_weight(ctx: Ctx) -> None:
        m = mlp()
        m[2].weight = nn.Parameter(torch.zeros(1, 8).expand(8, 8))
        with keeps(m):
            depthinit.init_(m, "he", generator=gen())

    add("init", "a weight that is an expanded view (stride 0)", "error", expanded_weight, mentions=("2",))

    def noncontiguous(ctx: Ctx) -> None:
        m = mlp(width=64)
        m[2].weight = nn.Parameter(torch.zeros(64, 64).t())
        p = depthinit.init_(m, "he", generator=gen())
        plan_matches(m, p)

    add("init", "a transposed (non-contiguous) weight", "handled", noncontiguous)
    for label, kw, mention in [("root=''", {"root": ""}, "root"), ("cache_dir=''", {"cache_dir": ""}, "cache_dir")]:

        def fn(ctx: Ctx, kw=kw) -> None:
            cwd = os.getcwd()
            tiny_mnist(ctx.tmp / "mnist")
            os.chdir(ctx.tmp)
            try:
                dd.load_dataset("mnist", **{"root": ctx.tmp, "cache_dir": ctx.tmp / "c", "verify": False, **kw})
            finally:
                os.chdir(cwd)

        add("data", f"load_dataset {label}", "error", fn, mentions=(mention,))
    add(
        "data",
        "fetch with no URL",
        "error",
        lambda ctx: dd.fetch([], ctx.tmp / "x.bin", progress=False),
        mentions=("URL",),
    )

    def no_params(trainer: str) -> Callable[[Ctx], None]:
        def fn(ctx: Ctx) -> None:
            m = nn.Flatten()
            d = Tensors(
                torch.rand(8, 3, generator=gen()),
                torch.zeros(8, dtype=torch.long),
                torch.rand(4, 3, generator=gen()),
                torch.zeros(4, dtype=torch.long),
            )
            if trainer == "one":
                train_one(m, d, TrainConfig(epochs=1))
            else:
                train_many([m], d, TrainConfig(epochs=1), seeds=[0])

        return fn

    add("train", "train_one a model without parameters", "error", no_params("one"), mentions=("parameter",))
    add("train", "train_many a model without parameters", "error", no_params("many"), mentions=("parameter",))

    def all_frozen(ctx: Ctx) -> None:
        m = tmlp()
        for p_ in m.parameters():
            p_.requires_grad_(False)
        train_one(m, tiny_data(shape=(16,)), TrainConfig(epochs=1))

    add("train", "train_one a model whose parameters are all frozen", "error", all_frozen, mentions=("requires_grad",))
    add(
        "cli",
        "plan --example-batch 1000000000",
        "error",
        cli_refuses(["plan", "--example-batch", "1000000000"]),
        mentions=("example-batch",),
    )
    add(
        "cli",
        "plan --width 10000000",
        "error",
        cli_refuses(["plan", "--width", "10000000", "--depth", "3"]),
        mentions=("width",),
    )
    add(
        "cli",
        "sweep --out ''",
        "error",
        cli_refuses(["sweep", "E2", "--profile", "smoke", "--out", ""]),
        mentions=("out",),
    )


_second_pass()


def _third_pass() -> None:
    def frozen_many(ctx: Ctx) -> None:
        m = tmlp()
        m.layers[0].weight.requires_grad_(False)
        w0 = m.layers[0].weight.detach().clone()
        d = tiny_data(shape=(16,))
        cfg = TrainConfig(lr=0.1, epochs=1, batch_size=16)
        a, b = quiet_build(lambda: __import__("copy").deepcopy(m)), quiet_build(lambda: __import__("copy").deepcopy(m))
        ra = train_one(a, d, cfg)
        rb = train_many([b, tmlp(1)], d, cfg, seeds=[0, 1])[0]
        assert torch.equal(b.layers[0].weight, w0), "train_many trained a frozen parameter"
        assert np.allclose(ra.history["test_loss"], rb.history["test_loss"], atol=1e-5), (
            "train_many differs from train_one"
        )

    add("train", "train_many leaves a frozen parameter as train_one does", "handled", frozen_many)

    def zero_scale(ctx: Ctx) -> None:
        m = tmlp()
        w0 = m.layers[1].weight.detach().clone()
        train_many(
            [m], tiny_data(shape=(16,)), TrainConfig(lr=0.1, epochs=1, lr_scales={"layers.1.weight": 0.0}), seeds=[0]
        )
        assert torch.equal(m.layers[1].weight, w0)

    add("train", "an lr_scales factor of 0 freezes the tensor", "handled", zero_scale)

    def shards_partition(ctx: Ctx) -> None:
        runs = tiny_spec(seeds=(0, 1, 2, 3, 4)).runs()
        ids = [r.run_id for r in runs]
        for n in range(1, 7):
            parts_ = [[r.run_id for r in sw.shard_runs(runs, (i, n))] for i in range(n)]
            flat = [x for p_ in parts_ for x in p_]
            assert sorted(flat) == sorted(ids) and len(set(flat)) == len(flat), f"shards of {n} overlap or miss runs"

    add("sweep", "shards are disjoint and cover every run", "handled", shards_partition)

    def stacks_cover(ctx: Ctx) -> None:
        runs = tiny_spec(seeds=(0, 1, 2), lrs=(0.1, 0.01)).runs()
        for k in (1, 2, 5, 100):
            got = [r.run_id for s_ in sw.stacks(runs, k) for r in s_]
            assert sorted(got) == sorted(r.run_id for r in runs) and all(len(s_) <= k for s_ in sw.stacks(runs, k))

    add("sweep", "stacks hold every run once, at most max_members each", "handled", stacks_cover)
    add(
        "sweep",
        "two variants that expand to the same runs",
        "error",
        lambda ctx: sweep(
            ctx.tmp / "o", tiny_spec(variants=(sw.Variant("a", {"train.lr": 0.1}), sw.Variant("b", {"train.lr": 0.1})))
        ),
        mentions=("duplicate",),
    )
    add(
        "sweep",
        "two variants with one name",
        "error",
        lambda ctx: tiny_spec(variants=(sw.Variant("a"), sw.Variant("a", {"train.lr": 0.1}))),
        mentions=("variant",),
    )


_third_pass()


def _fourth_pass() -> None:
    class Sourced(Tensors):
        """In-memory tensors that say which files they came from (as depthinit.data.Dataset does)."""

        def provenance(self) -> dict[str, Any]:
            return {
                "name": "mnist",
                "source": f"files {self.tag}",
                "sha256": {"f": self.tag},
                "sizes": {"train": len(self.y_train), "test": len(self.y_test)},
            }

    def sourced(tag: str, seed: int) -> Sourced:
        d = tiny_data(seed=seed)
        s_ = Sourced(d.x_train, d.y_train, d.x_test, d.y_test)
        object.__setattr__(s_, "tag", tag)
        return s_

    def other_files(ctx: Ctx) -> None:
        out = ctx.tmp / "out"
        sweep(out, data=sourced("aaaa", 3))
        before = finished(out)
        try:
            sweep(out, tiny_spec(seeds=(0, 1, 2)), data=sourced("bbbb", 4))
        finally:
            kept(out, before)
            if len(finished(out)) != 4:
                raise Wrong("runs trained on other files were added to the folder")

    add(
        "sweep", "resume on other data files than the folder was trained on", "error", other_files, mentions=("sha256",)
    )

    def same_files(ctx: Ctx) -> None:
        out = ctx.tmp / "out"
        sweep(out, data=sourced("aaaa", 3))
        sweep(out, tiny_spec(seeds=(0, 1, 2)), data=sourced("aaaa", 3))
        once(out, 6)

    add("sweep", "resume on the same data files", "handled", same_files)


_fourth_pass()


# ============================================================================ the run
def table(rows: list[tuple[str, str, str, str]]) -> str:
    counts: dict[str, Counter] = {s: Counter() for s in SURFACES}
    for surface, _, outcome, _ in rows:
        counts[surface][outcome] += 1
    width = max(len(c) for c in CLASSES)
    head = f"{'surface':<10} {'tried':>6} " + " ".join(f"{c:>{max(len(c), 7)}}" for c in CLASSES)
    lines = [head, "-" * len(head)]
    total: Counter = Counter()
    for s in SURFACES:
        c = counts[s]
        n = sum(c.values())
        if not n:
            continue
        total += c
        lines.append(f"{s:<10} {n:>6} " + " ".join(f"{c[k]:>{max(len(k), 7)}}" for k in CLASSES))
    lines.append("-" * len(head))
    lines.append(
        f"{'total':<10} {sum(total.values()):>6} " + " ".join(f"{total[k]:>{max(len(k), 7)}}" for k in CLASSES)
    )
    del width
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write every attack's outcome to this file")
    ap.add_argument("--surface", action="append", choices=SURFACES, help="only these surfaces")
    ap.add_argument("--match", help="only attacks whose name contains this text")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every finding as it happens")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    import logging

    logging.getLogger("depthinit").setLevel(logging.ERROR)  # the library's warnings are part of what is checked
    os.environ.setdefault("DEPTHINIT_CACHE", tempfile.mkdtemp(prefix="attacks-cache-"))
    chosen = [
        a
        for a in ATTACKS
        if (not args.surface or a.surface in args.surface) and (not args.match or args.match.lower() in a.name.lower())
    ]
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="depthinit-attacks-") as base:
        for i, a in enumerate(chosen):
            tmp = Path(base) / f"a{i:04d}"
            tmp.mkdir()
            t0 = time.perf_counter()
            outcome, detail = classify(a, tmp)
            dt = time.perf_counter() - t0
            rows.append((a.surface, a.name, outcome, detail))
            if args.verbose or outcome in CLASSES[2:]:
                print(f"[{outcome}] {a.surface}: {a.name} ({dt:.1f} s): {detail}", flush=True)
            shutil.rmtree(tmp, ignore_errors=True)
    wall = time.perf_counter() - start
    print()
    print(table(rows))
    print(f"\n{len(rows)} attacks in {wall:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps([{"surface": s, "attack": n, "outcome": o, "detail": d} for s, n, o, d in rows], indent=1) + "\n"
        )
    return 0 if all(o in CLASSES[:2] for _, _, o, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
