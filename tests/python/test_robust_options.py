"""lavaan's robust fits that need the rows one by one, against lavaan 0.6.14
(tests/reference/make_robust_options_reference.R): MLR with missing = "ml" (and
FIML with the expected information, whose robust indices share its code), the
single-level cluster option (also with FIML) and sampling weights. Estimates, standard errors and
every fit measure (chi-square, the scaled tests, the robust CFI/TLI/RMSEA) in
lavaan's order."""
import warnings

import numpy as np
import pandas as pd
import pytest

import torchfit
from conftest import REFERENCE
from torchfit.data.cases import Cases
from torchfit.inference.casewise import first_order, scores

HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
ROBUST = REFERENCE / "robust"


def _hs_cluster():
    return pd.read_csv(REFERENCE / "data" / "hs_cluster.csv")


def _mcar():
    return pd.read_csv(REFERENCE / "data" / "hs_mcar.csv")


def _mcar_cluster():
    """The incomplete rows in the classrooms of hs_cluster.csv (by id)."""
    classroom = _hs_cluster().set_index("id")["classroom"]
    mcar = _mcar()
    return mcar.assign(classroom=mcar["id"].map(classroom))


# name -> (data, options): the calls of make_robust_options_reference.R
CASES = {
    "fiml_mlr": (_mcar, dict(missing="ml", estimator="MLR")),
    "fiml_mlr_groups": (_mcar, dict(missing="ml", estimator="MLR", group="school")),
    "fiml_mlr_expected": (_mcar, dict(missing="ml", estimator="MLR", information="expected")),
    "fiml_expected": (_mcar, dict(missing="ml", information="expected")),
    "cluster_fiml": (_mcar_cluster, dict(missing="ml", cluster="classroom")),
    "cluster_fiml_mlr": (_mcar_cluster, dict(missing="ml", cluster="classroom", estimator="MLR")),
    "cluster": (_hs_cluster, dict(cluster="classroom")),
    "cluster_mlr": (_hs_cluster, dict(cluster="classroom", estimator="MLR")),
    "cluster_groups": (_hs_cluster, dict(cluster="classroom", group="school")),
    "weights": (_hs_cluster, dict(sampling_weights="weight")),
    "weights_mlr": (_hs_cluster, dict(sampling_weights="weight", estimator="MLR")),
    "weights_groups": (_hs_cluster, dict(sampling_weights="weight", group="school")),
    "weights_cluster": (_hs_cluster, dict(sampling_weights="weight", cluster="classroom")),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    data, options = CASES[request.param]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hs_mcar has two empty rows, dropped as lavaan
        fit = torchfit.cfa(HS_MODEL, data(), **options)
    return request.param, fit


def test_estimates_and_standard_errors_equal_lavaans(case):
    name, fit = case
    ref = pd.read_csv(ROBUST / f"{name}_estimates.csv").fillna({"rhs": ""})
    ours = fit.parameter_estimates()
    assert len(ours) == len(ref)
    assert (ours["lhs"] + ours["op"] + ours["rhs"]).tolist() == \
        (ref["lhs"] + ref["op"] + ref["rhs"]).tolist()
    np.testing.assert_allclose(ours["est"], ref["est"], atol=1e-4)
    np.testing.assert_allclose(ours["se"], ref["se"], atol=1e-4)


def test_fit_measures_equal_lavaans_in_its_order(case):
    name, fit = case
    ref = pd.read_csv(ROBUST / f"{name}_fitmeasures.csv").set_index("measure")["value"]
    ours = fit.fit_measures()
    assert list(ours) == list(ref.index)
    for key, value in ref.items():
        assert ours[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key


def test_the_robust_options_are_lavaans(case):
    name, fit = case
    ref = pd.read_csv(ROBUST / f"{name}_options.csv").iloc[0]
    assert fit.info["se"] == ref["se"]
    assert fit.info["test"] == ref["test"].split(";")[-1]


def test_scores_sum_to_zero_at_the_sample_moments():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    X[rng.random((50, 3)) < 0.2] = np.nan
    X = X[np.isfinite(X).any(axis=1)]
    complete = rng.normal(size=(40, 3))
    m, S = complete.mean(axis=0), np.cov(complete.T, bias=True)
    assert np.abs(scores(complete, m, S).sum(axis=0)).max() < 1e-10
    # with missing values, the entries of the unobserved variables are 0
    sc = scores(X, np.zeros(3), np.eye(3))
    missing_first = ~np.isfinite(X[:, 0])
    assert (sc[missing_first, 0] == 0).all()


def test_equal_weights_and_one_row_clusters_change_nothing():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2))
    plain = first_order(Cases(X), X.mean(axis=0), np.cov(X.T, bias=True)).numpy()
    weighted = first_order(Cases(X, weights=np.ones(30)), X.mean(axis=0),
                           np.cov(X.T, bias=True)).numpy()
    singles = first_order(Cases(X, cluster=np.arange(30)), X.mean(axis=0),
                          np.cov(X.T, bias=True), correct=False).numpy()
    np.testing.assert_allclose(weighted, plain)
    np.testing.assert_allclose(singles, plain)


def test_weights_are_normalised_to_the_number_of_rows():
    hs = _hs_cluster()
    a = torchfit.cfa(HS_MODEL, hs, sampling_weights="weight")
    b = torchfit.cfa(HS_MODEL, hs.assign(weight=hs["weight"] * 7.5), sampling_weights="weight")
    np.testing.assert_allclose(a.parameter_estimates()["se"], b.parameter_estimates()["se"],
                               rtol=1e-6)
    assert a.fit_measures()["chisq"] == pytest.approx(b.fit_measures()["chisq"], rel=1e-8)


@pytest.mark.parametrize("name", ["cluster", "weights", "fiml_mlr"])
def test_modindices_and_scaled_lrt_equal_lavaans(name):
    data, options = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = torchfit.cfa(HS_MODEL, data(), **options)
        smaller = torchfit.cfa(HS_MODEL + "; visual ~~ 0*speed", data(), **options)
    mi_ref = pd.read_csv(ROBUST / f"{name}_modindices.csv")
    mi = full.modindices(sort=False)
    assert (mi["lhs"] + mi["op"] + mi["rhs"]).tolist() == \
        (mi_ref["lhs"] + mi_ref["op"] + mi_ref["rhs"]).tolist()
    # lavaan stops its optimizer ~1e-6 from the optimum, which moves an index by up
    # to 1e-4 (relative 7e-4)
    for column in ("mi", "epc", "sepc.all"):
        np.testing.assert_allclose(mi[column], mi_ref[column], rtol=1e-3, atol=1e-4,
                                   err_msg=column)
    lrt_ref = pd.read_csv(ROBUST / f"{name}_lrt.csv")
    lrt = torchfit.lrt(full, smaller)
    np.testing.assert_allclose(lrt["Chisq"], lrt_ref["Chisq"], rtol=1e-5)
    assert lrt["Chisq diff"].iloc[1] == pytest.approx(lrt_ref["chisq_diff"].iloc[1], rel=1e-4)
    assert lrt["Pr(>Chisq)"].iloc[1] == pytest.approx(lrt_ref["p"].iloc[1], rel=1e-3)
