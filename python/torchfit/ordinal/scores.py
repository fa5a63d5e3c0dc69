"""Factor scores of a fit of ordered items: lavaan's lavPredict() default for a
categorical model, the empirical Bayes modal (EBM) scores.

Each row's score is the mode of the posterior of eta given its responses
(lavaan's ``lav_predict_eta_ebm_ml``): it minimises

    1/2 (eta - E eta)' V^-1 (eta - E eta) - sum_j log f(y_j | eta)

with V = Var(eta), f(y_j | eta) = Phi((tau_k - yhat_j) / s_j) - Phi((tau_(k-1)
- yhat_j) / s_j) for an ordered item in category k (tau its thresholds as
lavaan's computeTH gives them) and the normal density for a continuous
variable, yhat = Delta (nu + Lambda eta) (lavaan's computeEYetax, Delta the
scale factors) and s_j the residual standard deviation.
The objective is convex (the probit and normal likelihoods are log-concave),
so Newton steps, all rows at once, find the mode to 1e-10; lavaan's BFGS
stops earlier (relative tolerance 1e-8 on the objective), about 1e-4 away.
Missing responses leave the sum (lavaan's ``na.rm``).  Each group is scored
with its own matrices; lavaan 0.6.14 takes group 1's Lambda, nu and scale
factors for yhat in every group (a slip later lavaan versions fix), so its
scores of later groups differ where those do
(tests/reference/make_ordinal_more.R computes the reference with the group).
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ..data.frames import row_labels
from ..data.polychoric import coded_chunks
from ..errors import DataError, TorchfitError
from ..results.fit import Fit, GroupView

_PDF = 1.0 / np.sqrt(2.0 * np.pi)


class OrdinalFit(Fit):
    """A fit of the WLS family: its ``predict()`` gives lavaan's EBM scores."""

    def score_group(self, group: GroupView, data, columns) -> pd.DataFrame:
        """One group's empirical Bayes modal scores (lavaan's lavPredict()
        default for ordered items); new data's ordered items take the fitted
        data's categories.

        Examples
        --------
        >>> import torchfit
        >>> hs = torchfit.datasets.holzinger_swineford()
        >>> cut = hs.assign(**{f"x{i}": (hs[f"x{i}"] > hs[f"x{i}"].median()) + 1
        ...                    for i in range(1, 7)})
        >>> fit = torchfit.cfa("a =~ x1 + x2 + x3\\nb =~ x4 + x5 + x6", cut, ordered=True)
        >>> fit.predict().shape
        (301, 2)
        """
        return ebm_scores(group, self.partable, data, self.tests.levels, self.info.missing,
                          columns)


def ebm_scores(group: GroupView, pt: pd.DataFrame, data, levels: Dict[str, np.ndarray],
               missing: str, columns=None, tol: float = 1e-10) -> pd.DataFrame:
    """The EBM scores of one group's rows; ``levels`` maps each ordered item
    to its categories (a continuous variable is absent)."""
    model, m = group.model, group.matrices
    names = model.ov_names
    X = np.concatenate(list(coded_chunks(data, names, columns)) or [np.empty((0, len(names)))])
    index = row_labels(data, len(X))
    lost = np.isnan(X).any(axis=1)
    if lost.any() and missing != "pairwise":
        if missing == "default":
            raise DataError(f"{int(lost.sum())} rows have missing values; drop them or fit "
                            "with missing='listwise' or 'pairwise'")
        X, index = X[~lost], index[~lost]
    th, delta = _thresholds(group, pt)
    lo, hi, num = _bounds(X, names, levels, th)
    A = np.linalg.inv(np.eye(m["beta"].shape[0]) - m["beta"])
    V_inv = np.linalg.inv(A @ m["psi"] @ A.T)
    mean = A @ m["alpha"][:, 0]
    L, nu = delta[:, None] * m["lambda"], delta * m["nu"][:, 0]
    sd = np.sqrt(np.diag(m["theta"]))
    if (np.diag(m["theta"]) <= 0).any():
        raise TorchfitError("factor scores need positive residual variances, and this fit "
                            "has a zero or negative one")
    eta = np.zeros((len(X), len(mean)))
    for _ in range(100):
        g, h = _loglik_derivatives(nu + eta @ L.T, lo, hi, num, X, sd)
        grad = (eta - mean) @ V_inv - g @ L
        H = V_inv[None] - np.einsum("ja,nj,jb->nab", L, h, L)
        step = np.linalg.solve(H, grad[..., None])[..., 0]
        eta = eta - step
        if np.abs(step).max(initial=0.0) < tol:
            break
    lv = [model.eta_names.index(v) for v in model.lv_names]
    return pd.DataFrame(eta[:, lv], columns=model.lv_names, index=index)


