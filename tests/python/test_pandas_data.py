"""Data as pandas users expect (issue 12, item 4): scores keep the input's
index, dropped rows are listed, the fit keeps its own copy, bool columns are
0/1, frames of other libraries and arrays with columns= work for every
estimator, Unicode names work, IWAVE warns at its iteration limit."""
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import torchfit
from torchfit.data.frames import DataError
from torchfit.errors import ConvergenceWarning

HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
NAMES = [f"x{i}" for i in range(1, 10)]


def test_scores_keep_the_index_of_a_filtered_shuffled_frame(hs):
    shuffled = hs[hs["school"] == "Pasteur"].sample(frac=1.0, random_state=3)
    fit = torchfit.cfa(HS_MODEL, shuffled)
    scores = fit.predict()
    assert scores.index.equals(shuffled.index)
    # the same people get the same scores whatever the order of the rows
    ordered = torchfit.cfa(HS_MODEL, shuffled.sort_index()).predict()
    assert np.allclose(scores.sort_index(), ordered, atol=1e-6)
    shuffled = shuffled.assign(score=scores["visual"])  # lands on the right rows
    assert np.allclose(shuffled["score"], scores.loc[shuffled.index, "visual"])


def test_dropped_rows_are_absent_and_listed(hs):
    data = hs.copy()
    data.loc[[5, 40], "x2"] = np.nan
    data.loc[40, "x7"] = np.nan
    fit = torchfit.cfa(HS_MODEL, data, missing="listwise")
    scores = fit.predict()
    assert len(scores) == 299 and 5 not in scores.index and 40 not in scores.index
    assert fit.dropped.to_dict() == {5: "missing x2", 40: "missing x2, x7"}
    assert torchfit.cfa(HS_MODEL, hs).dropped.empty


def test_fiml_scores_leave_out_the_empty_rows(hs):
    data = hs.copy()
    data.loc[7, NAMES] = np.nan
    data.loc[9, "x1"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = torchfit.cfa(HS_MODEL, data, missing="ml")
    scores = fit.predict()
    assert 7 not in scores.index and 9 in scores.index and len(scores) == 300
    assert fit.dropped.to_dict() == {7: "missing on every model variable"}


def test_editing_the_callers_frame_changes_nothing(hs):
    data = hs.copy()
    fit = torchfit.cfa(HS_MODEL, data)
    before = fit.predict()
    data.loc[:, "x1"] = 0.0
    data.drop(index=data.index[:10], inplace=True)
    assert fit.predict().equals(before)
    assert list(fit.data.columns) == NAMES  # only the model's columns are kept


def test_a_fit_of_a_memory_map_pickles_small_and_scores_new_data(tmp_path, hs):
    rng = np.random.default_rng(1)
    X = hs[NAMES].to_numpy()[rng.integers(0, 301, 300_000)] + rng.normal(size=(300_000, 9))
    np.save(tmp_path / "big.npy", X)
    big = np.load(tmp_path / "big.npy", mmap_mode="r")
    fit = torchfit.cfa(HS_MODEL, big, columns=NAMES)
    assert len(pickle.dumps(fit)) < 200_000  # the data (21.6 MB) are not in it
    with pytest.raises(DataError, match=r"which predict\(\) needs: pass them, e.g. "
                                        r"fit.predict\(data\)"):
        fit.predict()
    scores = fit.predict(pd.DataFrame(X[:5], columns=NAMES, index=list("abcde")))
    assert list(scores.index) == list("abcde")
    robust = torchfit.cfa(HS_MODEL, big, columns=NAMES, estimator="MLR")
    with pytest.raises(DataError, match="which the robust residuals needs"):
        robust.residuals("standardized")


def test_bool_columns_are_zero_one(hs):
    data = hs.assign(boy=hs["sex"] == 1)
    model = "visual =~ x1 + x2 + x3; visual ~ boy"
    as_bool = torchfit.sem(model, data)
    as_float = torchfit.sem(model, data.assign(boy=data["boy"].astype(float)))
    assert np.allclose(as_bool.coef(), as_float.coef())


class _ToPandas:
    """A frame of another library (polars, pyarrow): it offers to_pandas()."""

    def __init__(self, frame):
        self.frame = frame

    def to_pandas(self):
        return self.frame.copy()


class _Interchange:
    """A frame offering only the dataframe interchange protocol."""

    def __init__(self, frame):
        self.frame = frame

    def __dataframe__(self, nan_as_null=False, allow_copy=True):
        return self.frame.__dataframe__(nan_as_null=nan_as_null, allow_copy=allow_copy)


@pytest.mark.parametrize("wrap", [_ToPandas, _Interchange])
def test_frames_of_other_libraries(hs, wrap):
    data = hs[NAMES + ["school"]]
    base = torchfit.cfa(HS_MODEL, data)
    other = torchfit.cfa(HS_MODEL, wrap(data))
    assert np.allclose(other.coef(), base.coef())
    grouped = torchfit.cfa(HS_MODEL, wrap(data), group="school")
    assert grouped.info["group_labels"] == ["Pasteur", "Grant-White"]


def test_an_array_with_columns_works_for_iwave(hs):
    options = dict(estimator="IWAVE", max_iterations=30, se="none", quiet=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        frame = torchfit.cfa(HS_MODEL, hs[NAMES], **options)
        array = torchfit.cfa(HS_MODEL, hs[NAMES].to_numpy(), columns=NAMES, **options)
    assert np.allclose(frame.coef(), array.coef())
    assert array.predict().shape == (301, 3)


def test_iwave_warns_at_its_iteration_limit(hs):
    with pytest.warns(ConvergenceWarning, match="iteration limit"):
        torchfit.cfa("f =~ x1 + x2 + x3", hs, estimator="IWAVE", max_iterations=20,
                     se="none", quiet=True)


def test_iwave_scores_keep_the_index(hs):
    data = hs[hs["school"] == "Grant-White"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = torchfit.cfa("f =~ x1 + x2 + x3", data, estimator="IWAVE", max_iterations=20,
                           se="none", quiet=True)
    assert fit.predict().index.equals(data.index)
    assert fit.predict(data.head(3)).index.equals(data.index[:3])


def test_unicode_names_work_as_in_lavaan(hs):
    renamed = hs.rename(columns={"x1": "größe", "x2": "état"})
    fit = torchfit.cfa("räumlich =~ größe + a*état + x3; ab := a * 2", renamed)
    base = torchfit.cfa("visual =~ x1 + a*x2 + x3; ab := a * 2", hs)
    assert np.allclose(fit.coef(), base.coef())
    assert fit.partable.loc[fit.partable["op"] == ":=", "est"].iloc[0] == \
        pytest.approx(2 * base.coef()["a"])
