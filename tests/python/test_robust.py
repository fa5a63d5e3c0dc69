"""Robust ML (MLM, MLR) and observed-information ML against lavaan.

The numbers themselves (estimates, SEs, every fit measure) are compared by
test_lavaan_reference.py for the cases of cases.csv with an estimator or
information column; here: that no lavaan measure is missing, the summary()
layout, the building blocks and the errors.
"""
import numpy as np
import pytest
import torch

import torchfit
from conftest import REFERENCE, fit_case, lavaan_csv, load_cases
from torchfit.data.gamma import gamma_adf, vech_index
from torchfit.errors import DataError, TorchfitError
from torchfit.inference.robust import dup_pre_post

ROBUST_CASES = [c for c in load_cases()
                if str(c.get("estimator", "ML")) in ("MLM", "MLR")
                or str(c.get("information", "default")) == "observed"]
HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"


@pytest.fixture(scope="module", params=ROBUST_CASES, ids=[c["name"] for c in ROBUST_CASES])
def pair(request):
    return request.param, fit_case(request.param)


def test_there_are_robust_cases():
    names = {c["name"] for c in ROBUST_CASES}
    assert {"hs_mlm", "hs_mlr", "poldem_mlm", "poldem_mlr", "hs_observed"} <= names


def test_every_lavaan_measure_is_there_in_lavaans_order(pair):
    case, fit = pair
    ref = lavaan_csv(case, "fitmeasures")["name"].tolist()
    ours = list(fit.fit_measures())
    assert [k for k in ref if k not in ours] == []
    assert ours == [k for k in ref if k in ours]


def _from_test_on(text):
    lines = [line.rstrip() for line in text.splitlines()]
    return lines[lines.index("Model Test User Model:"):]


def test_summary_is_lavaans_from_the_model_test_on(pair):
    case, fit = pair
    want = _from_test_on((REFERENCE / "lavaan" / f"{case['name']}_summary.txt").read_text())
    got = _from_test_on(fit.summary(fit_measures=True))
    while want and not want[-1]:
        want.pop()
    while got and not got[-1]:
        got.pop()
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g == w or _same_to_last_digit(g, w), (g, w)


def _same_to_last_digit(got: str, want: str) -> bool:
    """Lines equal but for numbers one unit apart in their last printed digit:
    values that agree to 1e-5 can round apart (lavaan's Hessian is a numerical
    derivative of its gradient, torchfit's is exact)."""
    a, b = got.split(), want.split()
    if len(a) != len(b) or len(got) != len(want):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        try:
            digits = len(y.split(".")[1]) if "." in y else 0
            if abs(float(x) - float(y)) > 1.01 * 10 ** -digits:
                return False
        except ValueError:
            return False
    return True


def test_repr_shows_both_columns():
    fit = torchfit.cfa(HS_MODEL, torchfit.datasets.holzinger_swineford(), estimator="mlm")
    text = repr(fit)
    assert "Standard      Scaled" in text and "Satorra-Bentler correction" in text


def test_estimates_are_the_ml_estimates():
    hs = torchfit.datasets.holzinger_swineford()
    ml = torchfit.cfa(HS_MODEL, hs).coef()
    for est in ("MLM", "MLR"):
        assert np.allclose(torchfit.cfa(HS_MODEL, hs, estimator=est).coef(), ml)


def test_vcov_has_robust_se_on_diagonal():
    fit = torchfit.cfa(HS_MODEL, torchfit.datasets.holzinger_swineford(), estimator="MLR")
    free = fit.partable[fit.partable["free"] > 0].sort_values("free")
    assert np.allclose(np.sqrt(np.diag(fit.vcov().to_numpy())), free["se"])
    assert fit.info["se"] == "robust.huber.white" and fit.info["information"] == "observed"


def test_gamma_is_chunk_invariant_and_equals_the_direct_formula():
    hs = torchfit.datasets.holzinger_swineford()
    names = [f"x{i}" for i in range(1, 5)]
    X = hs[names].to_numpy()
    mean, S = X.mean(0), np.cov(X.T, bias=True)
    I, J = vech_index(len(names))
    V = (X - mean)[:, I] * (X - mean)[:, J]
    direct = np.cov(V.T, bias=True)
    for rows in (7, 64, 1 << 14):
        assert np.allclose(gamma_adf(hs, names, mean, S, chunk_rows=rows), direct, atol=1e-12)


