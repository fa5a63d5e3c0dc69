"""missing = "ml" (full-information ML): patterns, EM, options and bad input.

The agreement with lavaan (estimates, SEs, every fit measure, factor scores)
is checked by test_lavaan_reference.py on the hs_fiml and hs_fiml_groups
cases; here are the pieces and the edge cases.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

import torchfit
from conftest import REFERENCE
from torchfit.bridge import fit_from_r
from torchfit.data import patterns
from torchfit.errors import DataError, ModelError, TorchfitError
from torchfit.model.partable import parse

HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
OV = [f"x{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def mcar():
    return pd.read_csv(REFERENCE / "data" / "hs_mcar.csv")


@pytest.fixture(scope="module")
def fitted(mcar):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", patterns.EmptyRowsWarning)
        return torchfit.cfa(HS_MODEL, mcar, missing="ml")


def test_pattern_statistics_equal_those_of_the_rows(mcar):
    pm = patterns.pattern_moments(mcar, OV, chunk_rows=37, warn=False)  # several chunks
    X = mcar[OV].to_numpy()
    seen = np.isfinite(X)
    assert pm.n == 299 and pm.n_total == 301 and pm.n_empty == 2
    assert sum(p.n for p in pm.patterns) == pm.n
    for pat in pm.patterns:
        key = np.zeros(len(OV), dtype=bool)
        key[pat.observed] = True
        rows = X[(seen == key).all(axis=1)][:, pat.observed]
        assert len(rows) == pat.n
        assert np.allclose(pat.mean, rows.mean(axis=0))
        assert np.allclose(pat.cov, np.cov(rows.T, bias=True).reshape(pat.cov.shape), atol=1e-12)


def test_em_reaches_the_unrestricted_maximum(mcar):
    pm = patterns.pattern_moments(mcar, OV, warn=False)
    mu, sigma, logl = patterns.em_h1(pm, max_iter=5000, tol=1e-12)
    ref = pd.read_csv(REFERENCE / "lavaan" / "hs_fiml_fitmeasures.csv").set_index("name")
    assert logl == pytest.approx(ref.loc["unrestricted.logl", "value"], abs=1e-4)
    # a maximum: moving any mean lowers the log-likelihood
    for j in range(len(OV)):
        step = np.zeros(len(OV))
        step[j] = 1e-3
        assert patterns.loglik(pm, mu + step, sigma) < logl


def test_fiml_spellings_and_information(mcar, fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", patterns.EmptyRowsWarning)
        for name in ("fiml", "direct", "ML"):
            other = torchfit.cfa(HS_MODEL, mcar, missing=name)
            assert np.allclose(other.coef(), fitted.coef())
        expected = torchfit.cfa(HS_MODEL, mcar, missing="ml", information="expected")
    assert fitted.info["information"] == "observed"
    assert np.allclose(expected.coef(), fitted.coef())
    # the expected information (lavaan: information = "expected") gives other
    # standard errors when the model misfits
    se_obs, se_exp = fitted.partable["se"], expected.partable["se"]
    free = fitted.partable["free"] > 0
    assert not np.allclose(se_obs[free], se_exp[free], rtol=1e-4)
    assert ((se_exp[free] / se_obs[free]).between(0.5, 2.0)).all()


def test_complete_data_give_the_ml_estimates_with_means(hs):
    ml = torchfit.cfa(HS_MODEL, hs, meanstructure=True)
    full = torchfit.cfa(HS_MODEL, hs, missing="ml")
    assert np.allclose(full.coef(), ml.coef(), atol=1e-6)
    for k in ("chisq", "logl", "unrestricted.logl", "cfi", "rmsea", "srmr"):
        assert full.fit_measures()[k] == pytest.approx(ml.fit_measures()[k], rel=1e-6), k
    assert full.info["npatterns"] == [1]


def test_empty_rows_are_dropped_with_a_count(mcar):
    with pytest.warns(patterns.EmptyRowsWarning, match="2 of 301 rows are missing on every"):
        fit = torchfit.cfa(HS_MODEL, mcar, missing="ml")
    assert fit.nobs == 299 and fit.info["nobs_total"] == 301
    text = fit.summary()
    assert "Number of missing patterns" in text and "Used" in text and "Total" in text
    scores = fit.predict()  # the dropped rows are absent (lavPredict scores the used cases)
    assert scores.shape == (299, 3) and not scores.isna().any().any()
    assert scores.index.equals(mcar.index.drop([6, 149]))
    assert list(fit.dropped.index) == [6, 149]


def test_a_pattern_with_a_single_row_works(hs):
    data = hs.copy()
    data.loc[0, ["x1", "x5", "x9"]] = np.nan  # the only row with this pattern
    pm = patterns.pattern_moments(data, OV)
    assert sorted(p.n for p in pm.patterns) == [1, 300]
    single = [p for p in pm.patterns if p.n == 1][0]
    assert np.allclose(single.cov, 0.0)
    fit = torchfit.cfa(HS_MODEL, data, missing="ml")
    assert fit.converged and np.isfinite(fit.partable["se"]).all()
    assert fit.info["npatterns"] == [2]


def test_mlm_with_fiml_is_refused(mcar):
    with pytest.raises(ModelError, match="MLM needs complete data"):
        torchfit.cfa(HS_MODEL, mcar, missing="ml", estimator="MLM")


def test_a_variable_missing_everywhere_is_named(hs):
    data = hs.copy()
    data["x4"] = np.nan
    with pytest.raises(DataError, match="x4 are missing in every row"):
        torchfit.cfa(HS_MODEL, data, missing="ml")


def test_all_rows_empty_is_an_error(hs):
    data = hs.copy()
    data[OV] = np.nan
    with pytest.raises(DataError, match="every row is missing"):
        torchfit.cfa(HS_MODEL, data, missing="ml")


def test_unknown_missing_option_is_refused(hs):
    with pytest.raises(TorchfitError, match="not supported"):
        torchfit.cfa(HS_MODEL, hs, missing="pairwise")


def test_bridge_sends_missing_values_to_fiml(mcar):
    pt = parse(HS_MODEL, model_type="cfa", meanstructure=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", patterns.EmptyRowsWarning)
        out = fit_from_r({c: pt[c].tolist() for c in pt.columns}, mcar[OV].to_numpy(), OV,
                         {"missing": "ml"})
    ref = pd.read_csv(REFERENCE / "lavaan" / "hs_fiml_fitmeasures.csv").set_index("name")
    assert out["fit_measures"]["chisq"] == pytest.approx(ref.loc["chisq", "value"], rel=1e-4)
    assert out["info"]["npatterns"] == [61]
