"""Ordered items fitted as lavaan fits them (WLSMV and kin): the three stages that
:class:`torchfit.estimators.wls.WLS` hands to the registry.

``ordinal_spec``: the items' categories over all groups and lavaan's parameter
table with threshold rows; ``ordinal_sample_stats``: per group the thresholds,
polychoric correlations and their NACOV (:mod:`torchfit.data.ordinal`);
``ordinal_estimate``: DWLS/WLS/ULS (:mod:`torchfit.estimate.wls`), robust
standard errors, the scaled tests and the fit measures
(:mod:`torchfit.inference.wls`), the standardized solution, as an ``Estimate``
that :func:`torchfit.results.assemble.assemble` turns into a ``Fit``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.frames import Moments, group_data
from ..data.ordinal import OrdinalStats, ordinal_stats
from ..data.polychoric import item_levels
from ..data.stats import SampleStats
from ..errors import ConvergenceWarning, ModelError, TorchfitError
from ..estimate.ml import GroupMoments, one_thread
from ..estimate.record import Estimate
from ..estimate.start import reduced_start, start_all
from ..estimate.wls import WlsGroup, fit_wls, weight
from ..inference import wls as inference
from ..inference.vcov import STD_COLUMNS, latent_response_std, standardized
from ..model.defined import Definitions
from ..model.matrices import Model
from ..model.partable import from_columns, option_strings, parse
from ..model.spec import Spec
from .scores import OrdinalFit

PARAMETERIZATIONS = ("delta", "theta")


@dataclass
class Settings:
    """The options of an ordinal fit, checked."""

    estimator: str
    parameterization: str = "delta"
    missing: str = "default"
    group: Optional[str] = None
    iter_max: int = 500


def ordinal_spec(model, data, options) -> Spec:
    """The table (with thresholds for the items' categories, found over all
    groups) and the models; ``options`` is the resolved ``FitOptions``.

    Examples
    --------
    >>> import torchfit
    >>> from torchfit.api import resolve_options
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> cut = hs.assign(**{f"x{i}": (hs[f"x{i}"] > hs[f"x{i}"].median()) + 1
    ...                    for i in range(1, 4)})
    >>> opts = resolve_options("default", cut, ordered=True)
    >>> spec = ordinal_spec("v =~ x1 + x2 + x3", cut, opts)
    >>> spec.table.query("op == '|'")[["lhs", "rhs"]].values.tolist()
    [['x1', 't1'], ['x2', 't1'], ['x3', 't1']]
    """
    settings = _settings(options.estimator, options.own.get("parameterization", "delta"),
                         options.missing, options.group, options.iter_max)
    labels, _ = group_data(data, options.group)
    m = options.model
    names, numeric = _model_items(model, m["model_type"], options.own["ordered"])
    levels = item_levels(data, names, options.columns)
    counts = {v: len(lv) - 1 for v, lv in zip(names, levels)}
    pt = _table(model, m["model_type"], m["std_lv"], m["orthogonal"], counts, len(labels),
                _levels_together(m["group_equal"]), m["group_partial"], settings)
    models = Model.per_block(pt, mean_structure=True, free_scales=True)
    _refuse_covariates(models[0], options.estimator)
    return Spec(pt, models, Definitions(pt), None, labels,
                extras={"settings": settings, "levels": dict(zip(names, levels)),
                        "numeric": numeric})


def _refuse_covariates(model: Model, estimator: str) -> None:
    """lavaan fits ordered items regressed on observed covariates conditionally on them
    (conditional.x: probit regressions, the residual polychorics); the stages here
    fit the unconditional moments, which match none of lavaan's models then."""
    if model.names.ov_x:
        raise ModelError(
            f"ordered items with observed covariates ({', '.join(model.names.ov_x)}) are not "
            f"supported by estimator {estimator!r} yet (lavaan fits them conditionally on "
            "the covariates, conditional.x); use estimator='MML' or 'IWAVE', which take "
            "latent regressions on covariates, or leave the covariates out")


