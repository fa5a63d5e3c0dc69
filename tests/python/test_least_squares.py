"""Least squares on continuous data (estimator="ULS", "GLS", "WLS", "DWLS" without
ordered items) against lavaan 0.6.14 (tests/reference/make_least_squares_reference.R):
estimates within 1e-3 of a standard error, standard errors within 0.01 %, the
standardized solution and every fit measure lavaan gives within 0.01 %.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

import torchfit
from conftest import DATASETS, REFERENCE, assert_estimates_match, assert_measures_match
from torchfit.errors import ModelError

OUT = REFERENCE / "least_squares"
HS_CFA = (REFERENCE / "models" / "hs_cfa.lav").read_text()
POLDEM = (REFERENCE / "models" / "poldem_sem.lav").read_text()
_hs = DATASETS["HolzingerSwineford1939"]
_poldem = DATASETS["PoliticalDemocracy"]

#: each reference case, fitted as the script fits it
CASES = {
    **{f"hs_{e.lower()}": (lambda e=e: torchfit.cfa(HS_CFA, _hs(), estimator=e))
       for e in ("GLS", "ULS", "WLS", "DWLS")},
    **{f"hs_{e.lower()}_groups": (lambda e=e: torchfit.cfa(
        HS_CFA, _hs(), estimator=e, group="school", group_equal="loadings"))
       for e in ("GLS", "WLS")},
    "poldem_gls": lambda: torchfit.sem(POLDEM, _poldem(), estimator="GLS"),
    "poldem_uls": lambda: torchfit.sem(POLDEM, _poldem(), estimator="ULS"),
}


@pytest.fixture(scope="module", params=list(CASES))
def pair(request):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean fit: no warning
        return request.param, CASES[request.param]()


def test_estimates_standard_errors_and_standardized_solution(pair):
    name, fit = pair
    ref = pd.read_csv(OUT / f"{name}_estimates.csv", keep_default_na=False, na_values=["NA"])
    ours = fit.parameter_estimates(standardized=True)
    ours = ours[ours["op"] != "=="]
    if "group" not in ours:
        ours["group"] = 1
    m = ref.merge(ours, on=["lhs", "op", "rhs", "group"], how="left", suffixes=("_ref", ""))
    assert len(m) == len(ref) == len(ours)
    assert_estimates_match(m)
    free = m["se_ref"] > 0
    rel = np.abs(m.loc[free, "se"] - m.loc[free, "se_ref"]) / m.loc[free, "se_ref"]
    assert rel.max() < 1e-4, m.loc[rel.idxmax(), ["lhs", "op", "rhs", "se", "se_ref"]]
    for col in ("std.lv", "std.all"):
        assert np.allclose(m[col], m[f"{col}_ref"], atol=1e-5, rtol=1e-4, equal_nan=True), col


def test_fit_measures(pair):
    name, fit = pair
    ref = pd.read_csv(OUT / f"{name}_fitmeasures.csv").set_index("name")["value"]
    ours = fit.fit_measures()
    assert set(ours) == set(ref.index), set(ours) ^ set(ref.index)
    assert_measures_match(ours, ref, list(ours))


def test_what_least_squares_refuse():
    hs = _hs()
    with pytest.raises(ModelError, match="missing='ml' is full-information ML"):
        torchfit.cfa(HS_CFA, hs, estimator="ULS", missing="ml")
    with pytest.raises(ModelError, match="uses the expected information"):
        torchfit.cfa(HS_CFA, hs, estimator="WLS", information="observed")
    with pytest.raises(ModelError, match="fixed exogenous covariates"):
        torchfit.sem("visual =~ x1 + x2 + x3\nvisual ~ ageyr", hs, estimator="GLS",
                     missing="listwise")
    with pytest.raises(TypeError, match="ordered are for estimator"):
        torchfit.cfa(HS_CFA, hs, estimator="GLS", ordered=True)
    with pytest.raises(TypeError, match="std_ov are for estimator"):
        torchfit.cfa(HS_CFA, hs, estimator="ULS", std_ov=True)
    # and a good fit right after
    assert torchfit.cfa(HS_CFA, hs, estimator="ULS").info["converged"]
