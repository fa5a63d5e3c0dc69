"""Likelihood-ratio (chi-square difference) tests of nested models, lavaan's
``lavTestLRT`` with its default method.

The models are ordered by their degrees of freedom; each is compared with the
one before it.  With standard tests the difference of the statistics is
chi-square on the difference of the degrees of freedom (and lavaan adds the
RMSEA of the difference).  When every model has a scaled test (MLM, MLR),
lavaan's default is the Satorra-Bentler (2001) scaled difference, for MLM's
Satorra-Bentler and MLR's Yuan-Bentler (Mplus) statistics alike:

    cd = (df0 c0 - df1 c1) / (df0 - df1),    T = (T0 - T1) / cd,

with T the unscaled statistics and c the scaling factors (c1 = 1 for a
saturated model).
"""
from __future__ import annotations

import warnings
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from scipy import special

from ..errors import TorchfitError
from .indices import rmsea


def _scaled(fit) -> bool:
    return "chisq.scaling.factor" in fit.fit_measures()


def _difference(lo: dict, hi: dict, scaled: bool):
    """(statistic, df) of the difference between the less restricted model
    ``lo`` and the more restricted ``hi`` (their fit measures)."""
    df = hi["df"] - lo["df"]
    diff = hi["chisq"] - lo["chisq"]
    if not scaled or df == 0:
        return diff, df
    c1 = 1.0 if lo["df"] == 0 else lo["chisq.scaling.factor"]
    cd = (hi["df"] * hi["chisq.scaling.factor"] - lo["df"] * c1) / df
    if cd < 0:
        warnings.warn("the scaling factor of the difference is negative; its test is NA "
                      "(lavaan's warning)", RuntimeWarning, stacklevel=3)
        cd = np.nan
    return diff / cd, df


def _check(fits) -> bool:
    """Whether the tests are scaled; the models must agree on it and on the
    mean structure."""
    scaled = [_scaled(f) or f.fit_measures()["df"] == 0 for f in fits]
    if any(_scaled(f) for f in fits) and not all(scaled):
        raise TorchfitError("some models (but not all) have scaled test statistics; fit them "
                            "all with the same estimator")
    means = {f.model.mean_structure for f in fits}
    if len(means) > 1:
        raise TorchfitError("some models (but not all) have a mean structure; fit them all "
                            "with the same meanstructure=")
    if len({tuple(sorted(f.model.ov_names)) for f in fits}) > 1:
        warnings.warn("some models are based on a different set of observed variables",
                      RuntimeWarning, stacklevel=3)
    if not all(f.converged for f in fits):
        warnings.warn("not all models converged", RuntimeWarning, stacklevel=3)
    return any(_scaled(f) for f in fits)


def lrt(*fits, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Compare nested models: lavaan's ``lavTestLRT(fit1, fit2, ...)``.

    Parameters
    ----------
    *fits : Fit
        Two or more maximum likelihood fits of the same data, nested.
    names : sequence of str, optional
        Row names, one per fit in the order given (default "fit1", "fit2", ...).

    Returns
    -------
    pandas.DataFrame
        One row per model, fewest degrees of freedom first, lavaan's columns
        Df, AIC, BIC, Chisq, "Chisq diff", ("RMSEA" for standard tests),
        "Df diff", "Pr(>Chisq)".  With scaled tests (MLM, MLR) "Chisq" holds
        the standard statistics and "Chisq diff" the Satorra-Bentler (2001)
        scaled difference, lavaan's default.

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> model = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
    >>> out = torchfit.lrt(torchfit.cfa(model, hs), torchfit.cfa(model, hs, orthogonal=True),
    ...                    names=["oblique", "orthogonal"])
    >>> out.loc["orthogonal", ["Chisq diff", "Df diff"]].round(3).tolist()
    [68.222, 3.0]
    """
    not_fits = [type(f).__name__ for f in fits if not hasattr(f, "fit_measures")]
    if not_fits:
        raise TorchfitError(f"lrt() compares fits (torchfit.sem/cfa/growth results), not "
                            f"{', '.join(not_fits)}")
    if len(fits) < 2:
        raise TorchfitError("lrt() compares two or more nested models; for one model's test "
                            "use fit.fit_measures(['chisq', 'df', 'pvalue'])")
    if any(f.info.estimator != "ML" for f in fits):
        raise TorchfitError("lrt() needs maximum likelihood fits (estimator 'ML', 'MLM' or "
                            "'MLR')")
    names = list(names) if names is not None else [f"fit{k + 1}" for k in range(len(fits))]
    if len(names) != len(fits):
        raise TorchfitError(f"names= has {len(names)} entries for {len(fits)} models")
    scaled = _check(fits)
    first = fits[0].fit_measures()
    measures = [f.fit_measures() for f in fits]
    order = np.argsort([m["df"] for m in measures], kind="stable")
    measures = [measures[k] for k in order]
    stat, df = [np.nan], [np.nan]
    for lo, hi in zip(measures[:-1], measures[1:]):
        s, d = _difference(lo, hi, scaled)
        stat.append(s)
        df.append(d)
    stat, df = np.array(stat, dtype=float), np.array(df, dtype=float)
    raw = np.array([np.nan] + [hi["chisq"] - lo["chisq"]
                               for lo, hi in zip(measures[:-1], measures[1:])])
    if np.any(raw[1:] < -np.finfo(float).eps ** (1 / 3)):
        warnings.warn("some restricted models fit better than less restricted models; either "
                      "these models are not nested, or the less restricted model failed to "
                      f"reach a global optimum (smallest difference {np.nanmin(raw):.4g})",
                      RuntimeWarning, stacklevel=2)
    with np.errstate(invalid="ignore"):
        pvalue = special.chdtrc(df, stat)
    if np.any(df[1:] == 0):
        pvalue[1:][df[1:] == 0] = np.nan
        warnings.warn("some models have the same degrees of freedom", RuntimeWarning,
                      stacklevel=2)
    out = {"Df": [m["df"] for m in measures], "AIC": [m["aic"] for m in measures],
           "BIC": [m["bic"] for m in measures], "Chisq": [m["chisq"] for m in measures],
           "Chisq diff": stat}
    if not scaled:
        groups = len(fits[0].groups)
        out["RMSEA"] = [np.nan] + [rmsea(s, d, first["ntotal"], groups=groups)
                                   for s, d in zip(stat[1:], df[1:])]
    out.update({"Df diff": df, "Pr(>Chisq)": pvalue})
    return pd.DataFrame(out, index=[names[k] for k in order])
