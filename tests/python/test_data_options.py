"""lavaan's data options against lavaan 0.6.14 (tests/reference/make_data_options_reference.R):
fits from sample moments (sample_cov, sample_mean, sample_nobs), std_ov=True, and FIML with
fixed covariates missing (missing="ml", which drops their rows, and "ml.x", which keeps them).

Tolerances as test_lavaan_reference: estimates within 1e-3 of a standard error, standard
errors within 0.1 %, fit measures within 0.01 %.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

import torchfit
from conftest import DATASETS, MIMIC, REFERENCE, assert_estimates_match, assert_measures_match
from torchfit.errors import DataError, ModelError

OUT = REFERENCE / "data_options"
XS = [f"x{i}" for i in range(1, 10)]
HS_CFA = (REFERENCE / "models" / "hs_cfa.lav").read_text()


_hs = DATASETS["HolzingerSwineford1939"]
_hs_mcar_x = DATASETS["hs_mcar_x"]


def _by_school():
    hs = _hs()
    return {s: hs[hs["school"] == s] for s in ("Pasteur", "Grant-White")}


def _cov_mimic():
    hs = _hs()[XS[:6] + ["ageyr", "grade"]].dropna()
    return torchfit.sem(MIMIC, sample_cov=hs.cov(), sample_nobs=len(hs))


#: each reference case, fitted as make_data_options_reference.R fits it
CASES = {
    "cov_hs": lambda: torchfit.cfa(HS_CFA, sample_cov=_hs()[XS].cov(), sample_nobs=301),
    "cov_hs_means": lambda: torchfit.cfa(HS_CFA, sample_cov=_hs()[XS].cov(),
                                         sample_mean=_hs()[XS].mean(), sample_nobs=301),
    "cov_hs_groups": lambda: torchfit.cfa(
        HS_CFA, sample_cov={k: d[XS].cov() for k, d in _by_school().items()},
        sample_mean={k: d[XS].mean() for k, d in _by_school().items()},
        sample_nobs={k: len(d) for k, d in _by_school().items()}, group_equal="loadings"),
    "cov_mimic": _cov_mimic,
    "cov_hs_observed": lambda: torchfit.cfa(HS_CFA, sample_cov=_hs()[XS].cov(), sample_nobs=301,
                                            information="observed"),
    "std_ov_hs": lambda: torchfit.cfa(HS_CFA, _hs(), std_ov=True),
    "std_ov_mlr": lambda: torchfit.cfa(HS_CFA, _hs(), std_ov=True, estimator="MLR"),
    "std_ov_mimic": lambda: torchfit.sem(MIMIC, _hs(), std_ov=True, missing="listwise"),
    "mimic_listwise": lambda: torchfit.sem(MIMIC, _hs(), missing="listwise"),
    "std_ov_groups": lambda: torchfit.cfa(HS_CFA, _hs(), std_ov=True, group="school"),
    "std_ov_fiml": lambda: torchfit.cfa(HS_CFA, pd.read_csv(REFERENCE / "data" / "hs_mcar.csv"),
                                        std_ov=True, missing="ml"),
    "fiml_fixed_x": lambda: torchfit.sem(MIMIC, _hs_mcar_x(), missing="ml"),
    "fiml_ml_x": lambda: torchfit.sem(MIMIC, _hs_mcar_x(), missing="ml.x"),
}


@pytest.fixture(scope="module", params=list(CASES))
def pair(request):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return request.param, CASES[request.param]()


def _merged(name, fit):
    ref = pd.read_csv(OUT / f"{name}_estimates.csv", keep_default_na=False, na_values=["NA"])
    ours = fit.parameter_estimates(standardized=True)
    ours = ours[ours["op"] != "=="]
    if "group" not in ours:
        ours["group"] = 1
    m = ref.merge(ours, on=["lhs", "op", "rhs", "group"], how="left", suffixes=("_ref", ""),
                  indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["lhs", "op", "rhs"]]
    assert len(ours) == len(ref)
    return m


def test_estimates_and_standard_errors(pair):
    name, fit = pair
    m = _merged(name, fit)
    assert_estimates_match(m)
    free = m["se_ref"] > 0
    rel = np.abs(m.loc[free, "se"] - m.loc[free, "se_ref"]) / m.loc[free, "se_ref"]
    assert rel.max() < 1e-3, m.loc[rel.idxmax(), ["lhs", "op", "rhs", "se", "se_ref"]]
    assert (m.loc[m["se_ref"] == 0, "se"] == 0).all()
    for col in ("std.lv", "std.all"):
        assert np.allclose(m[col], m[f"{col}_ref"], atol=1e-5, rtol=1e-4, equal_nan=True), col


#: what lavaan's baseline model gives: with std.ov and fixed covariates it holds the
#: covariates' raw variances with their standardized covariance (not a covariance
#: matrix of the data); ours is the baseline of the unstandardized data, which the
#: scale does not change (test_std_ov_baseline_is_the_unstandardized_one)
BASELINE = {"baseline.chisq", "baseline.pvalue", "cfi", "tli", "nnfi", "rfi", "nfi", "pnfi",
            "ifi", "rni"}
#: lavaan's log-likelihoods of the same fit take the covariates' marginal at their
#: standardized covariance too (its logl is +23455); ours are the unstandardized fit's
#: moved by the Jacobian of the standardization
#: (test_std_ov_loglikelihood_is_the_unstandardized_ones_rescaled)
LOGL = {"logl", "unrestricted.logl", "aic", "bic", "bic2"}


def test_fit_measures(pair):
    name, fit = pair
    ref = pd.read_csv(OUT / f"{name}_fitmeasures.csv").set_index("name")["value"]
    ours = fit.fit_measures()
    common = [k for k in ours if k in ref.index
              and not (name == "std_ov_mimic" and k in BASELINE | LOGL)]
    assert {"chisq", "df", "rmsea", "srmr", "gfi"} <= set(common)
    assert set(ours) <= set(ref.index)
    assert_measures_match(ours, ref, common)


def test_rows_used(pair):
    name, fit = pair
    ref = pd.read_csv(OUT / f"{name}_nobs.csv")
    assert fit.info["nobs"] == ref["nobs"].sum()
    assert fit.info["nobs_total"] == ref["norig"].sum()


def test_std_ov_baseline_is_the_unstandardized_one():
    ref = pd.read_csv(OUT / "mimic_listwise_fitmeasures.csv").set_index("name")["value"]
    ours = CASES["std_ov_mimic"]().fit_measures()
    for key in sorted(BASELINE):
        assert ours[key] == pytest.approx(ref[key], rel=1e-4, abs=1e-8), key


def test_std_ov_loglikelihood_is_the_unstandardized_ones_rescaled():
    ref = pd.read_csv(OUT / "mimic_listwise_fitmeasures.csv").set_index("name")["value"]
    ours = CASES["std_ov_mimic"]().fit_measures()
    rows = _hs()[XS[:6] + ["ageyr", "grade"]].dropna()
    # each standardized variable's density is sd times its raw one, at every row
    jacobian = len(rows) * np.log(rows[XS[:6]].std(ddof=1)).sum()
    for key in ("logl", "unrestricted.logl"):
        assert ours[key] == pytest.approx(ref[key] + jacobian, rel=1e-6), key
    assert ours["bic"] - ref["bic"] == pytest.approx(-2 * jacobian, rel=1e-6)


def test_group_labels_of_a_list_and_a_dict():
    S = _hs()[XS].cov()
    listed = torchfit.cfa(HS_CFA, sample_cov=[S, S], sample_nobs=[150, 151])
    assert listed.info["group_labels"] == ["Group 1", "Group 2"]
    keyed = torchfit.cfa(HS_CFA, sample_cov={"b": S, "a": S}, sample_nobs={"a": 150, "b": 151})
    assert keyed.info["group_labels"] == ["b", "a"]
    assert keyed.info["nobs_group"] == [151, 150]


def test_moments_as_array_with_columns_and_unnamed_means():
    hs = _hs()
    named = torchfit.cfa(HS_CFA, sample_cov=hs[XS].cov(), sample_mean=hs[XS].mean(),
                         sample_nobs=301)
    plain = torchfit.cfa(HS_CFA, sample_cov=hs[XS].cov().to_numpy(), columns=XS,
                         sample_mean=hs[XS].mean().to_numpy(), sample_nobs=301)
    assert np.allclose(named.coef(), plain.coef())
    # extra variables in the matrix are left out, its order does not matter
    wide = hs[XS[::-1] + ["ageyr"]].cov()
    assert np.allclose(torchfit.cfa(HS_CFA, sample_cov=wide, sample_nobs=301).coef(),
                       CASES["cov_hs"]().coef())


def test_std_ov_leaves_the_callers_data_alone():
    hs = _hs()
    before = hs.copy()
    torchfit.cfa(HS_CFA, hs, std_ov=True)
    pd.testing.assert_frame_equal(hs, before)


@pytest.mark.parametrize("group", [None, "school"])
def test_std_ov_scores_new_data_standardized_as_lavpredict_does(group):
    """lavPredict(newdata=) of a std.ov fit standardizes the new rows by their own
    means and sds: scoring the fitted data again gives the fit's own scores."""
    hs = _hs()
    fit = torchfit.cfa(HS_CFA, hs, std_ov=True, group=group)
    own, again = fit.predict(), fit.predict(hs)
    for a, b in ([(own, again)] if group is None else [(own[k], again[k]) for k in own]):
        np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), atol=1e-10)
    raw = torchfit.cfa(HS_CFA, hs).predict(hs)  # not the unstandardized fit's
    assert group is not None or np.abs(raw.to_numpy() - own.to_numpy()).max() > 0.1


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(sample_cov="S"), DataError, "sample_nobs="),
    (dict(sample_cov="S", sample_nobs=301, estimator="MLR"), DataError, "raw data"),
    (dict(sample_cov="S", sample_nobs=301, estimator="MLM"), DataError, "raw data"),
    (dict(sample_cov="S", sample_nobs=301, missing="ml"), DataError, "missing='ml'"),
    (dict(sample_cov="S", sample_nobs=301, se="bootstrap"), DataError, "bootstrap"),
    (dict(sample_cov="S", sample_nobs=301, batch_size=64), DataError, "mini-batches"),
    (dict(sample_cov="S", sample_nobs=301, std_ov=True), DataError, "std_ov"),
    (dict(sample_cov="S", sample_nobs=301, group="school"), DataError, "list or a dict"),
    (dict(sample_cov="S", sample_nobs=301, estimator="IWAVE"), DataError, "raw data"),
    (dict(sample_cov="S", sample_nobs=1.5), DataError, "whole number"),
    (dict(sample_cov="S", sample_nobs=[150, 151]), DataError, "several groups"),
    (dict(sample_nobs=301), DataError, "goes with sample_cov"),
    (dict(), DataError, "no data"),
    (dict(data="hs", std_ov=True, estimator="MML"), TypeError, "std_ov are for estimator"),
])
def test_refusals(kwargs, error, words):
    data = {"S": _hs()[XS].cov(), "hs": _hs()}
    kwargs = {k: (data[v] if isinstance(v, str) and v in data else v) for k, v in kwargs.items()}
    with pytest.raises(error, match=words):
        torchfit.cfa(HS_CFA, **kwargs)


