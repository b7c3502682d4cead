"""The one exception the data layer raises for bad or missing files.

Chapter: "Reproducibility" (where the data come from and how they are checked).
"""

from __future__ import annotations


class DataError(ValueError):
    """A data file is missing, truncated, corrupt, has the wrong checksum, or is unsafe.

    The message names the file, what was expected, and what to do. Subclasses
    :class:`ValueError`, so ``except ValueError`` catches it too.
    """
