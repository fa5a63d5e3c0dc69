"""Start values for the free parameters.

ML starts where lavaan starts (``lav_start``), so that the two optimisers set
off from the same point and, on a likelihood with several optima, reach the
same one:

- the loadings of a factor measured by observed variables by fabin3
  (Hägglund 1982), an instrumental-variable estimate per factor, within
  lavaan's bounds; other loadings 1;
- latent (residual) variances 0.05; observed residual variances half the
  sample variance;
- (co)variances and intercepts of exogenous covariates: the sample moments;
  observed intercepts: the sample means;
- regressions in a model without latent variables: least squares; every
  other parameter 0.

``simple_start`` is lavaan's fallback ``start = "simple"``.
``factor_variances`` puts the factor variances that fabin3 estimates in
place of 0.05: Fisher scoring starts there, in fewer iterations (the
optimum it is trusted with does not depend on the start).  IWAVE starts
from ``start_values``, heuristics that also give latent variances from the
covariances.  User start values (``start(0.5)*x``, ``0.5?x``) and fixed
values win in all of them.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..model.matrices import Model
from .ml import GroupMoments

#: lavaan's start of every latent (residual) variance
LATENT_VARIANCE = 0.05


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
    """One start value per table row (fixed rows keep their values), from
    moment heuristics: loadings from ratios of covariances, latent variances
    from the marker's covariances (IWAVE's start).

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
    mine = model.in_block  # only this group's rows: S belongs to it
    dependent = set(lhs[(op == "~") & mine])
    _covariate_moments(model, S, mean, values)
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


def _covariate_moments(model: Model, S: np.ndarray, mean: Optional[np.ndarray],
                       values: np.ndarray) -> None:
    """Fixed covariates (exo rows other than regressions: lavaan's
    conditional.x also marks the regressions on them exo, which are
    parameters) take the sample moments, in place."""
    pt = model.partable
    ov = {v: i for i, v in enumerate(model.ov_names)}
    lhs, op, rhs = pt["lhs"].to_numpy(), pt["op"].to_numpy(), pt["rhs"].to_numpy()
    for i in np.flatnonzero((pt["exo"].to_numpy() == 1) & (op != "~") & model.in_block):
        values[i] = mean[ov[lhs[i]]] if op[i] == "~1" else S[ov[lhs[i]], ov[rhs[i]]]


# -- lavaan's start values ----------------------------------------------------------------

def _clip(value, bound):
    """min(max(-bound, value), bound) as R computes it (NaN stays NaN)."""
    return np.minimum(np.maximum(-bound, value), bound)