def _levels_together(group_equal) -> List[str]:
    """lavaan's lav_options_set for a categorical model: equal thresholds
    bring equal intercepts (of the continuous variables) and vice versa."""
    eq = option_strings(group_equal, "group_equal")
    if {"thresholds", "intercepts"} & set(eq):
        eq = list(dict.fromkeys(eq + ["thresholds", "intercepts"]))
    return eq


def ordinal_sample_stats(spec: Spec, data, options) -> SampleStats:
    """Each group's thresholds, polychorics and (when needed) NACOV."""
    settings, levels = spec.extras["settings"], spec.extras["levels"]
    disc, robust, _ = inference.ESTIMATORS[settings.estimator]
    _, subsets = group_data(data, options.group)
    numeric = spec.extras["numeric"]
    stats = [ordinal_stats(sub, m.ov_names, options.columns,
                           [levels.get(v) for v in m.ov_names], missing=settings.missing,
                           gamma=robust or disc != "ULS", label=label, numeric=numeric)
             for m, sub, label in zip(spec.models, subsets, spec.labels)]
    # the polychoric (and polyserial) matrices stand for the sample covariance
    # matrices (fit.implied()); ordered items have no mean
    moments = [Moments(s.n, np.where(s.numeric, s.mean, np.nan), s.cor, s.n_total)
               for s in stats]
    return SampleStats(moments, [[False] * len(s.cor) for s in stats], settings.missing, data,
                       options.columns, extras={"ordinal": stats}, n=sum(s.n for s in stats),
                       n_total=sum(s.n_total for s in stats))


@dataclass
class WlsTests:
    """The inference record of an ordinal fit: its fit measures, on demand,
    and the ordered items' categories (for the factor scores)."""

    measures: object
    info: dict
    levels: dict

    @property
    def fit_class(self):
        return OrdinalFit


def ordinal_estimate(spec: Spec, sample: SampleStats, options) -> Estimate:
    """Fit, standard errors, standardized solution and the measures' recipe."""
    with one_thread():
        return _estimate(spec, sample.extras["ordinal"], spec.extras["settings"])


def _settings(estimator, parameterization, missing, group, iter_max) -> Settings:
    if parameterization not in PARAMETERIZATIONS:
        raise TorchfitError(f"parameterization {parameterization!r} is not known; use 'delta' "
                            "or 'theta'")
    if missing not in ("default", "listwise", "pairwise"):
        raise TorchfitError(f"missing={missing!r} is not available for ordered items; use "
                            "'listwise' or 'pairwise' (lavaan's choices with WLSMV)")
    return Settings(estimator, parameterization, missing, group, iter_max)


def _model_items(model, model_type, ordered):
    """The model's observed variables (ordered ones first checked) and those
    of them that are continuous (not in ``ordered``)."""
    base = parse(model, model_type=model_type) if isinstance(model, str) else _as_table(model)
    # a table from R holds lavaan's free scale factors of later groups
    ov = Model(base, mean_structure=True, free_scales=True).ov_names \
        if (base["block"] <= 1).all() \
        else Model.per_block(base, mean_structure=True, free_scales=True)[0].ov_names
    if ordered is True:
        return ov, []
    ordered = [ordered] if isinstance(ordered, str) else list(ordered)
    unknown = [v for v in ordered if v not in ov]
    if unknown:
        raise TorchfitError(f"ordered variable(s) {', '.join(unknown)} are not observed "
                            "variables of the model; remove them from ordered=")
    return [v for v in ov if v in ordered], [v for v in ov if v not in ordered]


def _as_table(model) -> pd.DataFrame:
    """A parameter table given as a DataFrame or a mapping of columns."""
    return from_columns({c: list(model[c]) for c in model.keys()})


