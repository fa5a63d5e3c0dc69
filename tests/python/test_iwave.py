"""The IWAVE estimator against lavaan's ML (HS, normal items) and against
simulation truths (graded response model), plus its results and reports."""
import time

import numpy as np
import pandas as pd
import pytest

import torchfit
from conftest import REFERENCE
from torchfit.datasets import simulate_grm

HS_MODEL = (REFERENCE / "models" / "hs_cfa.lav").read_text()


@pytest.fixture(scope="module")
def hs_fit():
    hs = torchfit.datasets.holzinger_swineford()
    start = time.perf_counter()
    fit = torchfit.cfa(HS_MODEL, hs, std_lv=True, estimator="IWAVE", seed=1)
    fit.test_seconds = time.perf_counter() - start
    return fit


def _merged(fit, name):
    ref = pd.read_csv(REFERENCE / "lavaan" / name)
    return ref.merge(fit.parameter_estimates(), on=["lhs", "op", "rhs"], suffixes=("_ref", ""))


def test_hs_estimates_match_lavaan_ml(hs_fit):
    m = _merged(hs_fit, "hs_stdlv_estimates.csv")
    assert len(m) == 24
    diff = (m["est"] - m["est_ref"]).abs()
    loadings = m["op"] == "=~"
    factor_cov = (m["op"] == "~~") & (m["lhs"] != m["rhs"])
    resid = (m["op"] == "~~") & (m["lhs"] == m["rhs"]) & m["lhs"].str.startswith("x")
    assert diff[loadings].max() < 0.03
    assert diff[factor_cov].max() < 0.03
    assert diff[resid].max() < 0.05
    assert hs_fit.converged


def test_hs_intercepts_are_the_sample_means(hs_fit):
    hs = torchfit.datasets.holzinger_swineford()
    pe = hs_fit.parameter_estimates()
    nu = pe[pe["op"] == "~1"].set_index("lhs")["est"]
    means = hs[[f"x{i}" for i in range(1, 10)]].mean()
    assert np.abs(nu[means.index] - means).max() < 0.05


def test_hs_loglik_within_one_of_lavaan(hs_fit):
    ref = pd.read_csv(REFERENCE / "lavaan" / "hs_stdlv_fitmeasures.csv").set_index("name")["value"]
    fm = hs_fit.fit_measures()
    assert abs(fm["logl"] - ref["logl"]) < 1.0
    # lavaan counts the 9 intercepts it leaves out of a model without a mean structure
    assert fm["npar"] == ref["npar"] + 9
    assert np.isclose(fm["aic"], -2 * fm["logl"] + 2 * fm["npar"])
    assert np.isclose(fm["bic"], -2 * fm["logl"] + fm["npar"] * np.log(301))


def test_hs_opg_standard_errors_match_lavaan_first_order(hs_fit):
    m = _merged(hs_fit, "iwave_hs_firstorder_estimates.csv")
    free = m["se_ref"] > 0
    ratio = m.loc[free, "se"] / m.loc[free, "se_ref"]
    assert ratio.between(0.8, 1.25).all(), m.loc[free, ["lhs", "op", "rhs", "se", "se_ref"]]
    ci = m.loc[free]
    assert np.allclose(ci["ci.upper"] - ci["ci.lower"], 2 * 1.959964 * ci["se"])


def test_hs_summary_and_accessors(hs_fit):
    text = hs_fit.summary(fit_measures=True)
    for piece in ("Estimator", "IWAVE", "Importance-weighted samples", "Batch size", "Epochs",
                  "Iterations", "Final loss", "Converged", "Latent Variables:",
                  "Intercepts:", "Variances:", "Loglikelihood user model (H0)",
                  "Outer product of gradients"):
        assert piece in text, piece
    assert len(hs_fit.loss_history) == hs_fit.info["iterations"] // 100
    assert hs_fit.coef().shape == (hs_fit.info["npar"],)
    v = hs_fit.vcov().to_numpy()
    assert np.allclose(v, v.T)


def test_hs_scores_track_lavaan_factor_scores(hs_fit):
    ref = pd.read_csv(REFERENCE / "lavaan" / "hs_stdlv_scores.csv")
    got = hs_fit.scores()
    assert list(got.columns) == list(ref.columns)
    for c in ref.columns:  # posterior means = regression scores for a normal model
        assert np.corrcoef(got[c], ref[c])[0, 1] > 0.99
        assert np.abs(got[c] - ref[c]).mean() < 0.05