def test_gamma_from_a_memory_mapped_array(tmp_path):
    hs = torchfit.datasets.holzinger_swineford()
    names = ["x1", "x2", "x3"]
    path = tmp_path / "x.npy"
    np.save(path, hs[names].to_numpy())
    X = hs[names].to_numpy()
    mean, S = X.mean(0), np.cov(X.T, bias=True)
    a = gamma_adf(np.load(path, mmap_mode="r"), names, mean, S, columns=names, chunk_rows=50)
    assert np.allclose(a, gamma_adf(hs, names, mean, S))


def test_dup_pre_post_equals_the_duplication_matrix_formula():
    rng = np.random.default_rng(1)
    p = 4
    A = rng.normal(size=(p, p))
    A = A @ A.T
    B = rng.normal(size=(p, p))
    B = B @ B.T
    I, J = vech_index(p)
    D = np.zeros((p * p, len(I)))
    for k, (i, j) in enumerate(zip(I, J)):
        D[i + j * p, k] = D[j + i * p, k] = 1.0
    want = D.T @ np.kron(A, B) @ D
    got = dup_pre_post(torch.as_tensor(A), torch.as_tensor(B), I, J).numpy()
    assert np.allclose(got, want)


def test_unknown_estimator_names_the_choices():
    with pytest.raises(TorchfitError, match="'PML' is not available; use one of ML, MLM, MLR"):
        torchfit.cfa(HS_MODEL, torchfit.datasets.holzinger_swineford(), estimator="PML")


def test_unknown_information():
    with pytest.raises(TorchfitError, match="information = 'first.order' is not available"):
        torchfit.cfa(HS_MODEL, torchfit.datasets.holzinger_swineford(),
                     information="first.order")


def test_mlm_refuses_the_observed_information():
    with pytest.raises(TorchfitError, match="use estimator = 'MLR'"):
        torchfit.cfa(HS_MODEL, torchfit.datasets.holzinger_swineford(), estimator="MLM",
                     information="observed")


@pytest.mark.parametrize("estimator", ["MLM", "MLR"])
def test_robust_needs_raw_data_not_a_covariance_matrix(estimator):
    hs = torchfit.datasets.holzinger_swineford()
    cov = hs[[f"x{i}" for i in range(1, 10)]].cov()
    with pytest.raises(DataError, match=f"estimator '{estimator}' needs the raw data"):
        torchfit.cfa(HS_MODEL, cov, estimator=estimator)
    with pytest.raises(DataError, match="needs the raw data"):
        torchfit.cfa(HS_MODEL, None, estimator=estimator)


def test_gamma_leaves_out_what_fixed_covariates_explain():
    """lavaan's NACOV under fixed.x: the covariates' own moments (mean and
    variance) have no sampling variance (their rows are zero) and the other
    moments lose the part the covariates predict."""
    hs = torchfit.datasets.holzinger_swineford()
    names = ["x1", "x2", "ageyr"]
    X = hs[names].to_numpy()
    mean, S = X.mean(0), np.cov(X.T, bias=True)
    full = gamma_adf(hs, names, mean, S, meanstructure=True)
    fixed = gamma_adf(hs, names, mean, S, meanstructure=True, fixed=[False, False, True])
    I, J = vech_index(3)
    covariate = [2] + [3 + k for k in range(len(I)) if I[k] == 2 and J[k] == 2]
    assert np.allclose(fixed[covariate], 0, atol=1e-9)
    assert np.allclose(fixed[:, covariate], 0, atol=1e-9)
    other = [k for k in range(fixed.shape[0]) if k not in covariate]
    assert np.all(np.diag(fixed)[other] > 0)
    assert not np.allclose(fixed[np.ix_(other, other)], full[np.ix_(other, other)])


def test_listwise_deletion_uses_the_same_rows():
    hs = torchfit.datasets.holzinger_swineford().copy()
    hs.loc[[3, 10], "x2"] = np.nan
    a = torchfit.cfa(HS_MODEL, hs, estimator="MLR", missing="listwise")
    b = torchfit.cfa(HS_MODEL, hs.dropna(subset=["x2"]).reset_index(drop=True), estimator="MLR")
    assert np.allclose(a.partable["se"], b.partable["se"])
    assert np.isclose(a.fit_measures()["chisq.scaled"], b.fit_measures()["chisq.scaled"])
