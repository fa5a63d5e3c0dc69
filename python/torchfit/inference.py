"""Standard errors, tests of single parameters and standardized solutions.

The covariance matrix of the estimates is the inverse of N times the
expected information (lavaan's default for complete data), taken over the
reduced parameters and mapped back to every free row of the table, so two
parameters tied by a label get the same standard error.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import pandas as pd
from scipy import stats

from .matrices import Model


def vcov_free(model: Model, information: np.ndarray, nobs: int) -> Optional[np.ndarray]:
    """Covariance matrix of the free table parameters (lavaan's coef order).

    Returns None when the information matrix is singular (the model is not
    identified), as lavaan then reports no standard errors.
    """
    w = np.linalg.eigvalsh(information)
    if w[0] <= 1e-12 * max(w[-1], 1e-300):
        return None
    K = model.reduce_matrix()
    return K @ np.linalg.inv(nobs * information) @ K.T


def add_estimates(pt: pd.DataFrame, est: np.ndarray, vcov: Optional[np.ndarray],
                  level: float = 0.95) -> pd.DataFrame:
    """The table with est, se, z, pvalue, ci.lower and ci.upper columns.

    Fixed parameters get se = 0 and no test, as in lavaan.
    """
    out = pt.copy()
    free = out["free"].to_numpy()
    se = np.zeros(len(out))
    if vcov is None:
        se[free > 0] = np.nan
    else:
        se[free > 0] = np.sqrt(np.clip(np.diag(vcov)[free[free > 0] - 1], 0, None))
    is_constraint = out["op"].isin(["==", "<", ">"]).to_numpy()
    est = np.where(is_constraint, 0.0, est)
    out["est"] = est
    out["se"] = se
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(free > 0, est / se, np.nan)
    out["z"] = z
    out["pvalue"] = 2 * stats.norm.sf(np.abs(z))
    crit = stats.norm.ppf(0.5 + level / 2)
    out["ci.lower"] = est - crit * se
    out["ci.upper"] = est + crit * se
    return out


def standardized(model: Model, mats: Dict[str, np.ndarray], sigma: np.ndarray,
                 pt: pd.DataFrame) -> pd.DataFrame:
    """std.lv (latent variables scaled to unit variance) and std.all (all
    variables) for every row, lavaan's definitions: variances are divided by
    total variances, covariances by the square roots of the residual
    variances of the two variables, directed effects by sd(from)/sd(to)."""
    A = np.linalg.inv(np.eye(mats["beta"].shape[0]) - mats["beta"])
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
    for i, (lhs, op, rhs, est) in enumerate(zip(pt["lhs"], pt["op"], pt["rhs"], pt["est"])):
        for only_latent, out in ((True, std_lv), (False, std_all)):
            if op == "=~":
                out[i] = est * sd(lhs, only_latent, total) / sd(rhs, only_latent, total)
            elif op == "~":
                out[i] = est * sd(rhs, only_latent, total) / sd(lhs, only_latent, total)
            elif op == "~~" and lhs == rhs:
                out[i] = est / sd(lhs, only_latent, total) ** 2
            elif op == "~~":
                out[i] = est / (sd(lhs, only_latent, resid) * sd(rhs, only_latent, resid))
            elif op in ("==", "<", ">"):
                out[i] = 0.0
    out = pt.copy()
    out["std.lv"] = std_lv
    out["std.all"] = std_all
    return out
