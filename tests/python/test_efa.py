"""Exploratory factor analysis and rotations against R (lavaan::efa,
psych::fa, GPArotation), rotation invariants, the held-out scree and bad
input.  References: tests/reference/make_efa_reference.R."""
from itertools import permutations

import numpy as np
import pandas as pd
import pytest

import torchfit
from conftest import REFERENCE
from torchfit.efa.exploratory import exploratory_syntax, max_factors
from torchfit.efa.rotation import rotate
from torchfit.errors import ModelError, TorchfitError

EFA_REF = REFERENCE / "efa"
ITEMS = [f"x{i}" for i in range(1, 10)]


def ref(name: str) -> pd.DataFrame:
    return pd.read_csv(EFA_REF / f"{name}.csv", index_col=0)


def align(mine: np.ndarray, theirs: np.ndarray):
    """Column permutation and signs of ``mine`` that best match ``theirs``."""
    k = mine.shape[1]
    best = None
    for perm in permutations(range(k)):
        M = mine[:, perm]
        signs = np.where(np.sum(M * theirs, axis=0) < 0, -1.0, 1.0)
        err = np.max(np.abs(M * signs - theirs))
        if best is None or err < best[0]:
            best = (err, list(perm), signs)
    return best


def aligned_phi(phi: np.ndarray, perm, signs) -> np.ndarray:
    return phi[np.ix_(perm, perm)] * np.outer(signs, signs)


@pytest.fixture(scope="module")
def hs():
    return torchfit.datasets.holzinger_swineford()


# -- ML EFA against lavaan::efa() and psych::fa() --------------------------------------------
@pytest.mark.parametrize("rotation,k", [("geomin", 1), ("geomin", 2), ("geomin", 3),
                                        ("oblimin", 3), ("quartimin", 3), ("varimax", 3),
                                        ("promax", 3)])
def test_ml_efa_matches_lavaan(hs, rotation, k):
    res = torchfit.efa(hs, k, rotation=rotation, columns=ITEMS)
    name = f"lavaan_{rotation}_{k}"
    std, est, phi = ref(f"{name}_std"), ref(f"{name}_est"), ref(f"{name}_phi")
    err, perm, signs = align(res.loadings.to_numpy(), std.to_numpy())
    assert err < 1e-3, f"standardized loadings differ from lavaan by {err:.2e}"
    raw = res.loadings_unstd.to_numpy()[:, perm] * signs
    assert np.max(np.abs(raw - est.to_numpy())) < 1e-3
    assert np.max(np.abs(aligned_phi(res.factor_correlations.to_numpy(), perm, signs)
                         - phi.to_numpy())) < 1e-3
    theta = ref(f"{name}_theta")
    assert np.allclose(res.uniquenesses.to_numpy(), theta["std.theta"], atol=1e-4)
    assert np.allclose(np.diag(res.fit.matrices["theta"]), theta["theta"], atol=1e-4)
    m = pd.read_csv(EFA_REF / "lavaan_measures.csv")
    m = m[m["case"] == name].set_index("measure")["value"]
    fm = res.fit_measures()
    assert fm["chisq"] == pytest.approx(m["chisq"], abs=1e-4)
    assert fm["df"] == m["df"]
    assert fm["logl"] == pytest.approx(m["logl"], abs=1e-4)


def test_ml_efa_matches_psych_oblimin(hs):
    res = torchfit.efa(hs, 3, rotation="oblimin", columns=ITEMS)
    err, perm, signs = align(res.loadings.to_numpy(), ref("psych_oblimin_3_std").to_numpy())
    # psych's ML (optim on the uniquenesses) stops earlier than lavaan's.
    assert err < 2e-3
    phi = aligned_phi(res.factor_correlations.to_numpy(), perm, signs)
    assert np.max(np.abs(phi - ref("psych_oblimin_3_phi").to_numpy())) < 2e-3
    assert np.allclose(res.uniquenesses, ref("psych_oblimin_3_theta")["uniqueness"], atol=2e-3)


