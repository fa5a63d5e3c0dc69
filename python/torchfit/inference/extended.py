"""The score (gradient) and expected information of a fit in lavaan's full
space of free parameters, optionally extended by parameters that the model
fixes or leaves out: what modification indices and score tests need.

lavaan's ``lav_object_extended`` refits nothing: it evaluates the extended
model at the estimates (the extra parameters at their fixed values, or 0).
Here the same extended table gets one :class:`~torchfit.model.matrices.Model`
per group with its ``==`` rows left out, so that every free row is its own
parameter (lavaan's ``free`` numbering); the equality constraints come back as
the rows of a Jacobian ``R`` (lavaan's ``con.jac``).  The gradient and the
expected information are those the estimator drives with (ML's objective, or
FIML's over the missing-data patterns), halved to lavaan's ``fmin`` scale:
per observation, groups weighted by N_g / N.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.frames import group_data
from ..data.gamma import vech_index
from ..data.patterns import pattern_moments
from ..estimate.fiml import FimlObjective
from ..estimate.ml import GroupMoments, Objective
from ..model.matrices import Model, block_numbers
from ..model.partable import variable_names
from .robust import moment_jacobian, moment_weight
from .wald import restriction_function

#: slack below which an inequality counts as active (held at its bound)
ACTIVE = 1e-8
#: operators of rows that are not model parameters
NOT_PARAMETERS = ("==", ":=", "<", ">")


@dataclass
class Sample:
    """What the extended model is evaluated against: per group the sample
    moments (``cov``, ``mean``, ``nobs``), or for FIML the data to form the
    missing-data patterns from."""

    moments: Sequence[dict]
    fiml_data: Optional[object] = None
    group: Optional[str] = None

    def patterns(self, models: Sequence[Model]) -> Optional[list]:
        """The missing-data patterns of each group's variables (FIML), else None."""
        if self.fiml_data is None:
            return None
        _, subsets = group_data(self.fiml_data, self.group)
        return [pattern_moments(s, m.ov_names, warn=False)
                for m, s in zip(models, subsets)]


@dataclass
class Extended:
    """The extended table (column ``extra``: a row the model fixes or leaves
    out), the gradient ``g`` and expected information ``I`` of lavaan's fmin
    per observation over its free rows (in ``free`` order), the equality
    Jacobian ``R`` of the model's constraints and N."""

    table: pd.DataFrame
    g: np.ndarray
    I: np.ndarray
    R: np.ndarray
    n: int

    @property
    def extra(self) -> np.ndarray:
        """Positions (in free order) of the extra parameters."""
        free = self.table[self.table["free"] > 0].sort_values("free")
        return np.flatnonzero(free["extra"].to_numpy())


def _lower_pairs(names: Sequence[str]) -> List[tuple]:
    """(a, b) for a before or equal to b, lavaan's lower triangle by column."""
    return [(names[j], names[i]) for j in range(len(names)) for i in range(j, len(names))]


def _unique(items) -> list:
    return list(dict.fromkeys(items))


def candidate_rows(pt: pd.DataFrame, meanstructure: bool) -> List[tuple]:
    """lavaan's ``lav_partable_full``: every loading, (residual) covariance,
    regression and intercept the model could have, as (lhs, op, rhs, block,
    group), in lavaan's order."""
    rows = []
    for b in block_numbers(pt):
        sub = pt[pt["block"] == b]
        group = int(sub["group"].iat[0])
        nm = variable_names(sub["lhs"], sub["op"], sub["rhs"], sub["user"], sub["exo"])
        reg = sub[sub["op"] == "~"]
        eqs = _unique(list(reg["lhs"]) + list(reg["rhs"]))
        out = [(lv, "=~", ov) for lv in nm.lv for ov in nm.ov_nox if ov not in eqs]
        other = set(nm.ov) - set(nm.ov_ind)
        out += [(a, "~~", c) for a, c in _lower_pairs(nm.ov_nox)
                if a not in other and c not in other]
        out += [(a, "~~", c) for a, c in _lower_pairs(nm.ov_x)]
        out += [(a, "~~", c) for a, c in _lower_pairs(nm.lv)]
        out += [(y, "~", x) for y in eqs for x in eqs
                if y != x and not (y in nm.ov_ind and x in nm.lv)]
        if meanstructure:
            out += [(v, "~1", "") for v in nm.ov + nm.lv]
        rows += [(l, o, r, b, group) for l, o, r in out]
    return rows