def _three_indicators(S: np.ndarray) -> Tuple[np.ndarray, float, bool]:
    """Loadings (the first fixed at 1) and variance of a one-factor model
    with at most three indicators, solved exactly within lavaan's bounds
    (``lav_cfa_1fac_3ind``), and whether the product of the three
    covariances is negative (no admissible solution).  One indicator is
    treated as three unit ones; a second one is completed to three by a
    copy of the marker."""
    p = S.shape[0]
    if p == 1:
        S = np.ones((3, 3))
    elif p == 2:
        mean, top, s21 = (S[0, 0] + S[1, 1]) / 2, max(S[0, 0], S[1, 1]), S[1, 0]
        S = np.array([[S[0, 0], s21, mean], [s21, S[1, 1], s21], [mean, s21, top]])
    s21, s31, s32 = S[1, 0], S[2, 0], S[2, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        psi = s21 * s31 / s32
        lam = np.array([1.0, s32 / s31, s32 / s21])
    lower_psi = 0.1 * S[0, 0]  # lavaan assumes a reliability of the marker >= 0.1
    psi = min(max(psi, lower_psi), S[0, 0])
    lam[1:] = _clip(lam[1:], np.sqrt(np.diag(S)[1:] / lower_psi))
    return lam[:p], psi, bool(s21 * s31 * s32 < 0)


def _fabin3_psi(S: np.ndarray, lam: np.ndarray) -> float:
    """The factor variance that goes with fabin3 loadings: residual
    variances by unweighted least squares, then psi from S - Theta."""
    D = np.outer(lam, lam) / (lam @ lam)
    theta = np.linalg.solve(np.eye(len(lam)) - D * D, np.diag(S - D @ S @ D))
    return float(lam @ (S - np.diag(theta)) @ lam / (lam @ lam) ** 2)


def _fabin3(S: np.ndarray, variance: bool = True) -> Tuple[np.ndarray, float, bool]:
    """fabin3 loadings (the first fixed at 1), the factor variance that
    goes with them (NaN for four or more indicators unless ``variance``)
    and whether a three-indicator block has a negative product of
    covariances."""
    p = S.shape[0]
    if p < 4:
        return _three_indicators(S)
    # indicator i (> 0) has the others but the reference as instruments
    items = np.arange(1, p)
    others = np.broadcast_to(items, (p - 1, p - 1))[~np.eye(p - 1, dtype=bool)].reshape(p - 1, -1)
    s_i, s_ref = S[items[:, None], others], S[others, 0]
    w = _solve_each(S[others[:, :, None], others[:, None, :]], s_ref)
    singular = np.isnan(w).any(axis=1)  # lavaan then takes the plain ratio
    w[singular] = s_ref[singular]
    lam = np.concatenate([[1.0], (s_i * w).sum(1) / (s_ref * w).sum(1)])
    lam[1:] = _clip(lam[1:], np.sqrt(np.diag(S)[1:] / (0.1 * S[0, 0])))
    return lam, _fabin3_psi(S, lam) if variance else np.nan, False


def _solve_each(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x_k = A_k^-1 b_k for a stack of systems in one call; NaN rows where
    A_k is singular (R's solve() fails there)."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        if len(A) == 1:
            return np.full(b.shape, np.nan)
        return np.concatenate([_solve_each(a[None], v[None]) for a, v in zip(A, b)])


def fabin3(S: np.ndarray, std_lv: bool = False) -> np.ndarray:
    """fabin3 loadings of one factor, the first indicator its reference
    (lavaan's ``lav_cfa_1fac_fabin``): each loading is the two-stage least
    squares estimate with the other indicators as instruments, bounded so
    that the reference's reliability is at least 0.1; with ``std_lv`` they
    are scaled to a unit factor variance.  Non-finite loadings, or a
    three-indicator block with a negative product of covariances, give 1
    (0.7 with ``std_lv``) for every indicator.

    Examples
    --------
    >>> S = np.array([[1.0, .48, .40, .32], [.48, 1.0, .30, .24],
    ...               [.40, .30, 1.0, .20], [.32, .24, .20, 1.0]])
    >>> fabin3(S).round(3).tolist()
    [1.0, 0.75, 0.625, 0.5]
    """
    lam, psi, negative_triad = _fabin3(S, variance=std_lv)
    if negative_triad:
        return np.full(len(lam), 0.7 if std_lv else 1.0)
    if std_lv:
        lam = lam * np.sign(psi) * np.sqrt(abs(psi))
    return np.where(np.isfinite(lam), lam, 1.0)


def lavaan_start(model: Model, S: np.ndarray, mean: Optional[np.ndarray] = None) -> np.ndarray:
    """One start value per table row, lavaan's (``start = "default"``);
    rows of other groups and fixed rows keep their values.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> S = np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]])
    >>> lavaan_start(Model(parse("f =~ x1 + x2 + x3")), S)[:7].round(2).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.05]
    """
    pt = model.partable
    values = pt["ustart"].to_numpy(dtype=float).copy()
    start = np.zeros(len(pt))
    lhs, op, rhs = pt["lhs"].to_numpy(), pt["op"].to_numpy(), pt["rhs"].to_numpy()
    names = model.names
    ov = {v: i for i, v in enumerate(model.ov_names)}
    variance = (op == "~~") & (lhs == rhs)
    start[op == "=~"] = 1.0
    start[variance & np.isin(lhs, names.lv)] = LATENT_VARIANCE
    for i in np.flatnonzero(variance & np.isin(lhs, model.ov_names)):
        start[i] = 0.5 * S[ov[lhs[i]], ov[lhs[i]]]
    if mean is not None:
        for i in np.flatnonzero((op == "~1") & np.isin(lhs, model.ov_names)):
            start[i] = mean[ov[lhs[i]]]
    for i in np.flatnonzero((op == "~~") & np.isin(lhs, names.ov_x) & np.isin(rhs, names.ov_x)):
        start[i] = S[ov[lhs[i]], ov[rhs[i]]]
    _fabin3_loadings(model, S, values, start)
    _single_indicator_variances(model, S, values, start)
    if not names.lv:
        _least_squares_regressions(model, S, start)
    mine = model.in_block & np.isnan(values)
    values[mine] = start[mine]
    return values


def _std_lv_factor(model: Model, values: np.ndarray, f: str) -> bool:
    """Whether factor f is scaled by its variance fixed at 1 (std.lv)."""
    pt = model.partable
    rows = np.flatnonzero(model.in_block & (pt["op"].to_numpy() == "~~")
                          & (pt["lhs"].to_numpy() == f) & (pt["rhs"].to_numpy() == f))
    free = pt["free"].to_numpy()
    return len(rows) > 0 and bool(np.all(free[rows] == 0)) and bool(np.all(values[rows] == 1))


def _fabin3_loadings(model: Model, S: np.ndarray, values: np.ndarray, start: np.ndarray) -> None:
    """fabin3 loadings for each factor whose indicators are all observed."""
    pt = model.partable
    lhs, op, rhs = pt["lhs"].to_numpy(), pt["op"].to_numpy(), pt["rhs"].to_numpy()
    ov = {v: i for i, v in enumerate(model.ov_names)}
    for f in model.names.lv:
        rows = np.flatnonzero(model.in_block & (op == "=~") & (lhs == f))
        if not len(rows) or not all(r in ov for r in rhs[rows]):
            continue  # a higher-order factor keeps loadings of 1
        idx = [ov[r] for r in rhs[rows]]
        start[rows] = fabin3(S[np.ix_(idx, idx)], _std_lv_factor(model, values, f))


def factor_variances(model: Model, S: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` (lavaan's start values) with the free variance of each
    factor measured by observed indicators set to fabin3's estimate for its
    start loadings (lavaan computes it but starts at 0.05), scaled to its
    marker, where it is positive: Fisher scoring converges from there in
    fewer iterations.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> m = Model(parse("f =~ x1 + x2 + x3"))
    >>> S = np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]])
    >>> factor_variances(m, S, lavaan_start(m, S))[-1]
    1.0
    """
    pt = model.partable
    lhs, op, rhs = pt["lhs"].to_numpy(), pt["op"].to_numpy(), pt["rhs"].to_numpy()
    ov = {v: i for i, v in enumerate(model.ov_names)}
    loadings: Dict[str, List[int]] = {}
    for i in np.flatnonzero(model.in_block & (op == "=~")):
        loadings.setdefault(lhs[i], []).append(i)
    out = values.copy()
    free_variances = model.in_block & (op == "~~") & (lhs == rhs) & (pt["free"].to_numpy() > 0) \
        & np.isnan(pt["ustart"].to_numpy())
    for i in np.flatnonzero(free_variances):
        rows = loadings.get(lhs[i])
        if not rows or values[rows[0]] == 0 or not all(r in ov for r in rhs[rows]):
            continue
        block = S[np.ix_(*2 * ([ov[r] for r in rhs[rows]],))]
        psi = _three_indicators(block)[1] if len(rows) < 4 else \
            _fabin3_psi(block, values[rows] / values[rows[0]])
        psi /= values[rows[0]] ** 2
        out[i] = psi if np.isfinite(psi) and psi > 0 else values[i]
    return out


def _single_indicator_variances(model: Model, S: np.ndarray, values: np.ndarray,
                                start: np.ndarray) -> None:
    """An exogenous factor with one indicator starts with the indicator's
    variance less its (fixed) residual variance, at least 0.05."""
    pt = model.partable
    lhs, op, rhs = pt["lhs"].to_numpy(), pt["op"].to_numpy(), pt["rhs"].to_numpy()
    ov = {v: i for i, v in enumerate(model.ov_names)}
    block = model.in_block
    for f in model.names.lv_x:
        rows = np.flatnonzero(block & (op == "=~") & (lhs == f))
        if len(rows) != 1 or rhs[rows[0]] not in ov:
            continue
        item = rhs[rows[0]]
        residual = values[block & (op == "~~") & (lhs == item) & (rhs == item)]
        residual = residual[0] if len(residual) and np.isfinite(residual[0]) else 1.0
        variance = S[ov[item], ov[item]] - residual
        start[block & (op == "~~") & (lhs == f) & (rhs == f)] = \
            variance if variance >= LATENT_VARIANCE else LATENT_VARIANCE


def _least_squares_regressions(model: Model, S: np.ndarray, start: np.ndarray) -> None:
    """Regressions of a model without latent variables start at their least
    squares estimates, the residual variance at the residual of the
    regression when it explains between 1 % and 99 % of the variance."""
    pt = model.partable
    lhs, op, rhs = pt["lhs"].to_numpy(), pt["op"].to_numpy(), pt["rhs"].to_numpy()
    ov = {v: i for i, v in enumerate(model.ov_names)}
    regressions = model.in_block & (op == "~")
    for y in dict.fromkeys(lhs[regressions]):
        rows = np.flatnonzero(regressions & (lhs == y))
        x, j = [ov[v] for v in rhs[rows]], ov[y]
        try:
            beta = np.linalg.solve(S[np.ix_(x, x)], S[x, j])
        except np.linalg.LinAlgError:
            beta = np.zeros(len(x))
        start[rows] = beta
        residual = S[j, j] - beta @ S[x, j]
        if 0.01 * S[j, j] < residual < 0.99 * S[j, j]:
            start[model.in_block & (op == "~~") & (lhs == y) & (rhs == y)] = residual


def simple_start(model: Model, values: np.ndarray) -> np.ndarray:
    """lavaan's fallback ``start = "simple"``: free loadings 0.7, free
    variances 1, every other free parameter 0; fixed rows keep ``values``.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> m = Model(parse("f =~ x1 + x2"))
    >>> simple_start(m, np.array([1.0, 0.8, 0.5, 0.5, 0.05])).tolist()
    [1.0, 0.7, 1.0, 1.0, 1.0]
    """
    pt = model.partable
    op = pt["op"].to_numpy()
    free = pt["free"].to_numpy() > 0
    out = values.copy()
    out[free] = 0.0
    out[free & (op == "=~")] = 0.7
    out[free & (op == "~~") & (pt["lhs"].to_numpy() == pt["rhs"].to_numpy())] = 1.0
    return out


def start_all(groups: Sequence[GroupMoments],
              scheme: Callable[..., np.ndarray] = lavaan_start) -> np.ndarray:
    """Start values for every row of a table with one or more groups, each
    group's rows from its own sample moments by ``scheme`` (constraint rows
    get 0)."""
    pt = groups[0].model.partable
    values = pt["ustart"].to_numpy(dtype=float).copy()
    for g in groups:
        mine = g.model.in_block
        values[mine] = scheme(g.model, g.cov, g.mean)[mine]
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