def test_log_likelihood_of_new_data_adds_up(hs_fit):
    hs = torchfit.datasets.holzinger_swineford()
    first, rest = hs.iloc[:100], hs.iloc[100:]
    total = hs_fit.log_likelihood(first) + hs_fit.log_likelihood(rest)
    assert abs(total - hs_fit.log_likelihood()) < 1.0
    assert hs_fit.predict(first).shape == (100, 3)


def test_grm_recovers_loadings():
    data, truth = simulate_grm(20000, seed=1)
    fit = torchfit.cfa(truth["syntax"], data, std_lv=True, estimator="IWAVE",
                       ordered=list(data.columns), se="none", seed=0)
    pt = fit.partable
    lam = pt[pt["op"] == "=~"]
    est = np.array([lam.loc[lam["rhs"] == f"y{j + 1}", "est"].iloc[0] for j in range(50)])
    rmse = np.sqrt(np.mean((est - truth["loadings"].sum(1)) ** 2))
    assert rmse < 0.1, rmse
    thr = pt[pt["op"] == "|"]
    assert len(thr) == 50 * 4
    want = [truth["thresholds"][int(l[1:]) - 1, int(r[1:]) - 1]
            for l, r in zip(thr["lhs"], thr["rhs"])]
    assert np.sqrt(np.mean((thr["est"].to_numpy() - want) ** 2)) < 0.1
    assert (np.diff(truth["thresholds"], axis=1) > 0).all()
    est_thr = thr["est"].to_numpy().reshape(50, 4)
    assert (np.diff(est_thr, axis=1) > 0).all()


def test_the_bridge_defers_a_costly_log_likelihood(monkeypatch, hs):
    """R's lavaan object is built eagerly: past LOGL_EAGER_RATIO trainings (and
    LOGL_SMALL_DRAWS draws) the bridge leaves the log-likelihood to log_likelihood(),
    which gives the value an eager fit gives; logl_samples= asked for is honoured."""
    from torchfit import bridge
    from torchfit.model.partable import parse

    monkeypatch.setattr(bridge, "LOGL_SMALL_DRAWS", 0)
    pt = parse("visual =~ x1 + x2 + x3", meanstructure=True)
    table = {c: pt[c].tolist() for c in pt.columns}
    cols = ["x1", "x2", "x3"]
    opts = {"estimator": "IWAVE", "max_iterations": 20, "se": "none", "seed": 3,
            "quiet": True}
    out = bridge.fit_from_r(table, hs[cols].to_numpy(), cols, opts)
    assert out["fit"].log_likelihood_cost() > bridge.LOGL_EAGER_RATIO
    assert "not computed yet" in out["notes"][0]
    assert np.isnan(out["fit_measures"]["logl"]) and np.isnan(out["fit_measures"]["bic"])
    assert "NA" in " ".join(out["summary"]["fit"])
    later = bridge.log_likelihood(out["fit"])
    eager = bridge.fit_from_r(table, hs[cols].to_numpy(), cols,
                              {**opts, "logl_samples": 1000})
    assert eager["notes"] == []
    assert later["fit_measures"]["logl"] == pytest.approx(eager["fit_measures"]["logl"],
                                                          rel=1e-10)
    assert f"{later['fit_measures']['logl']:.3f}" in " ".join(later["fit"])


def test_badly_scaled_normal_items_train_and_keep_their_standard_errors(hs):
    """Items in thousands (means near 5,000): exp() of an intercept overflowed float32
    and NaN'd the training, and the unscaled OPG inverse refused the SEs; the fit now
    matches the unscaled one's loadings and z-values."""
    model = "speed =~ x7 + x8 + x9"
    big = hs.copy()
    big[["x7", "x8", "x9"]] *= 1000
    fits = [torchfit.cfa(model, d, estimator="IWAVE", seed=1, quiet=True, max_iterations=1500)
            for d in (hs, big)]
    small, large = (f.parameter_estimates().set_index(["lhs", "op", "rhs"]) for f in fits)
    free = large["se"] > 0
    assert free.sum() == 9 and np.isfinite(large.loc[free, "se"]).all()
    loadings = [("speed", "=~", "x8"), ("speed", "=~", "x9")]
    assert np.allclose(large.loc[loadings, "est"], small.loc[loadings, "est"], atol=0.05)
    assert np.allclose(large.loc[loadings, "z"], small.loc[loadings, "z"], rtol=0.1)
    variance = ("speed", "~~", "speed")
    assert large.loc[variance, "z"] == pytest.approx(small.loc[variance, "z"], rel=0.1)
