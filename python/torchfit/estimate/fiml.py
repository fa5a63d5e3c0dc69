"""Full-information maximum likelihood (lavaan's ``missing = "ml"``).

With values missing at random, each row contributes the Gaussian density of
its observed values: the sub-vector of the implied mean and the sub-matrix of
the implied covariance matrix that its pattern of observed variables selects.
Rows that share a pattern share those sub-moments, so the sufficient
statistics are, per pattern, its number of rows, the mean and the
N-normalised covariance matrix of its observed values; ``pattern_moments``
forms them in one bounded-memory pass and nothing later touches the rows.

The pipeline is lavaan's:

- ``pattern_moments``: patterns and their statistics; rows missing on every
  model variable are dropped (with a warning saying how many).
- ``em_h1``: the unrestricted (H1) mean and covariance matrix by EM, which
  give ``unrestricted.logl``; the test statistic is 2 (logl_H1 - logl_H0).
- ``FimlObjective``: the FIML discrepancy 2 (logl_H1 - logl) / N_g of each
  group (weighted by N_g / N as :mod:`torchfit.estimate.ml` weighs F_ML), with its
  analytic gradient and expected information, so ``ml.fit_ml`` minimises it
  with the same Fisher scoring and BFGS steps; its minimum over 2 is lavaan's
  fmin.
- ``observed_information``: the Hessian of fmin (autograd), lavaan's default
  information for ``missing = "ml"``.
- ``fiml_measures``: lavaan's fitMeasures() for such a fit: the baseline
  model under FIML, the log-likelihoods, GFI with the missing-data weight
  matrix, and the "robust" CFI/TLI/RMSEA of the FIML-corrected test
  (Zhang & Savalei; lavaan's ``lav_fit_fiml_corrected``, version V6).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from scipy.linalg import block_diag

from ..data.frames import _chunks
from ..errors import DataError
from ..inference.indices import insert_after, robust_indices
from ..model.matrices import Model
from .ml import GroupMoments, _Objective, one_thread
from ..inference.robust import ml_weight, vech_index

LOG_2PI = float(np.log(2 * np.pi))
#: lavaan's names for full-information ML
FIML_NAMES = ("ml", "fiml", "direct")


def is_fiml(missing: str) -> bool:
    """True for lavaan's spellings of full-information ML.

    Examples
    --------
    >>> is_fiml("FIML"), is_fiml("listwise")
    (True, False)
    """
    return str(missing).lower() in FIML_NAMES


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
    acc: Dict[bytes, list] = {}
    n_total = n_empty = 0
    for X in _chunks(data, names, columns, chunk_rows):
        if np.isinf(X).any():
            col = names[int(np.flatnonzero(np.isinf(X).any(axis=0))[0])]
            raise DataError(f"column '{col}' contains infinite values; replace them with NaN "
                            "(missing) or finite values")
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
    return float(_loglik_torch(pm, torch.as_tensor(mu, dtype=torch.float64),
                               torch.as_tensor(sigma, dtype=torch.float64)))


def _loglik_torch(pm: PatternMoments, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The log-likelihood as a differentiable function of mu and sigma."""
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


# -- the FIML objective -----------------------------------------------------------------

