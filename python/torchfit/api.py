"""The public entry points: ``fit``, ``sem`` and ``cfa``.

The pipeline reads as lavaan's: syntax -> parameter table -> data and sample
moments -> model matrices and start values -> estimator -> inference ->
fit measures -> Fit.
"""
from __future__ import annotations

import re
import warnings
from functools import partial
from typing import Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd
import torch

from .data.frames import (
    Moments,
    check_latent_names,
    check_moments,
    group_data,
    sample_moments,
    select,
)
from .data.gamma import gamma_adf
from .data.patterns import EmptyRowsWarning, em_h1, is_fiml, pattern_moments
from .data.reader import Reader
from .data.sources import open_source, shard
from .distributed.comm import communicator
from .errors import ConvergenceWarning, DataError, HeywoodWarning, ModelError, TorchfitError
from .estimate.fiml import FimlObjective, group_moments
from .estimate.minibatch import MINIBATCH_OPTIONS, fit_minibatch
from .estimate.ml import GroupMoments, fit_ml, one_thread
from .estimate.start import factor_variances, reduced_start, simple_start, start_all
from .inference.fiml import FimlFit
from .inference.measures import GroupFit, count_moments, fit_measures, group_chisq
from .inference.robust import robust_inference
from .inference.robust_options import options as robust_options
from .inference.robust_options import require_raw_data
from .inference.vcov import estimate_columns, singular_message, standardized, vcov_free
from .iwave.fit import IWAVE_OPTIONS, fit_iwave
from .model.constraints import Constraints
from .model.defined import Definitions
from .model.matrices import Model
from .model.partable import from_columns, option_strings, parse
from .results.fit import Fit, GroupView
from .version import __version__

ESTIMATORS = ("ML", "MLM", "MLR", "IWAVE")


def _table(model, model_type, std_lv, orthogonal, fixed_x, meanstructure=None,
           **groups) -> pd.DataFrame:
    if isinstance(model, str):
        return parse(model, model_type=model_type, std_lv=std_lv, orthogonal=orthogonal,
                     fixed_x=fixed_x, meanstructure=meanstructure, **groups)
    if isinstance(model, (pd.DataFrame, Mapping)):
        given = [k for k in ("group_equal", "group_partial")
                 if option_strings(groups.get(k), k)]
        if given:
            raise TorchfitError(f"{' and '.join(given)} appl{'y' if len(given) > 1 else 'ies'} "
                                "to lavaan syntax; a parameter "
                                "table carries its equality constraints already (make it with "
                                "lavaan::lavaanify(..., group.equal = ...)) or pass the model "
                                "as syntax")
        return from_columns({c: model[c] for c in model.keys()} if isinstance(model, Mapping)
                            else {c: model[c].tolist() for c in model.columns})
    raise TorchfitError("model must be lavaan syntax (a string) or a parameter table "
                        f"(a DataFrame), not {type(model).__name__}")


