"""Time one training step of K models three ways (plain loop, torch.func, depthinit's
vectorised engine) and compare with the machine's sgemm rate.

Usage: python benchmarks/bench_training_step.py [--device cpu|cuda|auto] [--json] ...
(the same as `depthinit bench`; see `depthinit bench --help`). Not collected by pytest.
"""

from depthinit.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