class FimlGroup:
    """2 (logl_H1 - logl) / N of one group, its gradient and expected information.

    The interface of ``ml._Group`` (``value``, ``derivatives``, ``moments``),
    so ``ml.fit_ml`` drives it unchanged.  Per pattern with observed set o,
    Sigma_o = Sigma[o, o] and d = mean_o - mu[o]: the discrepancy adds
    n_o / N (log|Sigma_o| + tr(Sigma_o^-1 (S_o + d d'))), whose derivatives
    with respect to Sigma and mu are embedded back into p x p and p, and
    mapped to the parameters by the model's Jacobians.
    """

    def __init__(self, model: Model, pm: PatternMoments, h1_logl: float):
        self.model, self.pm = model, pm
        self.mean = True  # FIML always has a mean structure
        as_tensor = lambda a: torch.as_tensor(a, dtype=model.dtype, device=model.device)
        self.parts = [(torch.as_tensor(pat.observed), as_tensor(pat.mean), as_tensor(pat.cov),
                       pat.n / pm.n) for pat in pm.patterns]
        # the constant making the minimum of F/2 lavaan's fmin (logl_H1 - logl) / N
        self.const = 2.0 * h1_logl / pm.n + sum(w * len(o) for o, _, _, w in self.parts) * LOG_2PI

    def value(self, x: torch.Tensor):
        mats = self.model.matrices(x)
        sigma, A = self.model.implied(mats)
        mu = self.model.implied_mean(mats, A)
        F, pieces = 0.0, []
        for o, mean, cov, w in self.parts:
            L, info = torch.linalg.cholesky_ex(sigma[o][:, o])
            if int(info) != 0:
                return None
            inv = torch.cholesky_inverse(L)
            d = mean - mu[o]
            S = cov + torch.outer(d, d)
            F += w * float(2.0 * torch.log(torch.diagonal(L)).sum() + (S * inv).sum())
            pieces.append((inv, S, d))
        return F + self.const, (sigma, mu, A, mats, pieces)

    def moments(self, state) -> Tuple[np.ndarray, np.ndarray]:
        return state[0].cpu().numpy(), state[1].cpu().numpy()

    def derivatives(self, state, gradient_only: bool = False):
        sigma, mu, A, mats, pieces = state
        p = sigma.shape[0]
        D = self.model.jacobian(mats, A)
        J = self.model.mean_jacobian(mats, A)
        V = torch.zeros((p, p), dtype=sigma.dtype, device=sigma.device)
        gm = torch.zeros(p, dtype=sigma.dtype, device=sigma.device)
        H = None
        for (o, _, _, w), (inv, S, d) in zip(self.parts, pieces):
            oo = (o[:, None], o[None, :])
            V[oo] += w * (inv - inv @ S @ inv)
            gm[o] += -2.0 * w * (inv @ d)
            if not gradient_only:
                W = inv @ D[:, o][:, :, o]
                Jo = J[:, o]
                h = w * (torch.einsum("iab,jba->ij", W, W) + 2.0 * Jo @ inv @ Jo.T)
                H = h if H is None else H + h
        g = torch.einsum("ab,kab->k", V, D) + J @ gm
        return (g, None) if gradient_only else (g, H)

    def fmin_torch(self, x: torch.Tensor) -> torch.Tensor:
        """-logl / N as a differentiable function of x (for the Hessian)."""
        mats = self.model.matrices(x)
        sigma, A = self.model.implied(mats)
        return -_loglik_torch(self.pm, self.model.implied_mean(mats, A), sigma) / self.pm.n


class FimlObjective(_Objective):
    """The FIML discrepancy over groups, weighted by N_g / N.

    Examples
    --------
    >>> import torchfit
    >>> from torchfit.model.syntax import parse
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> m = Model(parse("f =~ x1 + x2 + x3", meanstructure=True), mean_structure=True)
    >>> pm = pattern_moments(hs, m.ov_names)
    >>> obj = FimlObjective([m], [pm], [em_h1(pm)[2]])
    >>> len(obj.parts)
    1
    """

    def __init__(self, models: Sequence[Model], patterns: Sequence[PatternMoments],
                 h1_logl: Sequence[float]):
        n = sum(pm.n for pm in patterns)
        self.parts = [(FimlGroup(m, pm, h1), pm.n / n)
                      for m, pm, h1 in zip(models, patterns, h1_logl)]
        self.n = n


def group_moments(model: Model, pm: PatternMoments, h1: Tuple[np.ndarray, np.ndarray, float]
                  ) -> GroupMoments:
    """The EM moments as the group's "sample" moments (start values, checks)."""
    return GroupMoments(model, h1[1], h1[0], pm.n)


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


