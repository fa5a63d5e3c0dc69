"""The steps the ML family shares (ML, MLM, MLR, FIML, mini-batch ML): the ``Spec``
from syntax or a table, the ``SampleStats`` of complete data, the start values and
the checks between them.  A new estimator of the family calls these for its
``spec`` and ``sample_stats`` steps."""
from __future__ import annotations

import re
from typing import List, Mapping, Tuple

import numpy as np
import pandas as pd
import torch

from ..data.cases import read_cases, weighted_moments
from ..data.frames import (
    check_group_column,
    check_latent_names,
    check_moments,
    group_data,
    sample_moments,
)
from ..data.gamma import gamma_adf
from ..data.given import GivenMoments
from ..data.standardize import rows_for, standardize
from ..data.stats import SampleStats
from ..errors import DataError, ModelError, TorchfitError
from ..estimate.ml import GroupMoments, one_thread
from ..estimate.start import factor_variances, reduced_start, simple_start, start_all
from ..inference.measures import count_moments
from ..model.constraints import Constraints
from ..model.defined import Definitions
from ..model.matrices import Model
from ..model.partable import from_columns, option_strings, parse
from ..model.spec import Spec
from ..options import FitOptions


def model_table(model, options: FitOptions, ngroups: int) -> pd.DataFrame:
    """lavaan's parameter table of ``model`` (syntax, or a table as given)."""
    settings = options.model
    if isinstance(model, str):
        return parse(model, meanstructure=options.meanstructure, ngroups=ngroups, **settings)
    if isinstance(model, (pd.DataFrame, Mapping)):
        given = [k for k in ("group_equal", "group_partial")
                 if option_strings(settings.get(k), k)]
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


def groups_of(data, group):
    """The group labels and each group's data: rows of the data, or the moments given
    by ``sample_cov=``."""
    if isinstance(data, GivenMoments):
        return data.labels, data.groups
    return group_data(data, group)


def build_spec(model, data, options: FitOptions) -> Spec:
    """The parameter table, the model per group, the definitions and the
    constraints, checked against the data's groups and columns."""
    labels, _ = groups_of(data, options.group)
    pt = model_table(model, options, len(labels))
    if (pt["op"] == "|").any():
        raise ModelError("thresholds ('|') are for ordinal items, which the ML estimator treats "
                         "as continuous: name the items in ordered=[...] (WLSMV by default) or "
                         "use estimator='IWAVE'")
    means = bool((pt["op"] == "~1").any())
    models = Model.per_block(pt, mean_structure=means)
    if isinstance(data, GivenMoments):
        check_latent_names(None, models[0].lv_names, data.names)
    else:
        check_latent_names(data, models[0].lv_names, options.columns)
    check_group_column(options.group, models[0].ov_names)
    if len(models) != len(labels):
        raise ModelError(f"the parameter table has {len(models)} group(s) but the data "
                         f"{len(labels)}; pass group= for a multiple-group table")
    constraints = Constraints(pt, models[0])
    if constraints and (options.fiml or options.minibatch or options.bootstrap
                        or not options.robust.default):
        raise ModelError("equality (non-label) and inequality constraints work with "
                         "estimator='ML', complete data and no batch_size yet")
    return Spec(pt, models, Definitions(pt), constraints, list(labels))


def exo_flags(pt: pd.DataFrame, model: Model) -> list:
    """Which observed variables of the model's group are fixed covariates."""
    exo = set(pt["lhs"].to_numpy()[model.in_block & (pt["exo"].to_numpy() == 1)])
    return [v in exo for v in model.ov_names]


def moment_stats(spec: Spec, data, options: FitOptions) -> SampleStats:
    """Sample moments per group (checked), the fixed.x flags and, for MLM and MLR,
    Gamma per group; the model must be identified by the moments."""
    given = isinstance(data, GivenMoments)
    _, subsets = groups_of(data, options.group)
    cases = by_row(spec, subsets, options)
    moments = []
    for k, (mod, subset) in enumerate(zip(spec.models, subsets)):
        if given:
            mom = subset.moments(mod.ov_names)
        elif cases is None or options.sampling_weights is None:
            mom = sample_moments(subset, mod.ov_names, missing=options.missing,
                                 columns=options.columns)
        else:
            mom = weighted_moments(cases[k])
        check_moments(mom.cov, mom.n, mod.ov_names)
        moments.append(mom)
    exo = [exo_flags(spec.table, mod) for mod in spec.models]
    ndat = sum(count_moments(len(m.ov_names), sum(e), spec.means)
               for m, e in zip(spec.models, exo))
    check_identified(spec.model, ndat)
    stats = SampleStats(moments, exo, options.missing, None if given else data, options.columns)
    if given:
        stats.extras["sample_cov"] = True
    if cases is not None:
        stats.extras["cases"] = cases
    elif options.robust.needs_raw_data:
        with one_thread():
            stats.gammas = [[gamma_adf(subset, mod.ov_names, mom.mean, mom.cov, options.missing,
                                       options.columns, meanstructure=spec.means, fixed=f)
                             for f in (e, None)]
                            for mod, mom, subset, e in zip(spec.models, moments, subsets, exo)]
    return stats


