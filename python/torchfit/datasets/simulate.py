"""Simulated data with a known truth, for recovery tests and benchmarks.

Every generator draws a confirmatory factor model (``items_per_factor``
items load on one factor each, factors correlated) and responses from one
measurement model of :mod:`torchfit.iwave.items`; it returns the data and the
truth as a dict with the lavaan syntax of the model (std.lv identification),
the loadings, the factor correlation matrix and the item parameters.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
import pandas as pd

ITEM_TYPES = ("normal", "graded", "binary", "gpcm", "nominal", "lognormal", "poisson",
              "negbinom")


def _structure(rng, n_factors: int, items_per_factor: int, low: float, high: float):
    p = n_factors * items_per_factor
    factor = np.repeat(np.arange(n_factors), items_per_factor)
    loadings = np.zeros((p, n_factors))
    loadings[np.arange(p), factor] = rng.uniform(low, high, p)
    # Moderate positive correlations, as between personality factors.
    A = rng.normal(size=(n_factors, n_factors + 2))
    C = A @ A.T + np.diag(rng.uniform(1.0, 2.0, n_factors)) * n_factors
    d = np.sqrt(np.diag(C))
    corr = C / np.outer(d, d)
    return loadings, corr


def _syntax(n_factors: int, items_per_factor: int, prefix: str = "y") -> str:
    lines = []
    for f in range(n_factors):
        items = [f"{prefix}{f * items_per_factor + j + 1}" for j in range(items_per_factor)]
        lines.append(f"F{f + 1} =~ " + " + ".join(items))
    return "\n".join(lines)


def simulate(n: int, item_type: str = "graded", n_factors: int = 5, items_per_factor: int = 10,
             n_categories: int = 5, seed: int = 0,
             missing: float = 0.0) -> Tuple[pd.DataFrame, Dict]:
    """Responses of ``n`` people to a simple-structure factor model.

    Parameters
    ----------
    n : int
        Rows.
    item_type : str
        One of "normal", "graded", "binary", "gpcm", "nominal", "lognormal",
        "poisson", "negbinom" (as in ``item_types=`` of the IWAVE estimator).
    n_factors, items_per_factor : int
        Items y1, y2, ... load on factors F1, F2, ... in blocks.
    n_categories : int
        Categories of graded, gpcm and nominal items (binary: 2).
    seed : int
    missing : float
        Share of responses set to NaN completely at random.

    Returns
    -------
    data : pandas.DataFrame
        Columns y1..yp; categorical responses are coded 0..K-1.
    truth : dict
        ``syntax`` (lavaan, to be fitted with std_lv=True), ``loadings``
        (p x m), ``corr`` (m x m), ``intercepts``, ``thresholds`` (p x
        K-1), ``category_scores`` (p x K-2, nominal: s_1 .. s_{K-2}) and
        ``variances`` as they apply, ``scores`` (the factors).

    Examples
    --------
    >>> data, truth = simulate(100, "poisson", n_factors=2, items_per_factor=3, seed=1)
    >>> data.shape, truth["loadings"].shape
    ((100, 6), (6, 2))
    """
    if item_type not in ITEM_TYPES:
        raise ValueError(f"item_type must be one of {', '.join(ITEM_TYPES)}")
    rng = np.random.default_rng(seed)
    low, high = {"graded": (0.7, 2.6), "binary": (0.7, 2.6), "gpcm": (0.5, 1.8),
                 "nominal": (0.5, 1.8),
                 "normal": (0.4, 1.2), "lognormal": (0.2, 0.6), "poisson": (0.2, 0.5),
                 "negbinom": (0.2, 0.5)}[item_type]
    loadings, corr = _structure(rng, n_factors, items_per_factor, low, high)
    p = loadings.shape[0]
    eta = rng.multivariate_normal(np.zeros(n_factors), corr, size=n)
    lp = eta @ loadings.T
    truth: Dict = {"syntax": _syntax(n_factors, items_per_factor), "loadings": loadings,
                   "corr": corr, "scores": eta, "item_type": item_type}
    if item_type in ("graded", "binary"):
        k = 2 if item_type == "binary" else n_categories
        tau = np.sort(rng.uniform(-2.0, 2.0, (p, k - 1)), axis=1)
        if k > 2:  # keep neighbouring categories apart so none is (nearly) empty
            tau = np.sort(np.linspace(-1.5, 1.5, k - 1)[None, :]
                          + rng.uniform(-0.4, 0.4, (p, k - 1)), axis=1)
            tau = tau + rng.uniform(-0.5, 0.5, (p, 1))
        prob_ge = 1 / (1 + np.exp(-(lp[..., None] - tau[None])))
        y = (rng.uniform(size=(n, p))[..., None] < prob_ge).sum(-1).astype(float)
        truth["thresholds"] = tau
    elif item_type in ("gpcm", "nominal"):
        steps = np.linspace(-1.0, 1.0, n_categories - 1)[None, :] + \
            rng.uniform(-0.5, 0.5, (p, n_categories - 1))
        cum = np.concatenate([np.zeros((p, 1)), np.cumsum(steps, 1)], 1)
        score = np.tile(np.arange(n_categories, dtype=float), (p, 1))
        if item_type == "nominal":  # interior categories off the GPCM's equal spacing
            score[:, 1:-1] += rng.uniform(-0.7, 0.7, (p, n_categories - 2))
            truth["category_scores"] = score[:, 1:-1]
        logits = lp[..., None] * score[None] - cum[None]
        prob = np.exp(logits - logits.max(-1, keepdims=True))
        prob /= prob.sum(-1, keepdims=True)
        u = rng.uniform(size=(n, p, 1))
        y = (u > np.cumsum(prob, -1)).sum(-1).astype(float)
        truth["thresholds"] = steps
    elif item_type in ("normal", "lognormal"):
        nu = rng.uniform(-0.5, 0.5, p) + (1.0 if item_type == "lognormal" else 0.0)
        var = rng.uniform(0.3, 0.8, p) * (0.3 if item_type == "lognormal" else 1.0)
        y = nu + lp + rng.normal(size=(n, p)) * np.sqrt(var)
        if item_type == "lognormal":
            y = np.exp(y)
        truth.update(intercepts=nu, variances=var)
    else:
        nu = rng.uniform(0.0, 1.0, p)
        mu = np.exp(nu + lp)
        if item_type == "poisson":
            y = rng.poisson(mu).astype(float)
            truth.update(intercepts=nu)
        else:
            disp = rng.uniform(0.2, 0.6, p)
            r = 1 / disp
            y = rng.negative_binomial(r, r / (r + mu)).astype(float)
            truth.update(intercepts=nu, variances=disp)
    if missing > 0:
        y[rng.uniform(size=y.shape) < missing] = np.nan
    data = pd.DataFrame(y, columns=[f"y{j + 1}" for j in range(p)])
    return data, truth


def simulate_grm(n: int, n_factors: int = 5, items_per_factor: int = 10, n_categories: int = 5,
                 seed: int = 0) -> Tuple[pd.DataFrame, Dict]:
    """A confirmatory logistic graded response model, like a Big-Five inventory
    (loadings 0.7-2.6, correlated factors); see :func:`simulate`.

    Examples
    --------
    >>> data, truth = simulate_grm(1000, seed=1)
    >>> data.shape, int(data.max().max())
    ((1000, 50), 4)
    """
    return simulate(n, "graded", n_factors, items_per_factor, n_categories, seed)


BIG5_FACTORS = ("EXT", "EST", "AGR", "CSN", "OPN")
BIG5_ITEMS = [f"{f}{k}" for f in BIG5_FACTORS for k in range(1, 11)]
# Factor correlations of the size reported for the IPIP-FFM scales after the
# reverse coding of load_ipip_ffm (EST is keyed towards neuroticism, so it
# correlates negatively with the other four).
BIG5_CORR = np.array([
    # EXT    EST    AGR    CSN    OPN
    [1.00, -0.25, 0.30, 0.10, 0.20],
    [-0.25, 1.00, -0.10, -0.25, -0.10],
    [0.30, -0.10, 1.00, 0.20, 0.15],
    [0.10, -0.25, 0.20, 1.00, 0.05],
    [0.20, -0.10, 0.15, 0.05, 1.00],
])


def big5_parameters() -> Dict:
    """The fixed item parameters of :func:`simulate_big5` (they do not depend
    on its seed): ten loadings per factor spread evenly over 0.7-2.6 in a
    shuffled order, and four ordered thresholds per item whose difficulties
    (threshold / loading) scatter around -2.2, -0.9, 0.1 and 1.4 latent
    standard deviations, so that responses lean to the upper categories as
    Big-Five responses do and every category is used.

    Examples
    --------
    >>> p = big5_parameters()
    >>> p["loadings"].shape, p["thresholds"].shape
    ((50, 5), (50, 4))
    """
    rng = np.random.default_rng(20211)
    p, m = len(BIG5_ITEMS), len(BIG5_FACTORS)
    loadings = np.zeros((p, m))
    for f in range(m):
        loadings[f * 10:(f + 1) * 10, f] = rng.permutation(np.linspace(0.7, 2.6, 10))
    a = loadings.sum(1)
    difficulty = np.array([-2.2, -0.9, 0.1, 1.4])[None, :] + rng.uniform(-0.5, 0.4, (p, 1)) \
        + rng.uniform(-0.2, 0.2, (p, 4))
    difficulty = np.sort(difficulty, axis=1)
    return {"loadings": loadings, "thresholds": a[:, None] * difficulty,
            "corr": BIG5_CORR.copy()}


def simulate_big5(n: int = 621_307, seed: int = 0, dtype=np.float64,
                  chunk_rows: int = 1 << 16) -> Tuple[pd.DataFrame, Dict]:
    """Responses of ``n`` people to 50 Big-Five items (EXT1..EXT10, EST1..,
    AGR1.., CSN1.., OPN1..OPN10; ten per factor), drawn from a confirmatory
    five-factor logistic graded response model with published-like
    parameters (loadings 0.7-2.6, correlated factors; see
    :func:`big5_parameters`): the shape of the IPIP-FFM data that
    :func:`load_ipip_ffm` returns (about 621K people, categories 1-5 with 5 the
    keyed direction), with a known truth.

    The model: Pr(y_j >= k + 1 | eta) = 1 / (1 + exp(-(lambda_j' eta - tau_jk)))
    for k = 1..4, eta ~ N(0, corr); torchfit's ``ordered=`` codes the
    categories 1-5 as 0-4 by their smallest value, so the thresholds of the
    fit are ``truth["thresholds"]``.  Drawn in chunks of ``chunk_rows`` rows,
    so memory stays near that of the result.

    Parameters
    ----------
    n : int
        People (rows).
    seed : int
        Seeds the factor scores and responses (the parameters are fixed).
    dtype : numpy dtype
        Of the returned columns: float64 (as ``load_ipip_ffm``) or a small
        integer type (int8) to save memory at large ``n``.
    chunk_rows : int
        Rows drawn at a time.

    Returns
    -------
    data : pandas.DataFrame
        ``n`` x 50, values 1..5.
    truth : dict
        ``syntax`` (lavaan, ``EXT =~ EXT1 + ... + EXT10`` ..., to be fitted
        with ``std_lv=True``), ``loadings`` (50 x 5), ``corr`` (5 x 5),
        ``thresholds`` (50 x 4), ``scores`` (n x 5), ``items``, ``factors``,
        ``item_type`` ("graded").

    Examples
    --------
    >>> data, truth = simulate_big5(1000, seed=1)
    >>> data.shape, int(data.min().min()), int(data.max().max())
    ((1000, 50), 1, 5)
    >>> truth["syntax"].splitlines()[0]
    'EXT =~ EXT1 + EXT2 + EXT3 + EXT4 + EXT5 + EXT6 + EXT7 + EXT8 + EXT9 + EXT10'
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n = {n!r} must be a positive integer")
    par = big5_parameters()
    loadings, tau, corr = par["loadings"], par["thresholds"], par["corr"]
    p, m = loadings.shape
    chol = np.linalg.cholesky(corr)
    rng = np.random.default_rng(seed)
    y = np.empty((n, p), dtype=dtype)
    eta = np.empty((n, m))
    for start in range(0, n, chunk_rows):
        rows = min(chunk_rows, n - start)
        e = rng.standard_normal((rows, m)) @ chol.T
        eta[start:start + rows] = e
        lp = e @ loadings.T
        # Inverse-cdf draw: y - 1 = #{k : u < Pr(y >= k + 1)}, as
        # logit(u) < lp - tau_k.
        u = rng.uniform(size=(rows, p))
        logit_u = np.log(u) - np.log1p(-u)
        y[start:start + rows] = 1 + ((lp - logit_u)[..., None] > tau[None]).sum(-1)
    syntax = "\n".join(f"{f} =~ " + " + ".join(f"{f}{k}" for k in range(1, 11))
                       for f in BIG5_FACTORS)
    truth: Dict = {"syntax": syntax, "loadings": loadings, "corr": corr, "thresholds": tau,
                   "scores": eta, "items": list(BIG5_ITEMS), "factors": list(BIG5_FACTORS),
                   "item_type": "graded"}
    return pd.DataFrame(y, columns=BIG5_ITEMS), truth
