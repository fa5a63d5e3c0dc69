"""Post-estimation against lavaan 0.6.14 (tests/reference/make_post_reference.R):
modification indices, residuals, R-square and intervals at another level,
likelihood-ratio, score and Wald tests.

Tolerances: our optimum and lavaan's agree to ~1e-5 of a standard error, so
statistics that are smooth in the estimates agree to ~1e-5 relative; raw
residuals are ~1e-2 of a variance, so their ratios to standard errors agree
to ~1e-3 relative.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

import torchfit
from conftest import REFERENCE, fit_case, load_cases

POST = REFERENCE / "post"
CASES = {c["name"]: c for c in load_cases()}
NAMES = ["hs_marker", "hs_orthogonal", "hs_configural", "hs_metric", "poldem", "hs_mimic",
         "hs_mlr", "hs_means_mlr", "hs_mlm", "poldem_mlr", "hs_mimic_mlr", "hs_fiml",
         "hs_fiml_groups", "growth_covariates", "hs_linear_constraint", "hs_active_bound",
         "constraints_tutorial"]
#: an index below this is round-off in lavaan (freed covariates of fixed.x)
NOISE = 1e-8


def _ref(name):
    return pd.read_csv(POST / name, keep_default_na=False, na_values=["NA"])


@pytest.fixture(scope="module")
def fits():
    cache = {}

    def get(name, estimator=None):
        key = (name, estimator)
        if key not in cache:
            case = dict(CASES[name], **({"estimator": estimator} if estimator else {}))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cache[key] = fit_case(case)
        return cache[key]
    return get


@pytest.mark.parametrize("name", NAMES)
def test_modification_indices(fits, name):
    ref = _ref(f"{name}_modindices.csv")
    ours = fits(name).modindices()
    keys = ["lhs", "op", "rhs"] + (["group"] if "group" in ref else [])
    assert list(ours.columns) == list(ref.columns)
    m = ref.merge(ours, on=keys, how="outer", suffixes=("_ref", ""), indicator=True)
    real = (m["mi_ref"].fillna(0) > NOISE) | (m["mi"].fillna(0) > NOISE)
    assert (m.loc[real, "_merge"] == "both").all(), m.loc[real & (m["_merge"] != "both"), keys]
    m = m[real]
    assert len(m) >= 3
    assert np.allclose(m["mi"], m["mi_ref"], rtol=1e-3, atol=1e-3)
    for col in ("epc", "sepc.lv", "sepc.all", "sepc.nox"):
        assert np.allclose(m[col], m[f"{col}_ref"], rtol=1e-3, atol=2e-4, equal_nan=True), col


def test_modindices_sort_and_minimum(fits):
    mi = fits("hs_marker").modindices(sort=True, minimum_value=10)
    assert (np.diff(mi["mi"]) <= 0).all() and (mi["mi"] > 10).all()
    ref = _ref("hs_marker_modindices.csv")
    assert len(mi) == (ref["mi"] > 10).sum()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["raw", "cor", "standardized"])
def test_residuals(fits, name, kind):
    fit = fits(name)
    ref = _ref(f"{name}_residuals_{kind}.csv")
    ours = fit.residuals(kind)
    if len(fit.groups) == 1:
        ours = {"": ours}
    got = np.array([ours[str(r.group)]["cov"].loc[r.row, r.col] if r.what == "cov"
                    else ours[str(r.group)]["mean"].loc[r.row] for r in ref.itertuples()])
    tol = 2e-3 if kind == "standardized" else 2e-5
    assert np.allclose(got, ref["value"], rtol=tol, atol=tol, equal_nan=True)


def test_residual_type_refused(fits):
    with pytest.raises(torchfit.TorchfitError, match="unknown residual type 'normal'"):
        fits("hs_marker").residuals("normal")
    case = dict(CASES["hs_fiml"], information="expected")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_case(case)
    with pytest.raises(torchfit.TorchfitError, match="need its default information='observed'"):
        fit.residuals("standardized")


@pytest.mark.parametrize("name", NAMES)
def test_rsquare_and_level(fits, name):
    ref = _ref(f"{name}_estimates_r2.csv")
    ours = fits(name).parameter_estimates(standardized=True, rsquare=True, level=0.9)
    ours = ours[~ours["op"].isin(["==", "<", ">"])].reset_index(drop=True)
    assert list(ours.columns) == list(ref.columns)
    assert (ours[["lhs", "op", "rhs"]].to_numpy() == ref[["lhs", "op", "rhs"]].to_numpy()).all()
    scale = np.where(ref["se"] > 0, ref["se"], 1.0)
    for col in ("est", "ci.lower", "ci.upper", "std.lv", "std.all", "std.nox"):
        err = np.abs(ours[col] - ref[col]) / scale
        assert np.nanmax(err) < 1e-3, col
        assert (np.isnan(ours[col]) == np.isnan(ref[col])).all(), col
    assert (ours["op"] == "r2").sum() > 0


def test_level_refused(fits):
    with pytest.raises(torchfit.TorchfitError, match="level must lie between 0 and 1"):
        fits("hs_marker").parameter_estimates(level=90)


@pytest.mark.parametrize("estimator", ["ML", "MLM", "MLR"])
def test_lrt_groups(fits, estimator):
    names = ["hs_configural", "hs_metric", "hs_scalar"]
    ref = _ref(f"lrt_groups_{estimator.lower()}.csv").set_index("model")
    # in another order: lrt() sorts by degrees of freedom, as lavaan
    ours = torchfit.lrt(*(fits(n, estimator) for n in names[::-1]), names=names[::-1])
    assert list(ours.columns) == list(ref.columns) and list(ours.index) == list(ref.index)
    assert np.allclose(ours, ref, rtol=1e-4, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("estimator,name", [("ML", "hs_marker"), ("MLM", "hs_mlm"),
                                            ("MLR", "hs_mlr")])
def test_lrt_single_group(fits, estimator, name):
    ref = _ref(f"lrt_orthogonal_{estimator.lower()}.csv").set_index("model")
    ours = torchfit.lrt(fits(name), fits("hs_orthogonal", estimator),
                        names=[name, "hs_orthogonal"])
    assert list(ours.columns) == list(ref.columns) and list(ours.index) == list(ref.index)
    assert np.allclose(ours, ref, rtol=1e-4, atol=1e-6, equal_nan=True)


def test_lrt_refuses_mixed_tests(fits):
    with pytest.raises(torchfit.TorchfitError, match="some models .but not all. have scaled"):
        torchfit.lrt(fits("hs_marker"), fits("hs_orthogonal", "MLR"))
    with pytest.raises(torchfit.TorchfitError, match="two or more nested models"):
        torchfit.lrt(fits("hs_marker"))
    with pytest.raises(torchfit.TorchfitError, match="compares fits .* not str"):
        torchfit.lrt(fits("hs_marker"), "hs_orthogonal")
    with pytest.raises(torchfit.TorchfitError, match="names= has 1 entries for 2 models"):
        torchfit.lrt(fits("hs_marker"), fits("hs_orthogonal"), names=["a"])


def test_post_estimation_refused_for_iwave(hs):
    fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs, std_lv=True, estimator="IWAVE", seed=1,
                       max_epochs=5)
    for call in (fit.modindices, fit.residuals, lambda: fit.score_test(add="x1 ~~ x2"),
                 lambda: torchfit.lrt(fit, fit)):
        with pytest.raises(torchfit.TorchfitError, match="maximum likelihood fit"):
            call()


def test_score_test_added_parameters(fits):
    out = fits("hs_marker").score_test(add="visual =~ x9\nx7 ~~ x8")
    ref_test, ref_uni = _ref("score_add_test.csv"), _ref("score_add_uni.csv")
    assert np.allclose(out["test"][["X2", "df", "p.value"]], ref_test[["X2", "df", "p.value"]],
                       rtol=1e-5)
    assert out["uni"]["lhs"].tolist() == ref_uni["lhs"].tolist()
    assert np.allclose(out["uni"][["X2", "p.value", "epc"]], ref_uni[["X2", "p.value", "epc"]],
                       rtol=1e-5)


def test_score_test_of_a_robust_fit_warns(fits):
    with pytest.warns(UserWarning, match="the ordinary .not robust. score test"):
        out = fits("hs_mlr").score_test(add="visual =~ x9")
    assert out["test"]["X2"].iloc[0] == pytest.approx(
        fits("hs_marker").score_test(add="visual =~ x9")["test"]["X2"].iloc[0])


def test_score_test_released_constraints(fits):
    out = fits("hs_metric").score_test()
    ref_test, ref_uni = _ref("score_release_test.csv"), _ref("score_release_uni.csv")
    assert np.allclose(out["test"][["X2", "df", "p.value"]], ref_test[["X2", "df", "p.value"]],
                       rtol=1e-5)
    assert out["uni"][["lhs", "rhs"]].values.tolist() == ref_uni[["lhs", "rhs"]].values.tolist()
    assert np.allclose(out["uni"][["X2", "p.value"]], ref_uni[["X2", "p.value"]], rtol=1e-4)
    with pytest.raises(torchfit.TorchfitError, match="no equality constraints to release"):
        fits("hs_marker").score_test()
    with pytest.raises(torchfit.TorchfitError, match="do not handle inequality constraints"):
        fits("hs_active_bound").score_test(add="x2 ~~ x3")


@pytest.mark.parametrize("estimator", ["ML", "MLR"])
def test_wald(estimator):
    ref = _ref("wald.csv")
    ref = ref[ref["estimator"] == estimator]
    fit = torchfit.cfa((REFERENCE / "models" / "hs_labelled.lav").read_text(),
                       torchfit.datasets.holzinger_swineford(), estimator=estimator)
    for row in ref.itertuples():
        out = fit.wald_test(row.constraints)
        assert out["df"] == row.df
        assert out["stat"] == pytest.approx(row.stat, rel=1e-5)
        assert out["p.value"] == pytest.approx(getattr(row, "_5"), rel=1e-4)


def test_wald_refuses_bad_constraints():
    fit = torchfit.cfa((REFERENCE / "models" / "hs_labelled.lav").read_text(),
                       torchfit.datasets.holzinger_swineford())
    with pytest.raises(torchfit.ModelError, match="'v2 < v3' is not an equality"):
        fit.wald_test("v2 < v3")
    with pytest.raises(torchfit.ModelError, match="uses 'v4', which is not the label"):
        fit.wald_test("v2 == v4")
    with pytest.raises(torchfit.ModelError, match="constraints are empty"):
        fit.wald_test("")


def test_summary_rsquare_is_lavaans_section():
    """summary(rsquare=True): lavaan 0.6.14's "R-Square:" lines for HS (as its
    summary(fit, rsquare = TRUE) prints them), one section per group."""
    hs = torchfit.datasets.holzinger_swineford()
    model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    lines = str(torchfit.cfa(model, hs).summary(rsquare=True)).splitlines()
    at = lines.index("R-Square:")
    assert lines[at + 1:at + 4] == ["                   Estimate",
                                    "    x1                0.596",
                                    "    x2                0.179"]
    groups = str(torchfit.cfa(model, hs, group="school").summary(rsquare=True)).splitlines()
    assert groups.count("R-Square:") == 2 and "    x1                0.458" in groups
