"""Fit measures with lavaan's names and definitions (ML, one group, no means).

All are functions of the chi-square of the model and of the baseline
(independence) model, their degrees of freedom, N, and the sample and
implied covariance matrices.  N is the number of observations (lavaan's
``likelihood = "normal"``).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
from scipy import optimize, stats

LOG_2PI = np.log(2 * np.pi)


def count_moments(p: int, nx: int, meanstructure: bool) -> int:
    """Sample statistics the model fits: (co)variances, and means with a mean
    structure, less those of fixed covariates (taken as given)."""
    return p * (p + 1) // 2 - nx * (nx + 1) // 2 + ((p - nx) if meanstructure else 0)


def loglik(S: np.ndarray, sigma: np.ndarray, n: int, d: Optional[np.ndarray] = None) -> float:
    """Gaussian log-likelihood of complete data; ``d`` is the sample mean less
    the implied one (saturated means when None)."""
    p = S.shape[0]
    _, logdet = np.linalg.slogdet(sigma)
    misfit = 0.0 if d is None else float(d @ np.linalg.solve(sigma, d))
    return -0.5 * n * (p * LOG_2PI + logdet + np.trace(np.linalg.solve(sigma, S)) + misfit)


def baseline_sigma(S: np.ndarray, exo: Sequence[bool]) -> np.ndarray:
    """Independence model: variances only, with the block of fixed
    covariates kept at its sample values."""
    exo = np.asarray(exo, dtype=bool)
    base = np.diag(np.diag(S))
    base[np.ix_(exo, exo)] = S[np.ix_(exo, exo)]
    return base


def _rmsea_ci(chisq: float, df: float, n: int, level: float = 0.90):
    """Steiger's interval: the non-centralities with P(X2 <= chisq) = 0.95 and 0.05."""
    def ncp_for(prob):
        f = lambda lam: stats.ncx2.cdf(chisq, df, lam) - prob if lam > 0 else \
            stats.chi2.cdf(chisq, df) - prob
        if f(0.0) < 0:
            return 0.0
        hi = max(chisq, 1.0)
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 0.0, hi, xtol=1e-12)
    alpha = (1 - level) / 2
    lower = np.sqrt(ncp_for(1 - alpha) / (n * df))
    upper = np.sqrt(ncp_for(alpha) / (n * df))
    return lower, upper


def _rmr(S: np.ndarray, sigma: np.ndarray, mean: Optional[np.ndarray],
         mu: Optional[np.ndarray]) -> Dict[str, float]:
    """Root mean square residuals, raw and standardized, over the lower
    triangle; the "_nomean" versions leave the mean residuals out."""
    lower = np.tril_indices(S.shape[0])
    off = np.tril_indices(S.shape[0], -1)
    sd_s, sd_m = np.sqrt(np.diag(S)), np.sqrt(np.diag(sigma))
    resid = S - sigma
    bentler = resid / np.outer(sd_s, sd_s)
    corr = S / np.outer(sd_s, sd_s) - sigma / np.outer(sd_m, sd_m)
    mplus = corr.copy()
    np.fill_diagonal(mplus, (np.diag(S) - np.diag(sigma)) / np.diag(S))
    if mean is None:
        mean_parts = dict.fromkeys(("rmr", "srmr_bentler", "crmr", "srmr_mplus"), np.zeros(0))
    else:
        d = mean - mu
        mean_parts = {"rmr": d, "srmr_bentler": d / sd_s, "crmr": d / sd_s,
                      "srmr_mplus": mean / sd_s - mu / sd_m}

    def rms(a, idx, extra):
        values = np.concatenate([a[idx], extra])
        return float(np.sqrt(np.mean(values ** 2))) if len(values) else 0.0

    out = {}
    for name, a, idx in (("rmr", resid, lower), ("srmr_bentler", bentler, lower),
                         ("crmr", corr, off), ("srmr_mplus", mplus, lower)):
        out[name] = rms(a, idx, mean_parts[name])
        out[f"{name}_nomean"] = rms(a, idx, np.zeros(0))
    return {"rmr": out["rmr"], "rmr_nomean": out["rmr_nomean"], "srmr": out["srmr_bentler"],
            "srmr_bentler": out["srmr_bentler"], "srmr_bentler_nomean": out["srmr_bentler_nomean"],
            "crmr": out["crmr"], "crmr_nomean": out["crmr_nomean"],
            "srmr_mplus": out["srmr_mplus"], "srmr_mplus_nomean": out["srmr_mplus_nomean"]}


