"""The ``depthinit`` command: a thin layer over the library.

Chapter: "Reproducibility". Subcommands:

* ``depthinit plan``: the per-layer table of a scheme on the MLP or CNN;
* ``depthinit sweep EXPERIMENT --profile P --device auto --out DIR [--data-root R] [--shard I/N]``;
* ``depthinit merge OUT DIR...``: combine the folders of a sharded sweep;
* ``depthinit migrate DIR``: convert a folder written by depthinit 0.1;
* ``depthinit report DIR``: a summary of a sweep folder;
* ``depthinit list``: every registered experiment, its chapter and profiles;
* ``depthinit bench``: the benchmark (:mod:`depthinit.bench`);
* ``depthinit --version``.

Errors in the input (an unknown experiment, a missing data file, a folder that
holds other results, a full disk) print one line that says what to do and exit
with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any


def _value(text: str) -> Any:
    """Parse an option value: int, float, true/false/none, else the string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _options(pairs: Sequence[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--option {pair!r} is not KEY=VALUE; write e.g. --option network_variance=5")
        k, v = pair.split("=", 1)
        out[k.strip()] = _value(v.strip())
    return out


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"--{name} {value} is not valid; expected an integer >= 1")


#: The most memory ``depthinit plan`` allocates for the model or for the example batch.
_PLAN_MEMORY = 4 << 30


def _cmd_plan(args: argparse.Namespace) -> int:
    import pandas as pd
    import torch

    import depthinit
    from depthinit.models import CNN, MLP

    for name in ("depth", "width", "channels", "pool_every", "example_batch"):
        _positive(name.replace("_", "-"), getattr(args, name))
    shape = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}[args.input]

    def build() -> torch.nn.Module:
        if args.model == "mlp":
            return MLP(math.prod(shape), 10, depth=54 if args.depth is None else args.depth, width=args.width)
        return CNN(
            shape[0],
            10,
            depth=10 if args.depth is None else args.depth,
            channels=args.channels,
            pool_every=args.pool_every,
        )

    with torch.device("meta"):  # sizes first, without memory: a typo must not try to allocate terabytes
        weights = sum(p.numel() for p in build().parameters())
    inputs = args.example_batch * math.prod(shape)
    for what, n, flags in (
        ("the model", weights, "--width/--channels/--depth"),
        ("the example batch", inputs, "--example-batch"),
    ):
        if n * 4 > _PLAN_MEMORY:
            raise ValueError(
                f"{what} would take {n * 4 / 2**30:.3g} GiB ({n:,} float32 values), more than the "
                f"{_PLAN_MEMORY / 2**30:g} GiB a plan may use; choose a smaller {flags}"
            )
    model = build()
    options = _options(args.option)
    for name in ("base", "distribution", "schedule", "network_variance", "depth_fn"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    gen = torch.Generator().manual_seed(args.seed)
    example = torch.rand((args.example_batch, *shape), generator=gen)
    p = depthinit.plan(model, args.scheme, example_input=example, **options)
    frame = p.to_frame()
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(f"{args.scheme} on {args.model.upper()} ({p.L} weight layers), options {p.options}")
        print(frame.to_string(index=False, float_format=lambda x: f"{x:.6g}"))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from depthinit import sweep

    sweep.run(
        args.experiment,
        profile=args.profile,
        out=args.out,
        device=args.device,
        data_root=args.data_root,
        cache_dir=args.cache_dir,
        max_members=args.max_members,
        strategy=args.strategy,
        progress=False if args.no_progress else None,
        shard=args.shard,
    )
    print(sweep.report(args.out))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from depthinit import sweep

    print(sweep.report(args.out))
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from depthinit import sweep

    n = sweep.merge(args.out, args.folders)
    print(f"merged {n} runs from {len(args.folders)} shard folders into {args.out}")
    print(sweep.report(args.out))
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    from depthinit import sweep

    for folder in args.folders:
        n = sweep.migrate(folder)
        print(f"{folder}: {n} runs in the current layout")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from depthinit import sweep

    for name, spec in sweep.EXPERIMENTS.items():
        print(f"{name} ({spec.key}): {spec.description}")
        print(f"  chapter: {spec.title} (book/_executed/{spec.chapter})")
        for profile in sweep.PROFILES:
            e = spec.resolve(profile)
            t = e.train
            lrs = ", ".join(f"{v:g}" for v in e.lrs) if e.lrs else f"{t.lr:g}"
            print(
                f"  {profile:8} {len(e.runs())} runs; n_train {t.n_train or 'all'}, n_test {t.n_test or 'all'}, "
                f"{t.epochs} epochs, seeds {list(e.seeds)}, {t.optimizer} lr {lrs}"
            )
    return 0


def _cmd_bench(argv: list[str]) -> int:
    from depthinit import bench
    from depthinit.data import usable_device

    for i, arg in enumerate(argv):  # the device is checked here: the benchmark would fail deep inside torch
        value = (
            arg.split("=", 1)[1]
            if arg.startswith("--device=")
            else (argv[i + 1] if arg == "--device" and i + 1 < len(argv) else None)
        )
        if value is not None and value != "auto":
            usable_device(value)
    try:
        return int(bench.main(argv) or 0)
    except SystemExit as stop:  # the benchmark's own checks stop with a message
        if isinstance(stop.code, str):
            raise ValueError(stop.code) from None
        raise


def build_parser() -> argparse.ArgumentParser:
    from depthinit import __version__

    ap = argparse.ArgumentParser(
        prog="depthinit",
        description="Depth-aware initialization (arXiv 2509.05018): plans, sweeps, reports.",
    )
    ap.add_argument("--version", action="version", version=f"depthinit {__version__}")
    ap.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "plan",
        help="print a scheme's per-layer table for the MLP or CNN",
        description="Print what a scheme does to each weight layer (std, alpha, fans).",
    )
    p.add_argument(
        "--scheme", default="depth", help="he, glorot, lecun, orthogonal, random_walk, lsuv, depth (default depth)"
    )
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="default mlp")
    p.add_argument("--input", choices=("cifar10", "mnist"), default="cifar10", help="input shape (default cifar10)")
    p.add_argument(
        "--depth", type=int, default=None, help="weight layers of the MLP (54) or convolutions of the CNN (10)"
    )
    p.add_argument("--width", type=int, default=64, help="MLP width (default 64)")
    p.add_argument("--channels", type=int, default=16, help="CNN channels (default 16)")
    p.add_argument("--pool-every", type=int, default=None, help="CNN: max-pool after every N convolutions")
    p.add_argument("--base", default=None, help="depth scheme: he or glorot")
    p.add_argument("--distribution", default=None, help="normal or uniform")
    p.add_argument("--schedule", default=None, help="depth scheme: unit, constant, increasing, decreasing")
    p.add_argument("--network-variance", type=float, default=None, help="depth scheme: V (default 22)")
    p.add_argument("--depth-fn", default=None, help="depth scheme: log, power, linear, geometric")
    p.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other scheme option, e.g. -o offset=2 -o mode=fan_out",
    )
    p.add_argument("--example-batch", type=int, default=256, help="random inputs for LSUV and layer order")
    p.add_argument("--seed", type=int, default=0, help="seed of the example batch")
    p.set_defaults(func=_cmd_plan)

    s = sub.add_parser(
        "sweep",
        help="run (or finish) an experiment's sweep",
        description="Train an experiment's grid of initializations; resumable.",
    )
    s.add_argument(
        "experiment", help="a registered experiment's name or key, e.g. fcnn-cifar10 or E1 (see `depthinit list`)"
    )
    s.add_argument("--profile", default="default", help="smoke, default or paper (default: default)")
    s.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    s.add_argument("--out", required=True, help="output folder (results.csv, provenance.json, ...)")
    s.add_argument("--data-root", default=None, help="folder with the data files (default $DEPTHINIT_DATA)")
    s.add_argument("--cache-dir", default=None, help="decoded-data cache (default $DEPTHINIT_CACHE)")
    s.add_argument("--max-members", type=int, default=None, help="most runs trained together in one stack")
    s.add_argument(
        "--strategy",
        default="auto",
        choices=("auto", "bmm", "grouped", "func", "loop"),
        help="how a stack runs (default auto)",
    )
    s.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    s.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="run only shard I of N (0 <= I < N) into its own --out folder; combine with `depthinit merge`",
    )
    s.set_defaults(func=_cmd_sweep)

    m = sub.add_parser(
        "merge",
        help="combine the folders of a sharded sweep",
        description="Combine shard folders (`depthinit sweep ... --shard I/N`) into one new folder.",
    )
    m.add_argument("out", help="the new, merged folder")
    m.add_argument("folders", nargs="+", help="the shard folders, one per shard")
    m.set_defaults(func=_cmd_merge)

    mi = sub.add_parser(
        "migrate",
        help="convert a sweep folder written by depthinit 0.1",
        description="Convert sweep folders of the older layout (results.csv at the top) in place.",
    )
    mi.add_argument("folders", nargs="+", help="the folders to convert")
    mi.set_defaults(func=_cmd_migrate)

    r = sub.add_parser("report", help="summarise a sweep folder", description="Summarise a sweep folder.")
    r.add_argument("out", help="the sweep's output folder")
    r.set_defaults(func=_cmd_report)

    li = sub.add_parser(
        "list",
        help="list every registered experiment, its chapter and profiles",
        description="List every registered experiment, its chapter and its profiles.",
    )
    li.set_defaults(func=_cmd_list)

    b = sub.add_parser(
        "bench",
        help="benchmark the vectorised trainer (see `depthinit bench --help`)",
        add_help=False,
        description="Benchmark; options are those of depthinit.bench.",
    )
    b.set_defaults(func=None)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``depthinit`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = bool(argv) and argv[0] == "--debug"
    if argv[debug : debug + 1] == ["bench"]:  # the benchmark parses its own options
        rest = argv[debug + 1 :]
        return _run("bench", debug, lambda: _cmd_bench(rest))
    args = build_parser().parse_args(argv)
    return _run(args.command, args.debug, lambda: args.func(args))


def _run(command: str, debug: bool, call: Any) -> int:
    """``call()``, with every error turned into one line on stderr and an exit status:
    2 for the library's errors (they say what to do), 1 for a bug, 130 for Ctrl-C."""
    try:
        return call()
    except KeyboardInterrupt:
        print(
            f"depthinit {command}: interrupted; finished runs are saved, run the same command to resume",
            file=sys.stderr,
        )
        return 130
    except (ValueError, TypeError, OSError, ImportError) as err:  # the library's errors say what to do
        if debug:
            raise
        print(f"depthinit {command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug: one line, and the way to see more
        if debug:
            raise
        print(
            f"depthinit {command}: internal error: {type(err).__name__}: {_one_line(err)} (run again with "
            "`depthinit --debug ...` for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


def _one_line(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    if isinstance(err, OSError) and err.filename and str(err.filename) not in text:
        text = f"{text} ({err.filename})"
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