# -- rotations alone against GPArotation / stats::promax -----------------------------------------
@pytest.mark.parametrize("method", ["geomin", "quartimin", "oblimin", "varimax", "promax"])
def test_rotation_matches_gparotation(method):
    A = ref("unrotated_3").to_numpy()
    r = rotate(A, method)
    assert r.converged
    err, perm, signs = align(r.loadings, ref(f"gpa_{method}_3_loadings").to_numpy())
    assert err < 1e-4, f"{method}: loadings differ from GPArotation by {err:.2e}"
    phi = aligned_phi(r.phi, perm, signs)
    assert np.max(np.abs(phi - ref(f"gpa_{method}_3_phi").to_numpy())) < 1e-4


@pytest.mark.parametrize("method", ["geomin", "oblimin", "quartimin", "varimax", "quartimax",
                                    "promax", "none"])
def test_rotation_keeps_common_covariance(method):
    rng = np.random.default_rng(3)
    A = rng.normal(scale=0.5, size=(12, 3))
    r = rotate(A, method)
    # L Phi L' is the common part of Sigma: rotation must not change it.
    assert np.allclose(r.loadings @ r.phi @ r.loadings.T, A @ A.T, atol=1e-10)
    assert np.allclose(np.diag(r.phi), 1.0)
    if r.orthogonal:
        assert np.allclose(r.phi, np.eye(3))
        assert np.allclose(r.rotmat.T @ r.rotmat, np.eye(3), atol=1e-10)


def test_efa_rotations_share_one_fit(hs):
    a = torchfit.efa(hs, 3, rotation="geomin", columns=ITEMS)
    b = torchfit.efa(hs, 3, rotation="varimax", columns=ITEMS)
    c_a = a.loadings.to_numpy() @ a.factor_correlations.to_numpy() @ a.loadings.to_numpy().T
    c_b = b.loadings.to_numpy() @ b.loadings.to_numpy().T
    assert np.allclose(c_a, c_b, atol=1e-6)
    assert np.allclose(a.communalities + a.uniquenesses, 1.0)
    assert a.fit_measures()["chisq"] == pytest.approx(b.fit_measures()["chisq"])
    assert np.allclose(b.factor_correlations, np.eye(3))


def test_summary_and_syntax(hs):
    res = torchfit.efa(hs, 3, columns=ITEMS)
    text = res.summary(cutoff=0.3)
    for part in ("geomin (oblique)", "Rotated standardized loadings", "Factor correlations",
                 "SS loadings", "df 12"):
        assert part in text
    assert repr(res) == res.summary()
    # 3 anchors: 0 + 1 + 2 loadings fixed at zero
    assert res.syntax.count("0*") == 3
    assert exploratory_syntax(["a", "b", "c"], 2) == "f1 =~ a + b + c\nf2 =~ 0*a + b + c"


def two_factor_data(n=2000, seed=1, p=12):
    rng = np.random.default_rng(seed)
    L = np.zeros((p, 2))
    L[: p // 2, 0] = rng.uniform(0.5, 0.8, p // 2)
    L[p // 2:, 1] = rng.uniform(0.5, 0.8, p - p // 2)
    eta = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], n)
    X = eta @ L.T + rng.normal(size=(n, p)) * np.sqrt(1 - (L ** 2).sum(1))
    return pd.DataFrame(X, columns=[f"y{i}" for i in range(1, p + 1)]), L


def test_scree_ml_elbow_at_true_number():
    data, _ = two_factor_data()
    s = torchfit.scree(data, 5, holdout=0.25, seed=7)
    assert list(s["n_factors"]) == [1, 2, 3, 4, 5]
    assert s.attrs["n_heldout"] == 500
    gain = np.diff(s["heldout_logl_per_row"].to_numpy())
    # 1 -> 2 factors is a large gain; beyond the true 2 nothing much is left.
    assert gain[0] > 0.05
    assert np.all(np.abs(gain[1:]) < 0.05 * gain[0])
    assert s["heldout_logl"].idxmax() in (1, 2, 3, 4) and s.loc[1, "heldout_logl"] > \
        s.loc[0, "heldout_logl"]


