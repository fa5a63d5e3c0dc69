"""Start values for the free parameters, from the sample covariance matrix.

Loadings come from ratios of sample covariances (for a one-factor block,
s_jk / s_mk estimates lambda_j / lambda_m for any third indicator k), latent
variances from the marker's covariances, residual variances are half the
observed variances (lavaan's choice), regressions and covariances start at 0.
User start values (``start(0.5)*x``, ``0.5?x``) and fixed values win.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..model.matrices import Model
from .ml import GroupMoments


def _median(values, default: float) -> float:
    values = [v for v in values if np.isfinite(v)]
    return float(np.median(values)) if values else default


def _factor_block(S, inds, marker_fixed, psi_fixed):
    """Loadings and latent variance for one factor with observed indicators.

    ``inds`` are column indices in S, the first one being the reference.
    Returns (loadings, psi) with the reference's loading = marker_fixed when
    the loading is fixed, or scaled so that psi = psi_fixed.
    """
    ref = inds[0]
    ratios = [1.0]
    for j in inds[1:]:
        others = [k for k in inds if k not in (ref, j) and abs(S[ref, k]) > 1e-12]
        fallback = np.sign(S[ref, j] or 1.0) * np.sqrt(S[j, j] / S[ref, ref])
        ratios.append(_median((S[j, k] / S[ref, k] for k in others), fallback))
    common = _median((S[ref, j] / r for j, r in zip(inds[1:], ratios[1:]) if r != 0),
                     0.5 * S[ref, ref])
    common = min(max(common, 0.05 * S[ref, ref]), 0.95 * S[ref, ref])
    if psi_fixed is not None:
        lam_ref = np.sqrt(common / psi_fixed)
        return [lam_ref * r for r in ratios], psi_fixed
    lam_ref = marker_fixed if marker_fixed not in (None, 0.0) else 1.0
    return [lam_ref * r for r in ratios], common / lam_ref ** 2


def start_values(model: Model, S: np.ndarray, mean: Optional[np.ndarray] = None) -> np.ndarray:
    """One start value per table row (fixed rows keep their values).

    Examples
    --------
    >>> import numpy as np
    >>> from torchfit.model.partable import parse
    >>> S = np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]])
    >>> start_values(Model(parse("f =~ x1 + x2 + x3")), S)[:4].round(2).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    pt: pd.DataFrame = model.partable
    values = pt["ustart"].to_numpy(dtype=float).copy()
    ov = {v: i for i, v in enumerate(model.ov_names)}
    lhs, op, rhs = pt["lhs"].to_numpy(), pt["op"].to_numpy(), pt["rhs"].to_numpy()
    free = pt["free"].to_numpy()
    exo = pt["exo"].to_numpy()
    mine = model.in_block  # only this group's rows: S belongs to it
    dependent = set(lhs[(op == "~") & mine])
    # Fixed covariates take the sample moments (lavaan's conditional.x also
    # marks the regressions on them exo, which are parameters).
    for i in np.flatnonzero((exo == 1) & (op != "~") & mine):
        values[i] = mean[ov[lhs[i]]] if op[i] == "~1" else S[ov[lhs[i]], ov[rhs[i]]]
    for f in model.lv_names:
        rows = [i for i in np.flatnonzero((op == "=~") & (lhs == f) & mine) if rhs[i] in ov]
        if not rows:
            continue
        var_row = np.flatnonzero((op == "~~") & (lhs == f) & (rhs == f) & mine)
        psi_fixed = values[var_row[0]] if len(var_row) and free[var_row[0]] == 0 else None
        marker = values[rows[0]] if free[rows[0]] == 0 else None
        loads, psi = _factor_block(S, [ov[rhs[i]] for i in rows], marker, psi_fixed)
        for i, lam in zip(rows, loads):
            if np.isnan(values[i]):
                values[i] = lam
        if len(var_row) and np.isnan(values[var_row[0]]):
            values[var_row[0]] = psi
    for i in np.flatnonzero(np.isnan(values) & mine):
        if op[i] == "~~" and lhs[i] == rhs[i]:
            if lhs[i] in ov:
                exogenous = lhs[i] not in dependent and lhs[i] in model.eta_names
                values[i] = S[ov[lhs[i]], ov[lhs[i]]] * (1.0 if exogenous else 0.5)
            else:
                values[i] = 0.05
        elif op[i] in ("=~",):
            values[i] = 1.0
        elif op[i] == "~1" and lhs[i] in ov and mean is not None:
            values[i] = mean[ov[lhs[i]]]  # observed intercepts start at the sample means
        else:
            values[i] = 0.0
    return values


def start_all(groups: Sequence[GroupMoments]) -> np.ndarray:
    """Start values for every row of a table with one or more groups, each
    group's rows from its own sample moments (constraint rows get 0)."""
    pt = groups[0].model.partable
    values = pt["ustart"].to_numpy(dtype=float).copy()
    for g in groups:
        mine = g.model.in_block
        values[mine] = start_values(g.model, g.cov, g.mean)[mine]
    values[(pt["block"] == 0).to_numpy() & np.isnan(values)] = 0.0
    return values


def reduced_start(model: Model, values: np.ndarray) -> np.ndarray:
    """Start of the reduced vector: the mean start of the parameters tied together."""
    free = model.partable["free"].to_numpy()
    rows = np.flatnonzero(free > 0)
    x = np.zeros(model.n_free)
    count = np.zeros(model.n_free)
    np.add.at(x, model.x_index[free[rows] - 1], values[rows])
    np.add.at(count, model.x_index[free[rows] - 1], 1.0)
    return x / count
