"""The bootstrap (issue 12 item 2): the batched replicates are the fits a
single ML fit gives on the same resample, and the standard errors, intervals
and Bollen-Stine test agree with lavaan's (tests/reference/
make_bootstrap_reference.R, other draws) within Monte-Carlo error."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import torchfit
from torchfit.estimate.batch import fit_ml_batch
from torchfit.estimate.ml import GroupMoments, fit_ml
from torchfit.inference.bootstrap import (
    bollen_stine_data,
    norm_inter,
    replicate_moments,
    resample_counts,
)

REFERENCE = Path(__file__).parents[1] / "reference" / "lavaan"
HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
MEDIATION = ("ind60 =~ x1 + x2 + x3; dem60 =~ y1 + y2 + y3 + y4; dem65 =~ y5 + y6 + y7 + y8; "
             "dem60 ~ a*ind60; dem65 ~ b*dem60 + c*ind60; ab := a*b")
KEYS = ["lhs", "op", "rhs"]


@pytest.fixture(scope="module")
def hs_boot():
    return torchfit.cfa(HS_MODEL, torchfit.datasets.holzinger_swineford(), se="bootstrap",
                        bootstrap=1000, seed=7)


def _compare(fit, name, boot_ci_type="perc"):
    ours = fit.parameter_estimates(boot_ci_type=boot_ci_type)
    ref = pd.read_csv(REFERENCE / f"bootstrap_{name}.csv")
    both = ours.merge(ref, on=KEYS, suffixes=("", "_ref"))
    return both[both["se_ref"] > 0]


def test_hs_standard_errors_within_monte_carlo_error(hs_boot):
    both = _compare(hs_boot, "hs")
    assert len(both) == 21
    rel = (both["se"] - both["se_ref"]).abs() / both["se_ref"]
    # two independent bootstraps of 1000 draws: the SEs' relative sd is
    # about 1/sqrt(2 * 1000) each, 3% for the difference (more in heavy tails)
    assert rel.median() < 0.05 and rel.max() < 0.15, rel.describe()
    assert hs_boot.info["se"] == "bootstrap" and hs_boot.info["bootstrap_successful"] == 1000


def test_hs_intervals_within_monte_carlo_error(hs_boot):
    # a 2.5% quantile of 1000 draws has a Monte-Carlo sd of about 0.085 SE,
    # 0.12 SE for the difference of two bootstraps; bca.simple adds the error
    # of its bias correction
    for kind, low, high, median in (("perc", "ci.lower_ref", "ci.upper_ref", 0.12),
                                    ("bca.simple", "bca.lower", "bca.upper", 0.15)):
        both = _compare(hs_boot, "hs", kind)
        err = pd.concat([(both["ci.lower"] - both[low]).abs(),
                         (both["ci.upper"] - both[high]).abs()]) / pd.concat([both["se_ref"]] * 2)
        assert err.median() < median and err.max() < 0.6, (kind, err.describe())


def test_the_indirect_effect_of_a_mediation_model():
    fit = torchfit.sem(MEDIATION, torchfit.datasets.political_democracy(), se="bootstrap",
                       bootstrap=1000, seed=3)
    both = _compare(fit, "mediation")
    ab = both[both["op"] == ":="].iloc[0]
    assert abs(ab["se"] - ab["se_ref"]) / ab["se_ref"] < 0.15
    assert abs(ab["ci.lower"] - ab["ci.lower_ref"]) < 0.5 * ab["se_ref"]
    assert abs(ab["ci.upper"] - ab["ci.upper_ref"]) < 0.5 * ab["se_ref"]
    rel = (both["se"] - both["se_ref"]).abs() / both["se_ref"]
    assert rel.median() < 0.06 and rel.max() < 0.2, rel.describe()
    # the defined parameter's draws are a*b of each replicate
    coef = pd.DataFrame(fit.boot.coef, columns=fit.coef_names())
    assert np.allclose(fit.boot.defined[:, 0], coef["a"] * coef["b"])


def test_bollen_stine_within_monte_carlo_error(hs):
    fit = torchfit.cfa(HS_MODEL, hs, test="bootstrap", bootstrap=1000, seed=11)
    ref = pd.read_csv(REFERENCE / "bootstrap_bollen_stine.csv").iloc[0]
    assert fit.info["se"] == "standard" and fit.info["test"] == "bollen.stine"
    chisq = fit.boot.chisq[np.isfinite(fit.boot.chisq)]
    # under the model the statistics are about chi-square(24): mean 24
    assert abs(chisq.mean() - ref["boot_mean"]) < 4 * ref["boot_sd"] * np.sqrt(2 / 1000)
    p = ref["pvalue"]
    assert abs(fit.info["bollen_stine_pvalue"] - p) < 4 * np.sqrt(2 * max(p, 0.002) / 1000)


def test_batched_fits_are_single_fits(hs):
    """Every replicate of the batch is the optimum a single fit reaches."""
    fit = torchfit.cfa(HS_MODEL, hs)
    names = fit.model.ov_names
    X = hs[names].to_numpy()
    cov, mean = replicate_moments(X, resample_counts(len(X), 20, np.random.default_rng(5)))
    x0 = fit.coef().to_numpy()
    batch = fit_ml_batch([GroupMoments(fit.model, cov, None, len(X))], x0)
    assert batch.converged.all()
    for r in range(0, 20, 4):
        single = fit_ml([GroupMoments(fit.model, cov[r], None, len(X))], x0)
        se = np.sqrt(np.diag(np.linalg.inv(single.information)) / len(X))
        assert np.abs(batch.x[r] - single.x).max() / se.min() < 1e-3
        assert batch.fmin[r] == pytest.approx(single.fmin, rel=1e-8)


def test_replicate_moments_are_the_resamples_moments():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    counts = resample_counts(50, 4, rng)
    cov, mean = replicate_moments(X, counts)
    for r in range(4):
        rows = np.repeat(np.arange(50), counts[r].astype(int))
        assert np.allclose(cov[r], np.cov(X[rows].T, bias=True))
        assert np.allclose(mean[r], X[rows].mean(axis=0))


def test_norm_inter_is_the_boot_packages():
    # boot:::norm.inter(1:19, c(0.025, 0.975)) in R: 1 (k = 0) and 19 (k = 19 = R)
    assert norm_inter(np.arange(1.0, 20.0), np.array([0.025, 0.975])).tolist() == [1.0, 19.0]
    # (R + 1) alpha = 10.5: between the 10th and 11th order statistics
    t = np.arange(1.0, 21.0)
    mid = norm_inter(t, np.array([0.5]))[0]
    assert 10.0 < mid < 11.0 and mid == pytest.approx(10.5, abs=0.01)


def test_seed_reproduces_and_vcov_is_the_draws(hs, hs_boot):
    again = torchfit.cfa(HS_MODEL, hs, se="bootstrap", bootstrap=1000, seed=7)
    assert np.array_equal(again.boot.coef, hs_boot.boot.coef)
    draws = hs_boot.boot.coef
    assert np.allclose(hs_boot.vcov().to_numpy(), np.cov(draws.T, bias=True))
    free = hs_boot.partable["free"] > 0
    assert np.allclose(hs_boot.partable.loc[free, "se"], draws.std(axis=0))


def test_bollen_stine_statistics_are_refits_with_the_replicates_covariates(hs):
    """With fixed covariates (fixed.x) each replicate's chi-square is that of a fit
    of the transformed, resampled rows, whose covariates' moments are the
    replicate's own (as lavaan refits them)."""
    model = "visual =~ x1 + x2 + x3; visual ~ ageyr + grade"
    data = hs.dropna(subset=["grade"])
    fit = torchfit.sem(model, data, test="bootstrap", bootstrap=3, seed=5)
    names = fit.model.ov_names
    view = fit.groups[0]
    X = bollen_stine_data(data[names].to_numpy(), view.implied["cov"], None)
    counts = resample_counts(len(X), 3, np.random.default_rng(5))
    for r in range(3):
        rows = np.repeat(np.arange(len(X)), counts[r].astype(int))
        refit = torchfit.sem(model, pd.DataFrame(X[rows], columns=names))
        assert fit.boot.chisq[r] == pytest.approx(refit.fit_measures()["chisq"], rel=1e-6)


