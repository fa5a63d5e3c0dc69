"""Ordered items fitted as lavaan fits them: ``fit_ordinal`` (WLSMV and kin).

The pipeline of :func:`torchfit.api.fit` for limited-information estimation:
the items' categories over all groups; per group the thresholds, polychoric
correlations and their NACOV (:mod:`torchfit.data.ordinal`); lavaan's
parameter table with threshold rows; DWLS/WLS/ULS (:mod:`torchfit.estimate.wls`);
robust standard errors, the scaled tests and the fit measures
(:mod:`torchfit.inference.wls`); a :class:`~torchfit.results.fit.Fit`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.frames import group_data
from ..data.ordinal import OrdinalStats, ordinal_stats
from ..data.polychoric import item_levels
from ..errors import ConvergenceWarning, ModelError, TorchfitError
from ..estimate.ml import GroupMoments, one_thread
from ..estimate.start import reduced_start, start_all
from ..estimate.wls import WlsGroup, fit_wls, weight
from ..inference import wls as inference
from ..inference.vcov import estimate_columns, standardized
from ..model.defined import Definitions
from ..model.matrices import Model
from ..model.partable import from_columns, parse
from ..results.fit import Fit, GroupView
from ..version import __version__

ORDINAL_ESTIMATORS = tuple(inference.ESTIMATORS)
PARAMETERIZATIONS = ("delta", "theta")


@dataclass
class Settings:
    """The options of an ordinal fit, checked."""

    estimator: str
    parameterization: str = "delta"
    missing: str = "listwise"
    group: Optional[str] = None
    iter_max: int = 500


def fit_ordinal(model, data, ordered, estimator: str = "WLSMV", model_type: str = "sem",
                std_lv: bool = False, orthogonal: bool = False, missing: str = "default",
                group: Optional[str] = None, group_equal=(), group_partial=(),
                parameterization: str = "delta", columns=None, iter_max: int = 500) -> Fit:
    """Fit ``model`` to ordered items by lavaan's limited-information estimators.

    Parameters
    ----------
    ordered : True or list of str
        The ordered items (True: every observed variable of the model).
    estimator : {"WLSMV", "WLSM", "ULSMV", "ULSM", "WLS", "DWLS", "ULS"}
    missing : {"default", "listwise", "pairwise"}
        "default": missing values are an error (as for ML); "listwise" drops
        incomplete rows (lavaan's default); "pairwise" uses every available
        value.
    parameterization : {"delta", "theta"}

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> cut = hs.assign(**{f"x{i}": (hs[f"x{i}"] > hs[f"x{i}"].median()) + 1
    ...                    for i in range(1, 7)})
    >>> fit = fit_ordinal("v =~ x1 + x2 + x3; t =~ x4 + x5 + x6", cut, True)
    >>> fit.info["estimator"], int(fit.fit_measures()["df"])
    ('DWLS', 8)
    """
    settings = _settings(estimator, parameterization, missing, group, iter_max)
    labels, subsets = group_data(data, group)
    names = _model_items(model, model_type, ordered)
    levels = item_levels(data, names, columns)
    counts = {v: len(lv) - 1 for v, lv in zip(names, levels)}
    pt = _table(model, model_type, std_lv, orthogonal, counts, len(labels), group_equal,
                group_partial, settings)
    models = Model.per_block(pt, mean_structure=True, free_scales=True)
    disc, robust, _ = inference.ESTIMATORS[settings.estimator]
    need_gamma = robust or disc != "ULS"
    stats = [ordinal_stats(sub, m.ov_names, columns, levels=[levels[names.index(v)]
                                                               for v in m.ov_names],
                           missing=settings.missing, gamma=need_gamma, label=label)
             for m, sub, label in zip(models, subsets, labels)]
    with one_thread():
        return _estimate(pt, models, stats, labels, settings, data, columns)


def _settings(estimator, parameterization, missing, group, iter_max) -> Settings:
    est = estimator.upper()
    if est not in ORDINAL_ESTIMATORS:
        raise TorchfitError(f"estimator {estimator!r} does not fit ordered items; use one of "
                            f"{', '.join(ORDINAL_ESTIMATORS)} (or 'IWAVE')")
    if parameterization not in PARAMETERIZATIONS:
        raise TorchfitError(f"parameterization {parameterization!r} is not known; use 'delta' "
                            "or 'theta'")
    if missing not in ("default", "listwise", "pairwise"):
        raise TorchfitError(f"missing={missing!r} is not available for ordered items; use "
                            "'listwise' or 'pairwise' (lavaan's choices with WLSMV)")
    return Settings(est, parameterization, missing, group, iter_max)


def _model_items(model, model_type, ordered) -> List[str]:
    """The model's observed variables, all of which must be ordered."""
    base = parse(model, model_type=model_type) if isinstance(model, str) else _as_table(model)
    ov = Model(base, mean_structure=True).ov_names if (base["block"] <= 1).all() \
        else Model.per_block(base, mean_structure=True)[0].ov_names
    if ordered is True:
        return ov
    ordered = [ordered] if isinstance(ordered, str) else list(ordered)
    unknown = [v for v in ordered if v not in ov]
    if unknown:
        raise TorchfitError(f"ordered variable(s) {', '.join(unknown)} are not observed "
                            "variables of the model; remove them from ordered=")
    continuous = [v for v in ov if v not in ordered]
    if continuous:
        raise ModelError(f"{', '.join(continuous)} {'is' if len(continuous) == 1 else 'are'} "
                         "not ordered: a mix of ordered and continuous variables (polyserial "
                         "correlations) is not supported yet; name every observed variable "
                         "in ordered= (or ordered=True), or use estimator='IWAVE'")
    return ov


def _as_table(model) -> pd.DataFrame:
    """A parameter table given as a DataFrame or a mapping of columns."""
    return from_columns({c: list(model[c]) for c in model.keys()})


def _table(model, model_type, std_lv, orthogonal, counts, ngroups, group_equal, group_partial,
           settings) -> pd.DataFrame:
    if not isinstance(model, str):  # lavaan's table (from R): its thresholds must fit the data
        pt = _as_table(model)
        made = pt[pt["op"] == "|"].groupby("lhs").size().to_dict()
        wrong = [v for v, k in counts.items() if made.get(v, 0) != k]
        if wrong:
            raise ModelError(f"the parameter table has {made.get(wrong[0], 0)} threshold(s) for "
                             f"'{wrong[0]}' but the data have {counts[wrong[0]] + 1} categories "
                             "(per group); build it with lavaanify(..., ordered = ...) from "
                             "these data")
        return pt
    pt = parse(model, model_type=model_type, std_lv=std_lv, orthogonal=orthogonal,
               ordered=counts, ngroups=ngroups, group_equal=group_equal,
               group_partial=group_partial)
    if settings.parameterization == "theta":
        _theta_rows(pt, counts)
    return pt


def _theta_rows(pt: pd.DataFrame, counts) -> None:
    """theta parameterization: the residual variances of the items are the
    fixed (first group) or free (others, with equal thresholds) parameters,
    and the scale factors are derived."""
    scale = (pt["op"] == "~*~").to_numpy()
    if (pt.loc[scale, "free"] > 0).any():
        raise ModelError("parameterization='theta' with several groups and equal thresholds "
                         "is not supported yet; use the delta parameterization")


def _start(models, stats) -> np.ndarray:
    """lavaan-like starts: the ML start scheme on the polychoric matrix, the
    sample thresholds for the thresholds."""
    groups = [GroupMoments(m, s.cor, np.zeros(len(m.ov_names)), s.n) for m, s in
              zip(models, stats)]
    values = start_all(groups)
    pt = models[0].partable
    scales = (pt["op"] == "~*~").to_numpy() & (pt["free"] > 0).to_numpy()
    values[scales] = 1.0
    for m, s in zip(models, stats):
        rows = np.flatnonzero(m.in_block & (pt["op"] == "|").to_numpy())
        th = dict(zip(s.obs_names, s.obs))
        values[rows] = [th[f"{l}|{r}"] for l, r in zip(pt["lhs"].to_numpy()[rows],
                                                        pt["rhs"].to_numpy()[rows])]
    return values


def _estimate(pt, models, stats: Sequence[OrdinalStats], labels, settings, data, columns) -> Fit:
    disc, robust, kind = inference.ESTIMATORS[settings.estimator]
    values = _start(models, stats)
    for m in models:
        m.fixed_values(values)
    groups = [WlsGroup(m, s.obs, weight(s.nacov, disc) if s.nacov is not None
                       else np.ones(len(s.obs)), s.nacov, s.n, s.n_thresholds,
                       settings.parameterization)
              for m, s in zip(models, stats)]
    result = fit_wls(groups, reduced_start(models[0], values), iter_max=settings.iter_max)
    if not result.converged:
        warnings.warn(f"the {disc} optimiser did not converge in {result.iterations} "
                      "iterations; raise iter_max or check the model's identification",
                      ConvergenceWarning, stacklevel=3)
    nobs = [s.n for s in stats]
    ntotal = sum(nobs)
    st = inference.stack([g.weight for g in groups], [s.nacov for s in stats],
                         result.jacobians, nobs)
    # lavaan's WLS-family information carries (N - G) / N (its fmin's (N_g - 1) / N_g)
    vcov_x = inference.vcov(st, robust, ntotal - len(groups))
    K = models[0].reduce_matrix()
    vcov = K @ vcov_x @ K.T
    measures = partial(_measures, pt, models, stats, groups, result, st, kind, disc)
    return _assemble(pt, models, stats, groups, labels, values, result, vcov, measures,
                     settings, data, columns)


def _measures(pt, models, stats, groups, result, st, kind, disc):
    nobs = [s.n for s in stats]
    n_th = [int(s.n_thresholds.sum()) for s in stats]
    stat = 2 * sum(nobs) * result.fmin
    df = sum(len(s.obs) for s in stats) - models[0].n_free
    test = inference.scaled_test(stat, df, st, kind)
    bstat, bdf, bD = inference.baseline([s.obs for s in stats], [g.weight for g in groups],
                                        n_th, nobs)
    sb = inference.stack([g.weight for g in groups], [s.nacov for s in stats], bD, nobs,
                         block_delta=True)
    base = inference.scaled_test(bstat, bdf, sb, kind)
    implied_cor = [_cor_matrix(len(m.ov_names), imp[k:]) for m, imp, k in
                   zip(models, result.implied, n_th)]
    robust = None
    if kind != "standard" and _threshold_constraints(pt):
        # lavaan's catML refit drops the thresholds, and fails on the
        # constraints that tie them: its robust measures are NA
        robust = dict.fromkeys(("XX3", "df3", "c3", "XX3.null", "c3.null"), np.nan)
    elif kind != "standard":
        robust = inference.catml([s.cor for s in stats], implied_cor, st, n_th, nobs,
                                 _npar_without_thresholds(pt, models[0]))
    resid = inference.residual_measures([s.obs[:k] - imp[:k] for s, imp, k in
                                         zip(stats, result.implied, n_th)],
                                        [s.obs[k:] - imp[k:] for s, imp, k in
                                         zip(stats, result.implied, n_th)],
                                        [len(m.ov_names) for m in models], nobs)
    summary = inference.Summary(models[0].n_free, result.fmin, sum(nobs), len(stats), disc, test,
                                base, robust, resid,
                                [(s.obs, imp, g.weight, s.n) for s, imp, g in
                                 zip(stats, result.implied, groups)],
                                sum(len(s.obs) for s in stats), kind)
    return inference.fit_measures(summary)


def _threshold_constraints(pt: pd.DataFrame) -> bool:
    """Whether an equality constraint involves a threshold."""
    th = pt["op"].to_numpy() == "|"
    names = set(pt["plabel"].to_numpy()[th]) | (set(pt["label"].to_numpy()[th]) - {""})
    eq = pt["op"].to_numpy() == "=="
    return bool(set(pt["lhs"].to_numpy()[eq]) & names or set(pt["rhs"].to_numpy()[eq]) & names)


def _npar_without_thresholds(pt: pd.DataFrame, model: Model) -> int:
    """Free (reduced) parameters that are not thresholds (lavaan's catML model)."""
    free = pt["free"].to_numpy()
    keep = (free > 0) & (pt["op"] != "|").to_numpy()
    return len(set(model.x_index[free[keep] - 1].tolist()))


def _cor_matrix(p: int, values: np.ndarray) -> np.ndarray:
    R = np.eye(p)
    i, j = np.triu_indices(p, 1)
    R[i, j] = R[j, i] = values
    return R


def _assemble(pt, models, stats, groups, labels, values, result, vcov, measures, settings,
              data, columns) -> Fit:
    free = pt["free"].to_numpy()
    est = values.copy()
    est[free > 0] = models[0].expand(result.x)[free[free > 0] - 1]
    std = {"std.lv": np.full(len(pt), np.nan), "std.all": np.full(len(pt), np.nan)}
    views = []
    x = torch.as_tensor(result.x)
    for m, s, g, label in zip(models, stats, groups, labels):
        mats, sigma = _group_matrices(m, g, x, est, pt)
        for col, vals in standardized(m, mats, sigma, pt, est).items():
            std[col][m.in_block] = vals[m.in_block]
        _ordinal_std(pt, m, sigma, est, std)
        views.append(GroupView(label, m, {"cov": s.cor, "mean": None, "nobs": s.n,
                                          "th": s.obs[:int(s.n_thresholds.sum())]},
                               {"cov": _implied_cor(g, x), "mean": None}, mats))
    definitions = Definitions(pt)
    definitions.constraint_values(pt, est)
    new = {"start": values, **estimate_columns(pt, est, vcov), **std}
    definitions.fill(pt, new, vcov)
    for col in ("std.lv", "std.all"):
        definitions.constraint_values(pt, new[col])
    table = pd.concat([pt, pd.DataFrame(new, index=pt.index)], axis=1)
    disc, robust, kind = inference.ESTIMATORS[settings.estimator]
    info = {"estimator": disc, "estimator_option": settings.estimator,
            "optimizer": "Gauss-Newton", "iterations": result.iterations,
            "converged": result.converged, "nobs": sum(s.n for s in stats),
            "nobs_total": sum(s.n_total for s in stats), "npar": int(free.max()),
            "neq": int(free.max() - models[0].n_free), "nin": 0,
            "se": "robust.sem" if robust else "standard", "information": "expected",
            "h1_information": "unstructured", "test": kind, "missing": settings.missing,
            "parameterization": settings.parameterization, "version": __version__,
            "warnings": [], "group": settings.group, "admissible": True}
    if settings.group is not None:
        info.update(group_labels=labels, nobs_group=[s.n for s in stats])
    return Fit(table, info, measures, vcov, views, data, columns)


def _group_matrices(m: Model, g: WlsGroup, x: torch.Tensor, est: np.ndarray, pt):
    """The model matrices at the estimates, with the items' residual
    variances that the delta parameterization implies filled in (also in
    the table's ``est``)."""
    mats_t = m.matrices(x)
    sigma_t, A = m.implied(mats_t)
    mats = {k: v.detach().numpy().copy() for k, v in mats_t.items()}
    delta = g.delta(x, torch.diagonal(sigma_t)).detach().numpy()
    if g.parameterization == "delta":
        common = np.diag(sigma_t.detach().numpy()) - np.diag(mats["theta"])
        resid = 1.0 / delta ** 2 - common
        mats["theta"][np.diag_indices(len(resid))] = resid
        derived = (pt["op"] == "~~").to_numpy() & (pt["lhs"] == pt["rhs"]).to_numpy()
    else:  # theta: the scale factors are what is derived
        resid = delta
        derived = (pt["op"] == "~*~").to_numpy()
    rows = np.flatnonzero(m.in_block & derived & pt["lhs"].isin(m.ov_names).to_numpy())
    for r in rows:
        est[r] = resid[m.ov_names.index(pt["lhs"].iat[r])]
    sigma = m.implied({k: torch.as_tensor(v) for k, v in mats.items()})[0].numpy()
    return mats, sigma


def _ordinal_std(pt, m: Model, sigma: np.ndarray, est: np.ndarray, std) -> None:
    """Thresholds and scale factors: std.lv as est; std.all in the units of
    the latent responses (thresholds / sd, scale factors 1)."""
    sd = dict(zip(m.ov_names, np.sqrt(np.diag(sigma))))
    for r in np.flatnonzero(m.in_block):
        op, lhs = pt["op"].iat[r], pt["lhs"].iat[r]
        if op == "|":
            std["std.lv"][r], std["std.all"][r] = est[r], est[r] / sd[lhs]
        elif op == "~*~":
            std["std.lv"][r], std["std.all"][r] = est[r], 1.0


def _implied_cor(g: WlsGroup, x: torch.Tensor) -> np.ndarray:
    imp = g.implied(x).numpy()
    k = int(g.n_thresholds.sum())
    return _cor_matrix(len(g.model.ov_names), imp[k:])


__all__ = ["fit_ordinal", "ORDINAL_ESTIMATORS"]
