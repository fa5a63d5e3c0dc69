"""Ordered items by the WLS family (issue 13) against lavaan 0.6: the reference
cases of tests/reference/make_ordinal.R (HS cut at quartiles, a simulated
12-item five-category set, two groups with equal thresholds and loadings,
pairwise-missing values, every estimator of the family, theta
parameterization); polychorics against lavCor(), the NACOV against
lavInspect(fit, "gamma"); and the bad input the issue lists."""
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import torchfit
from torchfit.data.ordinal_gamma import nacov, obs_names
from torchfit.data.polychoric import (
    PolychoricWarning,
    ZeroCellWarning,
    polychoric,
    tables,
    thresholds,
)
from torchfit.errors import DataError, ModelError, TorchfitError

REF = Path(__file__).resolve().parents[1] / "reference" / "ordinal"
HS = (REF / "hs.lav").read_text()
SIM = (REF / "sim12.lav").read_text()

# x1-x6 cut at quartiles, x7-x9 continuous
MIXED_ORDERED = [f"x{i}" for i in range(1, 7)]

# case: (data, model, options)
CASES = {
    "hs_wlsmv": ("hs_quartiles", HS, {}),
    "hs_wlsm": ("hs_quartiles", HS, {"estimator": "WLSM"}),
    "hs_ulsmv": ("hs_quartiles", HS, {"estimator": "ULSMV"}),
    "hs_wls": ("hs_quartiles", HS, {"estimator": "WLS"}),
    "hs_dwls": ("hs_quartiles", HS, {"estimator": "DWLS"}),
    "hs_uls": ("hs_quartiles", HS, {"estimator": "ULS"}),
    "hs_theta": ("hs_quartiles", HS, {"parameterization": "theta"}),
    "sim12_wlsmv": ("sim12", SIM, {}),
    "hs_group": ("hs_quartiles", HS, {"group": "school",
                                      "group_equal": ["thresholds", "loadings"]}),
    "sim12_pairwise": ("sim12_missing", SIM, {"missing": "pairwise"}),
    # tests/reference/make_ordinal_more.R
    "hs_group_theta": ("hs_quartiles", HS, {"group": "school", "parameterization": "theta",
                                            "group_equal": ["thresholds", "loadings"]}),
    "hs3_saturated": ("hs_quartiles", "f =~ x1 + x2 + x3", {}),
    "hs_mixed": ("hs_mixed", HS, {"ordered": MIXED_ORDERED}),
    "hs_mixed_group": ("hs_mixed", HS, {"ordered": MIXED_ORDERED, "group": "school",
                                        "group_equal": ["thresholds", "loadings"]}),
    "hs_mixed_wls": ("hs_mixed", HS, {"ordered": MIXED_ORDERED, "estimator": "WLS"}),
    "hs_mixed_theta": ("hs_mixed", HS, {"ordered": MIXED_ORDERED,
                                        "parameterization": "theta"}),
    # tests/reference/make_ordinal_pairwise.R: about 10 % of every variable missing
    "hs_mixed_pairwise": ("hs_mixed_missing", HS, {"ordered": MIXED_ORDERED,
                                                   "missing": "pairwise"}),
}


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"{name}.csv")


def _items(frame: pd.DataFrame) -> list:
    return [c for c in frame.columns if c != "school"]


@pytest.fixture(scope="module")
def fits():
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        for case, (data, model, options) in CASES.items():
            out[case] = torchfit.cfa(model, _data(data), **{"ordered": True, **options})
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_estimates_and_standard_errors_match_lavaan(fits, case):
    ref = pd.read_csv(REF / f"{case}_estimates.csv", keep_default_na=False,
                      na_values=["NA"])
    pe = fits[case].partable
    assert list(pe["lhs"] + pe["op"] + pe["rhs"]) == list(ref["lhs"] + ref["op"] + ref["rhs"])
    for col in ("est", "std.lv", "std.all"):
        np.testing.assert_allclose(pe[col], ref[col], atol=1e-4, err_msg=f"{case} {col}")
    free = ref["se"].to_numpy() > 0
    np.testing.assert_allclose(pe["se"].to_numpy()[free], ref["se"].to_numpy()[free],
                               rtol=1e-3, err_msg=case)  # the issue asks for 1 %
    assert (pe["se"].to_numpy()[~free] == 0).all()