def test_the_summary_reports_the_bootstrap_as_lavaan(hs):
    """lavaan 0.6.14's summary() lines for se = "bootstrap" and test = "bootstrap"
    (its layout, printed by lavaan for HS with bootstrap = 20)."""
    se = torchfit.cfa(HS_MODEL, hs, se="bootstrap", bootstrap=20, seed=1)
    lines = str(se.summary()).splitlines()
    for want in ("  Standard errors                            Bootstrap",
                 "  Number of requested bootstrap draws               20",
                 "  Number of successful bootstrap draws              20"):
        assert want in lines
    test = torchfit.cfa(HS_MODEL, hs, test="bootstrap", bootstrap=20, seed=1)
    lines = str(test.summary()).splitlines()
    at = lines.index("  P-value (Bollen-Stine bootstrap)               0.000")
    assert lines[at - 2:at] == ["  Test statistic                                85.306",
                                "  Degrees of freedom                                24"]
    assert "<table" in test._repr_html_()


def test_failed_replicates_are_a_warning(hs):
    """60 rows of a six-indicator factor: some resamples do not converge; lavaan
    warns and so does torchfit, with the count (the draws are seeded; lavaan
    fails about 16% of this case's replicates, test_bootstrap_hard.py)."""
    with pytest.warns(torchfit.errors.ConvergenceWarning,
                      match=r"7 of 20 bootstrap runs failed .* use the 13 others"):
        fit = torchfit.cfa("f =~ x1 + x2 + x3 + x4 + x5 + x6", hs.iloc[:60], se="bootstrap",
                           bootstrap=20, seed=2)
    assert fit.info["bootstrap_successful"] == 13
    assert "Number of successful bootstrap draws              13" in str(fit.summary())