def extend(pt: pd.DataFrame, add: Optional[Sequence[tuple]] = None,
           free_fixed: bool = False) -> pd.DataFrame:
    """The table with ``add`` (rows (lhs, op, rhs, block, group) the model
    lacks) appended as free parameters at 0 and, with ``free_fixed``, its
    fixed parameters freed (lavaan's ``all.free``); column ``extra`` marks
    both, and ``free`` is renumbered in table order as lavaan does."""
    cols = ["lhs", "op", "rhs", "block", "group", "free", "exo", "label", "plabel", "user", "est"]
    table = pt[cols].copy().reset_index(drop=True)
    table["extra"] = False
    if free_fixed:
        fixed = (table["free"] == 0) & ~table["op"].isin(NOT_PARAMETERS)
        table.loc[fixed, "free"] = 1
        table.loc[fixed, "extra"] = True
    have = set(zip(table["lhs"], table["op"], table["rhs"], table["block"]))
    have |= {(r, o, l, b) for l, o, r, b in have if o == "~~"}
    new = [row for row in dict.fromkeys(add or []) if row[:3] + (row[3],) not in have]
    if new:
        added = pd.DataFrame(new, columns=["lhs", "op", "rhs", "block", "group"])
        added = added.assign(free=1, exo=0, label="", plabel="", user=10, est=0.0, extra=True)
        table = pd.concat([table, added], ignore_index=True)
    free = table["free"].to_numpy() > 0
    table.loc[free, "free"] = np.arange(1, free.sum() + 1)
    return table


def constraint_jacobian(table: pd.DataFrame, general_only: bool = False) -> np.ndarray:
    """R: the Jacobian of the model's equality constraints and of its active
    inequalities (slack below ``ACTIVE``) over the table's free rows, as
    lavaan's ``con.jac``: +1 and -1 for two parameters made equal (left out
    with ``general_only``: the estimator's reduced vector has them as one),
    autograd (:func:`torchfit.inference.wald.restriction_function`) for the
    others."""
    names = {}
    for lab, plab, fr in zip(table["label"], table["plabel"], table["free"]):
        if fr > 0:
            for name in (plab, lab):
                if name:
                    names.setdefault(name, fr - 1)
    npar = int(table["free"].max())
    rows, general = [], []  # in table order; general ones filled in below
    for lhs, op, rhs, slack in zip(table["lhs"], table["op"], table["rhs"], table["est"]):
        if op == "==" and lhs in names and rhs in names:
            if general_only:
                continue
            r = np.zeros(npar)
            r[names[lhs]], r[names[rhs]] = 1.0, -1.0
            rows.append(r)
        elif op == "==" or (op in ("<", ">") and abs(slack) < ACTIVE):
            general.append((f"{lhs} {op} {rhs}", lhs, rhs))
            rows.append(len(general) - 1)
    if general:
        function, theta = restriction_function(table, general)
        J = torch.autograd.functional.jacobian(function, theta).numpy()
        rows = [J[r] if isinstance(r, int) else r for r in rows]
    return np.array(rows).reshape(len(rows), npar)


def evaluate(table: pd.DataFrame, sample: Sample, meanstructure: bool) -> Extended:
    """The gradient and expected information of lavaan's fmin per observation
    at the table's ``est``, over its free rows."""
    R = constraint_jacobian(table)
    pt = table[table["op"] != "=="].reset_index(drop=True)
    models = Model.per_block(pt, mean_structure=meanstructure)
    est = pt["est"].to_numpy(dtype=float)
    for model in models:
        model.fixed_values(est)
    free = pt["free"].to_numpy()
    x = np.zeros(int(free.max()))
    x[free[free > 0] - 1] = est[free > 0]
    if sample.fiml_data is not None:
        patterns = sample.patterns(models)
        objective = FimlObjective(models, patterns, [0.0] * len(models))
        n = sum(pm.n for pm in patterns)
    else:
        objective = Objective([GroupMoments(m, s["cov"], s["mean"] if meanstructure else None,
                                            s["nobs"]) for m, s in zip(models, sample.moments)])
        n = sum(s["nobs"] for s in sample.moments)
    xt = torch.as_tensor(x, dtype=torch.float64)
    g, H = objective.derivatives(objective.value(xt))
    # the estimators work with F = 2 fmin
    info = (H.numpy() + H.numpy().T) / 4 if sample.fiml_data is not None else \
        _fixed_x_information(models, pt, sample, xt, meanstructure, n)
    return Extended(table, g.numpy() / 2, info, R, n)


def _fixed_x_information(models, pt, sample, x, meanstructure, n) -> np.ndarray:
    """sum_g (N_g / N) Delta_g' W_g Delta_g with the rows and columns of W_g
    for the moments of fixed covariates zeroed, as lavaan's expected h1
    information has them (their moments are given, not fitted)."""
    info = 0.0
    for model, s in zip(models, sample.moments):
        p = len(model.ov_names)
        I, J = vech_index(p)
        exo = set(pt.loc[(pt["exo"] == 1) & (pt["block"] == model.block), "lhs"])
        is_x = np.array([v in exo for v in model.ov_names])
        given = is_x[I] & is_x[J]
        if meanstructure:
            given = np.concatenate([is_x, given])
        sigma, _ = model.implied(model.matrices(x))
        W = moment_weight(sigma, I, J, meanstructure)
        W[given, :] = 0.0
        W[:, given] = 0.0
        D = moment_jacobian(model, x, I, J)
        info = info + s["nobs"] / n * (D.T @ W @ D).numpy()
    return info
