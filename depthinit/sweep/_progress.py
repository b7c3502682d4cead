"""Progress of a long command: a bar on a terminal, periodic log lines anywhere else.

Chapter: "Reproducibility". ``depthinit sweep ... > log.txt`` (or a batch job)
gets a line such as ``fcnn-cifar10 [default]: 12 of 57 runs done, 45 left,
1m02s elapsed, about 3m50s left`` after the first stack and then at most every
``interval`` seconds, plus one at the end; a terminal gets a tqdm bar.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any


def format_seconds(seconds: float) -> str:
    """``"45s"``, ``"3m05s"``, ``"1h02m"``."""
    s = round(max(seconds, 0.0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class Progress:
    """Counts finished units of work (runs) out of ``total``.

    ``enabled``: None chooses by the stream (a bar on a terminal, log lines
    otherwise), True the same, False nothing. ``stream`` defaults to stderr.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        *,
        enabled: bool | None = None,
        unit: str = "runs",
        interval: float = 30.0,
        stream: IO[str] | None = None,
    ) -> None:
        self.total, self.desc, self.unit, self.interval = int(total), desc, unit, float(interval)
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.start = time.monotonic()
        self.last_line = -float("inf")
        self.bar: Any = None
        self.mode = "off" if enabled is False or self.total == 0 else ("bar" if _is_terminal(self.stream) else "log")
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=desc, unit=unit.rstrip("s"), file=self.stream)

    def line(self) -> str:
        """The log line for the current count."""
        elapsed = time.monotonic() - self.start
        left = self.total - self.done
        text = (
            f"{self.desc}: {self.done} of {self.total} {self.unit} done, {left} left, {format_seconds(elapsed)} elapsed"
        )
        if 0 < self.done < self.total:
            text += f", about {format_seconds(elapsed / self.done * left)} left"
        return text

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.mode == "bar":
            self.bar.update(n)
        elif self.mode == "log":
            now = time.monotonic()
            if self.done >= self.total or now - self.last_line >= self.interval:
                self.last_line = now
                print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        if self.mode == "bar":
            self.bar.close()
        elif self.mode == "log" and self.done < self.total and self.done > 0:
            print(self.line(), file=self.stream, flush=True)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