def test_gaussian_heldout_logl_matches_scipy():
    from scipy.stats import multivariate_normal

    from torchfit.efa.exploratory import _gaussian_logl
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    C = np.cov(X, rowvar=False) + np.eye(4) * 0.1
    mu = X.mean(0)
    assert _gaussian_logl(X, mu, C) == pytest.approx(
        multivariate_normal(mu, C).logpdf(X).sum())


def test_iwave_efa_agrees_with_ml():
    data, _ = two_factor_data(n=600, p=8, seed=2)
    ml = torchfit.efa(data, 2)
    iw = torchfit.efa(data, 2, estimator="IWAVE", quiet=True, se="none", max_iterations=3000,
                      logl_samples=100)
    err, _, _ = align(iw.loadings.to_numpy(), ml.loadings.to_numpy())
    assert err < 0.05
    assert iw.fit.info["estimator"] == "IWAVE"


def test_iwave_efa_ordinal_has_thresholds():
    data, _ = two_factor_data(n=600, p=6, seed=3)
    cut = data.apply(lambda c: pd.cut(c, [-np.inf, -0.5, 0.5, np.inf], labels=False))
    res = torchfit.efa(cut, 1, estimator="IWAVE", ordered=True, quiet=True, se="none",
                       max_iterations=1000, logl_samples=50)
    assert res.thresholds is not None and len(res.thresholds) == 6 * 2
    assert (res.loadings.abs().to_numpy() > 0.2).sum() >= 3


def test_scree_iwave_runs():
    data, _ = two_factor_data(n=400, p=6, seed=4)
    s = torchfit.scree(data, 2, estimator="IWAVE", quiet=True, se="none", max_iterations=600,
                       logl_samples=50)
    assert list(s["n_factors"]) == [1, 2]
    assert np.all(np.isfinite(s["heldout_logl"]))


# -- bad input ---------------------------------------------------------------------------------
def test_bad_n_factors(hs):
    with pytest.raises(TorchfitError, match="integer >= 1"):
        torchfit.efa(hs, 0, columns=ITEMS)
    with pytest.raises(TorchfitError, match="integer >= 1"):
        torchfit.efa(hs, 1.5, columns=ITEMS)
    assert max_factors(9) == 5
    with pytest.raises(ModelError, match=r"too many for 9 items.*n_factors <= 5"):
        torchfit.efa(hs, 6, columns=ITEMS)
    with pytest.raises(ModelError, match="at least 3 items"):
        torchfit.efa(hs, 1, columns=["x1", "x2"])


def test_bad_rotation_and_estimator(hs):
    with pytest.raises(TorchfitError, match="unknown rotation 'oblimax'.*'geomin'"):
        torchfit.efa(hs, 2, rotation="oblimax", columns=ITEMS)
    with pytest.raises(TorchfitError, match="estimator 'MLR' is not available for efa"):
        torchfit.efa(hs, 2, estimator="MLR", columns=ITEMS)
    with pytest.raises(TorchfitError, match="promax is an oblique"):
        rotate(np.ones((4, 2)), "promax", orthogonal=True)
    with pytest.raises(ModelError, match="ordered= needs estimator='IWAVE'"):
        torchfit.efa(hs, 2, ordered=True, columns=ITEMS)


def test_bad_columns_and_holdout(hs):
    with pytest.raises(TorchfitError, match="did you mean"):
        torchfit.efa(hs, 2, columns=["x1", "x2", "x3", "x10"])
    with pytest.raises(TorchfitError, match="not numeric"):
        torchfit.efa(hs.assign(school=hs["school"].astype(str)), 1,
                     columns=["school", "x1", "x2", "x3"])
    with pytest.raises(TorchfitError, match="holdout"):
        torchfit.scree(hs, 2, holdout=1.5, columns=ITEMS)
    with pytest.raises(TorchfitError, match="max_factors"):
        torchfit.scree(hs, 0, columns=ITEMS)


def test_data_not_modified(hs):
    before = hs.copy()
    torchfit.efa(hs, 2, columns=ITEMS)
    pd.testing.assert_frame_equal(hs, before)
