"""Missing-data patterns of one group and the unrestricted (H1) model under FIML.

With values missing at random, each row contributes the Gaussian density of
its observed values; rows that share a pattern share those sub-moments, so the
sufficient statistics are, per pattern, its number of rows, the mean and the
N-normalised covariance matrix of its observed values.  ``pattern_moments``
forms them in one bounded-memory pass and nothing later touches the rows.

- ``pattern_moments``: patterns and their statistics; rows missing on every
  model variable are dropped (with a warning saying how many).
- ``loglik`` / ``loglik_torch``: the pattern log-likelihood at given moments.
- ``em_h1``: the unrestricted (H1) mean and covariance matrix by EM, which
  give ``unrestricted.logl``.
- ``baseline_estimates``, ``pairwise_moments``: the independence model and the
  available-case moments.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import DataError
from .frames import MomentSums, check_finite, chunks
from .reader import reduced

LOG_2PI = float(np.log(2 * np.pi))
#: lavaan's names for full-information ML; with ".x", the rows missing a fixed
#: covariate are kept (lavaan's "ml.x")
FIML_NAMES = ("ml", "fiml", "direct")
FIML_X_NAMES = ("ml.x", "fiml.x", "direct.x")


def is_fiml(missing: str) -> bool:
    """True for lavaan's spellings of full-information ML.

    Examples
    --------
    >>> is_fiml("FIML"), is_fiml("ml.x"), is_fiml("listwise")
    (True, True, False)
    """
    return str(missing).lower() in FIML_NAMES + FIML_X_NAMES


def fiml_name(missing: str) -> str:
    """lavaan's name of a FIML spelling: "ml", or "ml.x" (covariates' rows kept).

    Examples
    --------
    >>> fiml_name("FIML"), fiml_name("direct.x")
    ('ml', 'ml.x')
    """
    return "ml.x" if str(missing).lower() in FIML_X_NAMES else "ml"


class EmptyRowsWarning(UserWarning):
    """Rows missing on every model variable were dropped (as lavaan does)."""


@dataclass
class Pattern:
    """The rows sharing one pattern of observed variables."""

    observed: np.ndarray  # indices of the observed variables, model order
    n: int
    mean: np.ndarray  # mean of the observed values
    cov: np.ndarray  # their N-normalised covariance matrix


@dataclass
class PatternMoments:
    """Sufficient statistics of FIML for one group."""

    names: List[str]
    patterns: List[Pattern]
    n: int  # rows used
    n_total: int  # rows, including the empty ones
    n_empty: int  # rows missing on every model variable (dropped)

    @property
    def p(self) -> int:
        return len(self.names)

    def subset(self, keep: Sequence[int]) -> "PatternMoments":
        """The statistics of the variables ``keep`` alone: each pattern restricted
        to them; rows observing none of them drop out.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"a": [1.0, 2.0, None], "b": [1.0, None, 2.0]})
        >>> pm = pattern_moments(df, ["a", "b"]).subset([1])
        >>> pm.names, pm.n
        (['b'], 2)
        """
        keep = np.asarray(keep)
        patterns = []
        for pat in self.patterns:
            pos = np.flatnonzero(np.isin(pat.observed, keep))
            if len(pos):
                patterns.append(Pattern(np.searchsorted(keep, pat.observed[pos]), pat.n,
                                        pat.mean[pos], pat.cov[np.ix_(pos, pos)]))
        n = sum(pat.n for pat in patterns)
        return PatternMoments([self.names[k] for k in keep], patterns, n, self.n_total,
                              self.n_total - n)

    def coverage(self) -> np.ndarray:
        """Proportion of rows observing each pair of variables (lavaan's
        ``lavInspect(fit, "coverage")``)."""
        out = np.zeros((self.p, self.p))
        for pat in self.patterns:
            out[np.ix_(pat.observed, pat.observed)] += pat.n
        return out / self.n


def pattern_moments(data, names: Sequence[str], columns: Optional[Sequence[str]] = None,
                    chunk_rows: int = 1 << 16, warn: bool = True) -> PatternMoments:
    """Missingness patterns and their means and covariance matrices, in one pass.

    Each pattern keeps a running sum and cross-product matrix of its observed
    values, shifted by the first row seen with that pattern (which keeps the
    one-pass formula free of cancellation, as in ``sample_moments``).

    Parameters
    ----------
    data : pandas.DataFrame, dict, 2-D array or path
        As for :func:`torchfit.data.frames.sample_moments`; NaN marks a missing value.
    names : sequence of str
        The model's observed variables, in model order.
    columns : sequence of str, optional
        Column names of a 2-D array.
    chunk_rows : int
        Rows read at a time.
    warn : bool
        Warn (``EmptyRowsWarning``) when rows missing on every variable are dropped.

    Returns
    -------
    PatternMoments

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1.0, 2.0, None, 4.0], "b": [1.0, None, 3.0, 5.0]})
    >>> pm = pattern_moments(df, ["a", "b"])
    >>> pm.n, [(p.observed.tolist(), p.n) for p in pm.patterns]
    (4, [([0, 1], 2), ([0], 1), ([1], 1)])
    """
    read = partial(_pattern_sums, data, names, columns, chunk_rows)
    acc, n_total, n_empty = reduced(data, read, _merged)
    patterns = []
    for obs, n, shift, total, cross in acc.values():
        m = total / n
        cov = cross / n - np.outer(m, m)
        patterns.append(Pattern(obs, n, m + shift, (cov + cov.T) / 2))
    # complete rows first, then by decreasing size: a stable, readable order
    patterns.sort(key=lambda pat: (-len(pat.observed), -pat.n, pat.observed.tolist()))
    n = n_total - n_empty
    if n == 0:
        raise DataError("every row is missing on all of the model's variables "
                        f"({', '.join(names)}); there is nothing to fit")
    never = [v for j, v in enumerate(names) if not any(j in pat.observed for pat in patterns)]
    if never:
        raise DataError(f"variable(s) {', '.join(never)} are missing in every row; remove "
                        "them from the model")
    if n_empty and warn:
        warnings.warn(f"{n_empty} of {n_total} rows are missing on every model variable and "
                      "were dropped (lavaan drops such empty cases too)", EmptyRowsWarning,
                      stacklevel=3)
    return PatternMoments(list(names), patterns, n, n_total, n_empty)


def _pattern_sums(data, names, columns, chunk_rows):
    """Per pattern (keyed by its mask): observed indices, rows, shift, sum and
    cross-products of the shifted observed values; rows read and empty rows."""
    acc: Dict[bytes, list] = {}
    n_total = n_empty = 0
    for X in chunks(data, names, columns, chunk_rows):
        check_finite(X, names)
        n_total += X.shape[0]
        seen = np.isfinite(X)
        empty = ~seen.any(axis=1)
        n_empty += int(empty.sum())
        X, seen = X[~empty], seen[~empty]
        if not len(X):
            continue
        keys, inverse = np.unique(seen, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        for j, key in enumerate(keys):
            obs = np.flatnonzero(key)
            rows = X[inverse == j][:, obs]
            slot = acc.get(key.tobytes())
            if slot is None:
                slot = acc[key.tobytes()] = [obs, 0, rows[0].copy(), np.zeros(len(obs)),
                                             np.zeros((len(obs), len(obs)))]
            centred = rows - slot[2]
            slot[1] += rows.shape[0]
            slot[3] += centred.sum(axis=0)
            slot[4] += centred.T @ centred
    return acc, n_total, n_empty


def _merged(parts):
    """The ranks' pattern sums (in rank order) as one pass's: each pattern's sums
    re-centred and added by :meth:`torchfit.data.frames.MomentSums.merged`."""
    acc: Dict[bytes, list] = {}
    for part, _, _ in parts:
        for key, (obs, n, shift, total, cross) in part.items():
            acc.setdefault(key, [obs, []])[1].append(
                MomentSums(n, n, shift, total, cross, np.zeros(len(obs), dtype=bool)))
    out = {}
    for key, (obs, sums) in acc.items():
        m = MomentSums.merged(sums)
        out[key] = [obs, m.n, m.shift, m.total, m.cross]
    return out, sum(p[1] for p in parts), sum(p[2] for p in parts)


# -- likelihood of the patterns ---------------------------------------------------------

def loglik(pm: PatternMoments, mu, sigma) -> float:
    """Gaussian log-likelihood of the observed values at ``mu`` and ``sigma``.

    Examples
    --------
    >>> import pandas as pd
    >>> pm = pattern_moments(pd.DataFrame({"a": [0.0, 2.0]}), ["a"])
    >>> round(loglik(pm, np.array([1.0]), np.eye(1)), 6)
    -2.837877
    """
    return float(loglik_torch(pm, torch.as_tensor(mu, dtype=torch.float64),
                               torch.as_tensor(sigma, dtype=torch.float64)))


def loglik_torch(pm: PatternMoments, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The log-likelihood of ``loglik`` as a differentiable function of mu and sigma
    (tensors), for the FIML objective and the observed information of H1."""
    total = torch.zeros((), dtype=sigma.dtype)
    for pat in pm.patterns:
        o = torch.as_tensor(pat.observed)
        L = torch.linalg.cholesky(sigma[o][:, o])
        inv = torch.cholesky_inverse(L)
        d = torch.as_tensor(pat.mean, dtype=sigma.dtype) - mu[o]
        S = torch.as_tensor(pat.cov, dtype=sigma.dtype) + torch.outer(d, d)
        total = total - 0.5 * pat.n * (len(pat.observed) * LOG_2PI
                                       + 2.0 * torch.log(torch.diagonal(L)).sum()
                                       + (S * inv).sum())
    return total


