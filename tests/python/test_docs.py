"""The internals tour (docs/internals.md) runs as written: its printed values are
the engine's."""
import doctest
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_internals_tour_runs():
    result = doctest.testfile(str(DOCS / "internals.md"), module_relative=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 20 and result.failed == 0, result