def fit_measures(S: np.ndarray, sigma: np.ndarray, n: int, npar: int, fmin: float,
                 exo: Sequence[bool], mean: Optional[np.ndarray] = None,
                 mu: Optional[np.ndarray] = None) -> Dict[str, float]:
    """Every fit measure lavaan's fitMeasures() gives for this case, in its order.

    Parameters
    ----------
    S, sigma : ndarray
        Sample (N-normalised) and model-implied covariance matrices.
    n : int
        Number of observations.
    npar : int
        Free parameters minus equality constraints.
    fmin : float
        Minimum of lavaan's fit function, F_ML / 2.
    exo : sequence of bool
        Which observed variables are fixed covariates (``fixed.x``).
    mean, mu : ndarray, optional
        Sample and implied means, for a model with a mean structure.

    Examples
    --------
    >>> S = np.array([[1.0, 0.3], [0.3, 1.0]])
    >>> fm = fit_measures(S, S, 100, 3, 0.0, [False, False])
    >>> fm["chisq"], fm["df"], fm["cfi"]
    (0.0, 0.0, 1.0)
    """
    p = S.shape[0]
    nx = int(np.sum(exo))
    means = mean is not None
    ndat = count_moments(p, nx, means)
    df = float(ndat - npar)
    chisq = 2 * n * fmin
    pvalue = float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan
    base = baseline_sigma(S, exo)
    _, logdet_b = np.linalg.slogdet(base)
    _, logdet_s = np.linalg.slogdet(S)
    b_chisq = float(n * (logdet_b - logdet_s))
    b_df = float(ndat - (p - nx) * (2 if means else 1))  # variances (and means) free
    b_pvalue = float(stats.chi2.sf(b_chisq, b_df)) if b_df > 0 else np.nan

    t1, t2 = max(chisq - df, 0.0), max(chisq - df, b_chisq - b_df, 0.0)
    cfi = 1.0 if t1 == 0 and t2 == 0 else 1.0 - t1 / t2
    if df > 0 and b_df > 0:
        a, b = b_chisq / b_df - chisq / df, b_chisq / b_df - 1.0
        tli = 1.0 if (a < 0 and b < 0) else a / b
        rfi = 1.0 if (b_chisq / b_df < 0 or chisq / df < 0) else a / (b_chisq / b_df)
    else:
        tli = rfi = 1.0
    nfi = (b_chisq - chisq) / b_chisq
    pnfi = (df / b_df) * nfi
    ifi = (b_chisq - chisq) / (b_chisq - df)
    rni = 1.0 - (chisq - df) / (b_chisq - b_df) if b_chisq - b_df != 0 else 1.0

    # With fixed covariates the likelihood is that of the rest given them:
    # the joint one less the (saturated) marginal of the covariates.
    exo_idx = np.flatnonzero(exo)
    marginal_x = loglik(S[np.ix_(exo_idx, exo_idx)], S[np.ix_(exo_idx, exo_idx)], n) if nx else 0.0
    logl = loglik(S, sigma, n, None if mean is None else mean - mu) - marginal_x
    h1 = -0.5 * n * (p * LOG_2PI + logdet_s + p) - marginal_x
    aic = -2 * logl + 2 * npar
    bic = -2 * logl + npar * np.log(n)
    bic2 = -2 * logl + npar * np.log((n + 2) / 24)

    if df > 0:
        rmsea = float(np.sqrt(max(chisq / n / df - 1.0 / n, 0.0)))
        ci_lower, ci_upper = _rmsea_ci(chisq, df, n)
        rmsea_p = float(stats.ncx2.sf(chisq, df, n * df * 0.05 ** 2))
        rmsea_notclose = float(stats.ncx2.cdf(chisq, df, n * df * 0.08 ** 2))
    else:
        rmsea = ci_lower = ci_upper = 0.0
        rmsea_p, rmsea_notclose = np.nan, np.nan

    # GFI weighs residuals by the ML weight matrix; moments of fixed
    # covariates carry no weight (lavaan zeroes them in WLS.V).
    # Means weigh by Sigma^-1, covariances by half the ML weight.
    xx = np.ix_(exo_idx, exo_idx)
    resid, sample = S - sigma, S.copy()
    resid[xx], sample[xx] = 0.0, 0.0
    wr, ws = np.linalg.solve(sigma, resid), np.linalg.solve(sigma, sample)
    num, den = 0.5 * np.trace(wr @ wr), 0.5 * np.trace(ws @ ws)
    nstat = p * (p + 1) / 2
    if means:
        d, m = mean - mu, mean.copy()
        d[exo_idx], m[exo_idx] = 0.0, 0.0
        num += d @ np.linalg.solve(sigma, d)
        den += m @ np.linalg.solve(sigma, m)
        nstat += p
    gfi = 1.0 - num / den
    out = {
        "npar": float(npar), "fmin": fmin, "chisq": chisq, "df": df, "pvalue": pvalue,
        "baseline.chisq": b_chisq, "baseline.df": b_df, "baseline.pvalue": b_pvalue,
        "cfi": cfi, "tli": tli, "nnfi": tli, "rfi": rfi, "nfi": nfi, "pnfi": pnfi,
        "ifi": ifi, "rni": rni,
        "logl": logl, "unrestricted.logl": h1, "aic": aic, "bic": bic, "ntotal": float(n),
        "bic2": bic2,
        "rmsea": rmsea, "rmsea.ci.lower": ci_lower, "rmsea.ci.upper": ci_upper,
        "rmsea.ci.level": 0.90, "rmsea.pvalue": rmsea_p, "rmsea.close.h0": 0.05,
        "rmsea.notclose.pvalue": rmsea_notclose, "rmsea.notclose.h0": 0.08,
    }
    out.update(_rmr(S, sigma, mean, mu))
    out.update({
        "cn_05": float(stats.chi2.ppf(0.95, df) / (chisq / n) + 1) if df > 0 else np.nan,
        "cn_01": float(stats.chi2.ppf(0.99, df) / (chisq / n) + 1) if df > 0 else np.nan,
        "gfi": gfi,
        "agfi": 1.0 - (nstat / df) * (1.0 - gfi) if df > 0 else 1.0,
        "pgfi": (df / nstat) * gfi,
        "mfi": float(np.exp(-0.5 * (chisq - df) / n)),
        "ecvi": chisq / n + 2.0 * npar / n,
    })
    return out