def _thresholds(group: GroupView, pt: pd.DataFrame):
    """lavaan's computeTH: (tau - nu - Lambda A alpha) times the scale factor
    (per ordered item), and the scale factors (1 for continuous variables)."""
    model, m = group.model, group.matrices
    A = np.linalg.inv(np.eye(m["beta"].shape[0]) - m["beta"])
    mu = m["nu"][:, 0] + m["lambda"] @ A @ m["alpha"][:, 0]
    block = model.in_block & (pt["op"] == "~*~").to_numpy()
    delta = dict(zip(pt["lhs"].to_numpy()[block], pt["est"].to_numpy()[block]))
    out = {}
    for j, v in enumerate(model.ov_names):
        rows = model.in_block & (pt["op"] == "|").to_numpy() & (pt["lhs"] == v).to_numpy()
        if rows.any():
            out[v] = (m["tau"][j, :int(rows.sum())] - mu[j]) * delta.get(v, 1.0)
    return out, np.array([delta.get(v, 1.0) for v in model.ov_names])


def _bounds(X: np.ndarray, names: Sequence[str], levels, th):
    """Each row's lower and upper threshold per ordered item (+-inf at the
    ends, NaN where missing) and which variables are continuous."""
    lo, hi = np.full(X.shape, np.nan), np.full(X.shape, np.nan)
    num = np.array([v not in levels for v in names])
    for j, v in enumerate(names):
        if num[j]:
            continue
        lv, cuts = levels[v], np.concatenate([[-np.inf], th[v], [np.inf]])
        ok = ~np.isnan(X[:, j])
        k = np.searchsorted(lv, X[ok, j])
        bad = (k >= len(lv)) | (lv[np.minimum(k, len(lv) - 1)] != X[ok, j])
        if bad.any():
            raise DataError(f"'{v}' has values the fitted data did not have "
                            f"({', '.join(map(str, np.unique(X[ok, j][bad])[:5]))}); its "
                            f"categories are {', '.join(f'{c:g}' for c in lv)}")
        lo[ok, j], hi[ok, j] = cuts[k], cuts[k + 1]
    return lo, hi, num


def _loglik_derivatives(yhat, lo, hi, num, X, sd):
    """First and second derivatives of sum_j log f(y_j | yhat_j) in yhat
    (rows x variables; 0 where missing)."""
    # the infinite end points at 40 standard deviations: Phi there is 0 or
    # 1 and phi 0 to double precision, and z phi(z) stays defined
    z_hi, z_lo = np.clip((hi - yhat) / sd, -40, 40), np.clip((lo - yhat) / sd, -40, 40)
    P = np.maximum(ndtr(z_hi) - ndtr(z_lo), np.finfo(float).eps)
    d_hi, d_lo = _PDF * np.exp(-0.5 * z_hi ** 2), _PDF * np.exp(-0.5 * z_lo ** 2)
    g = -(d_hi - d_lo) / (sd * P)
    h = -(z_hi * d_hi - z_lo * d_lo) / (sd * sd * P) - g * g
    g = np.where(num, (X - yhat) / sd ** 2, g)
    h = np.where(num, -1.0 / sd ** 2, h)
    missing = np.isnan(X)
    return np.where(missing, 0.0, g), np.where(missing, 0.0, h)