def test_bad_moments():
    S = _hs()[XS].cov()
    asym = S.copy()
    asym.iloc[0, 1] += 0.1
    with pytest.raises(DataError, match="not symmetric"):
        torchfit.cfa(HS_CFA, sample_cov=asym, sample_nobs=301)
    renamed = S.rename(index={"x1": "y1"})
    with pytest.raises(DataError, match="row names"):
        torchfit.cfa(HS_CFA, sample_cov=renamed, sample_nobs=301)
    with pytest.raises(DataError, match="no row or column for x9"):
        torchfit.cfa(HS_CFA, sample_cov=S.iloc[:8, :8], sample_nobs=301)
    singular = S.copy()
    singular.loc["x2", :] = singular.loc["x1", :]
    singular.loc[:, "x2"] = singular.loc[:, "x1"]
    with pytest.raises(DataError, match="not positive definite"):
        torchfit.cfa(HS_CFA, sample_cov=singular, sample_nobs=301)
    with pytest.raises(DataError, match="without variable names"):
        torchfit.cfa(HS_CFA, sample_cov=S.to_numpy(), sample_nobs=301)
    with pytest.raises(DataError, match="sample_mean names"):
        torchfit.cfa(HS_CFA, sample_cov=S, sample_mean=_hs()[XS[:8]].mean(), sample_nobs=301)
    with pytest.raises(DataError, match="not both"):
        torchfit.cfa(HS_CFA, _hs(), sample_cov=S, sample_nobs=301)


