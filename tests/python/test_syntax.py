"""The Python parser against lavaan::lavaanify() on a corpus of models, and
its errors (line and column)."""
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from torchfit.errors import ModelSyntaxError
from torchfit.model.partable import parse
from torchfit.model.syntax import parse_formulas

HERE = Path(__file__).parent
CORPUS = HERE.parent / "reference" / "syntax_corpus.csv"
COLUMNS = ["lhs", "op", "rhs", "user", "block", "group", "free", "ustart", "exo", "label",
           "plabel"]


def _options(text: str) -> dict:
    """R's "std.lv = TRUE, ngroups = 2, group.equal = c("loadings")" as kwargs."""
    out = {}
    for key, value in re.findall(r'([\w.]+)\s*=\s*(c\([^)]*\)|[^,]+)', str(text)):
        value = value.strip()
        if value.startswith("c("):
            parsed = re.findall(r'"([^"]*)"', value)
        elif value in ("TRUE", "FALSE"):
            parsed = value == "TRUE"
        else:
            parsed = int(value)
        out[key.replace(".", "_")] = parsed
    return out


@pytest.fixture(scope="module")
def lavaan_tables(tmp_path_factory):
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed here; `make test` installs it")
    out = tmp_path_factory.mktemp("lavaanify")
    subprocess.run(["Rscript", str(HERE / "lavaanify.R"), str(CORPUS), str(out)], check=True)
    return out


CORPUS_ROWS = pd.read_csv(CORPUS, keep_default_na=False).to_dict("records")


@pytest.mark.parametrize("case", CORPUS_ROWS, ids=[c["name"] for c in CORPUS_ROWS])
def test_parser_equals_lavaanify(case, lavaan_tables):
    ref = pd.read_csv(lavaan_tables / f"{case['name']}.csv", keep_default_na=False,
                      na_values=["NA"])
    ours = parse(case["model"], **_options(case["options"]))
    assert len(ours) == len(ref)
    for col in COLUMNS:
        a, b = ours[col].to_numpy(), ref[col].to_numpy()
        if col == "ustart":
            assert np.allclose(a.astype(float), b.astype(float), equal_nan=True), col
        else:
            assert [str(x) for x in a] == [str(x) for x in b], (col, a, b)


@pytest.mark.parametrize("model, line, column, words", [
    ("f =~ x1 + x2\ng =~ x3 + $x4", 2, 11, "unexpected character"),
    ("f =~ x1 + x2\n\ng =~ x3 +", 3, 10, "expected a variable name"),
    ("f =~ x1 x2", 1, 9, "expected '+'"),
    ("f =~ x1 + x2\nx3 x4", 2, 1, "expected '+'"),
    ("x3 x4\nf =~ x1 + x2", 1, 1, "no operator"),
    ("f =~ x1 =~ x2", 1, 9, "second operator"),
    ("f =~ x1 + x2\nf =~ x1", 2, 6, "specified twice"),
    ("f =~ x1 + foo(1)*x2", 1, 11, "unknown modifier"),
])
def test_syntax_errors_name_line_and_column(model, line, column, words):
    with pytest.raises(ModelSyntaxError) as err:
        parse_formulas(model)
    assert (err.value.line, err.value.column) == (line, column)
    assert f"line {line}, column {column}" in str(err.value)
    assert words in str(err.value)


def test_empty_model_is_an_error():
    with pytest.raises(ModelSyntaxError, match="empty"):
        parse_formulas("# only a comment\n")