def _table(model, model_type, std_lv, orthogonal, counts, ngroups, group_equal, group_partial,
           settings) -> pd.DataFrame:
    if not isinstance(model, str):  # lavaan's table (from R): its thresholds must fit the data
        pt = _as_table(model)
        # thresholds per item in each block (a multiple-group table repeats them)
        per_block = pt[pt["op"] == "|"].groupby(["lhs", "block"]).size()
        made = per_block.groupby(level=0).agg(lambda n: n.iloc[0] if n.nunique() == 1 else -1)
        made = made.to_dict()
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
    """theta parameterization (lavaan's lavaanify): where the delta table
    frees the scale factors of a later group (equal thresholds), the theta
    one frees the items' residual variances there instead; the scale
    factors are then derived, never free."""
    op, lhs, rhs = (pt[c].to_numpy() for c in ("op", "lhs", "rhs"))
    scale = np.flatnonzero((op == "~*~") & (pt["free"].to_numpy() > 0))
    if not len(scale):
        return
    var = {(l, g): i for i, (l, o, r, g) in enumerate(zip(lhs, op, rhs, pt["group"]))
           if o == "~~" and l == r and l in counts}
    free = pt["free"].to_numpy() > 0
    ustart = pt["ustart"].to_numpy(dtype=float).copy()
    for i in scale:
        j = var[(lhs[i], pt["group"].iat[i])]
        free[i], ustart[i] = False, 1.0
        free[j], ustart[j] = True, np.nan
    pt["free"] = np.where(free, np.cumsum(free), 0)
    pt["ustart"] = ustart


def _start(models, stats) -> np.ndarray:
    """lavaan-like starts: the ML start scheme on the polychoric matrix, the
    sample thresholds for the thresholds."""
    groups = [GroupMoments(m, s.cor, s.mean, s.n) for m, s in zip(models, stats)]
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


def _estimate(spec: Spec, stats: Sequence[OrdinalStats], settings: Settings) -> Estimate:
    pt, models = spec.table, spec.models
    disc, robust, kind = inference.ESTIMATORS[settings.estimator]
    values = _start(models, stats)
    for m in models:
        m.fixed_values(values)
    groups = [WlsGroup(m, s.obs, weight(s.nacov, disc) if s.nacov is not None
                       else np.ones(len(s.obs)), s.nacov, s.n, s.n_thresholds,
                       settings.parameterization, s.numeric)
              for m, s in zip(models, stats)]
    result = fit_wls(groups, reduced_start(models[0], values), iter_max=settings.iter_max)
    messages = []
    if not result.converged:
        messages.append(f"the {disc} optimiser did not converge in {result.iterations} "
                        "iterations; raise iter_max or check the model's identification")
        warnings.warn(messages[-1], ConvergenceWarning, stacklevel=4)
    nobs = [s.n for s in stats]
    st = inference.stack([g.weight for g in groups], [s.nacov for s in stats],
                         result.jacobians, nobs)
    # lavaan's WLS-family information carries (N - G) / N (its fmin's (N_g - 1) / N_g)
    K = models[0].reduce_matrix()
    vcov = K @ inference.vcov(st, robust, sum(nobs) - len(groups)) @ K.T
    start, std, mats = _solution(pt, models, groups, values, result)
    measures = partial(_measures, pt, models, stats, groups, result, st, kind, disc)
    info = {"estimator": disc, "estimator_option": settings.estimator,
            "npar": int(pt["free"].max()), "nin": 0,
            "se": "robust.sem" if robust else "standard", "information": "expected",
            "h1_information": "unstructured", "test": kind,
            "parameterization": settings.parameterization, "group": settings.group,
            "admissible": True}
    if settings.group is not None:
        info.update(group_labels=spec.labels, nobs_group=nobs)
    sigma = [_implied_matrix(s, imp) for s, imp in zip(stats, result.implied)]
    # the continuous variables' implied means are their negated "thresholds"
    mu = [np.where(s.numeric, -_per_variable_first(s, imp), np.nan)
          for s, imp in zip(stats, result.implied)]
    tests = WlsTests(measures, info, spec.extras["levels"])
    return Estimate(result.x, result.converged, result.iterations, start=start, vcov=vcov,
                    tests=tests, extras=info, messages=messages, std=std,
                    optimizer="Gauss-Newton", matrices=mats, sigma=sigma, mu=mu)