def test_predict_of_a_fit_from_moments_needs_data():
    fit = CASES["cov_hs"]()
    with pytest.raises(DataError, match="sample_cov="):
        fit.predict()
    scores = fit.predict(_hs())
    assert scores.shape == (301, 3)
    groups = CASES["cov_hs_groups"]()
    with pytest.raises(DataError, match="group="):
        groups.predict(_hs())
    by_school = groups.predict(_hs(), group="school")
    assert {k: len(v) for k, v in by_school.items()} == {"Pasteur": 156, "Grant-White": 145}


def test_fiml_with_fixed_covariates_says_which_rows_it_dropped():
    data = _hs_mcar_x()
    with pytest.warns(UserWarning, match="24 of 301 rows are missing a fixed covariate"):
        fit = torchfit.sem(MIMIC, data, missing="ml")
    cut = fit.dropped[fit.dropped.str.startswith("missing covariate")]
    assert len(cut) == 24
    assert set(cut.index) == set(data.index[data[["ageyr", "grade"]].isna().any(axis=1)])
    assert len(fit.predict()) == 277
    kept = torchfit.sem(MIMIC, data, missing="ml.x")
    assert kept.info["missing"] == "ml.x" and len(kept.dropped) == 0


def test_fiml_dropping_covariate_rows_needs_data_in_memory(tmp_path):
    path = tmp_path / "hs.csv"
    _hs_mcar_x().to_csv(path, index=False)
    with pytest.raises(ModelError, match="missing = 'ml.x'"):
        torchfit.sem(MIMIC, str(path), missing="ml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_file = torchfit.sem(MIMIC, str(path), missing="ml.x")
    assert np.allclose(from_file.coef(), CASES["fiml_ml_x"]().coef())


@pytest.mark.parametrize("name", ["fiml_fixed_x", "fiml_ml_x"])
def test_fiml_with_covariates_residuals_and_what_is_refused(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CASES[name]()
    for kind in ("raw", "cor"):
        ref = pd.read_csv(OUT / f"{name}_residuals_{kind}.csv", index_col=0)
        ours = fit.residuals(type=kind)["cov"].loc[ref.index, ref.columns]
        assert np.allclose(ours, ref, atol=1e-5), kind
    for call in (fit.modindices, fit.score_test, lambda: fit.residuals("standardized")):
        with pytest.raises(torchfit.errors.TorchfitError, match="fixed_x=False"):
            call()


@pytest.mark.parametrize("name", ["cov_hs", "cov_hs_means"])
def test_after_a_fit_from_moments(name):
    fit = CASES[name]()
    ref = pd.read_csv(OUT / f"{name}_modindices.csv")
    m = ref.merge(fit.modindices(), on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
    assert len(m) == len(ref) and len(m) > 20
    assert np.allclose(m["mi"], m["mi_ref"], rtol=1e-3, atol=1e-3)
    assert np.allclose(m["epc"], m["epc_ref"], rtol=1e-3, atol=1e-4)
    ref = pd.read_csv(OUT / f"{name}_residuals_standardized.csv", index_col=0)
    ours = fit.residuals(type="standardized")["cov"].loc[ref.index, ref.columns]
    assert np.allclose(ours, ref, rtol=1e-3, atol=1e-3, equal_nan=True)


def test_fiml_with_covariates_and_robust_errors_is_refused():
    with pytest.raises(ModelError, match="fixed_x=False"):
        torchfit.sem(MIMIC, _hs_mcar_x(), missing="ml.x", estimator="MLR")