def _weighted_gfi(pm: PatternMoments, mu, sigma) -> float:
    """GFI as lavaan computes it for missing data: WLS.obs are the
    available-case moments (``pairwise_moments``) and WLS.V the expected h1
    information of the pattern likelihood at the implied moments
    (``structured``), i.e. per pattern Sigma_o^-1 for the means and half of
    Sigma_o^-1 (x) Sigma_o^-1 for the covariances, weighted by the pattern's
    share of the rows."""
    num = den = 0.0
    obs_mean, obs_cov = pairwise_moments(pm)
    d_all, R_all = obs_mean - mu, obs_cov - sigma
    for pat in pm.patterns:
        o, w = pat.observed, pat.n / pm.n
        inv = np.linalg.inv(sigma[np.ix_(o, o)])
        for vec, mat, is_num in ((d_all[o], R_all[np.ix_(o, o)], True),
                                 (obs_mean[o], obs_cov[np.ix_(o, o)], False)):
            q = float(vec @ inv @ vec) + 0.5 * float(np.trace(inv @ mat @ inv @ mat))
            if is_num:
                num += w * q
            else:
                den += w * q
    return 1.0 - num / den


def _h1_information(pm: PatternMoments, mu: np.ndarray, sigma: np.ndarray,
                    complete: bool = False) -> np.ndarray:
    """Observed information (Hessian of -logl / N) of the unrestricted model
    in (mu, vech Sigma) coordinates (lavaan's vech order) at (mu, sigma): of the
    pattern likelihood,
    or with ``complete`` of complete data with these as sample moments."""
    p = pm.p
    I, J = vech_index(p)
    if complete:  # at the sample moments the observed information is the expected one
        inv = np.linalg.inv(sigma)
        S = torch.as_tensor(sigma, dtype=torch.float64)
        return block_diag(inv, ml_weight(S, I, J).numpy())

    def unpack(theta):
        m = theta[:p]
        S = torch.zeros((p, p), dtype=theta.dtype)
        S = S.index_put((torch.as_tensor(I), torch.as_tensor(J)), theta[p:])
        S = S + S.T - torch.diag(torch.diagonal(S))
        return m, S

    f = lambda t: -_loglik_torch(pm, *unpack(t)) / pm.n
    theta = torch.as_tensor(np.concatenate([mu, sigma[I, J]]), dtype=torch.float64)
    H = torch.autograd.functional.hessian(f, theta, vectorize=True)
    return ((H + H.T) / 2).numpy()


def _model_delta(model: Model, x: np.ndarray) -> np.ndarray:
    """d (mu, vech Sigma) / d x at x, vech as in ``_h1_information``."""
    I, J = vech_index(len(model.ov_names))

    def moments(v):
        mats = model.matrices(v)
        sigma, A = model.implied(mats)
        return torch.cat([model.implied_mean(mats, A), sigma[I, J]])

    return torch.autograd.functional.jacobian(
        moments, torch.as_tensor(x, dtype=model.dtype)).numpy()


def _complete_chisq(n, S, m, sigma, mu) -> float:
    """N F_ML of complete data with sample moments (m, S) at (mu, sigma)."""
    p = S.shape[0]
    d = m - mu
    inv = np.linalg.inv(sigma)
    return float(n * (np.linalg.slogdet(sigma)[1] + np.trace(inv @ S) + d @ inv @ d
                      - np.linalg.slogdet(S)[1] - p))


@dataclass
class CorrectedTest:
    """lavaan's FIML-corrected statistics (``lav_fit_fiml_corrected``, V6)."""

    XX3: float
    df3: float
    c_hat3: float
    XX3_null: float
    df3_null: float
    c_hat3_null: float