def _measures(pt, models, stats, groups, result, st, kind, disc):
    nobs = [s.n for s in stats]
    n_th = [s.n_univariate for s in stats]
    stat = 2 * sum(nobs) * result.fmin
    df = sum(len(s.obs) for s in stats) - models[0].n_free
    test = inference.scaled_test(stat, df, st, kind)
    bstat, bdf, bD = inference.baseline([s.obs for s in stats], [g.weight for g in groups],
                                        n_th, nobs)
    sb = inference.stack([g.weight for g in groups], [s.nacov for s in stats], bD, nobs,
                         block_delta=True)
    base = inference.scaled_test(bstat, bdf, sb, kind)
    implied_cor = [_implied_matrix(s, imp) for s, imp in zip(stats, result.implied)]
    robust = None
    if kind != "standard" and (_threshold_constraints(pt)
                               or any(s.numeric.any() for s in stats)):
        # lavaan's catML refit drops the thresholds, and fails on the
        # constraints that tie them; it is not made with continuous
        # variables: its robust measures are NA
        robust = dict.fromkeys(("XX3", "df3", "c3", "XX3.null", "c3.null"), np.nan)
    elif kind != "standard":
        robust = inference.catml([s.cor for s in stats], implied_cor, st, n_th, nobs,
                                 _npar_without_thresholds(pt, models[0]))
    resid = inference.residual_measures(
        [inference.residuals(_threshold_residuals(s, imp), s.cor, R)
         for s, imp, R in zip(stats, result.implied, implied_cor)], nobs)
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


def _implied_matrix(s: OrdinalStats, implied: np.ndarray) -> np.ndarray:
    """The implied correlation (covariance, with continuous variables)
    matrix from the implied statistics laid out as ``s.obs``."""
    p = len(s.numeric)
    R = np.eye(p)
    k = int(s.n_thresholds.sum())
    R[np.flatnonzero(s.numeric), np.flatnonzero(s.numeric)] = implied[k:s.n_univariate]
    i, j = np.triu_indices(p, 1)
    R[i, j] = R[j, i] = implied[s.n_univariate:]
    return R


def _threshold_residuals(s: OrdinalStats, implied: np.ndarray) -> np.ndarray:
    """The ordered items' threshold residuals (not the continuous variables' means)."""
    is_th = np.repeat(~s.numeric, s.n_thresholds)
    k = int(s.n_thresholds.sum())
    return (s.obs[:k] - implied[:k])[is_th]


def _per_variable_first(s: OrdinalStats, implied: np.ndarray) -> np.ndarray:
    """Each variable's first threshold entry (a continuous variable's -mu)."""
    return implied[np.concatenate([[0], np.cumsum(s.n_thresholds)[:-1]])]


def _solution(pt, models, groups, values, result):
    """Start values with the derived parameters (residual variances of the items
    in the delta parameterization, scale factors in the theta one) filled in,
    the standardized columns and the model matrices per group."""
    free = pt["free"].to_numpy()
    est = values.copy()
    est[free > 0] = models[0].expand(result.x)[free[free > 0] - 1]
    std = {col: np.full(len(pt), np.nan) for col in STD_COLUMNS}
    x = torch.as_tensor(result.x)
    matrices = []
    for m, g in zip(models, groups):
        mats, sigma = _group_matrices(m, g, x, est, pt)
        for col, vals in standardized(m, mats, sigma, pt, est).items():
            std[col][m.in_block] = vals[m.in_block]
        latent_response_std(pt, m.ov_names, sigma, est, std, m.in_block)
        matrices.append(mats)
    start = values.copy()
    start[free == 0] = est[free == 0]
    return start, std, matrices


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
        ords = np.flatnonzero(~g.numeric)
        mats["theta"][ords, ords] = resid[ords]
        derived = (pt["op"] == "~~").to_numpy() & (pt["lhs"] == pt["rhs"]).to_numpy() \
            & pt["lhs"].isin(g.ordered_names).to_numpy()
    else:  # theta: the scale factors are what is derived
        resid = delta
        derived = (pt["op"] == "~*~").to_numpy()
    rows = np.flatnonzero(m.in_block & derived & pt["lhs"].isin(m.ov_names).to_numpy())
    for r in rows:
        est[r] = resid[m.ov_names.index(pt["lhs"].iat[r])]
    sigma = m.implied({k: torch.as_tensor(v) for k, v in mats.items()})[0].numpy()
    return mats, sigma
