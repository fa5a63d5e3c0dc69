"""``assemble(spec, stats, estimate, options) -> Fit``: the one place a fit is put
together from the stage objects, whatever the estimator (statsmodels'
``LikelihoodModelResults`` idea): the parameter table with estimates, standard errors
and the standardized solution, the groups' moments, the fit measures (computed on
first use), the ``info`` record and the warnings."""
from __future__ import annotations

import math
import warnings
from functools import partial
from typing import List

import numpy as np
import pandas as pd

from ..data.frames import dropped_rows, kept_copy
from ..data.patterns import is_fiml
from ..data.stats import SampleStats
from ..errors import ConvergenceWarning, HeywoodWarning
from ..estimate.record import Estimate
from ..inference.baseline import Baseline
from ..inference.measures import GroupFit, fit_measures, group_chisq
from ..inference.vcov import STD_COLUMNS, estimate_columns, singular_message, standardized
from ..model.spec import Spec
from ..options import FitOptions
from ..version import __version__
from .fit import DeferredTable, Fit, GroupView
from .info import FitInfo


def assemble(spec: Spec, stats: SampleStats, estimate: Estimate, options: FitOptions) -> Fit:
    """The ``Fit`` of ``estimate``; a moment-based one (with F_ML) also gets ML's fit
    measures and lavaan's ``se``/``test`` records. The Fit's class is the tests
    record's ``fit_class`` when it has one (IWAVE's), else :class:`Fit`.

    Examples
    --------
    >>> import torchfit
    >>> from torchfit.api import resolve_options
    >>> from torchfit.estimators.registry import select
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> options = resolve_options("ML", hs, model_type="cfa")
    >>> method = select(options)
    >>> spec = method.spec("f =~ x1 + x2 + x3", hs, options)
    >>> stats = method.sample_stats(spec, hs, options)
    >>> fit = assemble(spec, stats, method.estimate(spec, stats, options), options)
    >>> fit.coef().round(3)["f=~x2"]
    0.778
    """
    moment_based = not math.isnan(estimate.fmin)
    messages = list(estimate.messages)
    if moment_based and not estimate.converged:
        messages.append(_not_converged(estimate))
    if moment_based and estimate.vcov is None:
        messages.append(singular_message(spec.table, spec.model, estimate.information,
                                         estimate.constraint_jacobian))
    views = _views(spec, stats, estimate)
    table = DeferredTable(spec.table, estimate.values(spec.table, spec.model), estimate.start,
                          partial(_table, spec, estimate, views))
    info = _info(spec, stats, estimate, options, messages)
    measures = estimate.tests.measures if estimate.tests is not None else None
    if moment_based:
        fits = [GroupFit(v.sample["cov"], v.implied["cov"], v.sample["nobs"], e,
                         Baseline.of(v.model, e),
                         v.sample["mean"] if v.model.mean_structure else None,
                         v.implied["mean"] if v.model.mean_structure else None)
                for v, e in zip(views, stats.exo)]
        standard = partial(fit_measures, fits, spec.model.n_free - estimate.n_equalities,
                           estimate.fmin)
        measures = standard if measures is None else partial(measures, standard)
        _group_info(info, spec, stats, estimate, fits, options)
    for message in messages[len(estimate.messages):]:
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    for message in estimate.heywood:
        warnings.warn(message, HeywoodWarning, stacklevel=3)
    fit_class = getattr(estimate.tests, "fit_class", Fit)
    names = list(dict.fromkeys(v for m in spec.models for v in m.ov_names))
    dropped = _dropped(stats, names) if moment_based and stats.n_total > stats.n else None
    out = fit_class(table, info, measures, estimate.vcov, views,
                    kept_copy(stats.data, names, options.group, stats.columns), dropped,
                    tests=estimate.tests)
    if estimate.boot is not None:
        out.set_bootstrap(estimate.boot, options.bootstrap["se"],
                          options.bootstrap["bollen_stine"])
    return out


def _dropped(stats: SampleStats, names: List[str]) -> pd.Series:
    """The rows the fit left out and why: FIML's rows missing a fixed covariate (which
    ``stats.data`` no longer holds), then those missing the model's variables."""
    left = dropped_rows(stats.data, names, stats.columns, empty_only=is_fiml(stats.missing))
    cut = stats.extras.get("dropped")
    return left if cut is None else pd.concat([cut, left])


