"""Fit indices as lavaan defines them (lav_fit_cfi.R, lav_fit_rmsea.R, ...):
functions of the model and baseline test statistics, their degrees of
freedom, N and the number of groups; ``c`` and ``cn`` are scaling factors of
the model and baseline tests for the robust versions (1 for plain ML).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from scipy import optimize, special


def cfi(X2, df, X2n, dfn, c=1.0, cn=1.0, robust=False):
    if np.isnan([X2, df, X2n, dfn, c, cn]).any():
        return np.nan
    if robust and df > 0 and c != 1 and cn != 1:
        t1, t2 = max(X2 - c * df, 0.0), max(X2 - c * df, X2n - cn * dfn, 0.0)
    else:
        t1, t2 = max(X2 - df, 0.0), max(X2 - df, X2n - dfn, 0.0)
    return 1.0 if np.isclose(t1, 0, atol=1.5e-8) and np.isclose(t2, 0, atol=1.5e-8) \
        else 1.0 - t1 / t2


def tli(X2, df, X2n, dfn, c=1.0, cn=1.0, robust=False):
    if np.isnan([X2, df, X2n, dfn, c, cn]).any():
        return np.nan
    if robust and df > 0 and c != 1 and cn != 1:
        t1, t2 = (X2 - c * df) * dfn, (X2n - cn * dfn) * df
    else:
        t1, t2 = (X2 - df) * dfn, (X2n - dfn) * df
    return 1.0 - t1 / t2 if df > 0 and abs(t2) > 0 else 1.0


def rni(X2, df, X2n, dfn, c=1.0, cn=1.0, robust=False):
    if np.isnan([X2, df, X2n, dfn, c, cn]).any():
        return np.nan
    if robust and df > 0 and c != 1 and cn != 1:
        t1, t2 = X2 - c * df, X2n - cn * dfn
    else:
        t1, t2 = X2 - df, X2n - dfn
    return np.nan if np.isclose(t2, 0, atol=1.5e-8) else 1.0 - t1 / t2


def nfi(X2, df, X2n, dfn):
    if df > dfn or np.isclose(X2n, 0, atol=1.5e-8):
        return np.nan
    return (X2n - X2) / X2n if df > 0 else 1.0


def rfi(X2, df, X2n, dfn):
    if df > dfn:
        return np.nan
    if df > 0 and dfn > 0:
        t1, t2 = X2n / dfn - X2 / df, X2n / dfn
        return 1.0 if (t1 < 0 or t2 < 0) else t1 / t2
    return 1.0


def ifi(X2, df, X2n, dfn):
    t1, t2 = X2n - X2, X2n - df
    if t2 < 0:
        return 1.0
    return np.nan if np.isclose(t2, 0, atol=1.5e-8) else t1 / t2


def pnfi(X2, df, X2n, dfn):
    return (df / dfn) * (X2n - X2) / X2n if dfn > 0 and X2n > 0 else np.nan


def rmsea(X2: float, df: float, n: int, c: float = 1.0, groups: int = 1) -> float:
    """lavaan's RMSEA, sqrt(G) sqrt(max(X2 / N / df - c / N, 0)), with c.hat = c
    and G groups."""
    if np.isnan([X2, df]).any():
        return np.nan
    if df <= 0:  # lavaan: 0 for a saturated model, whatever c
        return 0.0
    if not np.isfinite(c):
        return np.nan
    return float(np.sqrt(groups) * np.sqrt(max(X2 / n / df - c / n, 0.0)))


def rmsea_ci(X2: float, df: float, n: int, c: float = 1.0, level: float = 0.90,
             groups: int = 1):
    """lavaan's interval (lav_fit_rmsea_ci): the non-centralities with
    P(chi2_df(lambda) <= X2) = 0.95 and 0.05, scaled by c / (N df) (and by
    sqrt(G) with G groups).

    Examples
    --------
    >>> lo, hi = rmsea_ci(85.306, 24, 301)
    >>> round(lo, 3), round(hi, 3)
    (0.071, 0.114)
    """
    if not (np.isfinite(X2) and np.isfinite(df)):
        return np.nan, np.nan
    upper_p, lower_p = 1 - (1 - level) / 2, (1 - level) / 2
    # scipy.special's ufuncs: the distribution objects cost 0.5 ms a call here
    cdf = lambda lam: special.chndtr(X2, df, lam) if lam > 0 else special.chdtr(df, X2)
    if df < 1 or cdf(0.0) - upper_p < 0:
        lower = 0.0
    else:
        lam = optimize.brentq(lambda l: cdf(l) - upper_p, 0.0, X2, xtol=1e-12)
        lower = float(np.sqrt(groups * c * lam / (n * df)))
    top = max(n, 4 * X2)
    if df < 1 or cdf(top) - lower_p > 0 or cdf(0.0) - lower_p < 0:
        upper = 0.0
    else:
        lam = optimize.brentq(lambda l: cdf(l) - lower_p, 0.0, top, xtol=1e-12)
        upper = float(np.sqrt(groups * c * lam / (n * df)))
    return lower, upper


def rmsea_p(X2, df, n, h0, c=1.0, close=True, groups: int = 1):
    """P(RMSEA <= h0) (``close``) or P(RMSEA >= h0), lavaan's tests of close
    and not-close fit."""
    if np.isnan([X2, df, c]).any() or df <= 0:
        return np.nan
    ncp = n * df / c * h0 ** 2 / groups
    p = special.chndtr(X2, df, ncp) if ncp > 0 else special.chdtr(df, X2)
    return float(1.0 - p if close else p)


def robust_indices(X2: float, df: float, X2n: float, dfn: float, c: float, cn: float,
                   n: int, scaled: float, close_h0: float, notclose_h0: float,
                   groups: int = 1, df_rmsea: Optional[float] = None) -> dict:
    """lavaan's ``.robust`` CFI, TLI, NNFI, RNI and RMSEA (with its interval
    and tests of close and not-close fit): the unscaled statistics ``X2`` and
    ``X2n`` with the scaling factors ``c`` and ``cn`` ("c.hat"; Brosseau-Liard &
    Savalei), the RMSEA's interval and tests from the ``scaled`` statistic on
    ``df_rmsea`` degrees of freedom (default ``df``).

    Examples
    --------
    >>> out = robust_indices(85.0, 24, 900.0, 36, 1.1, 1.2, 301, 85.0 / 1.1, 0.05, 0.08)
    >>> round(out["cfi.robust"], 3), round(out["rmsea.robust"], 3)
    (0.932, 0.09)
    """
    dfr = df if df_rmsea is None else df_rmsea
    lo, hi = rmsea_ci(scaled, dfr, n, c, groups=groups)
    return {
        "cfi.robust": cfi(X2, df, X2n, dfn, c, cn, True),
        "tli.robust": tli(X2, df, X2n, dfn, c, cn, True),
        "nnfi.robust": tli(X2, df, X2n, dfn, c, cn, True),
        "rni.robust": rni(X2, df, X2n, dfn, c, cn, True),
        "rmsea.robust": rmsea(X2, dfr, n, c, groups=groups),
        "rmsea.ci.lower.robust": lo, "rmsea.ci.upper.robust": hi,
        "rmsea.pvalue.robust": rmsea_p(scaled, dfr, n, close_h0, c, groups=groups),
        "rmsea.notclose.pvalue.robust": rmsea_p(scaled, dfr, n, notclose_h0, c, close=False,
                                                groups=groups),
    }


def insert_after(measures: dict, extra: dict, after: dict) -> dict:
    """``measures`` with the ``extra`` ones placed where lavaan's fitMeasures()
    puts them: ``after[key]`` lists the names that follow ``key``.

    Examples
    --------
    >>> insert_after({"a": 1, "b": 2}, {"a.x": 3}, {"a": ["a.x"]})
    {'a': 1, 'a.x': 3.0, 'b': 2}
    """
    out = {}
    for key, value in measures.items():
        out[key] = value
        for name in after.get(key, []):
            out[name] = float(extra[name])
    return out