def fit(model: Union[str, pd.DataFrame], data, estimator: str = "ML", model_type: str = "sem",
        std_lv: bool = False, orthogonal: bool = False, fixed_x: bool = True,
        missing: str = "default", iter_max: int = 500, columns=None,
        meanstructure: Optional[bool] = None, information: Optional[str] = None,
        group: Optional[str] = None, group_equal: Union[str, Sequence[str]] = (),
        group_partial: Union[str, Sequence[str]] = (), distributed: Optional[bool] = None,
        **options) -> Optional[Fit]:
    """Fit a structural equation model.

    Parameters
    ----------
    model : str or pandas.DataFrame
        lavaan model syntax, or a lavaan parameter table.
    data : pandas.DataFrame, 2-D array, Arrow table or path
        One column per observed variable; extra columns are ignored and the
        data are not modified.  Large data can be a memory-mapped array
        (``np.load(path, mmap_mode="r")``), the path of a .npy or CSV file, or
        of a Parquet file or directory (pyarrow, read by row group, only the
        model's columns): the sample moments are formed in one pass over
        blocks of rows.
    estimator : {"ML", "MLM", "MLR", "IWAVE"}
        Maximum likelihood on the sample moments; ML with robust standard
        errors and the Satorra-Bentler scaled test ("MLM") or with
        Huber-White sandwich standard errors and the Yuan-Bentler (Mplus)
        scaled test ("MLR"), both of which need the raw data (see
        :mod:`torchfit.inference.robust`); or importance-weighted
        amortized variational estimation (any mix of item types; see
        :func:`torchfit.iwave.fit.fit_iwave` for its options: ``ordered``,
        ``item_types``, ``iw_samples``, ``batch_size``, ``lr``, ...).
    model_type : {"sem", "cfa"}
        Which of lavaan's defaults to apply (the same for both).
    std_lv : bool
        Fix latent variances to 1 instead of the first loadings.
    orthogonal : bool
        Fix covariances among exogenous latent variables to 0.
    fixed_x : bool
        Treat exogenous observed covariates as fixed (lavaan's default).
    missing : {"default", "listwise", "ml"}
        Rows with missing values are an error by default; "listwise" drops
        them; "ml" (also "fiml", "direct") fits every row by full-information
        maximum likelihood over its observed values, with a mean structure,
        lavaan's EM estimate of the unrestricted model for the test and the
        observed information for the standard errors (see
        :mod:`torchfit.estimate.fiml`); rows missing on every model variable are
        dropped with a warning.
    iter_max : int
        Maximum number of optimiser iterations.
    columns : sequence of str, optional
        Column names, when ``data`` is an array or a .npy file.
    information : {"expected", "observed"}, optional
        Information matrix of the standard errors (lavaan's option): by
        default "expected" for ML and MLM, "observed" (the Hessian) for MLR.
    group : str, optional
        Column of ``data`` whose values split the rows into groups, each with
        its own parameters (a multiple-group model; lavaan's ``group=``).
    group_equal : str or sequence of str
        Parameter types equal across groups (lavaan's ``group.equal``):
        "loadings", "intercepts", "means", "thresholds", "regressions",
        "residuals", "residual.covariances", "lv.variances", "lv.covariances";
        one type can be a plain string (``group_equal="loadings"``).
    group_partial : str or sequence of str
        Parameters exempt from ``group_equal``, written ``lhs op rhs``, e.g.
        ``["visual =~ x2", "x3 ~ 1"]``; whitespace does not matter, and an
        entry that names no parameter of the model is an error.
    distributed : bool, optional
        Data-parallel fit on torch.distributed (launched by ``torchrun``; by
        default on when its environment is there): every rank runs the same
        call and reads its own shard of the rows; the moments (and Gamma) are
        reduced over the ranks, the stochastic estimators all-reduce their
        gradients every step.  Rank 0 returns the Fit, the other ranks None
        (see :mod:`torchfit.distributed.comm` and README-distributed.md).
    **options
        Options of the IWAVE estimator (snake case, as in ``fit_iwave``), or,
        for ML, ``batch_size`` (with ``lr``, ``max_epochs``, ``n_intervals``,
        ``seed``, ``quiet``): ML on the raw data in mini-batches with Adam,
        the tensorsem way (:mod:`torchfit.estimate.minibatch`).

    Returns
    -------
    Fit

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.fit("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6", hs)
    >>> int(fit.fit_measures()["df"])
    8
    """
    if estimator.upper() not in ESTIMATORS:
        raise TorchfitError(f"estimator {estimator!r} is not available; use one of "
                            f"{', '.join(ESTIMATORS)}")
    comm = communicator(distributed, str(options.get("device", "cpu")))
    if comm is not None:
        return _on_ranks(comm, partial(fit, model, estimator=estimator, model_type=model_type,
                                       std_lv=std_lv, orthogonal=orthogonal, fixed_x=fixed_x,
                                       missing=missing, iter_max=iter_max, columns=columns,
                                       meanstructure=meanstructure, information=information,
                                       distributed=False, **options), data, columns, group)
    data = open_source(data)
    if estimator.upper() == "IWAVE":
        return _fit_iwave(model, data, group, options, model_type=model_type, std_lv=std_lv,
                          orthogonal=orthogonal, fixed_x=fixed_x, missing=missing)
    minibatch, fiml, missing, meanstructure, opts = _options(estimator, data, missing,
                                                             meanstructure, information, options)
    pt, models, labels, subsets, definitions, constraints = _spec(
        model, data, columns, group, model_type, std_lv, orthogonal, fixed_x, meanstructure,
        group_equal, group_partial)
    if constraints and (fiml or minibatch or not opts.default):
        raise ModelError("equality (non-label) and inequality constraints work with "
                         "estimator='ML', complete data and no batch_size yet")
    if fiml:
        return _fit_fiml(pt, models, subsets, labels, definitions, data, columns, group,
                         opts.information, iter_max)
    groups, moments, exo, means = _sample_stats(pt, models, subsets, missing, columns)
    values, x0 = _start_values(pt, models, groups, constraints)
    if minibatch:
        return _fit_minibatch(pt, groups, labels, definitions, values, moments, exo, data,
                              missing, columns, group, opts, minibatch)
    return _fit_ml(pt, models, groups, subsets, labels, definitions, constraints, values, x0,
                   moments, exo, means, data, missing, columns, group, opts, iter_max)


