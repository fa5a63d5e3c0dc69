"""Simulated data with a known truth, for recovery tests and benchmarks.

Every generator draws a confirmatory factor model (``items_per_factor``
items load on one factor each, factors correlated) and responses from one
measurement model of :mod:`torchfit.items`; it returns the data and the
truth as a dict with the lavaan syntax of the model (std.lv identification),
the loadings, the factor correlation matrix and the item parameters.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
import pandas as pd

ITEM_TYPES = ("normal", "graded", "binary", "gpcm", "lognormal", "poisson", "negbinom")


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
        One of "normal", "graded", "binary", "gpcm", "lognormal", "poisson",
        "negbinom" (as in ``item_types=`` of the IWAVE estimator).
    n_factors, items_per_factor : int
        Items y1, y2, ... load on factors F1, F2, ... in blocks.
    n_categories : int
        Categories of graded and gpcm items (binary: 2).
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
        K-1) and ``variances`` as they apply, ``scores`` (the factors).

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
                          + rng.uniform(-0.4, 0.4, (p, k - 1)), axis=1) + rng.uniform(-0.5, 0.5, (p, 1))
        prob_ge = 1 / (1 + np.exp(-(lp[..., None] - tau[None])))
        y = (rng.uniform(size=(n, p))[..., None] < prob_ge).sum(-1).astype(float)
        truth["thresholds"] = tau
    elif item_type == "gpcm":
        steps = np.linspace(-1.0, 1.0, n_categories - 1)[None, :] + \
            rng.uniform(-0.5, 0.5, (p, n_categories - 1))
        cum = np.concatenate([np.zeros((p, 1)), np.cumsum(steps, 1)], 1)
        logits = lp[..., None] * np.arange(n_categories) - cum[None]
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
