"""The notation chapter's glossary (depthinit.book.theory.notation)."""

from __future__ import annotations

import pytest

from depthinit.book.theory import notation
from depthinit.theory import symbols as S


def test_every_glossary_symbol_has_its_stated_assumptions():
    rows = notation.glossary(54)
    assert len(rows) == 21 and len({str(sym) for sym, _, _ in rows}) == 21
    assert all(notation.has_assumption(sym, assumption) for sym, _, assumption in rows)


def test_the_check_can_say_no():
    assert not notation.has_assumption(S.w[S.l], "positive")  # a weight is real, not positive
    assert not notation.has_assumption(S.V, "unheard-of")


def test_markdown_table_has_a_row_per_symbol_and_names_the_depth():
    text = notation.glossary_markdown(10)
    lines = text.splitlines()
    assert lines[0].startswith("| symbol |") and len(lines) == 2 + 21
    assert "(10 in the examples" in text and all(line.endswith("| yes |") for line in lines[2:])


@pytest.mark.parametrize("bad", [1, 2.0, True, "54"])
def test_bad_depth_is_refused(bad):
    with pytest.raises(ValueError, match="L="):
        notation.glossary(bad)