def corrected_test(groups: Sequence[Tuple[Model, PatternMoments, Tuple, np.ndarray,
                                          np.ndarray]],
                   x: np.ndarray, df: float, df_null: float) -> CorrectedTest:
    """The FIML-corrected test (Zhang & Savalei) behind lavaan's robust
    CFI/TLI/RMSEA for missing = "ml".

    The complete-data ML statistic of the model at the FIML estimates with
    the EM moments as sample moments (XX3), and the correction
    c = tr(Wc Wm^-1 U Wm^-1) / df with Wm the observed h1 information of the
    pattern likelihood, Wc the complete-data one (both at the EM moments) and
    U = Wm - Wm Delta (Delta' Wm Delta)^-1 Delta' Wm; the same for the
    independence model with its FIML estimates.

    ``groups`` holds per group (model, patterns, EM (mean, cov, logl),
    implied mean, implied covariance) at ``x``.
    """
    N = sum(pm.n for _, pm, _, _, _ in groups)
    Wm, Wmi, Wc, Delta, DeltaB, XX3, XX3_null = [], [], [], [], [], 0.0, 0.0
    for model, pm, h1, mu, sigma in groups:
        f = pm.n / N
        m_h1, S_h1 = h1[0], h1[1]
        wm = _h1_information(pm, m_h1, S_h1)
        Wm.append(f * wm)
        Wmi.append(np.linalg.inv(wm) / f)
        Wc.append(f * _h1_information(pm, m_h1, S_h1, complete=True))
        Delta.append(_model_delta(model, x))
        p = pm.p
        I, J = vech_index(p)
        db = np.zeros((p + len(I), 2 * p))
        db[np.arange(p), np.arange(p)] = 1.0  # means
        diag = np.flatnonzero(I == J)
        db[p + diag, p + I[diag]] = 1.0  # variances
        DeltaB.append(db)
        XX3 += _complete_chisq(pm.n, S_h1, m_h1, sigma, mu)
        mb, vb = baseline_estimates(pm)
        XX3_null += _complete_chisq(pm.n, S_h1, m_h1, np.diag(vb), mb)
    Wm_all, Wmi_all, Wc_all = block_diag(*Wm), block_diag(*Wmi), block_diag(*Wc)
    # the parameters are shared by the groups: stack the Jacobians' rows
    D = np.vstack(Delta)
    DB = block_diag(*DeltaB)

    def trace(delta):
        E = delta.T @ Wm_all @ delta
        U = Wm_all - Wm_all @ delta @ np.linalg.solve(E, delta.T @ Wm_all)
        return float(np.trace(Wc_all @ Wmi_all @ U @ Wmi_all))

    k, kb = trace(D), trace(DB)
    return CorrectedTest(XX3, df, k / df if df > 0 else np.nan, XX3_null, df_null,
                         kb / df_null if df_null > 0 else np.nan)


def fiml_pieces(pm: PatternMoments, h1: Tuple, mu: np.ndarray, sigma: np.ndarray) -> Dict:
    """The per-group pieces of ``measures.fit_measures`` that FIML changes:
    the log-likelihoods of the model and of H1, the baseline test and GFI."""
    mb, vb = baseline_estimates(pm)
    logl_b = loglik(pm, mb, np.diag(vb))
    return {"logl": loglik(pm, mu, sigma), "h1": h1[2],
            "baseline_chisq": 2.0 * (h1[2] - logl_b),
            "gfi": _weighted_gfi(pm, mu, sigma)}


def add_robust(measures: Dict[str, float], test: CorrectedTest, groups: int) -> Dict[str, float]:
    """Insert lavaan's ``*.robust`` CFI/TLI/NNFI/RNI/RMSEA of a FIML fit,
    in lavaan's order."""
    X2, df, N = test.XX3, measures["df"], measures["ntotal"]
    X2n, dfn = test.XX3_null, measures["baseline.df"]
    c, cn = test.c_hat3, test.c_hat3_null
    robust = robust_indices(X2, df, X2n, dfn, c, cn, N, X2 / c, measures["rmsea.close.h0"],
                            measures["rmsea.notclose.h0"], groups, df_rmsea=test.df3)
    after = {"tli": ["cfi.robust", "tli.robust"], "rni": ["nnfi.robust", "rni.robust"],
             "rmsea.notclose.h0": ["rmsea.robust", "rmsea.ci.lower.robust",
                                   "rmsea.ci.upper.robust", "rmsea.pvalue.robust",
                                   "rmsea.notclose.pvalue.robust"]}
    return insert_after(measures, robust, after)


