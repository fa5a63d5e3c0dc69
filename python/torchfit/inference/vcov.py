"""Standard errors, tests of single parameters and standardized solutions.

The covariance matrix of the estimates is the inverse of N times the
expected information (lavaan's default for complete data), taken over the
reduced parameters and mapped back to every free row of the table, so two
parameters tied by a label get the same standard error.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ..model.matrices import Model


def _inv(a: np.ndarray) -> np.ndarray:
    # torch, not NumPy: NumPy's multi-threaded BLAS is slow on tiny matrices
    # while other threads are busy, and these are tiny.
    return torch.linalg.inv(torch.as_tensor(a)).numpy()


def _constrained_inverse(info: np.ndarray, A: np.ndarray) -> Optional[np.ndarray]:
    """Top-left block of [[I, A'], [A, 0]]^-1, with numerically zero
    (co)variances (parameters the constraints determine) set to 0."""
    q, m = info.shape[0], A.shape[0]
    augmented = np.block([[info, A.T], [A, np.zeros((m, m))]]) if m else info
    if np.linalg.matrix_rank(augmented) < q + m:
        return None
    V = _inv(augmented)[:q, :q]
    V[np.abs(V) < 1e-12 * np.abs(np.diag(V)).max()] = 0.0
    return V


def vcov_free(model: Model, information: np.ndarray, nobs: int,
              constraint_jacobian: Optional[np.ndarray] = None,
              at_bound: Sequence[int] = ()) -> Optional[np.ndarray]:
    """Covariance matrix of the free table parameters (lavaan's coef order).

    With general constraints (equalities and active inequalities, Jacobian
    A), it is the top-left block of the inverse of [[N I, A'], [A, 0]], which
    is identified even where I alone is not.  Returns None when the
    (augmented) information matrix is singular (the model is not identified),
    as lavaan then reports no standard errors.
    """
    K = model.reduce_matrix()
    if constraint_jacobian is not None and len(constraint_jacobian):
        V = _constrained_inverse(nobs * information, constraint_jacobian)
        if V is None:
            return None
        out = K @ V @ K.T
        # a parameter held at a bound ('v < 0.3') has no standard error, as in lavaan
        held = np.flatnonzero(np.isin(model.x_index, at_bound))
        out[held, :] = np.nan
        out[:, held] = np.nan
        return out
    w = torch.linalg.eigvalsh(torch.as_tensor(information)).numpy()
    if w[0] <= 1e-12 * max(w[-1], 1e-300):
        return None
    return K @ _inv(nobs * information) @ K.T


def estimate_columns(pt: pd.DataFrame, est: np.ndarray, vcov: Optional[np.ndarray],
                     level: float = 0.95) -> Dict[str, np.ndarray]:
    """est, se, z, pvalue, ci.lower and ci.upper for every row of the table.

    Fixed parameters get se = 0 and no test, as in lavaan.
    """
    free = pt["free"].to_numpy()
    se = np.zeros(len(pt))
    if vcov is None:
        se[free > 0] = np.nan
    else:
        se[free > 0] = np.sqrt(np.clip(np.diag(vcov)[free[free > 0] - 1], 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(free > 0, est / se, np.nan)
    crit = stats.norm.ppf(0.5 + level / 2)
    return {"est": est, "se": se, "z": z, "pvalue": 2 * stats.norm.sf(np.abs(z)),
            "ci.lower": est - crit * se, "ci.upper": est + crit * se}


def standardized(model: Model, mats: Dict[str, np.ndarray], sigma: np.ndarray,
                 pt: pd.DataFrame, est: np.ndarray) -> Dict[str, np.ndarray]:
    """std.lv (latent variables scaled to unit variance) and std.all (all
    variables) for every row, lavaan's definitions: variances are divided by
    total variances, covariances by the square roots of the residual
    variances of the two variables, directed effects by sd(from)/sd(to)."""
    A = _inv(np.eye(mats["beta"].shape[0]) - mats["beta"])
    eta_var = np.diag(A @ mats["psi"] @ A.T)
    total = dict(zip(model.eta_names, eta_var))
    total.update(zip(model.ov_names, np.diag(sigma)))
    resid = dict(zip(model.eta_names, np.diag(mats["psi"])))
    for v, th in zip(model.ov_names, np.diag(mats["theta"])):
        resid.setdefault(v, th)
    latent = set(model.lv_names)

    def sd(v, only_latent, table):
        if only_latent and v not in latent:
            return 1.0
        return np.sqrt(table[v]) if table[v] > 0 else np.nan

    std_lv = np.full(len(pt), np.nan)
    std_all = np.full(len(pt), np.nan)
    rows = list(zip(pt["lhs"], pt["op"], pt["rhs"], est))
    for i, (lhs, op, rhs, value) in enumerate(rows):
        for only_latent, out in ((True, std_lv), (False, std_all)):
            if op == "=~":
                out[i] = value * sd(lhs, only_latent, total) / sd(rhs, only_latent, total)
            elif op == "~":
                out[i] = value * sd(rhs, only_latent, total) / sd(lhs, only_latent, total)
            elif op == "~1":
                out[i] = value / sd(lhs, only_latent, total)
            elif op == "~~" and lhs == rhs:
                out[i] = value / sd(lhs, only_latent, total) ** 2
            elif op == "~~":
                out[i] = value / (sd(lhs, only_latent, resid) * sd(rhs, only_latent, resid))
    return {"std.lv": std_lv, "std.all": std_all}
