"""Factor scores by the regression method (lavaan's lavPredict default), for complete
data and, after a FIML fit, for rows with missing values."""
from __future__ import annotations

from typing import Dict

import numpy as np
import pandas as pd

from ..data.frames import chunks, row_labels, select
from ..data.patterns import is_fiml
from ..model.matrices import Model


def group_scores(group, data, missing: str, columns) -> pd.DataFrame:
    """Regression factor scores of one group (a ``fit.GroupView``):
    E[eta] + Cov(eta, y) Sigma^-1 (y - mu)."""
    model, m = group.model, group.matrices
    lv = [model.eta_names.index(v) for v in model.lv_names]
    if is_fiml(missing):  # every row, each scored from its observed values
        scores = fiml_factor_scores(model, m, group.implied["mean"], group.implied["cov"],
                                    data, columns)
        scored = ~np.isnan(scores).all(axis=1)  # rows missing on every variable were dropped
        index = row_labels(data, len(scores))[scored]
        return pd.DataFrame(scores[scored][:, lv], columns=model.lv_names, index=index)
    rows = select(data, model.ov_names, missing=missing, columns=columns)
    A = np.linalg.inv(np.eye(m["beta"].shape[0]) - m["beta"])
    weights = np.linalg.solve(group.implied["cov"], m["lambda"] @ A @ m["psi"] @ A.T)
    scores = _eta_means(group, A) + (rows.X - group.implied["mean"]) @ weights
    return pd.DataFrame(scores[:, lv], columns=model.lv_names, index=rows.index)


def _eta_means(group, A: np.ndarray) -> np.ndarray:
    """Means of eta: A alpha with a mean structure.  Without one, observed
    variables keep their sample means and latent intercepts are 0, so a latent
    variable regressed on covariates has mean A[lv, d] alpha_d with alpha_d
    solving A[d, d] alpha_d = mean_d."""
    model = group.model
    if model.mean_structure:
        return A @ group.matrices["alpha"][:, 0]
    eta = model.eta_names
    d = [i for i, v in enumerate(eta) if v in model.ov_names]
    means = np.zeros(len(eta))
    if d:
        ybar = group.sample["mean"][[model.ov_names.index(eta[i]) for i in d]]
        means = A[:, d] @ np.linalg.solve(A[np.ix_(d, d)], ybar)
    return means


def fiml_factor_scores(model: Model, mats: Dict[str, np.ndarray], mu: np.ndarray,
                       sigma: np.ndarray, data, columns=None) -> np.ndarray:
    """Regression factor scores of rows with missing values, as lavPredict()
    gives them after a FIML fit: E[eta] + Cov(eta, y_o) Sigma_oo^-1 (y_o - mu_o)
    over each row's observed variables o; NaN for rows missing on all of them.

    Returns an (n_rows, n_eta) array over every eta (latent and phantom).
    """
    X = np.concatenate(list(chunks(data, model.ov_names, columns, 1 << 16)) or
                       [np.empty((0, len(model.ov_names)))])
    A = np.linalg.inv(np.eye(mats["beta"].shape[0]) - mats["beta"])
    eta_mean = A @ mats["alpha"][:, 0]
    cov_eta_y = A @ mats["psi"] @ A.T @ mats["lambda"].T
    out = np.full((X.shape[0], len(eta_mean)), np.nan)
    seen = np.isfinite(X)
    keys, inverse = np.unique(seen, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    for j, key in enumerate(keys):
        o = np.flatnonzero(key)
        if not len(o):
            continue  # an empty row: no score, as lavaan
        rows = inverse == j
        weights = np.linalg.solve(sigma[np.ix_(o, o)], cov_eta_y[:, o].T)
        out[rows] = eta_mean + (X[rows][:, o] - mu[o]) @ weights
    return out
