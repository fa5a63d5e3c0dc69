"""Fit measures with lavaan's names and definitions for ML (one or more groups).

All are functions of the chi-square of the model and of the baseline
(independence) model, their degrees of freedom, N, and the sample and
implied covariance matrices.  N is the number of observations (lavaan's
``likelihood = "normal"``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np
from scipy import special

from .baseline import Baseline
from .indices import cfi, ifi, nfi, pnfi, rfi, rmsea, rmsea_ci, rmsea_p, rni, tli

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


def rmr_measures(S: np.ndarray, sigma: np.ndarray, mean: Optional[np.ndarray],
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


@dataclass
class GroupFit:
    """One group's sample and implied moments, for the fit measures."""

    S: np.ndarray
    sigma: np.ndarray
    n: int
    exo: Sequence[bool]  # fixed covariates
    baseline: Baseline
    mean: Optional[np.ndarray] = None  # with a mean structure
    mu: Optional[np.ndarray] = None


def group_chisq(g: GroupFit) -> float:
    """The group's share of the test statistic, N_g F_ML,g (lavaan prints it
    per group)."""
    p = g.S.shape[0]
    _, logdet = np.linalg.slogdet(g.sigma)
    _, logdet_s = np.linalg.slogdet(g.S)
    d = None if g.mean is None else g.mean - g.mu
    misfit = 0.0 if d is None else float(d @ np.linalg.solve(g.sigma, d))
    return g.n * (logdet + np.trace(np.linalg.solve(g.sigma, g.S)) + misfit - logdet_s - p)


def _group_pieces(g: GroupFit) -> Dict[str, float]:
    """The additive pieces of one group: moments, baseline, likelihoods, GFI."""
    p, exo = g.S.shape[0], np.asarray(g.exo, dtype=bool)
    nx, means = int(exo.sum()), g.mean is not None
    _, logdet_b = np.linalg.slogdet(g.baseline.sigma(g.S))
    _, logdet_s = np.linalg.slogdet(g.S)
    # With fixed covariates the likelihood is that of the rest given them:
    # the joint one less the (saturated) marginal of the covariates.
    xi = np.flatnonzero(exo)
    xx = np.ix_(xi, xi)
    marginal_x = loglik(g.S[xx], g.S[xx], g.n) if nx else 0.0
    # GFI weighs residuals by the ML weight matrix: means by Sigma^-1,
    # covariances by half of it; fixed covariates carry no weight (lavaan
    # zeroes them in WLS.V).
    resid, sample = g.S - g.sigma, g.S.copy()
    resid[xx], sample[xx] = 0.0, 0.0
    wr, ws = np.linalg.solve(g.sigma, resid), np.linalg.solve(g.sigma, sample)
    num, den = 0.5 * np.trace(wr @ wr), 0.5 * np.trace(ws @ ws)
    if means:
        d, m = g.mean - g.mu, g.mean.copy()
        d[xi], m[xi] = 0.0, 0.0
        num += d @ np.linalg.solve(g.sigma, d)
        den += m @ np.linalg.solve(g.sigma, m)
    return {
        "ndat": count_moments(p, nx, means),
        "baseline_free": g.baseline.n_free(means),
        "baseline_chisq": g.n * (logdet_b - logdet_s),
        "logl": loglik(g.S, g.sigma, g.n, None if not means else g.mean - g.mu) - marginal_x,
        "h1": -0.5 * g.n * (p * LOG_2PI + logdet_s + p) - marginal_x,
        "gfi": 1.0 - num / den,
        "nstat": p * (p + 1) / 2 + (p if means else 0),
    }


