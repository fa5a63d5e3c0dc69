"""The Python API a lavaan user expects: summary, parameter estimates, coef,
vcov, implied moments, scores."""
import numpy as np
import pandas as pd
import pytest

import torchfit
from conftest import REFERENCE

HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"


def test_summary_has_lavaans_sections(hs):
    text = torchfit.cfa(HS_MODEL, hs).summary(fit_measures=True, standardized=True)
    for line in ("torchfit 0.1.0 ended normally", "Number of observations", "Test statistic",
                 "Comparative Fit Index (CFI)", "RMSEA", "SRMR", "Latent Variables:",
                 "Covariances:", "Variances:", "Std.lv  Std.all", "   .x1", "  visual =~"):
        assert line in text, line


def test_parameter_estimates_columns(hs):
    fit = torchfit.cfa(HS_MODEL, hs)
    pe = fit.parameter_estimates()
    assert list(pe.columns) == ["lhs", "op", "rhs", "est", "se", "z", "pvalue", "ci.lower",
                                "ci.upper"]
    # lavaan's parameterEstimates(standardized = TRUE) columns
    assert list(fit.parameter_estimates(standardized=True).columns)[-3:] == \
        ["std.lv", "std.all", "std.nox"]


def test_labels_column_and_equal_estimates():
    data = torchfit.datasets.political_democracy()
    fit = torchfit.sem("ind60 =~ x1 + x2 + x3; dem60 =~ y1 + a*y2 + y3; "
                       "dem65 =~ y5 + a*y6 + y7; dem60 ~ ind60; dem65 ~ dem60", data)
    pe = fit.parameter_estimates()
    assert "label" in pe.columns
    a = pe[pe["label"] == "a"]
    assert len(a) == 2 and np.isclose(a["est"].iloc[0], a["est"].iloc[1])
    assert fit.info["neq"] == 1 and fit.fit_measures()["npar"] == fit.info["npar"] - 1


def test_coef_vcov_implied(hs):
    fit = torchfit.cfa(HS_MODEL, hs)
    coef = fit.coef()
    assert coef.index[0] == "visual=~x2" and len(coef) == 21
    assert fit.vcov().shape == (21, 21)
    cov = fit.implied()["cov"]
    assert list(cov.columns) == [f"x{i}" for i in range(1, 10)]
    assert np.allclose(cov.to_numpy(), cov.to_numpy().T)


def test_predict_on_new_data(hs):
    fit = torchfit.cfa(HS_MODEL, hs)
    scores = fit.predict(hs.iloc[:10])
    assert scores.shape == (10, 3)
    assert np.allclose(scores.to_numpy(), fit.predict().to_numpy()[:10])


def test_partable_is_the_lavaan_table(hs):
    pt = torchfit.cfa(HS_MODEL, hs).partable
    for col in ["id", "lhs", "op", "rhs", "user", "block", "group", "free", "ustart", "exo",
                "label", "plabel", "start", "est", "se"]:
        assert col in pt.columns


def test_fit_accepts_a_parameter_table(hs):
    pt = torchfit.model.partable.parse(HS_MODEL, std_lv=True)
    a = torchfit.fit(pt, hs)
    b = torchfit.cfa(HS_MODEL, hs, std_lv=True)
    assert np.allclose(a.coef(), b.coef())


def test_numpy_2d_and_pandas_work_together(hs):
    fit = torchfit.cfa(HS_MODEL, hs)
    arr = hs[fit.model.ov_names].to_numpy()
    assert np.allclose(fit.predict(arr).to_numpy(), fit.predict().to_numpy())
    assert isinstance(fit.fit_measures(["cfi", "tli"]), dict)


def _group_option_cases():
    ref = pd.read_csv(REFERENCE / "lavaan" / "group_options_npar.csv", keep_default_na=False)
    return [row._asdict() for row in ref.itertuples(index=False)]


@pytest.mark.parametrize("case", _group_option_cases(), ids=lambda c: c["name"])
def test_group_equal_and_partial_as_users_write_them_match_lavaan(hs, case):
    """group_equal/group_partial as lavaan reads them: a plain string is one
    entry and whitespace inside an entry does not matter; npar from lavaan
    (tests/reference/make_group_options_reference.R)."""
    equal = [x for x in case["group_equal"].split(";") if x]
    partial = [x for x in case["group_partial"].split(";") if x]
    if case["as_string"]:
        assert len(equal) == 1 and len(partial) <= 1
        equal = equal[0]
        partial = partial[0] if partial else ()
    given = (list(equal) if isinstance(equal, list) else equal,
             list(partial) if isinstance(partial, list) else partial)
    fit = torchfit.cfa((REFERENCE / "models" / "hs_cfa.lav").read_text(), hs, group="school",
                       group_equal=equal, group_partial=partial)
    assert fit.converged
    assert int(fit.fit_measures()["npar"]) == case["npar"]
    assert (equal, partial) == given  # the caller's lists are not modified
