"""The public entry points: ``fit``, ``sem`` and ``cfa``.

The pipeline reads as lavaan's: syntax -> parameter table -> data and sample
moments -> model matrices and start values -> estimator -> inference ->
fit measures -> Fit.
"""
from __future__ import annotations

import warnings
from functools import partial
from typing import Mapping, Optional, Union

import numpy as np
import pandas as pd
import torch

from .data import check_moments, sample_moments
from .defined import Definitions
from .errors import ConvergenceWarning, ModelError, TorchfitError
from .fit import Fit
from .inference import estimate_columns, standardized, vcov_free
from .matrices import Model
from .measures import count_moments, fit_measures
from .ml import fit_ml, one_thread
from .partable import from_columns
from .robust import gamma_adf, options as robust_options, require_raw_data, robust_inference
from .start import reduced_start, start_values
from .syntax import parse

__version__ = "0.1.0"
ESTIMATORS = ("ML", "MLM", "MLR", "IWAVE")


def _table(model, model_type, std_lv, orthogonal, fixed_x, meanstructure=None) -> pd.DataFrame:
    if isinstance(model, str):
        return parse(model, model_type=model_type, std_lv=std_lv, orthogonal=orthogonal,
                     fixed_x=fixed_x, meanstructure=meanstructure)
    if isinstance(model, (pd.DataFrame, Mapping)):
        return from_columns({c: model[c] for c in model.keys()} if isinstance(model, Mapping)
                            else {c: model[c].tolist() for c in model.columns})
    raise TorchfitError("model must be lavaan syntax (a string) or a parameter table "
                        f"(a DataFrame), not {type(model).__name__}")