def _not_converged(estimate: Estimate) -> str:
    return (f"the optimiser did not converge in {estimate.iterations} iterations "
            f"(tried {', '.join(estimate.tried)}; gradient norm "
            f"{estimate.gradient_norm:.2e}); the estimates are not the ML estimates: "
            "raise iter_max, check the model's identification or give start values")


def _views(spec: Spec, stats: SampleStats, estimate: Estimate) -> List[GroupView]:
    """Each group's label, model, sample and implied moments and matrices."""
    if not stats.moments:  # a fit without sample moments (IWAVE)
        return [GroupView(label, mod, {"nobs": stats.n}, {}, mats)
                for label, mod, mats in zip(spec.labels, spec.models, estimate.matrices)]
    views = []
    for g, (mod, mom, label, n) in enumerate(zip(spec.models, stats.moments, spec.labels,
                                                 stats.sizes)):
        mu = estimate.mu[g] if mod.mean_structure else mom.mean
        views.append(GroupView(label, mod, {"cov": mom.cov, "mean": mom.mean, "nobs": n},
                               {"cov": estimate.sigma[g], "mean": mu}, estimate.matrices[g]))
    return views


def _table(spec: Spec, estimate: Estimate, views: List[GroupView]) -> pd.DataFrame:
    """The parameter table with lavaan's start, est, se, z, pvalue, ci and std columns
    (defined parameters and constraint rows filled)."""
    pt, definitions = spec.table, spec.definitions
    est = estimate.values(pt, spec.model)
    std = estimate.std
    if std is None:
        std = {col: np.full(len(pt), np.nan) for col in STD_COLUMNS}
        for view, sigma in zip(views, estimate.sigma):
            mod = view.model
            for col, vals in standardized(mod, view.matrices, sigma, pt, est).items():
                std[col][mod.in_block] = vals[mod.in_block]
    if definitions is not None:
        definitions.constraint_values(pt, est)
    new = {"start": estimate.start, **estimate_columns(pt, est, estimate.vcov), **std}
    if definitions is not None:
        definitions.fill(pt, new, estimate.vcov)
        for col in STD_COLUMNS:
            definitions.constraint_values(pt, new[col])
    return pd.concat([pt, pd.DataFrame(new, index=pt.index)], axis=1)


def _info(spec: Spec, stats: SampleStats, estimate: Estimate, options: FitOptions,
          messages: List[str]) -> FitInfo:
    """The fit's ``info``: the run, lavaan's option values and the warnings."""
    free = spec.table["free"].to_numpy()
    npar = int(free.max()) if len(free) else 0
    moment_based = not math.isnan(estimate.fmin)
    # as lavaan, MLM and MLR are ML with other se and test (which the tests record says)
    info = FitInfo.of(estimator="ML" if moment_based else options.estimator,
                      optimizer=estimate.optimizer, iterations=estimate.iterations,
                      converged=estimate.converged)
    if moment_based:
        info.update(gradient_norm=estimate.gradient_norm, admissible=not estimate.heywood)
    info.update(nobs=stats.n, nobs_total=stats.n_total, npar=npar,
                neq=int(npar - spec.model.n_free + estimate.n_equalities) if len(free) else 0)
    if moment_based:
        info.update(nin=estimate.n_inequalities, se="standard", information="expected",
                    h1_information="structured", test="standard")
    info.update(**estimate.extras)
    if stats.extras.get("sample_cov"):
        info.update(data="sample_cov")  # made from moments: no rows to score or resample
    info.update(missing=stats.missing, version=__version__,
                warnings=messages + estimate.heywood)
    if options.std_ov:
        info.update(std_ov=True)  # predict(data) standardizes new data as lavPredict does
    if moment_based:
        info.update(group=options.group)
    return info


def _group_info(info: FitInfo, spec: Spec, stats: SampleStats, estimate: Estimate, fits,
                options: FitOptions) -> None:
    """Per-group counts and statistics, then the tests record's lavaan values."""
    if len(spec.labels) > 1:  # a group= column, or a list of sample_cov
        info.update(group_labels=spec.labels, nobs_group=[m.n for m in stats.moments],
                    chisq_group=[group_chisq(f) for f in fits])
    if estimate.tests is not None:
        info.update(**estimate.tests.info)
    if stats.patterns is not None:  # FIML: lavaan's per-group statistic
        info.update(npatterns=[len(pm.patterns) for pm in stats.patterns])
        if options.group is not None:
            info.update(chisq_group=estimate.tests.group_chisq(),
                        nobs_total_group=[pm.n_total for pm in stats.patterns])
