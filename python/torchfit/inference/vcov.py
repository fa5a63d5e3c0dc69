"""Standard errors, tests of single parameters and standardized solutions.

The covariance matrix of the estimates is the inverse of N times the
expected information (lavaan's default for complete data), taken over the
reduced parameters and mapped back to every free row of the table, so two
parameters tied by a label get the same standard error.

The information matrix is inverted in the metric that gives it a unit
diagonal (each parameter in units of its own standard error): rescaling a
variable by 1000 changes the information's entries by up to 1e12 but not
this form, so standard errors survive badly scaled variables, and only a
matrix that is singular in this form, whatever the units, means that the
model is not identified.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
import torch
from scipy import special

from ..estimate.conditioning import certified_inverse
from ..model.matrices import Model

#: the columns of the standardized solution, lavaan's names
STD_COLUMNS = ("std.lv", "std.all", "std.nox")
#: eigenvalue of the unit-diagonal information, relative to its largest,
#: below which the matrix counts as singular
SINGULAR = 1e-12
#: share of a null eigenvector's largest entry above which a parameter is
#: named as involved
INVOLVED = 0.1


def _inv(a: np.ndarray) -> np.ndarray:
    # torch, not NumPy: NumPy's multi-threaded BLAS is slow on tiny matrices
    # while other threads are busy, and these are tiny.
    return torch.linalg.inv(torch.as_tensor(a)).numpy()


def _unit_diagonal(info: np.ndarray, A: Optional[np.ndarray] = None
                   ) -> Tuple[np.ndarray, np.ndarray]:
    """(d, M): the scales d = sqrt(diag(I)) and M = [[I, A'], [A, 0]] with I
    and the constraint Jacobian A rescaled so that I has a unit diagonal
    (a parameter without information keeps scale 1)."""
    d = np.sqrt(np.abs(np.diag(info)))
    d[d == 0] = 1.0
    scaled = info / np.outer(d, d)
    if A is None or not len(A):
        return d, scaled
    A = A / d
    m = A.shape[0]
    return d, np.block([[scaled, A.T], [A, np.zeros((m, m))]])


def _eigen(M: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending by absolute value) and eigenvectors."""
    w, V = torch.linalg.eigh(torch.as_tensor((M + M.T) / 2))
    order = torch.argsort(w.abs())
    return w[order].numpy(), V[:, order].numpy()




def null_space(information: np.ndarray, constraint_jacobian: Optional[np.ndarray] = None
               ) -> Tuple[float, List[int]]:
    """How close the information matrix (augmented with the constraints'
    Jacobian) is to singular in its unit-diagonal form: the smallest
    absolute eigenvalue relative to the largest, and the reduced parameters
    with a large share (``INVOLVED``) of an eigenvector whose eigenvalue is
    below ``SINGULAR`` of the largest, the parameters the data cannot tell
    apart.

    Examples
    --------
    >>> info = np.array([[1e-6, 1e-3, 0.0], [1e-3, 1.0, 0.0], [0.0, 0.0, 1e6]])
    >>> ratio, involved = null_space(info)
    >>> bool(ratio < 1e-12), involved
    (True, [0, 1])
    """
    q = information.shape[0]
    _, M = _unit_diagonal(information, constraint_jacobian)
    w, V = _eigen(M)
    ratio = abs(w[0]) / max(abs(w[-1]), 1e-300)
    null = V[:q, np.abs(w) <= SINGULAR * abs(w[-1])]
    weight = np.abs(null).max(axis=1) if null.shape[1] else np.zeros(q)
    involved = np.flatnonzero(weight >= INVOLVED * weight.max()) if weight.max() > 0 else []
    return float(ratio), [int(k) for k in involved]


def singular_message(pt: pd.DataFrame, model: Model, information: np.ndarray,
                     constraint_jacobian: Optional[np.ndarray] = None) -> str:
    """Why there are no standard errors (lavaan's "could not compute
    standard errors"), with the eigenvalue and the table rows of the
    parameters that span the near null space (:func:`null_space`).

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> pt = parse("f =~ x1 + x2", std_lv=True)
    >>> info = np.ones((4, 4)) + np.diag([0.0, 0.0, 1.0, 1.0])  # the loadings are aliased
    >>> singular_message(pt, Model(pt), info).split("; ")[-1]
    'the parameters involved: f =~ x1, f =~ x2'
    """
    ratio, involved = null_space(information, constraint_jacobian)
    free = pt["free"].to_numpy()
    owner = np.full(len(pt), -1)
    owner[free > 0] = model.x_index[free[free > 0] - 1]
    several = "group" in pt and pt["group"].max() > 1
    names = [f"{pt['lhs'].iat[i]} {pt['op'].iat[i]} {pt['rhs'].iat[i]}"
             + (f" (group {pt['group'].iat[i]})" if several else "")
             for i in np.flatnonzero(np.isin(owner, involved))]
    return ("could not compute standard errors: the information matrix is singular (its "
            f"smallest eigenvalue, scaled to a unit diagonal, is {ratio:.1e} of the largest), so "
            "the model may not be identified"
            + (f"; the parameters involved: {', '.join(names)}" if names else ""))


def constrained_inverse(info: np.ndarray, A: np.ndarray) -> Optional[np.ndarray]:
    """Top-left block of [[I, A'], [A, 0]]^-1 (A may have no rows), inverted
    by its eigendecomposition in the unit-diagonal metric, where
    numerically zero (co)variances (parameters the constraints determine)
    are set to 0; None where the augmented matrix is singular."""
    q = info.shape[0]
    d, M = _unit_diagonal(info, A)
    # without constraints M is the information itself: a Cholesky factor
    # certifies most of them regular, at a tenth of an eigendecomposition
    V = certified_inverse(M, SINGULAR) if M.shape[0] == q else None
    if V is None:
        w, Q = _eigen(M)
        if abs(w[0]) <= SINGULAR * abs(w[-1]):
            return None
        V = (Q[:q] / w) @ Q[:q].T
    V[np.abs(V) < 1e-12 * np.abs(np.diag(V)).max()] = 0.0
    return V / np.outer(d, d)


def vcov_free(model: Model, information: np.ndarray, nobs: int,
              constraint_jacobian: Optional[np.ndarray] = None,
              at_bound: Sequence[int] = ()) -> Optional[np.ndarray]:
    """Covariance matrix of the free table parameters (lavaan's coef order).

    With general constraints (equalities and active inequalities, Jacobian
    A), it is the top-left block of the inverse of [[N I, A'], [A, 0]], which
    is identified even where I alone is not.  Returns None when the
    (augmented) information matrix is singular in its unit-diagonal form
    (the model is not identified; :func:`null_space` names the parameters),
    as lavaan then reports no standard errors.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> m = Model(parse("f =~ x1 + x2 + x3", std_lv=True))
    >>> info = np.diag([1.0, 1.0, 1.0, 1e-12, 1e-12, 1e-12])  # variances in 1e6 units
    >>> np.sqrt(np.diag(vcov_free(m, info, 100))).round(1).tolist()
    [0.1, 0.1, 0.1, 100000.0, 100000.0, 100000.0]
    """
    A = constraint_jacobian if constraint_jacobian is not None and len(constraint_jacobian) \
        else np.zeros((0, information.shape[0]))
    V = constrained_inverse(nobs * information, A)
    if V is None:
        return None
    out = V[np.ix_(model.x_index, model.x_index)]  # K V K' for the 0/1 map K of reduce_matrix()
    # a parameter held at a bound ('v < 0.3') has no standard error, as in lavaan
    held = np.flatnonzero(np.isin(model.x_index, at_bound))
    out[held, :] = np.nan
    out[:, held] = np.nan
    return out


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
    lower, upper = confidence_interval(est, se, level)
    # the normal tail by scipy.special's ufuncs: the same numbers as
    # scipy.stats.norm's, without its ~0.3 ms of overhead per fit
    return {"est": est, "se": se, "z": z, "pvalue": special.erfc(np.abs(z) / np.sqrt(2.0)),
            "ci.lower": lower, "ci.upper": upper}


def confidence_interval(est, se, level: float = 0.95) -> Tuple[np.ndarray, np.ndarray]:
    """Wald intervals est -+ z_(1/2 + level/2) se (a fixed parameter, se = 0,
    gets its value twice).

    Examples
    --------
    >>> [v.round(3).tolist() for v in confidence_interval(np.array([1.0]), np.array([0.1]), 0.9)]
    [[0.836], [1.164]]
    """
    crit = special.ndtri(0.5 + level / 2)
    est, se = np.asarray(est, dtype=float), np.asarray(se, dtype=float)
    return est - crit * se, est + crit * se


def standardized(model: Model, mats: Dict[str, np.ndarray], sigma: np.ndarray,
                 pt: pd.DataFrame, est: np.ndarray) -> Dict[str, np.ndarray]:
    """std.lv (latent variables scaled to unit variance), std.all (all
    variables) and std.nox (all but the exogenous observed covariates) for
    every row, lavaan's definitions: variances are divided by total
    variances, covariances by the square roots of the residual variances of
    the two variables, directed effects by sd(from)/sd(to).

    Examples
    --------
    >>> import torchfit
    >>> fit = torchfit.sem("f =~ x1 + x2 + x3; f ~ ageyr", torchfit.datasets.holzinger_swineford())
    >>> pe = fit.parameter_estimates(standardized=True)
    >>> row = pe[pe["op"] == "~"].iloc[0]
    >>> bool(row["std.nox"] == row["std.lv"] and row["std.all"] != row["std.lv"])
    True
    """
    A = _inv(np.eye(mats["beta"].shape[0]) - mats["beta"])
    eta_var = np.diag(A @ mats["psi"] @ A.T)
    total = dict(zip(model.eta_names, eta_var))
    total.update(zip(model.ov_names, np.diag(sigma)))
    resid = dict(zip(model.eta_names, np.diag(mats["psi"])))
    for v, th in zip(model.ov_names, np.diag(mats["theta"])):
        resid.setdefault(v, th)
    latent, ov_x = set(model.lv_names), set(model.names.ov_x)
    # which variables each solution scales
    scales = {"std.lv": latent.__contains__, "std.all": lambda v: True,
              "std.nox": lambda v: v not in ov_x}

    def sd(v, scaled, table):
        if not scaled(v):
            return 1.0
        # a negative residual variance still scales a covariance, by its
        # absolute value, as lavaan's cov.std does; a total one gives NA
        value = abs(table[v]) if table is resid else table[v]
        return np.sqrt(value) if value > 0 else np.nan

    out = {col: np.full(len(pt), np.nan) for col in scales}
    rows = list(zip(pt["lhs"], pt["op"], pt["rhs"], est))
    for i, (lhs, op, rhs, value) in enumerate(rows):
        for col, scaled in scales.items():
            # lavaan's std.nox scales the dependent side of a loading or
            # regression even when it is a covariate (modification indices)
            dependent = scales["std.all"] if col == "std.nox" else scaled
            if op == "=~":
                out[col][i] = value * sd(lhs, scaled, total) / sd(rhs, dependent, total)
            elif op == "~":
                out[col][i] = value * sd(rhs, scaled, total) / sd(lhs, dependent, total)
            elif op == "~1":
                out[col][i] = value / sd(lhs, scaled, total)
            elif op == "~~" and lhs == rhs:
                out[col][i] = value / sd(lhs, scaled, total) ** 2
            elif op == "~~":
                out[col][i] = value / (sd(lhs, scaled, resid) * sd(rhs, scaled, resid))
    return out


def latent_response_std(pt: pd.DataFrame, ov_names: Sequence[str], sigma: np.ndarray,
                        est: np.ndarray, std: Dict[str, np.ndarray],
                        rows: Optional[np.ndarray] = None) -> None:
    """lavaan's standardized thresholds and scale factors, written into ``std``
    (``rows``: a mask of the rows to write, all by default). A threshold
    ``y | tk`` keeps its value in std.lv (only latent variables are rescaled)
    and is the cut on y's latent response in units of its standard deviation
    (the square root of sigma's diagonal) in std.all and std.nox; a scale factor
    ``y ~*~ y`` is 1 there (the standardized latent response has sd 1).

    Examples
    --------
    >>> pt = pd.DataFrame({"lhs": ["y", "y"], "op": ["|", "~*~"], "rhs": ["t1", "y"]})
    >>> std = {col: np.full(2, np.nan) for col in STD_COLUMNS}
    >>> latent_response_std(pt, ["y"], np.array([[4.0]]), np.array([1.0, 1.0]), std)
    >>> std["std.lv"].tolist(), std["std.all"].tolist()
    ([1.0, 1.0], [0.5, 1.0])
    """
    sd = dict(zip(ov_names, np.sqrt(np.diag(sigma))))
    mask = np.ones(len(pt), dtype=bool) if rows is None else rows
    op, lhs = pt["op"].to_numpy(), pt["lhs"].to_numpy()
    # "y | s1" rows of nominal items are category scores, not cuts on a latent response
    cut = (op == "|") & pt["rhs"].astype(str).str.fullmatch(r"t[0-9]+").to_numpy()
    for r in np.flatnonzero(mask & (cut | (op == "~*~")) & np.isin(lhs, list(sd))):
        std["std.lv"][r] = est[r]
        value = est[r] / sd[lhs[r]] if cut[r] else 1.0
        for col in ("std.all", "std.nox"):
            if col in std:
                std[col][r] = value

