"""estimator = "MML" against the exact marginal ML of an independent quadrature
script (tests/reference/exact_irt.py: NumPy/SciPy, hand-derived gradients), and
its results: exact log-likelihood, observed-information SEs, EAP/MAP scores."""
import json

import numpy as np
import pandas as pd
import pytest

import torchfit
from conftest import REFERENCE
from torchfit.errors import ModelError, TorchfitError

IRT = REFERENCE / "irt"
CASES = json.loads((IRT / "exact_irt.json").read_text())
SMALL = ["graded_1f", "graded_2f", "gpcm_1f", "gpcm_2f", "binary_1f", "binary_2f"]
#: latent regressions f ~ x1 + x2 (the items' columns y*, the covariates x*)
COVARIATE = ["graded_1f_cov", "graded_2f_cov"]


def _fit(case, estimator="MML", **options):
    meta = CASES[case]
    data = pd.read_csv(IRT / f"{case}.csv")
    items = [v for v in data.columns if v.startswith("y")]
    return torchfit.fit(meta["syntax"], data, estimator=estimator, std_lv=True,
                        item_types={v: meta["item_type"] for v in items}, **options)


_FITS = {}


def _fitted(case):
    """One default fit per case for the module."""
    if case not in _FITS:
        _FITS[case] = _fit(case)
    return _FITS[case]


@pytest.fixture(scope="module", params=SMALL + COVARIATE)
def case_fit(request):
    return request.param, _fitted(request.param)