def standardized_data(spec: Spec, data, options: FitOptions):
    """lavaan's ``std.ov``: a copy of the data with each group's model variables
    (fixed covariates aside) standardized over the rows the fit uses
    (:mod:`torchfit.data.standardize`)."""
    exo = [exo_flags(spec.table, mod) for mod in spec.models]
    return standardize(data, [m.ov_names for m in spec.models], exo, options.group,
                       rows_for(options.missing), options.columns)


def by_row(spec: Spec, subsets, options: FitOptions):
    """With ``cluster=`` or ``sampling_weights=``: each group's rows, weights and
    clusters (:func:`torchfit.data.cases.read_cases`); else None."""
    if options.cluster is None and options.sampling_weights is None:
        return None
    if any(any(exo_flags(spec.table, mod)) for mod in spec.models):
        raise ModelError("fixed exogenous covariates (fixed.x) with cluster= or "
                         "sampling_weights= are not supported yet; use fixed_x=False")
    names = spec.models[0].ov_names
    for name in (options.cluster, options.sampling_weights):
        if name is not None and (name in names or name == options.group):
            raise DataError(f"'{name}' is a variable of the model or the grouping column; "
                            "cluster= and sampling_weights= take another column")
    with one_thread():
        return read_cases(subsets, names, options.missing, options.columns,
                          options.sampling_weights, options.cluster)


def rows_info(options: FitOptions, stats: SampleStats) -> dict:
    """What a fit's info says of its cluster and weight columns (lavaan's summary
    lines): their names and the clusters per group."""
    out = {}
    if options.cluster is not None:
        out.update(cluster=options.cluster,
                   nclusters=[c.n_clusters for c in stats.extras["cases"]])
    if options.sampling_weights is not None:
        out["sampling_weights"] = options.sampling_weights
    return out


def group_moments(spec: Spec, stats: SampleStats) -> List[GroupMoments]:
    """What the ML objective takes of each group: its model, moments and size (with
    sampling weights, as lavaan, the sum of the group's normalised weights)."""
    return [GroupMoments(mod, mom.cov, mom.mean if spec.means else None, n)
            for mod, mom, n in zip(spec.models, stats.moments, stats.sizes)]


def start(spec: Spec, groups) -> Tuple[np.ndarray, np.ndarray]:
    """Start values of every table row (fixed values set in the models and the
    constraints) and the reduced start vector, checked against the constraints."""
    values = start_all(groups)
    for mod in spec.models:
        mod.fixed_values(values)
    if spec.constraints is not None:
        spec.constraints.set_values(values)
    x0 = reduced_start(spec.model, values)
    if spec.constraints:
        check_user_starts(spec.table, spec.constraints, x0)
    return values, x0


def check_user_starts(pt: pd.DataFrame, constraints: Constraints, x0: np.ndarray) -> None:
    """Start values the user gave must satisfy the inequality constraints."""
    _, g = constraints.evaluate(torch.as_tensor(x0))
    given = {n for n, u, f in zip(pt["label"], pt["ustart"], pt["free"]) if n and f > 0
             and np.isfinite(u)} | {n for n, u, f in zip(pt["plabel"], pt["ustart"], pt["free"])
                                    if f > 0 and np.isfinite(u)}
    for (text, *_), value in zip(constraints.inequalities, g.tolist()):
        names = set(re.findall(r"(?:[^\W\d]|\.)[\w.]*", text))
        if value < 0 and names & given:
            raise ModelError(f"the start values violate the constraint '{text}'; give start "
                             "values that satisfy it (e.g. start(0.5)*x for a parameter that "
                             "must be positive) or leave start() out")


def check_identified(model: Model, ndat: int) -> None:
    """Refuse a model with more free parameters than sample moments."""
    if model.n_free > ndat:
        raise ModelError(
            f"the model has {model.n_free} free parameters but the data give only {ndat} "
            f"sample moments (df = {ndat - model.n_free}); the model is not identified: "
            "fix parameters, add equality constraints or drop paths")


def fallback_starts(groups, values: np.ndarray) -> dict:
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