def _on_ranks(comm, run, data, columns, group) -> Optional[Fit]:
    """``run`` on this rank's shard of the data; the Fit on rank 0 (holding the
    caller's data for predict()), None elsewhere."""
    if group is not None or is_fiml(run.keywords["missing"]):
        raise ModelError("distributed=True fits one group with complete data (ML, MLM, MLR, "
                         "mini-batch ML, IWAVE) so far; leave out group= and missing='ml'")
    out = run(shard(data, comm, columns))
    if comm.rank != 0:
        return None
    out.data = data
    out.info.update(world_size=comm.size)
    return out


def _fit_iwave(model, data, group, options, **settings) -> Fit:
    """estimator = "IWAVE": its options checked, then :func:`fit_iwave`."""
    unknown = [k for k in options if k not in IWAVE_OPTIONS]
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)} for estimator 'IWAVE'; "
                        f"known: {', '.join(IWAVE_OPTIONS)}")
    if group is not None:
        raise ModelError("estimator='IWAVE' fits a single group; leave group= out or use "
                         "estimator='ML' for a multiple-group model")
    return fit_iwave(model, data, **settings, **options)


def _options(estimator, data, missing, meanstructure, information, options):
    """The mini-batch options, FIML or not, ``missing``, ``meanstructure`` and the
    robust options, as lavaan resolves them (``options`` must hold no others)."""
    minibatch = {k: options.pop(k) for k in MINIBATCH_OPTIONS if k in options}
    if options:
        raise TypeError(f"option(s) {', '.join(options)} are for estimator='IWAVE', not "
                        f"{estimator!r}")
    fiml = is_fiml(missing)
    if fiml:
        missing = "ml"
        if estimator.upper() != "ML":
            # lavaan refuses MLM with missing = "ml": the Satorra-Bentler
            # correction is defined for complete data only.
            raise ModelError(f"estimator {estimator!r} with missing = 'ml' is not available: "
                             "MLM needs complete data (use missing = 'listwise') and MLR "
                             "with FIML is not supported yet; use estimator = 'ML'")
        meanstructure = True  # as lavaan: FIML always fits the means
        information = "observed" if information is None else information
    opts = robust_options(estimator, information)
    if opts.needs_raw_data:
        require_raw_data(data, opts.estimator)
    return minibatch, fiml, missing, meanstructure, opts


def _spec(model, data, columns, group, model_type, std_lv, orthogonal, fixed_x, meanstructure,
          group_equal, group_partial):
    """The groups of the data, the parameter table, the model per group, the
    definitions and the constraints, checked against each other."""
    labels, subsets = group_data(data, group)
    pt = _table(model, model_type, std_lv, orthogonal, fixed_x, meanstructure,
                ngroups=len(labels), group_equal=group_equal, group_partial=group_partial)
    if (pt["op"] == "|").any():
        raise ModelError("thresholds ('|') are for ordinal items, which the ML estimator treats "
                         "as continuous: fit them with estimator='IWAVE' and ordered=[...]")
    means = bool((pt["op"] == "~1").any())
    models = Model.per_block(pt, mean_structure=means)
    check_latent_names(data, models[0].lv_names, columns)
    if group is not None and group in models[0].ov_names:
        raise DataError(f"'{group}' is both the grouping variable and a variable of the model; "
                        "group by another column or take it out of the model")
    if len(models) != len(labels):
        raise ModelError(f"the parameter table has {len(models)} group(s) but the data "
                         f"{len(labels)}; pass group= for a multiple-group table")
    definitions = Definitions(pt)
    constraints = Constraints(pt, models[0])
    return pt, models, labels, subsets, definitions, constraints