def em_h1(pm: PatternMoments, max_iter: int = 500, tol: float = 1e-5
          ) -> Tuple[np.ndarray, np.ndarray, float]:
    """The unrestricted mean and covariance matrix by EM, and their log-likelihood.

    Starts, as lavaan's ``lav_mvnorm_missing_h1_estimate_moments``, from the
    observed means and a diagonal matrix of the observed variances, and stops
    when no element of (mean, vech Sigma) moves by ``tol`` or more.  The E step
    works on the pattern statistics: a pattern's missing values are predicted
    from its observed ones linearly, so the expected sums and cross-products
    follow from its mean and covariance matrix.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.0, 3.0, 2.0, None]})
    >>> mu, sigma, logl = em_h1(pattern_moments(df, ["a", "b"]))
    >>> round(float(mu[0]), 6)
    2.5
    """
    p, N = pm.p, pm.n
    mu, var = baseline_estimates(pm)  # the observed means and variances
    var[~np.isfinite(var) | (var == 0)] = 1.0
    sigma = np.diag(var)
    lower = np.tril_indices(p)
    for _ in range(max_iter):
        T1, T2 = np.zeros(p), np.zeros((p, p))
        for pat in pm.patterns:
            o = pat.observed
            m = np.setdiff1d(np.arange(p), o)
            xbar = np.empty(p)
            xbar[o] = pat.mean
            M = np.zeros((p, len(o)))
            M[o, np.arange(len(o))] = 1.0
            C = np.zeros((p, p))
            if len(m):
                B = np.linalg.solve(sigma[np.ix_(o, o)], sigma[np.ix_(o, m)]).T
                xbar[m] = mu[m] + B @ (pat.mean - mu[o])
                M[m] = B
                C[np.ix_(m, m)] = sigma[np.ix_(m, m)] - B @ sigma[np.ix_(o, m)]
            T1 += pat.n * xbar
            T2 += pat.n * (M @ pat.cov @ M.T + np.outer(xbar, xbar) + C)
        new_mu = T1 / N
        new_sigma = T2 / N - np.outer(new_mu, new_mu)
        new_sigma = (new_sigma + new_sigma.T) / 2
        if np.linalg.eigvalsh(new_sigma)[0] < 1e-6:  # lavaan's ridge for a near-singular step
            new_sigma[np.diag_indices(p)] += np.diag(new_sigma).max() * 1e-8
        delta = max(np.abs(new_mu - mu).max(), np.abs(new_sigma[lower] - sigma[lower]).max())
        mu, sigma = new_mu, new_sigma
        if delta < tol:
            break
    return mu, sigma, loglik(pm, mu, sigma)