def fit_measures(groups: Sequence[GroupFit], npar: int, fmin: float,
                 overrides: Optional[Sequence[Dict[str, float]]] = None) -> Dict[str, float]:
    """Every fit measure lavaan's fitMeasures() gives for ML, in its order.

    Parameters
    ----------
    groups : sequence of GroupFit
        Sample and implied moments of each group.
    npar : int
        Free parameters minus equality constraints.
    fmin : float
        Minimum of lavaan's fit function, F_ML / 2 (weighted over groups).
    overrides : sequence of dict, optional
        Per group, pieces computed otherwise than from the sample moments
        (keys "logl", "h1", "baseline_chisq", "gfi"): with missing data
        (:mod:`torchfit.estimate.fiml`) the likelihoods come from the patterns.

    Examples
    --------
    >>> S = np.array([[1.0, 0.3], [0.3, 1.0]])
    >>> independence = Baseline(np.zeros(2, dtype=bool), fixed=False)
    >>> fm = fit_measures([GroupFit(S, S, 100, [False, False], independence)], 3, 0.0)
    >>> fm["chisq"], fm["df"], fm["cfi"]
    (0.0, 0.0, 1.0)
    """
    pieces = [_group_pieces(g) for g in groups]
    for piece, extra in zip(pieces, overrides or ()):
        piece.update(extra)
    total = lambda key: float(sum(p[key] for p in pieces))
    n, G = sum(g.n for g in groups), len(groups)
    ndat = total("ndat")
    df = ndat - npar
    # a saturated model's F is 0 up to rounding, which may leave it at -1e-17:
    # lavaan's objectives clamp it at 0 (lav_objective.R), and so do we
    fmin = max(fmin, 0.0)
    chisq = 2 * n * fmin
    pvalue = float(special.chdtrc(df, chisq)) if df > 0 else np.nan
    b_chisq, b_df = total("baseline_chisq"), ndat - total("baseline_free")
    b_pvalue = float(special.chdtrc(b_df, b_chisq)) if b_df > 0 else np.nan
    logl, h1 = total("logl"), total("h1")
    aic = -2 * logl + 2 * npar
    bic = -2 * logl + npar * np.log(n)
    bic2 = -2 * logl + npar * np.log((n + 2) / 24)
    ci_lower, ci_upper = rmsea_ci(chisq, df, n, groups=G)
    weights = np.array([g.n / n for g in groups])
    gfi = float(weights @ [p["gfi"] for p in pieces])
    nstat = total("nstat")
    out = {
        "npar": float(npar), "fmin": fmin, "chisq": chisq, "df": df, "pvalue": pvalue,
        "baseline.chisq": b_chisq, "baseline.df": b_df, "baseline.pvalue": b_pvalue,
        "cfi": cfi(chisq, df, b_chisq, b_df), "tli": tli(chisq, df, b_chisq, b_df),
        "nnfi": tli(chisq, df, b_chisq, b_df), "rfi": rfi(chisq, df, b_chisq, b_df),
        "nfi": nfi(chisq, df, b_chisq, b_df), "pnfi": pnfi(chisq, df, b_chisq, b_df),
        "ifi": ifi(chisq, df, b_chisq, b_df), "rni": rni(chisq, df, b_chisq, b_df),
        "logl": logl, "unrestricted.logl": h1, "aic": aic, "bic": bic, "ntotal": float(n),
        "bic2": bic2,
        "rmsea": rmsea(chisq, df, n, groups=G), "rmsea.ci.lower": ci_lower,
        "rmsea.ci.upper": ci_upper, "rmsea.ci.level": 0.90,
        "rmsea.pvalue": rmsea_p(chisq, df, n, 0.05, groups=G), "rmsea.close.h0": 0.05,
        "rmsea.notclose.pvalue": rmsea_p(chisq, df, n, 0.08, close=False, groups=G),
        "rmsea.notclose.h0": 0.08,
    }
    residuals = [rmr_measures(g.S, g.sigma, g.mean, g.mu) for g in groups]
    out.update({k: float(weights @ [r[k] for r in residuals]) for k in residuals[0]})
    out.update({
        "cn_05": float(special.chdtri(df, 0.05) / (chisq / n) + 1) if df > 0 else np.nan,
        "cn_01": float(special.chdtri(df, 0.01) / (chisq / n) + 1) if df > 0 else np.nan,
        "gfi": gfi,
        "agfi": 1.0 - (nstat / df) * (1.0 - gfi) if df > 0 else 1.0,
        "pgfi": (df / nstat) * gfi,
        "mfi": float(np.exp(-0.5 * (chisq - df) / n)),
        "ecvi": chisq / n + 2.0 * npar / n,
    })
    return out