def test_estimates_and_ses_equal_exact_ml(case_fit):
    case, fit = case_fit
    ref = pd.read_csv(IRT / f"{case}_exact.csv")
    m = ref.merge(fit.parameter_estimates(), on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
    assert len(m) == len(ref)
    # the latent regressions: the same rule as the reference, so to 1e-5
    assert (m["est"] - m["est_ref"]).abs().max() < (1e-5 if case in COVARIATE else 1e-4)
    if case in COVARIATE:
        assert set(m.loc[m["op"] == "~", "rhs"]) == {"x1", "x2"}
    assert (m["se"] - m["se_ref"]).abs().max() < 1e-4
    # the reference's own quadrature error, measured with more points, is below the bar too
    assert (ref["est"] - ref["est_more_points"]).abs().max() < 1e-4
    assert fit.converged and fit.info["max_gradient"] < 1e-6


def test_exact_loglik_and_information_criteria(case_fit):
    case, fit = case_fit
    fm = fit.fit_measures()
    assert fm["logl"] == pytest.approx(CASES[case]["logl"], abs=1e-6)
    k = len(pd.read_csv(IRT / f"{case}_exact.csv"))
    assert fm["npar"] == k
    assert fm["aic"] == pytest.approx(-2 * fm["logl"] + 2 * k)
    assert fm["bic"] == pytest.approx(-2 * fm["logl"] + k * np.log(CASES[case]["n"]))


def test_summary_and_scores():
    fit = _fitted("graded_1f")
    text = fit.summary(fit_measures=True)
    for piece in ("Estimator", "MML", "Gauss-Hermite points per factor", "Quadrature nodes",
                  "Latent Variables:", "Thresholds:", "Loglikelihood user model (H0)",
                  "Observed information"):
        assert piece in text, piece
    eap, map_ = fit.scores(), fit.scores("MAP")
    assert eap.shape == map_.shape == (1000, 1)
    # both summarise the same posterior: close, not equal; shrunk towards 0
    assert 0.97 < np.corrcoef(eap["f1"], map_["f1"])[0, 1] <= 1
    assert eap["f1"].std() < 1
    data = pd.read_csv(IRT / "graded_1f.csv")
    assert np.allclose(fit.predict(data.head(7)), eap.head(7))
    assert fit.log_likelihood(data) == pytest.approx(fit.fit_measures()["logl"])
    with pytest.raises(TorchfitError, match="EAP"):
        fit.scores("WLE")


def test_missing_responses_are_left_out():
    data = pd.read_csv(IRT / "binary_1f.csv").astype(float)
    data.iloc[:50, 9] = np.nan
    fit = torchfit.fit(CASES["binary_1f"]["syntax"], data, estimator="MML", std_lv=True,
                       ordered=True)
    assert fit.converged and fit.nobs == 1000
    # a row missing y10 has the likelihood of its nine responses: the sum over y10
    row = data.iloc[[0]]
    both = pd.concat([row.fillna(0), row.fillna(1)])
    each = [fit.log_likelihood(both.iloc[[i]]) for i in range(2)]
    assert fit.log_likelihood(row) == pytest.approx(np.logaddexp(*each), abs=1e-10)
    full = _fitted("binary_1f").parameter_estimates()
    assert (fit.parameter_estimates()["est"] - full["est"]).abs().max() < 0.1


def test_normal_items_equal_lavaan_ml():
    hs = torchfit.datasets.holzinger_swineford()
    model = "visual =~ x1 + x2 + x3"
    ml = torchfit.cfa(model, hs, meanstructure=True)
    mml = torchfit.cfa(model, hs, estimator="MML", quad_points=81)
    m = ml.parameter_estimates().merge(mml.parameter_estimates(), on=["lhs", "op", "rhs"])
    assert (m["est_x"] - m["est_y"]).abs().max() < 1e-4
    assert mml.fit_measures()["logl"] == pytest.approx(ml.fit_measures()["logl"], abs=1e-4)


def test_factor_limit_points_to_iwave():
    data, truth = torchfit.datasets.simulate(50, "binary", n_factors=4, items_per_factor=3)
    with pytest.raises(ModelError, match="IWAVE"):
        torchfit.fit(truth["syntax"], data, estimator="MML", ordered=True)
    with pytest.raises(ModelError, match="max_factors = 1"):
        _fit("graded_2f", max_factors=1)


def test_options_are_checked():
    with pytest.raises(TorchfitError, match="se = 'opg'"):
        _fit("binary_1f", se="opg")
    with pytest.raises(TypeError, match="iw_samples"):
        _fit("binary_1f", iw_samples=5)
    with pytest.raises(TorchfitError, match="quadrature = 'gauss'"):
        _fit("binary_1f", quadrature="gauss")


@pytest.mark.parametrize("kind", ["nominal", "poisson", "negbinom", "lognormal"])
def test_every_item_type_converges_with_missing_responses(kind):
    data, truth = torchfit.datasets.simulate(800, kind, n_factors=1, items_per_factor=5,
                                             n_categories=4, seed=3, missing=0.05)
    fit = torchfit.fit(truth["syntax"], data, estimator="MML", std_lv=True,
                       item_types={v: kind for v in data.columns})
    assert fit.converged and fit.info["max_gradient"] < 1e-6
    pe = fit.partable[fit.partable["free"] > 0]
    assert (pe["se"] > 0).all()
    load = pe[pe["op"] == "=~"]
    assert (np.abs(load["est"].to_numpy() - truth["loadings"][:, 0]) < 4 * load["se"]).all()


def test_an_array_with_columns_gives_the_frames_fit():
    meta = CASES["graded_1f"]
    data = pd.read_csv(IRT / "graded_1f.csv")
    types = {v: meta["item_type"] for v in data.columns}
    frame = torchfit.fit(meta["syntax"], data, estimator="MML", std_lv=True, item_types=types)
    array = torchfit.fit(meta["syntax"], data.to_numpy(), columns=list(data.columns),
                         estimator="MML", std_lv=True, item_types=types)
    assert np.array_equal(frame.partable["est"].to_numpy(), array.partable["est"].to_numpy())


@pytest.mark.parametrize("case", COVARIATE)
def test_latent_regression_scores_and_new_data(case):
    fit = _fitted(case)
    data = pd.read_csv(IRT / f"{case}.csv")
    eap, map_ = fit.scores(), fit.scores("MAP")
    assert eap.shape == map_.shape == (CASES[case]["n"], CASES[case]["factors"])
    assert (np.corrcoef(eap["f1"], map_["f1"])[0, 1]) > 0.97
    # the prior mean moves with x1: so do the scores of rows with equal responses
    assert np.corrcoef(eap["f1"], data["x1"])[0, 1] > 0.2
    assert np.allclose(fit.predict(data.tail(5)), eap.tail(5))
    assert np.allclose(fit.predict(data.tail(5), "MAP"), map_.tail(5))
    assert fit.log_likelihood(data) == pytest.approx(fit.fit_measures()["logl"])
    with pytest.raises(Exception, match="x2"):
        fit.predict(data.drop(columns="x2"))


@pytest.mark.parametrize("case", ["graded_2f", "graded_2f_cov"])
def test_standardized_solution_of_the_logistic_latent_response(case):
    """lavaan's standardization of a categorical item, by hand, for the logistic
    latent response y* = a f + e, var(e) = pi^2 / 3: var(f) = B cov(x) B' + Psi
    (cov(x) with N in the denominator, the covariates' fixed moments)."""
    fit = _fitted(case)
    pe = fit.parameter_estimates(standardized=True, rsquare=True)
    est = {(r.lhs, r.op, r.rhs): r.est for r in pe.itertuples()}
    data = pd.read_csv(IRT / f"{case}.csv")
    factors = ["f1", "f2"]
    psi = np.array([[1.0, est["f1", "~~", "f2"]], [est["f1", "~~", "f2"], 1.0]])
    if case in COVARIATE:
        B = np.array([[est[f, "~", x] for x in ("x1", "x2")] for f in factors])
        psi = psi + B @ np.cov(data[["x1", "x2"]].to_numpy().T, bias=True) @ B.T
    var_f = dict(zip(factors, np.diag(psi)))
    loads = pe[pe["op"] == "=~"]
    var_y = {r.rhs: r.est ** 2 * var_f[r.lhs] + np.pi ** 2 / 3 for r in loads.itertuples()}
    std = pe.rename(columns={"std.lv": "lv", "std.all": "all", "std.nox": "nox"})
    for r in std.itertuples():
        if r.op == "=~":
            assert r.all == pytest.approx(r.est * np.sqrt(var_f[r.lhs] / var_y[r.rhs]), abs=1e-10)
        elif r.op == "|":  # the cut on y* in its sd units; std.lv rescales latent variables only
            assert r.all == r.nox == pytest.approx(r.est / np.sqrt(var_y[r.lhs]), abs=1e-10)
            assert r.lv == r.est
        elif r.op == "~~" and r.lhs == r.rhs and r.lhs in var_y:
            assert r.all == pytest.approx(np.pi ** 2 / 3 / var_y[r.lhs], abs=1e-10)
        elif r.op == "~*~":
            assert r.all == r.nox == 1.0
        elif r.op == "r2" and r.lhs in var_y:  # R^2 of y*: 1 - std.all of its residual
            assert r.est == pytest.approx(1 - np.pi ** 2 / 3 / var_y[r.lhs], abs=1e-10)
        elif r.op == "r2":  # a factor's, on the covariates (residual variance 1)
            assert r.est == pytest.approx(1 - 1 / var_f[r.lhs], abs=1e-10)
    assert (std["op"] == "r2").sum() == len(var_y) + (2 if case in COVARIATE else 0)
    assert not pe.loc[pe["op"].isin(["=~", "|", "~*~"]), "std.all"].isna().any()


def test_iwave_agrees_with_mml_on_a_latent_regression():
    mml = _fitted("graded_1f_cov").parameter_estimates()
    iwave = _fit("graded_1f_cov", estimator="IWAVE", seed=1).parameter_estimates()
    m = mml.merge(iwave, on=["lhs", "op", "rhs"], suffixes=("", "_iw"))
    m = m[m["op"].isin(["=~", "~", "|"])]
    # IWAVE is approximate (and stochastic): loosely, within a standard error of exact ML
    assert len(m) == 26 and ((m["est"] - m["est_iw"]).abs() < m["se"]).all()


def test_three_factor_default_rule_is_near_exact_ml():
    """The 3-factor default (41 points per factor, the grid pruned at 1e-5:
    bench/results/mml_quadrature.md) against the reference script's exact ML
    (41^3 and 51^3 points); the former default, 15 points, was 3.9e-3 off here."""
    fit = _fit("graded_3f")
    assert fit.info["quad_points"] == 41 and fit.info["quad_nodes"] == 3839
    ref = pd.read_csv(IRT / "graded_3f_exact.csv")
    m = ref.merge(fit.parameter_estimates(), on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
    assert len(m) == len(ref) == 51
    assert (ref["est"] - ref["est_more_points"]).abs().max() < 1e-4
    assert (m["est"] - m["est_ref"]).abs().max() < 1e-3
    assert (m["se"] - m["se_ref"]).abs().max() < 1e-3
    assert fit.fit_measures()["logl"] == pytest.approx(CASES["graded_3f"]["logl"], abs=1e-2)


def test_adaptive_quadrature_is_exact_with_fewer_nodes():
    fit = _fit("graded_2f", quadrature="adaptive")
    assert fit.info["quad_points"] == 11 and fit.info["quad_nodes"] <= 121
    ref = pd.read_csv(IRT / "graded_2f_exact.csv")
    m = ref.merge(fit.parameter_estimates(), on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
    assert len(m) == len(ref)
    assert (m["est"] - m["est_ref"]).abs().max() < 1e-4
    assert (m["se"] - m["se_ref"]).abs().max() < 1e-4
    assert fit.fit_measures()["logl"] == pytest.approx(CASES["graded_2f"]["logl"], abs=1e-3)
    assert "11 (adaptive)" in fit.summary()
    data = pd.read_csv(IRT / "graded_2f.csv")
    assert np.allclose(fit.predict(data.head(5)), fit.scores().head(5), atol=1e-4)
