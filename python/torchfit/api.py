"""The public entry points: ``fit``, ``sem`` and ``cfa``.

The pipeline reads as lavaan's: syntax -> parameter table -> data and sample
moments -> model matrices and start values -> estimator -> inference ->
fit measures -> Fit.
"""
from __future__ import annotations

import warnings
from functools import partial
from typing import Mapping, Union

import numpy as np
import pandas as pd
import torch

from .data import check_moments, sample_moments
from .errors import ConvergenceWarning, ModelError, TorchfitError
from .fit import Fit
from .inference import estimate_columns, standardized, vcov_free
from .matrices import Model
from .measures import fit_measures
from .ml import fit_ml, one_thread
from .partable import from_columns
from .start import reduced_start, start_values
from .syntax import parse

__version__ = "0.1.0"
ESTIMATORS = ("ML",)


def _table(model, model_type, std_lv, orthogonal, fixed_x) -> pd.DataFrame:
    if isinstance(model, str):
        return parse(model, model_type=model_type, std_lv=std_lv, orthogonal=orthogonal,
                     fixed_x=fixed_x)
    if isinstance(model, (pd.DataFrame, Mapping)):
        return from_columns({c: model[c] for c in model.keys()} if isinstance(model, Mapping)
                            else {c: model[c].tolist() for c in model.columns})
    raise TorchfitError("model must be lavaan syntax (a string) or a parameter table "
                        f"(a DataFrame), not {type(model).__name__}")


def fit(model: Union[str, pd.DataFrame], data, estimator: str = "ML", model_type: str = "sem",
        std_lv: bool = False, orthogonal: bool = False, fixed_x: bool = True,
        missing: str = "default", iter_max: int = 500, columns=None) -> Fit:
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
    estimator : {"ML"}
        Maximum likelihood on the sample moments.
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
    pt = _table(model, model_type, std_lv, orthogonal, fixed_x)
    mod = Model(pt)
    mom = sample_moments(data, mod.ov_names, missing=missing, columns=columns)
    S, n = mom.cov, mom.n
    check_moments(S, n, mod.ov_names)

    exo = pt.loc[pt["exo"] == 1, "lhs"].tolist()
    exo_flags = [v in exo for v in mod.ov_names]
    p, nx = len(mod.ov_names), sum(exo_flags)
    ndat = p * (p + 1) // 2 - nx * (nx + 1) // 2
    if mod.n_free > ndat:
        raise ModelError(
            f"the model has {mod.n_free} free parameters but the data give only {ndat} sample "
            f"(co)variances (df = {ndat - mod.n_free}); the model is not identified: fix "
            "parameters, add equality constraints or drop paths")

    values = start_values(mod, S)
    mod.fixed_values(values)
    with one_thread():
        result = fit_ml(mod, S, reduced_start(mod, values), iter_max=iter_max)
        return _results(pt, mod, values, result, mom, data, missing, columns, exo_flags)


def _results(pt, mod, values, result, mom, data, missing, columns, exo_flags) -> Fit:
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
    vcov = vcov_free(mod, result.information, n)
    if vcov is None:
        messages.append("could not compute standard errors: the information matrix is "
                        "singular, so the model may not be identified")
    mats = {k: v.cpu().numpy() for k, v in
            mod.matrices(torch.as_tensor(result.x, dtype=mod.dtype)).items()}
    columns = {"start": values, **estimate_columns(pt, est, vcov),
               **standardized(mod, mats, result.sigma, pt, est)}
    table = pd.concat([pt, pd.DataFrame(columns, index=pt.index)], axis=1)
    measures = partial(fit_measures, S, result.sigma, n, mod.n_free, result.fmin, exo_flags)
    info = {
        "estimator": "ML", "optimizer": "Fisher scoring", "iterations": result.iterations,
        "converged": result.converged, "nobs": n, "nobs_total": mom.n_total,
        "npar": int(free.max()) if len(free) else 0,
        "neq": int(free.max() - mod.n_free) if len(free) else 0,
        "se": "standard", "information": "expected", "h1_information": "structured",
        "test": "standard", "missing": missing, "version": __version__,
        "warnings": messages,
    }
    for message in messages:
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    return Fit(table, mod, info, measures, vcov, {"cov": S, "mean": mom.mean, "nobs": n},
               {"cov": result.sigma}, mats, data, columns)


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