class FimlFit:
    """What a FIML fit hands to ``api._results``: the standard errors from
    the chosen information, lavaan's option values and its fit measures (the
    role ``robust.Robust`` plays for MLM and MLR)."""

    def __init__(self, models: Sequence[Model], patterns: Sequence[PatternMoments],
                 h1s: Sequence[Tuple], objective: FimlObjective, result, information: str):
        from ..inference.vcov import vcov_free

        self.models, self.patterns, self.h1s = list(models), list(patterns), list(h1s)
        self.result = result
        n = sum(pm.n for pm in patterns)
        if information == "observed":
            info = objective.observed_information(result.x)
        else:  # the expected information of the pattern likelihood (Fisher scoring's)
            info = result.information
        self.vcov = vcov_free(models[0], info, n)
        self.info = {"se": "standard", "test": "standard", "information": information,
                     "h1_information": "structured",
                     "observed_information": "hessian" if information == "observed" else None,
                     "missing": "ml"}

    def group_chisq(self) -> List[float]:
        """Each group's share of the test statistic, 2 (logl_H1 - logl)."""
        return [2.0 * (h1[2] - loglik(pm, mu, sigma)) for pm, h1, mu, sigma in
                zip(self.patterns, self.h1s, self.result.mu, self.result.sigma)]

    def measures(self, standard) -> Dict[str, float]:
        """lavaan's fitMeasures() of the FIML fit; ``standard`` is the
        ``measures.fit_measures`` call of the fit, given the FIML pieces."""
        pieces = [fiml_pieces(pm, h1, mu, sigma) for pm, h1, mu, sigma in
                  zip(self.patterns, self.h1s, self.result.mu, self.result.sigma)]
        out = standard(overrides=pieces)
        with one_thread():  # tiny matrices: torch's thread hand-offs cost more than the work
            test = corrected_test(
                [(m, pm, h1, mu, sigma) for m, pm, h1, mu, sigma in
                 zip(self.models, self.patterns, self.h1s, self.result.mu, self.result.sigma)],
                self.result.x, out["df"], out["baseline.df"])
        return add_robust(out, test, len(self.models))


def factor_scores(model: Model, mats: Dict[str, np.ndarray], mu: np.ndarray,
                  sigma: np.ndarray, data, columns=None) -> np.ndarray:
    """Regression factor scores of rows with missing values, as lavPredict()
    gives them after a FIML fit: E[eta] + Cov(eta, y_o) Sigma_oo^-1 (y_o - mu_o)
    over each row's observed variables o; NaN for rows missing on all of them.

    Returns an (n_rows, n_eta) array over every eta (latent and phantom).
    """
    X = np.concatenate(list(_chunks(data, model.ov_names, columns, 1 << 16)) or
                       [np.empty((0, len(model.ov_names)))])
    A = np.linalg.inv(np.eye(mats["beta"].shape[0]) - mats["beta"])
    eta_mean = A @ mats["alpha"][:, 0]
    cov_eta_y = A @ mats["psi"] @ A.T @ mats["lambda"].T
    out = np.full((X.shape[0], len(eta_mean)), np.nan)
    seen = np.isfinite(X)
    keys, inverse = np.unique(seen, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    for j, key in enumerate(keys):
        o = np.flatnonzero(key)
        if not len(o):
            continue  # an empty row: no score, as lavaan
        rows = inverse == j
        weights = np.linalg.solve(sigma[np.ix_(o, o)], cov_eta_y[:, o].T)
        out[rows] = eta_mean + (X[rows][:, o] - mu[o]) @ weights
    return out