def _sample_stats(pt, models, subsets, missing, columns):
    """Sample moments per group (checked), the groups' ML discrepancies, the fixed.x
    flags and the mean structure; the model must be identified by the moments."""
    means = bool((pt["op"] == "~1").any())
    groups, moments = [], []
    for mod, subset in zip(models, subsets):
        mom = sample_moments(subset, mod.ov_names, missing=missing, columns=columns)
        check_moments(mom.cov, mom.n, mod.ov_names)
        moments.append(mom)
        groups.append(GroupMoments(mod, mom.cov, mom.mean if means else None, mom.n))
    exo = [exo_flags(pt, mod) for mod in models]
    ndat = sum(count_moments(len(m.ov_names), sum(e), means) for m, e in zip(models, exo))
    _check_identified(models[0], ndat)
    return groups, moments, exo, means


def _start_values(pt, models, groups, constraints):
    """Start values of every parameter (fixed values set in the models and the
    constraints) and the reduced start vector, checked against the constraints."""
    values = start_all(groups)
    for mod in models:
        mod.fixed_values(values)
    constraints.set_values(values)
    x0 = reduced_start(models[0], values)
    if constraints:
        _check_user_starts(pt, constraints, x0)
    return values, x0


def _fit_ml(pt, models, groups, subsets, labels, definitions, constraints, values, x0, moments,
            exo, means, data, missing, columns, group, opts, iter_max) -> Fit:
    """ML on the sample moments, then the robust or observed-information inference."""
    with one_thread():
        result = fit_ml(groups, x0, iter_max=iter_max, constraints=constraints or None,
                        **_fallback_starts(groups, values))
        robust = None
        if not opts.default:  # robust (MLM, MLR) or observed-information standard errors
            gammas = [[gamma_adf(subset, mod.ov_names, mom.mean, mom.cov, missing, columns,
                                 meanstructure=means, fixed=f) for f in (e, None)]
                      for mod, mom, subset, e in zip(models, moments, subsets, exo)] \
                if opts.needs_raw_data else None
            robust = robust_inference(groups, result, opts, exo, gammas)
        return _results(pt, groups, labels, definitions, values, result, moments, exo, data,
                        missing, columns, group, robust)

def _fit_fiml(pt, models, subsets, labels, definitions, data, columns, group, information,
              iter_max) -> Fit:
    """missing = "ml": patterns and EM moments per group, then the FIML
    discrepancy minimised by the ML optimiser (see :mod:`torchfit.estimate.fiml`)."""
    if not (pt["op"] == "~1").any():
        raise ModelError("missing = 'ml' needs a mean structure: give a parameter table with "
                         "intercepts (lavaanify(..., meanstructure = TRUE)) or lavaan syntax")
    exo = [exo_flags(pt, mod) for mod in models]
    if any(any(e) for e in exo):
        raise ModelError("fixed exogenous covariates (fixed.x) with missing = 'ml' are not "
                         "supported yet; use fixed_x=False to model the covariates' "
                         "(co)variances and means")
    patterns, h1s, groups, moments = [], [], [], []
    for mod, subset, label in zip(models, subsets, labels):
        pm = pattern_moments(subset, mod.ov_names, columns=columns, warn=False)
        with one_thread():
            h1 = em_h1(pm)
        check_moments(h1[1], pm.n, mod.ov_names)
        patterns.append(pm)
        h1s.append(h1)
        groups.append(group_moments(mod, pm, h1))
        moments.append(Moments(pm.n, h1[0], h1[1], pm.n_total))
    n_empty = sum(pm.n_empty for pm in patterns)
    if n_empty:
        warnings.warn(f"{n_empty} of {sum(pm.n_total for pm in patterns)} rows are missing on "
                      "every model variable and were dropped (lavaan drops such empty cases "
                      "too)", EmptyRowsWarning, stacklevel=4)
    ndat = sum(count_moments(len(m.ov_names), 0, True) for m in models)
    _check_identified(models[0], ndat)
    values = start_all(groups)
    for mod in models:
        mod.fixed_values(values)
    objective = FimlObjective(models, patterns, [h[2] for h in h1s])
    with one_thread():
        result = fit_ml(groups, reduced_start(models[0], values), iter_max=iter_max,
                        objective=objective, **_fallback_starts(groups, values))
        fit_data = FimlFit(models, patterns, h1s, objective, result, information)
        return _results(pt, groups, labels, definitions, values, result, moments, exo, data,
                        "ml", columns, group, fit_data)


