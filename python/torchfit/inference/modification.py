"""Modification indices (lavaan's ``modindices``) and score tests
(``lavTestScore``), from the gradient and expected information of the
extended model (:mod:`torchfit.inference.extended`).

For an extra parameter j (free in the extended model, fixed or absent in the
fitted one) with fmin's gradient g_j and the expected information I per
observation, V_j = I_jj - I_jM I_MM^- I_Mj (I_MM^- the inverse of the model
block under its equality constraints) and

    mi = N g_j^2 / V_j,    epc = -g_j / V_j,

NA where V_j < eps^(1/3) (the parameter is not identified), as in lavaan.
sepc.lv, sepc.all and sepc.nox standardize |epc| as lavaan does, with the
variances of the variables taken from the estimates (``cov.std``).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
from scipy import special

from ..errors import ModelError
from .extended import Extended, Sample, candidate_rows, evaluate, extend
from .vcov import constrained_inverse, standardized

EPS_CUBE_ROOT = np.finfo(float).eps ** (1 / 3)


def _chi2_sf(stat, df):
    return special.chdtrc(df, stat)


def _inverse_model_block(ext: Extended, model_idx: np.ndarray) -> np.ndarray:
    """I_MM^-: the information of the model's parameters inverted under
    their equality constraints (lavaan's inverted.information)."""
    R = ext.R[:, model_idx]
    inv = constrained_inverse(ext.I[np.ix_(model_idx, model_idx)], R)
    if inv is None:
        raise ModelError("could not compute modification indices: the information matrix "
                         "is singular (the model may not be identified)")
    return inv


def modification_indices(pt: pd.DataFrame, sample: Sample, meanstructure: bool,
                         groups: Sequence, several_groups: bool) -> pd.DataFrame:
    """lavaan's modindices() table (sort. = FALSE, minimum.value = 0): lhs op
    rhs [block group level] mi epc sepc.lv sepc.all sepc.nox for every fixed
    or absent parameter whose index is defined.

    ``groups`` are the fit's group views (model, matrices and implied
    covariance at the estimates), for the standardized EPCs.
    """
    table = extend(pt, candidate_rows(pt, meanstructure), free_fixed=True)
    ext = evaluate(table, sample, meanstructure)
    extra = ext.extra
    model_idx = np.setdiff1d(np.arange(len(ext.g)), extra)
    inv = _inverse_model_block(ext, model_idx)
    I12 = ext.I[np.ix_(extra, model_idx)]
    V = np.diag(ext.I)[extra] - np.einsum("ij,jk,ik->i", I12, inv, I12)
    V[V < EPS_CUBE_ROOT] = np.nan
    g = ext.g[extra]
    rows = table[table["free"] > 0].sort_values("free").iloc[extra].copy()
    rows["mi"] = ext.n * g ** 2 / V
    d = -ext.n * g
    d[np.abs(d) < 1e-15] = 1.0
    rows["epc"] = rows["mi"].to_numpy() / d
    rows = pd.concat([rows, _standardized_epc(rows, groups)], axis=1)
    rows = rows[rows["mi"].notna()].assign(level=1)  # one level: lavaan's column
    cols = ["lhs", "op", "rhs"] + (["block", "group", "level"] if several_groups else []) + \
        ["mi", "epc", "sepc.lv", "sepc.all", "sepc.nox"]
    return rows[cols].reset_index(drop=True)


def _standardized_epc(rows: pd.DataFrame, groups: Sequence) -> pd.DataFrame:
    """sepc.lv, sepc.all, sepc.nox: sign(epc) times |EPC| standardized, where
    the EPC of a (non-exogenous) variance is its estimate, and a variance
    below sqrt(eps) gives 0 (lavaan's ``cov.std``)."""
    epc = rows["epc"].to_numpy()
    var = ((rows["op"] == "~~") & (rows["lhs"] == rows["rhs"])).to_numpy()
    value = np.where(var & (rows["exo"].to_numpy() == 0), rows["est"].to_numpy(), epc)
    small = var & (np.abs(value) < np.sqrt(np.finfo(float).eps))
    value = np.where(small, np.nan, value)
    out = {col: np.full(len(rows), np.nan) for col in ("sepc.lv", "sepc.all", "sepc.nox")}
    for view in groups:
        block = (rows["block"] == view.model.block).to_numpy()
        std = standardized(view.model, view.matrices, view.implied["cov"], rows[block],
                           np.abs(value[block]))
        for col in out:
            out[col][block] = np.sign(epc[block]) * std[col.replace("sepc", "std")]
    for col in out:
        out[col][small] = 0.0
    return pd.DataFrame(out, index=rows.index)


def _augmented_pinv(I: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Top-left block of the pseudo-inverse of [[I, R'], [R, 0]] (lavaan's
    MASS::ginv)."""
    q, m = I.shape[0], R.shape[0]
    Z = np.block([[I, R.T], [R, np.zeros((m, m))]]) if m else I
    return np.linalg.pinv(Z)[:q, :q]


def _score_statistics(ext: Extended, R: np.ndarray, released: Sequence[int],
                      labels: List[str]) -> Dict[str, pd.DataFrame]:
    """The total score test of releasing the constraints ``released`` (rows
    of R) and one test per released constraint."""
    keep = [k for k in range(R.shape[0]) if k not in set(released)]

    def stat(rows):
        inv = _augmented_pinv(ext.I, R[rows])
        return float(ext.n * ext.g @ inv @ ext.g), -(inv @ ext.g)

    total = stat(keep)[0]
    df = len(released)
    uni = [stat([k for k in range(R.shape[0]) if k != r]) for r in released]
    test = pd.DataFrame({"test": ["score"], "X2": [total], "df": [df],
                         "p.value": [_chi2_sf(total, df)]})
    lhs, op, rhs = zip(*labels) if labels else ((), (), ())
    x2 = np.array([u[0] for u in uni])
    univariate = pd.DataFrame({"lhs": lhs, "op": op, "rhs": rhs, "X2": x2,
                               "df": [1] * len(uni), "p.value": _chi2_sf(x2, 1)})
    if len(ext.extra) == len(released):  # added parameters: their expected change
        univariate["epc"] = [u[1][j] for u, j in zip(uni, ext.extra)]
    return {"test": test, "uni": univariate}


def score_test(pt: pd.DataFrame, sample: Sample, meanstructure: bool,
               add: Optional[Sequence[tuple]] = None) -> Dict[str, pd.DataFrame]:
    """lavaan's lavTestScore(): with ``add`` (rows (lhs, op, rhs, block,
    group)), the test of freeing those parameters (each fixed at 0 in the
    fit); without, the test of releasing the model's equality constraints.

    Returns ``{"test": total, "uni": one row per parameter or constraint}``.
    """
    if pt["op"].isin(["<", ">"]).any():
        raise ModelError("score tests do not handle inequality constraints (nor does lavaan's "
                         "lavTestScore); refit without the '<' and '>' rows")
    if add:
        table = extend(pt, add)
        ext = evaluate(table, sample, meanstructure)
        extra = ext.extra
        if not len(extra):
            raise ModelError("the parameters to add are all in the model already")
        fix = np.zeros((len(extra), len(ext.g)))
        fix[np.arange(len(extra)), extra] = 1.0
        R = np.vstack([ext.R, fix])
        free = table[table["free"] > 0].sort_values("free").iloc[extra]
        labels = [(_name(r), "==", "0") for r in free.itertuples()]
        return _score_statistics(ext, R, list(range(len(ext.R), len(R))), labels)
    table = extend(pt)
    ext = evaluate(table, sample, meanstructure)
    if not len(ext.R):
        raise ModelError("the model has no equality constraints to release; pass add= to "
                         "test parameters the model leaves out")
    eq = table[table["op"] == "=="]
    labels = list(zip(eq["lhs"], eq["op"], eq["rhs"]))
    return _score_statistics(ext, ext.R, list(range(len(ext.R))), labels)


def _name(row) -> str:
    """lavaan's name of a free parameter: lhs op rhs, with .g2, ... beyond group 1."""
    return f"{row.lhs}{row.op}{row.rhs}" + (f".g{row.group}" if row.group > 1 else "")