def fit(model: Union[str, pd.DataFrame], data, estimator: str = "ML", model_type: str = "sem",
        std_lv: bool = False, orthogonal: bool = False, fixed_x: bool = True,
        missing: str = "default", iter_max: int = 500, columns=None,
        meanstructure: Optional[bool] = None, information: Optional[str] = None,
        **options) -> Fit:
    """Fit a structural equation model.

    Parameters
    ----------
    model : str or pandas.DataFrame
        lavaan model syntax, or a lavaan parameter table.
    data : pandas.DataFrame, 2-D array or path
        One column per observed variable; extra columns are ignored and the
        data are not modified.  Large data can be a memory-mapped array
        (``np.load(path, mmap_mode="r")``) or the path of a .npy or CSV file:
        the sample moments are formed in one pass over blocks of rows.
    estimator : {"ML", "MLM", "MLR", "IWAVE"}
        Maximum likelihood on the sample moments; ML with robust standard
        errors and the Satorra-Bentler scaled test ("MLM") or with
        Huber-White sandwich standard errors and the Yuan-Bentler (Mplus)
        scaled test ("MLR"), both of which need the raw data (see
        :mod:`torchfit.robust`); or importance-weighted
        amortized variational estimation (any mix of item types; see
        :func:`torchfit.iwave_fit.fit_iwave` for its options: ``ordered``,
        ``item_types``, ``iw_samples``, ``batch_size``, ``lr``, ...).
    model_type : {"sem", "cfa"}
        Which of lavaan's defaults to apply (the same for both).
    std_lv : bool
        Fix latent variances to 1 instead of the first loadings.
    orthogonal : bool
        Fix covariances among exogenous latent variables to 0.
    fixed_x : bool
        Treat exogenous observed covariates as fixed (lavaan's default).
    missing : {"default", "listwise"}
        Rows with missing values are an error by default; "listwise" drops them.
    iter_max : int
        Maximum number of optimiser iterations.
    columns : sequence of str, optional
        Column names, when ``data`` is an array or a .npy file.
    information : {"expected", "observed"}, optional
        Information matrix of the standard errors (lavaan's option): by
        default "expected" for ML and MLM, "observed" (the Hessian) for MLR.
    **options
        Options of the IWAVE estimator (snake case, as in ``fit_iwave``).

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
    if estimator.upper() == "IWAVE":
        from .iwave_fit import IWAVE_OPTIONS, fit_iwave

        unknown = [k for k in options if k not in IWAVE_OPTIONS]
        if unknown:
            raise TypeError(f"unknown option(s) {', '.join(unknown)} for estimator 'IWAVE'; "
                            f"known: {', '.join(IWAVE_OPTIONS)}")
        return fit_iwave(model, data, model_type=model_type, std_lv=std_lv,
                         orthogonal=orthogonal, fixed_x=fixed_x, missing=missing, **options)
    if options:
        raise TypeError(f"option(s) {', '.join(options)} are for estimator='IWAVE', not "
                        f"{estimator!r}")
    opts = robust_options(estimator, information)
    if opts.needs_raw_data:
        require_raw_data(data, opts.estimator)
    pt = _table(model, model_type, std_lv, orthogonal, fixed_x, meanstructure)
    if (pt["op"] == "|").any():
        raise ModelError("thresholds ('|') are for ordinal items, which the ML estimator treats "
                         "as continuous: fit them with estimator='IWAVE' and ordered=[...]")
    means = bool((pt["op"] == "~1").any())
    mod = Model(pt, mean_structure=means)
    definitions = Definitions(pt)
    mom = sample_moments(data, mod.ov_names, missing=missing, columns=columns)
    S, n = mom.cov, mom.n
    check_moments(S, n, mod.ov_names)

    exo = pt.loc[pt["exo"] == 1, "lhs"].tolist()
    exo_flags = [v in exo for v in mod.ov_names]
    ndat = count_moments(len(mod.ov_names), sum(exo_flags), means)
    if mod.n_free > ndat:
        raise ModelError(
            f"the model has {mod.n_free} free parameters but the data give only {ndat} sample "
            f"moments (df = {ndat - mod.n_free}); the model is not identified: fix "
            "parameters, add equality constraints or drop paths")

    values = start_values(mod, S, mom.mean)
    mod.fixed_values(values)
    with one_thread():
        result = fit_ml(mod, S, reduced_start(mod, values), iter_max=iter_max,
                        mean=mom.mean if means else None)
        robust = None
        if not opts.default:  # robust (MLM, MLR) or observed-information standard errors
            gamma = gamma_adf(data, mod.ov_names, mom.mean, S, missing, columns) \
                if opts.needs_raw_data else None
            robust = robust_inference(mod, result, S, n, opts, exo_flags, gamma)
        return _results(pt, mod, definitions, values, result, mom, data, missing, columns,
                        exo_flags, robust)


def _results(pt, mod, definitions, values, result, mom, data, missing, columns,
             exo_flags, robust=None) -> Fit:
    """Estimates, standard errors, standardized solution and fit measures."""
    S, n = mom.cov, mom.n
    messages = []
    if not result.converged:
        messages.append(f"the optimiser did not converge in {result.iterations} iterations; "
                        "the estimates are not the ML estimates: raise iter_max, check the "
                        "model's identification or give start values")
    free = pt["free"].to_numpy()
    est = values.copy()
    est[free > 0] = mod.expand(result.x)[free[free > 0] - 1]
    where = {p: i for i, p in enumerate(pt["plabel"]) if p}
    for i, (lhs, op, rhs) in enumerate(zip(pt["lhs"], pt["op"], pt["rhs"])):
        if op == "==":  # lavaan reports a constraint's value as lhs - rhs
            est[i] = est[where[lhs]] - est[where[rhs]] if lhs in where and rhs in where else 0.0
    vcov = vcov_free(mod, result.information, n) if robust is None else robust.vcov
    if vcov is None:
        messages.append("could not compute standard errors: the information matrix is "
                        "singular, so the model may not be identified")
    mats = {k: v.cpu().numpy() for k, v in
            mod.matrices(torch.as_tensor(result.x, dtype=mod.dtype)).items()}
    mu = result.mu if mod.mean_structure else mom.mean
    new = {"start": values, **estimate_columns(pt, est, vcov),
           **standardized(mod, mats, result.sigma, pt, est)}
    definitions.fill(pt, new, vcov)
    table = pd.concat([pt, pd.DataFrame(new, index=pt.index)], axis=1)
    measures = partial(fit_measures, S, result.sigma, n, mod.n_free, result.fmin, exo_flags,
                       mom.mean if mod.mean_structure else None, mu)
    if robust is not None:
        measures = partial(robust.measures, measures)
    info = {
        "estimator": "ML", "optimizer": "Fisher scoring", "iterations": result.iterations,
        "converged": result.converged, "nobs": n, "nobs_total": mom.n_total,
        "npar": int(free.max()) if len(free) else 0,
        "neq": int(free.max() - mod.n_free) if len(free) else 0,
        "se": "standard", "information": "expected", "h1_information": "structured",
        "test": "standard", "missing": missing, "version": __version__,
        "warnings": messages,
    }
    if robust is not None:
        info.update(robust.info)
    for message in messages:
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    return Fit(table, mod, info, measures, vcov, {"cov": S, "mean": mom.mean, "nobs": n},
               {"cov": result.sigma, "mean": mu}, mats, data, columns)


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