def _fit_minibatch(pt, groups, labels, definitions, values, moments, exo, data, missing,
                   columns, group, opts, settings) -> Fit:
    """ML by Adam on mini-batches of raw rows (``batch_size=``), then ML's
    inference at the estimates."""
    if len(groups) > 1 or not opts.default:
        raise ModelError("batch_size= (mini-batch ML) works with one group and the standard "
                         "ML standard errors; leave out group=, estimator= or information=")
    model = groups[0].model
    X = select(data, model.ov_names, missing=missing, columns=columns).X
    result, trained = fit_minibatch(groups[0], X, reduced_start(model, values), **settings,
                                    comm=data.comm if isinstance(data, Reader) else None)
    with one_thread():
        out = _results(pt, groups, labels, definitions, values, result, moments, exo, data,
                       missing, columns, group)
    out.info.update(optimizer="Adam (mini-batch)", epochs=trained.epochs,
                    batch_size=int(settings.get("batch_size", 1024)),
                    loss_history=trained.history, seconds=trained.seconds)
    return out


def _check_user_starts(pt: pd.DataFrame, constraints: Constraints, x0: np.ndarray) -> None:
    """Start values the user gave must satisfy the inequality constraints."""
    _, g = constraints.evaluate(torch.as_tensor(x0))
    given = {n for n, u, f in zip(pt["label"], pt["ustart"], pt["free"]) if n and f > 0
             and np.isfinite(u)} | {n for n, u, f in zip(pt["plabel"], pt["ustart"], pt["free"])
                                    if f > 0 and np.isfinite(u)}
    for (text, *_), value in zip(constraints.inequalities, g.tolist()):
        names = set(re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", text))
        if value < 0 and names & given:
            raise ModelError(f"the start values violate the constraint '{text}'; give start "
                             "values that satisfy it (e.g. start(0.5)*x for a parameter that "
                             "must be positive) or leave start() out")


def _check_identified(model: Model, ndat: int) -> None:
    """Refuse a model with more free parameters than sample moments."""
    if model.n_free > ndat:
        raise ModelError(
            f"the model has {model.n_free} free parameters but the data give only {ndat} "
            f"sample moments (df = {ndat - model.n_free}); the model is not identified: "
            "fix parameters, add equality constraints or drop paths")


def exo_flags(pt: pd.DataFrame, model: Model) -> list:
    """Which observed variables of the model's group are fixed covariates."""
    exo = set(pt["lhs"].to_numpy()[model.in_block & (pt["exo"].to_numpy() == 1)])
    return [v in exo for v in model.ov_names]


def _fallback_starts(groups, values: np.ndarray) -> dict:
    """fit_ml's other starts beside lavaan's ``values``: with factor
    variances from fabin3 for Fisher scoring, and lavaan's fallback
    ``start = "simple"`` (made only when it is needed)."""
    model = groups[0].model
    scoring = values
    for g in groups:
        scoring = factor_variances(g.model, g.cov, scoring)

    def restarts():
        yield reduced_start(model, simple_start(model, values))

    return {"scoring_start": reduced_start(model, scoring), "restarts": restarts()}


def _results(pt, groups, labels, definitions, values, result, moments, exo, data, missing,
             columns, group, robust=None) -> Fit:
    """Estimates, standard errors, standardized solution and fit measures."""
    models = [g.model for g in groups]
    n = sum(g.nobs for g in groups)
    messages = []
    if not result.converged:
        messages.append(f"the optimiser did not converge in {result.iterations} iterations "
                        f"(tried {', '.join(result.tried)}; gradient norm "
                        f"{result.gradient_norm:.2e}); the estimates are not the ML estimates: "
                        "raise iter_max, check the "
                        "model's identification or give start values")
    free = pt["free"].to_numpy()
    est = values.copy()
    est[free > 0] = models[0].expand(result.x)[free[free > 0] - 1]
    vcov = vcov_free(models[0], result.information, n, result.constraint_jacobian,
                     result.at_bound) \
        if robust is None else robust.vcov
    if vcov is None:
        messages.append(singular_message(pt, models[0], result.information,
                                         result.constraint_jacobian))
    views = []
    std = {"std.lv": np.full(len(pt), np.nan), "std.all": np.full(len(pt), np.nan)}
    for g, (mod, mom, label, mats) in enumerate(zip(models, moments, labels, result.matrices)):
        mu = result.mu[g] if mod.mean_structure else mom.mean
        for col, vals in standardized(mod, mats, result.sigma[g], pt, est).items():
            std[col][mod.in_block] = vals[mod.in_block]
        views.append(GroupView(label, mod, {"cov": mom.cov, "mean": mom.mean, "nobs": mom.n},
                               {"cov": result.sigma[g], "mean": mu}, mats))
    definitions.constraint_values(pt, est)
    new = {"start": values, **estimate_columns(pt, est, vcov), **std}
    definitions.fill(pt, new, vcov)
    for col in ("std.lv", "std.all"):
        definitions.constraint_values(pt, new[col])
    table = pd.concat([pt, pd.DataFrame(new, index=pt.index)], axis=1)
    fits = [GroupFit(v.sample["cov"], v.implied["cov"], v.sample["nobs"], e,
                     v.sample["mean"] if v.model.mean_structure else None,
                     v.implied["mean"] if v.model.mean_structure else None)
            for v, e in zip(views, exo)]
    measures = partial(fit_measures, fits, models[0].n_free - result.n_equalities, result.fmin)
    if robust is not None:
        measures = partial(robust.measures, measures)
    info = {
        "estimator": "ML", "optimizer": result.optimizer, "iterations": result.iterations,
        "converged": result.converged, "gradient_norm": result.gradient_norm,
        "admissible": not result.heywood, "nobs": n,
        "nobs_total": sum(m.n_total for m in moments),
        "npar": int(free.max()) if len(free) else 0,
        "neq": int(free.max() - models[0].n_free + result.n_equalities) if len(free) else 0,
        "nin": result.n_inequalities,
        "se": "standard", "information": "expected", "h1_information": "structured",
        "test": "standard", "missing": missing, "version": __version__,
        "warnings": messages + result.heywood, "group": group,
    }
    if group is not None:
        info.update(group_labels=labels, nobs_group=[g.nobs for g in groups],
                    chisq_group=[group_chisq(f) for f in fits])
    if robust is not None:
        info.update(robust.info)
    if getattr(robust, "patterns", None) is not None:  # FIML: lavaan's per-group statistic
        info.update(npatterns=[len(pm.patterns) for pm in robust.patterns])
        if group is not None:
            info.update(chisq_group=robust.group_chisq(),
                        nobs_total_group=[pm.n_total for pm in robust.patterns])
    for message in messages:
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    for message in result.heywood:
        warnings.warn(message, HeywoodWarning, stacklevel=3)
    return Fit(table, info, measures, vcov, views, data, columns)


def sem(model: Union[str, pd.DataFrame], data, **options) -> Fit:
    """Fit a structural equation model with lavaan's sem() defaults.

    Examples
    --------
    >>> import torchfit
    >>> pd_data = torchfit.datasets.political_democracy()
    >>> fit = torchfit.sem("ind60 =~ x1 + x2 + x3; dem60 =~ y1 + y2 + y3 + y4; "
    ...                    "dem60 ~ ind60", pd_data)
    >>> fit.converged
    True
    """
    return fit(model, data, model_type="sem", **options)


def growth(model: Union[str, pd.DataFrame], data, **options) -> Fit:
    """Fit a latent growth curve model with lavaan's growth() defaults: a mean
    structure with observed intercepts fixed at 0 and latent means free.

    Examples
    --------
    >>> import torchfit
    >>> g = torchfit.datasets.demo_growth()
    >>> fit = torchfit.growth("i =~ 1*t1 + 1*t2 + 1*t3 + 1*t4; "
    ...                       "s =~ 0*t1 + 1*t2 + 2*t3 + 3*t4", g)
    >>> round(fit.fit_measures()["chisq"], 3)
    8.069
    """
    return fit(model, data, model_type="growth", **options)


def cfa(model: Union[str, pd.DataFrame], data, **options) -> Fit:
    """Fit a confirmatory factor model with lavaan's cfa() defaults.

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; "
    ...                    "speed =~ x7 + x8 + x9", hs)
    >>> round(fit.fit_measures()["chisq"], 3)
    85.306
    """
    return fit(model, data, model_type="cfa", **options)