# -- baseline, fit measures and the FIML-corrected test ----------------------------------

def baseline_estimates(pm: PatternMoments) -> Tuple[np.ndarray, np.ndarray]:
    """Means and variances of the independence model under FIML.

    With a diagonal Sigma the likelihood factors into one univariate normal
    per variable over the rows observing it, so the ML estimates are the
    observed means and N_j-normalised variances: no optimiser is needed.
    """
    p = pm.p
    n_obs, sums, squares = np.zeros(p), np.zeros(p), np.zeros(p)
    for pat in pm.patterns:
        n_obs[pat.observed] += pat.n
        sums[pat.observed] += pat.n * pat.mean
    mu = sums / n_obs
    for pat in pm.patterns:
        squares[pat.observed] += pat.n * (np.diag(pat.cov) + (pat.mean - mu[pat.observed]) ** 2)
    return mu, squares / n_obs


def pairwise_moments(pm: PatternMoments) -> Tuple[np.ndarray, np.ndarray]:
    """Available-case means and pairwise-complete covariances times (N-1)/N,
    what lavaan keeps as the "sample" statistics (WLS.obs) of a FIML fit.

    Each pair's covariance uses the rows observing both variables, centred at
    those rows' own means (R's ``cov(use = "pairwise")``), from the patterns'
    sums and cross-products.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, None, 2.0]})
    >>> m, S = pairwise_moments(pattern_moments(df, ["a", "b"]))
    >>> m.tolist()
    [2.0, 1.5]
    """
    p = pm.p
    n = np.zeros((p, p))
    s_i = np.zeros((p, p))  # sum of x_i over the rows observing i and j
    s_ij = np.zeros((p, p))
    for pat in pm.patterns:
        o = np.ix_(pat.observed, pat.observed)
        n[o] += pat.n
        s_i[o] += pat.n * pat.mean[:, None]
        s_ij[o] += pat.n * (pat.cov + np.outer(pat.mean, pat.mean))
    cov = (s_ij - s_i * s_i.T / n) / (n - 1)
    mean = np.diag(s_i) / np.diag(n)
    return mean, cov * (pm.n - 1) / pm.n
