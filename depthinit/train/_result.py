"""What one training run returns.

Chapter: "Reproducibility".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ._probes import empty_histograms, empty_stats

HISTORY_COLUMNS: tuple[str, ...] = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
    "wall_s",
)
#: The metric columns (NaN from the epoch a run diverged on; val_* NaN without validation data).
METRIC_COLUMNS: tuple[str, ...] = HISTORY_COLUMNS[1:-1]
_NAN = float("nan")


def history_row(
    epoch: int,
    train: tuple[float, float] = (_NAN, _NAN),
    val: tuple[float, float] = (_NAN, _NAN),
    test: tuple[float, float] = (_NAN, _NAN),
    wall_s: float = 0.0,
) -> dict[str, float]:
    """One history row: ``(loss, accuracy)`` pairs of the train, validation and test sets."""
    return dict(
        zip(
            HISTORY_COLUMNS,
            (
                epoch,
                float(train[0]),
                float(train[1]),
                float(val[0]),
                float(val[1]),
                float(test[0]),
                float(test[1]),
                float(wall_s),
            ),
        )
    )


Status = str  # "ok" | "diverged"


@dataclass
class RunResult:
    """History, status and probes of one run.

    ``history`` has one row per epoch (``HISTORY_COLUMNS``; epoch 0 is the model
    at initialization when ``eval_init``). ``train_loss``/``train_acc`` of epoch
    e >= 1 are averages over the epoch's mini-batches as they were trained (the
    Keras convention); of epoch 0, an evaluation of the training set.
    ``val_loss``/``val_acc`` evaluate the validation set after each epoch (NaN
    when the data carry none). Losses are the cross-entropy of the logits times
    ``logit_scale``. A run
    whose training loss becomes NaN or infinite stops: ``status == "diverged"``,
    ``diverged_step`` is the 1-based optimizer step whose loss was not finite,
    ``diverged_epoch`` its epoch, and the history ends with that epoch's row,
    whose metrics are NaN. ``wall_s`` of a run trained in a stack of K is the
    stack's epoch time divided by the members trained in it.
    """

    history: pd.DataFrame
    status: Status = "ok"
    diverged_epoch: int | None = None
    diverged_step: int | None = None
    probes: pd.DataFrame = field(default_factory=empty_stats)
    histograms: pd.DataFrame = field(default_factory=empty_histograms)

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def final(self) -> dict[str, float]:
        """The last history row as a dict."""
        return {k: float(v) for k, v in self.history.iloc[-1].items()}

    def __repr__(self) -> str:
        last = self.history.iloc[-1] if len(self.history) else None
        tail = "" if last is None else f", epoch={int(last['epoch'])}, test_acc={float(last['test_acc']):.4f}"
        return f"RunResult(status={self.status!r}{tail})"