@pytest.mark.parametrize("case", list(CASES))
def test_every_fit_measure_matches_lavaan(fits, case):
    ref = pd.read_csv(REF / f"{case}_fitmeasures.csv").set_index("name")["value"]
    mine = fits[case].fit_measures()
    assert set(ref.index) <= set(mine), set(ref.index) - set(mine)
    for name, value in ref.items():
        if np.isnan(value):
            assert np.isnan(mine[name]), name
        else:  # the issue asks for 0.1 % on the scaled and robust measures
            assert mine[name] == pytest.approx(value, rel=1e-4, abs=1e-7), (case, name)


def test_default_estimator_with_ordered_is_wlsmv(fits):
    info = fits["hs_wlsmv"].info
    assert (info["estimator"], info["test"], info["se"]) == ("DWLS", "scaled.shifted",
                                                             "robust.sem")


@pytest.mark.parametrize("data", ["hs_quartiles", "sim12"])
def test_polychorics_and_thresholds_match_lavcor(data):
    frame = _data(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        t = tables(frame, _items(frame))
        th = thresholds(t.counts, t.n_categories)
        R = polychoric(t, th)
    ref = pd.read_csv(REF / f"{data}_polychoric.csv").to_numpy()
    assert np.abs(R - ref).max() < 1e-6  # the issue asks for 1e-4
    ref_th = pd.read_csv(REF / f"{data}_thresholds.csv")["value"].to_numpy()
    np.testing.assert_allclose(np.concatenate(th), ref_th, atol=1e-12)


@pytest.mark.parametrize("case,data", [("hs_wlsmv", "hs_quartiles"), ("sim12_wlsmv", "sim12"),
                                       ("sim12_pairwise", "sim12_missing")])
def test_nacov_matches_lavaan_gamma(case, data):
    frame = _data(data)
    names = _items(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        t = tables(frame, names)
        th = thresholds(t.counts, t.n_categories)
        R = polychoric(t, th)
    G = nacov(frame, names, t, th, R, chunk_rows=700)  # several chunks
    ref = pd.read_csv(REF / f"{case}_gamma.csv")
    assert list(ref.columns) == obs_names(names, th)
    ref = ref.to_numpy()
    assert np.abs(G - ref).max() < 1e-6 * np.abs(ref).max()


def test_summary_reads_like_lavaan(fits):
    text = fits["hs_wlsmv"].summary(fit_measures=True)
    for piece in ("Estimator                                       DWLS",
                  "Test Statistic                                51.537      74.152",
                  "Shift parameter                                            4.621",
                  "simple second-order correction",
                  "Robust RMSEA                                               0.112",
                  "Standard errors                           Robust.sem",
                  "x1|t1            -0.605    0.077   -7.824    0.000"):
        assert piece in text, piece


@pytest.mark.parametrize("case", ["hs_group", "hs_mixed_theta"])
def test_parameter_sections_read_like_lavaan(fits, case):
    """From "Parameter Estimates:" on, lavaan's summary line for line: its
    "Scales y*" sections (every group's) and, with continuous variables,
    their intercepts and residual variances."""
    ref = (REF / f"{case}_summary.txt").read_text().splitlines()
    mine = fits[case].summary(standardized=True).splitlines()

    def sections(lines):
        return [line.rstrip() for line in lines[lines.index("Parameter Estimates:"):]]
    assert "Scales y*:" in ref
    assert sections(mine) == sections(ref)


# -- bad input ---------------------------------------------------------------------------

def _hs_cut():
    return _data("hs_quartiles")


def test_one_category_is_an_error():
    d = _hs_cut().assign(x1=1)
    with pytest.raises(DataError, match="'x1' has one category"):
        torchfit.cfa(HS, d, ordered=True)


def test_too_many_categories_suggests_continuous():
    d = _hs_cut().assign(x1=np.arange(301) % 12)
    with pytest.raises(DataError, match="12 categories .* treat it as continuous"):
        torchfit.cfa(HS, d, ordered=True)


def test_unused_category_of_an_ordered_factor_is_an_error():
    d = _hs_cut()
    d["x1"] = pd.Categorical(d["x1"], categories=[1, 2, 3, 4, 5], ordered=True)
    with pytest.raises(DataError, match="'x1' has categories nobody chose \\(5\\)"):
        torchfit.cfa(HS, d, ordered=True)


def test_ordered_factor_codes_are_used():
    d = _hs_cut()
    codes = d.copy()
    d["x1"] = pd.Categorical(d["x1"].map({1: "a", 2: "b", 3: "c", 4: "d"}),
                             categories=list("abcd"), ordered=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        a = torchfit.cfa(HS, d, ordered=True).fit_measures()["chisq"]
        b = torchfit.cfa(HS, codes, ordered=True).fit_measures()["chisq"]
    assert a == pytest.approx(b, rel=1e-12)


def test_empty_cell_of_a_two_by_two_table_warns_and_gets_half():
    frame = _data("zero_cell")  # a = 0 never with b = 1
    with pytest.warns(ZeroCellWarning, match="a x b"):
        t = tables(frame, ["a", "b"])
        R = polychoric(t, thresholds(t.counts, t.n_categories))
    # 0.5 added to the empty cell, margins kept: lavCor's value
    ref = pd.read_csv(REF / "zero_cell_polychoric.csv")["rho"].iloc[0]
    assert R[0, 1] == pytest.approx(ref, abs=1e-8)


def test_non_positive_definite_polychoric_matrix_warns():
    R = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    from torchfit.data.polychoric import check_positive_definite
    with pytest.warns(PolychoricWarning, match="not positive definite"):
        check_positive_definite(R, ["a", "b", "c"])


def test_missing_values_need_a_missing_option():
    d = pd.read_csv(REF / "sim12_missing.csv")
    with pytest.raises(DataError, match="have missing values on the ordered items; pass "
                                        "missing='listwise'"):
        torchfit.cfa(SIM, d, ordered=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        fit = torchfit.cfa(SIM, d, ordered=True, missing="listwise")
    assert fit.nobs == d.dropna().shape[0]


def test_pairwise_ignores_empty_rows_as_lavaan(fits):
    """lavaan drops rows without an observed value ("some cases are empty
    and will be ignored"): two of them leave the sim12_pairwise fit as it is."""
    d = _data("sim12_missing")
    empty = pd.concat([d, d.iloc[:2] * np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        fit = torchfit.cfa(SIM, empty, ordered=True, missing="pairwise")
    assert fit.nobs == len(d)
    ref = fits["sim12_pairwise"]
    np.testing.assert_allclose(fit.partable["se"], ref.partable["se"], rtol=1e-12)
    assert fit.fit_measures()["chisq.scaled"] == pytest.approx(
        ref.fit_measures()["chisq.scaled"], rel=1e-12)


@pytest.mark.parametrize("case,data", [("hs_mixed", "hs_mixed"),
                                       ("hs_mixed_pairwise", "hs_mixed_missing")])
def test_mixed_statistics_and_nacov_match_lavaan(case, data):
    from torchfit.data.polychoric import item_levels
    from torchfit.data.polyserial import mixed_stats
    frame = _data(data)
    names = _items(frame)
    levels = item_levels(frame, MIXED_ORDERED) + [None] * 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        s = mixed_stats(frame, names, [v in MIXED_ORDERED for v in names], levels,
                        chunk_rows=70, pairwise=case.endswith("pairwise"))  # several blocks
    obs = pd.read_csv(REF / f"{case}_wls_obs.csv")
    assert s.names == list(obs["name"])
    np.testing.assert_allclose(s.obs, obs["value"], atol=1e-7)  # polyserials to nlminb's 1e-8
    ref = pd.read_csv(REF / f"{case}_gamma.csv")
    assert list(ref.columns) == s.names
    assert np.abs(s.nacov - ref.to_numpy()).max() < 1e-6 * np.abs(ref.to_numpy()).max()


def test_mixed_fit_has_no_robust_measures_and_implies_the_means(fits):
    fit = fits["hs_mixed"]
    # lavaan's catML refit is not made with continuous variables: NA
    assert np.isnan(fit.fit_measures()["cfi.robust"])
    implied = fit.implied()
    d = _data("hs_mixed")
    assert implied["mean"]["x7"] == pytest.approx(d["x7"].mean(), rel=1e-6)
    assert np.isnan(implied["mean"]["x1"])
    assert implied["cov"].loc["x7", "x7"] == pytest.approx(d["x7"].var(ddof=0), rel=1e-3)


def test_pairwise_on_complete_mixed_data_is_the_complete_data_fit(fits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        fit = torchfit.cfa(HS, _data("hs_mixed"), ordered=MIXED_ORDERED, missing="pairwise")
    np.testing.assert_array_equal(fit.partable["est"], fits["hs_mixed"].partable["est"])
    np.testing.assert_array_equal(fit.partable["se"], fits["hs_mixed"].partable["se"])


def test_pairwise_mixed_drops_empty_rows_and_needs_pairs_observed_together(fits):
    d = _data("hs_mixed_missing")
    items = _items(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        # lavaan ignores rows without an observed value
        empty = pd.concat([d, d.iloc[:2].assign(**{v: np.nan for v in items})])
        fit = torchfit.cfa(HS, empty, ordered=MIXED_ORDERED, missing="pairwise")
        assert fit.nobs == len(d)
        np.testing.assert_allclose(fit.partable["se"], fits["hs_mixed_pairwise"].partable["se"],
                                   rtol=1e-12)
        d.loc[d["x7"].notna(), "x8"] = np.nan
        with pytest.raises(DataError, match="'x7' and 'x8' are observed together in 0 row"):
            torchfit.cfa(HS, d, ordered=MIXED_ORDERED, missing="pairwise")


def test_missing_values_of_a_continuous_variable_need_listwise():
    d = _data("hs_mixed")
    d.loc[:4, "x8"] = np.nan
    with pytest.raises(DataError, match="5 of 301 rows have missing values on the model's"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        torchfit.cfa(HS, d, ordered=MIXED_ORDERED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        fit = torchfit.cfa(HS, d, ordered=MIXED_ORDERED, missing="listwise")
    assert fit.nobs == 296


def test_estimator_and_ordered_must_agree():
    with pytest.raises(ModelError, match="treats the items as continuous"):
        torchfit.cfa(HS, _hs_cut(), ordered=True, estimator="ML")
    with pytest.raises(ModelError, match="is for ordered items"):
        torchfit.cfa(HS, _hs_cut(), estimator="WLSMV")
    with pytest.raises(TorchfitError, match="missing='ml' is not available"):
        torchfit.cfa(HS, _hs_cut(), ordered=True, missing="ml")
    with pytest.raises(TypeError, match="batch_size"):
        torchfit.cfa(HS, _hs_cut(), ordered=True, batch_size=10)


def test_iwave_still_takes_ordered():
    d = _hs_cut()[["x1", "x2", "x3"]]
    fit = torchfit.cfa("f =~ x1 + x2 + x3", d, ordered=True, estimator="IWAVE", seed=0,
                       se="none", max_epochs=2, quiet=True)
    assert fit.info["estimator"] == "IWAVE"


@pytest.mark.parametrize("case", ["hs_wlsmv", "hs_theta", "sim12_pairwise", "hs_mixed",
                                  "hs_group", "hs_mixed_pairwise"])
def test_factor_scores_are_lavaans_ebm_scores(fits, case):
    scores = fits[case].predict()
    if isinstance(scores, dict):  # lavaan's groups in their order
        scores = pd.concat([scores[g] for g in fits[case].info["group_labels"]])
    ref = pd.read_csv(REF / f"{case}_scores.csv")
    assert list(scores.columns) == list(ref.columns)
    diff = np.abs(scores.to_numpy() - ref.to_numpy())
    # lavaan's BFGS stops at a relative change of 1e-8 in the objective, up
    # to ~6e-4 short of the mode that the Newton steps here reach
    assert diff.max() < 2e-3 and np.median(diff) < 1e-5


def test_factor_scores_reach_a_lower_objective_than_lavaans(fits):
    from scipy.special import ndtr

    from torchfit.ordinal.scores import ebm_scores
    fit = fits["hs_wlsmv"]
    group, d = fit.groups[0], _data("hs_quartiles")
    ref = pd.read_csv(REF / "hs_wlsmv_scores.csv").to_numpy()
    row = int(np.abs(fit.predict().to_numpy() - ref).max(1).argmax())
    mine = ebm_scores(group, fit.partable, d.iloc[[row]], fit.tests.levels, "default",
                      ).to_numpy()[0]
    m = group.matrices
    sd = np.sqrt(np.diag(m["theta"]))
    th = fit.partable.query("op == '|'")
    y = d.iloc[row][group.model.ov_names].to_numpy()

    def objective(eta):
        out = 0.5 * eta @ np.linalg.solve(m["psi"], eta)
        for j, v in enumerate(group.model.ov_names):
            cuts = np.concatenate([[-np.inf], th.query("lhs == @v")["est"], [np.inf]])
            k = int(np.searchsorted(fit.tests.levels[v], y[j]))
            yhat = m["lambda"][j] @ eta
            out -= np.log(ndtr((cuts[k + 1] - yhat) / sd[j]) - ndtr((cuts[k] - yhat) / sd[j]))
        return out
    assert objective(mine) < objective(ref[row])


def test_factor_scores_of_new_data_with_an_unknown_category_are_refused(fits):
    d = _data("hs_quartiles").head(5).assign(x1=7)
    with pytest.raises(DataError, match="'x1' has values the fitted data did not have \\(7"):
        fits["hs_wlsmv"].predict(d)


def test_the_registry_selects_the_wls_family():
    from torchfit.api import resolve_options
    from torchfit.estimators.registry import select
    d = _hs_cut()
    assert select(resolve_options("default", d, ordered=True)).name == "WLS family"
    assert select(resolve_options("ULSMV", d, ordered=["x1"])).name == "WLS family"
    assert select(resolve_options("default", d)).name == "ML"


def test_a_csv_path_and_a_memory_mapped_array_give_the_same_fit(tmp_path):
    d = _data("sim12")
    path = tmp_path / "sim12.npy"
    np.save(path, d.to_numpy(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        a = torchfit.cfa(SIM, str(REF / "sim12.csv"), ordered=True).fit_measures()
        b = torchfit.cfa(SIM, np.load(path, mmap_mode="r"), ordered=True,
                         columns=list(d.columns)).fit_measures()
    ref = pd.read_csv(REF / "sim12_wlsmv_fitmeasures.csv").set_index("name")["value"]
    assert a["chisq.scaled"] == pytest.approx(ref["chisq.scaled"], rel=1e-6)
    assert b["chisq.scaled"] == a["chisq.scaled"]


def test_implied_correlations_of_an_ordered_fit(fits):
    fit = fits["hs_wlsmv"]
    implied = fit.implied()["cov"]
    assert np.allclose(np.diag(implied), 1.0)
    lam = fit.partable.query("op == '=~' and lhs == 'visual'")["std.all"].to_numpy()
    assert implied.loc["x1", "x2"] == pytest.approx(lam[0] * lam[1], rel=1e-10)


def test_a_multiple_group_table_as_r_sends_it_gives_the_same_fit(fits):
    # R sends lavaan's table: thresholds repeated per group and the scale
    # factors of the second group free (delta parameterization)
    from torchfit.model.partable import parse
    frame = _data("hs_quartiles")
    counts = {v: int(frame[v].nunique()) - 1 for v in _items(frame)}
    table = parse(HS, ordered=counts, ngroups=2, group_equal=["thresholds", "loadings"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroCellWarning)
        fit = torchfit.cfa(table, frame, ordered=True, group="school")
    np.testing.assert_allclose(fit.coef().to_numpy(), fits["hs_group"].coef().to_numpy(),
                               atol=1e-8)
