"""The bootstrap, as lavaan's ``se = "bootstrap"`` and ``test = "bootstrap"``
(Bollen-Stine), with the R replicates fitted as one batched problem.

Each replicate is a vector of resampling counts over the rows (R x N,
multinomial): its moments are weighted sums over the rows, and
:func:`torchfit.estimate.batch.fit_ml_batch` fits all replicates at once by
Fisher scoring.  As lavaan:

* every replicate is fitted once, from the original estimates; one that does
  not converge from there is a failed draw, left out (lavaan's
  ``optim.attempts = 1``; other starts would reach optima lavaan never does).
  lavaan also fails a few replicates whose nlminb stops short of an optimum
  far out on a ridge (its gradient check, ``optim.dx.tol``), which the
  engine reaches: about 2% of the draws of 60 HS rows with one factor
  (tests/python/test_bootstrap_hard.py);
* the standard errors are the standard deviations of the replicates'
  estimates over the successful replicates (divisor R for the free
  parameters, R - 1 for the defined ones: lavaan's ``cov(COEF) * (R-1)/R``
  and ``cov(BOOT.def)``);
* intervals are percentile (``boot.ci.type = "perc"``, the default) or
  bias-corrected percentile (``"bca.simple"``), both by the normal-quantile
  interpolation between order statistics of the ``boot`` package
  (``norm.inter``);
* Bollen-Stine transforms the data to the fitted moments
  (X S^-1/2 Sigma^1/2 + mu) and its p-value is the share of replicates whose
  chi-square exceeds the sample's.

Fixed covariates (``fixed.x``) keep their sample values: the free
parameters' estimates do not depend on them (the likelihood factors into the
covariates' marginal and the rest's conditional), and a replicate's
chi-square drops the covariates' own misfit, as lavaan's refit with the
replicate's covariate moments gives it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
from scipy import special

from ..errors import TorchfitError
from ..estimate.batch import fit_ml_batch
from ..estimate.ml import GroupMoments

BOOT_CI_TYPES = ("perc", "bca.simple")
#: resampling counts held at once (replicates x rows): bounds the memory
CHUNK_CELLS = 1 << 24


@dataclass
class Draws:
    """The bootstrap replicates of a fit."""

    coef: np.ndarray  # (R, q) free parameters; NaN rows: failed replicates
    defined: np.ndarray  # (R, number of ':=' rows)
    chisq: Optional[np.ndarray]  # Bollen-Stine: each replicate's chi-square
    seed: Optional[int]
    one_by_one: int  # replicates the batch left to the single-fit strategies

    @property
    def ok(self) -> np.ndarray:
        return np.isfinite(self.coef).all(axis=1)

    @property
    def failed(self) -> np.ndarray:
        """0-based indices of the replicates that failed (lavaan's error.idx)."""
        return np.flatnonzero(~self.ok)

    def vcov(self) -> np.ndarray:
        """lavaan's bootstrap vcov: the replicates' covariance, divisor R."""
        return np.cov(self.coef[self.ok], rowvar=False, bias=True).reshape(
            self.coef.shape[1], self.coef.shape[1])

    def defined_se(self) -> np.ndarray:
        """Standard deviations of the defined parameters (divisor R - 1, as lavaan)."""
        good = self.defined[self.ok]
        return good.std(axis=0, ddof=1) if len(good) > 1 else np.full(good.shape[1], np.nan)


def resample_counts(n: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(replicates, n) counts of each row in a resample of n rows with replacement.

    Examples
    --------
    >>> c = resample_counts(5, 3, np.random.default_rng(0))
    >>> c.shape, c.sum(axis=1).tolist()
    ((3, 5), [5.0, 5.0, 5.0])
    """
    rows = rng.integers(0, n, size=(replicates, n))
    offsets = (np.arange(replicates) * n)[:, None]
    return np.bincount((rows + offsets).ravel(), minlength=replicates * n).reshape(
        replicates, n).astype(np.float64)


def replicate_moments(X: np.ndarray, counts: np.ndarray, comm=None):
    """The N-normalised covariance matrices (R, p, p) and means (R, p) of the
    resamples given by ``counts`` (R, N), as weighted sums over the rows.

    On one rank of a data-parallel fit (``comm``) ``X`` is this rank's rows and
    ``counts`` their columns of the resamples' counts over all the ranks' N
    rows; the weighted sums are added over the ranks.

    Examples
    --------
    >>> X = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])
    >>> cov, mean = replicate_moments(X, np.array([[1.0, 1.0, 1.0], [0.0, 3.0, 0.0]]))
    >>> bool(np.allclose(cov[0], np.cov(X.T, bias=True))), cov[1].tolist(), mean[1].tolist()
    (True, [[0.0, 0.0], [0.0, 0.0]], [2.0, 3.0])
    """
    n, center = _rows_and_mean(X, comm)  # (any centre common to the ranks would do)
    Xc = torch.as_tensor(X - center)
    w = torch.as_tensor(counts / n)
    m = w @ Xc
    cross = torch.einsum("rn,ni,nj->rij", w, Xc, Xc)
    if comm is not None:
        m, cross = (torch.as_tensor(a) for a in comm.all_sum(m.numpy(), cross.numpy()))
    cov = cross - m[:, :, None] * m[:, None, :]
    return ((cov + cov.transpose(1, 2)) / 2).numpy(), (m + torch.as_tensor(center)).numpy()


def _rows_and_mean(X: np.ndarray, comm):
    """The rows of ``X`` and their mean, over the ranks with ``comm``."""
    if comm is None:
        return len(X), X.mean(axis=0)
    n, total = comm.all_sum(np.array(len(X)), X.sum(axis=0))
    return float(n), total / float(n)


def _sqrtm(A: np.ndarray, power: float) -> np.ndarray:
    w, V = np.linalg.eigh(A)
    return (V * w ** power) @ V.T


def bollen_stine_data(X: np.ndarray, sigma: np.ndarray, mu: Optional[np.ndarray],
                      comm=None) -> np.ndarray:
    """The rows moved to the fitted moments: (X - mean) S^-1/2 Sigma^1/2 (+ mu),
    whose sample covariance is the implied Sigma (lavaan's transformation); on
    one rank (``comm``) this rank's rows, with the mean and S of all the ranks'."""
    n, mean = _rows_and_mean(X, comm)
    Xc = X - mean
    cross = Xc.T @ Xc
    S = (cross if comm is None else comm.all_sum(cross)[0]) / n
    out = Xc @ _sqrtm(S, -0.5) @ _sqrtm(sigma, 0.5)
    return out if mu is None else out + mu


def _exo_discrepancy(cov, mean, sigma, mu, exo) -> np.ndarray:
    """Each replicate's F_ML of the fixed covariates alone (their sample moments
    against the values held fixed)."""
    x = np.flatnonzero(exo)
    if not len(x):
        return np.zeros(len(cov))
    Sxx, fixed = cov[:, x][:, :, x], sigma[np.ix_(x, x)]
    inv = np.linalg.inv(fixed)
    F = (np.linalg.slogdet(fixed)[1] + np.einsum("rij,ji->r", Sxx, inv)
         - np.linalg.slogdet(Sxx)[1] - len(x))
    if mean is not None and mu is not None:
        d = mean[:, x] - mu[x]
        F = F + np.einsum("ri,ij,rj->r", d, inv, d)
    return F


def _places(data: List[np.ndarray], comm):
    """Each group's rows over the ranks, and where this rank's rows start among
    them (the shards are blocks of rows in rank order: so are a group's rows)."""
    if comm is None:
        return [len(X) for X in data], [0] * len(data)
    ranks = comm.gather_results(lambda: [len(X) for X in data])
    return ([sum(r[k] for r in ranks) for k in range(len(data))],
            [sum(r[k] for r in ranks[:comm.rank]) for k in range(len(data))])


def run_bootstrap(groups: Sequence[GroupMoments], data: List[np.ndarray], x_hat: np.ndarray,
                  replicates: int, seed: Optional[int] = None, bollen_stine: bool = False,
                  implied: Optional[Sequence] = None, exo: Optional[Sequence] = None,
                  defined: Optional[Callable[[np.ndarray], np.ndarray]] = None,
                  comm=None) -> Draws:
    """Fit ``replicates`` resamples of each group's rows (``data``, the model's
    columns of the rows the fit used) at once.

    ``implied`` (per group: Sigma, mu) and ``exo`` (per group: the fixed
    covariates' flags) are needed for Bollen-Stine; ``defined`` maps an
    (R, q) matrix of estimates to the (R, k) defined parameters.

    Data-parallel (``comm``; ``data`` this rank's rows): every rank draws the
    resamples of all the rows, as one process draws them (one seed, rank 0's
    when none is given), and keeps its own rows' counts; the replicates'
    moments are the ranks' weighted sums added, so every rank fits the same
    replicates and the draws are one process's.
    """
    if not isinstance(replicates, (int, np.integer)) or replicates < 2:
        raise TorchfitError(f"bootstrap = {replicates!r}: the number of bootstrap draws must "
                            "be an integer >= 2 (lavaan's default is 1000)")
    entropy = seed
    if comm is not None and seed is None:  # the ranks must draw the same resamples
        entropy = comm.gather_results(lambda: np.random.SeedSequence().entropy)[0]
    rng = np.random.default_rng(entropy)
    if bollen_stine:
        data = [bollen_stine_data(X, sig, mu if g.mean is not None else None, comm)
                for X, g, (sig, mu) in zip(data, groups, implied)]
    coef, fmin, extra, one_by_one = [], [], [], 0
    sizes, starts = _places(data, comm)
    step = max(1, CHUNK_CELLS // max(sizes))
    for start in range(0, replicates, step):
        R = min(step, replicates - start)
        moments = [replicate_moments(X, resample_counts(n, R, rng)[:, a:a + len(X)], comm)
                   for X, n, a in zip(data, sizes, starts)]
        batch = [GroupMoments(g.model, cov, mean if g.mean is not None else None, g.nobs)
                 for g, (cov, mean) in zip(groups, moments)]
        out = fit_ml_batch(batch, x_hat)
        x = np.where(out.converged[:, None], out.x, np.nan)
        coef.append(x)
        fmin.append(np.where(out.converged, out.fmin, np.nan))
        one_by_one += out.one_by_one
        if bollen_stine:
            extra.append(sum(g.nobs * _exo_discrepancy(cov, mean if g.mean is not None else None,
                                                       sig, mu, e)
                             for g, (cov, mean), (sig, mu), e in zip(groups, moments, implied,
                                                                    exo)))
    coef = np.concatenate(coef)
    n = sum(g.nobs for g in groups)
    chisq = 2 * n * np.concatenate(fmin) - np.concatenate(extra) if bollen_stine else None
    values = defined(coef) if defined is not None else np.empty((replicates, 0))
    return Draws(coef, values, chisq, seed, one_by_one)


def norm_inter(t: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The ``boot`` package's quantiles of the draws ``t`` at ``alpha``:
    order statistic (R + 1) alpha, interpolated on the normal quantile scale.

    Examples
    --------
    >>> norm_inter(np.arange(1.0, 20.0), np.array([0.05, 0.5]))
    array([ 1., 10.])
    """
    t = np.sort(t[np.isfinite(t)])
    R = len(t)
    rk = (R + 1) * np.asarray(alpha, dtype=float)
    k = np.trunc(rk).astype(int)
    out = np.empty(len(rk))
    for i, (ki, rki, a) in enumerate(zip(k, rk, alpha)):
        if ki <= 0:
            out[i] = t[0]
        elif ki >= R:
            out[i] = t[-1]
        elif ki == rki:
            out[i] = t[ki - 1]
        else:
            z, lo, hi = special.ndtri([a, ki / (R + 1), (ki + 1) / (R + 1)])
            out[i] = t[ki - 1] + (z - lo) / (hi - lo) * (t[ki] - t[ki - 1])
    return out


def interval(t: np.ndarray, estimate: float, level: float = 0.95,
             kind: str = "perc") -> np.ndarray:
    """lavaan's bootstrap interval of one parameter from its draws ``t``:
    percentile, or bias-corrected percentile ("bca.simple", no acceleration).

    Examples
    --------
    >>> t = np.random.default_rng(1).normal(size=999)
    >>> np.round(interval(t, 0.0), 1).tolist()
    [-2.1, 1.9]
    """
    if kind not in BOOT_CI_TYPES:
        raise TorchfitError(f"boot_ci_type = {kind!r} is not available; use one of "
                            f"{', '.join(repr(k) for k in BOOT_CI_TYPES)}")
    alpha = np.array([(1 - level) / 2, (1 + level) / 2])
    t = t[np.isfinite(t)]
    if kind == "perc":
        return norm_inter(t, alpha)
    if len(t) < 2 or np.var(t) == 0:
        return np.array([estimate, estimate])
    w = special.ndtri(np.mean(t < estimate))
    return norm_inter(t, special.ndtr(2 * w + special.ndtri(alpha)))


def bollen_stine_pvalue(draws: Draws, chisq: float) -> float:
    """The share of successful replicates whose chi-square exceeds the sample's."""
    good = draws.chisq[np.isfinite(draws.chisq)]
    return float(np.mean(good > chisq)) if len(good) else float("nan")


def table_intervals(pt, est: np.ndarray, draws: Draws, level: float = 0.95,
                    kind: str = "perc"):
    """ci.lower and ci.upper of every table row: the free parameters' and the
    defined ones' from their draws, the estimate itself for fixed rows (as
    lavaan's parameterEstimates)."""
    free = pt["free"].to_numpy()
    lower, upper = est.copy(), est.copy()
    good = draws.coef[draws.ok]
    for i in np.flatnonzero(free > 0):
        lower[i], upper[i] = interval(good[:, free[i] - 1], est[i], level, kind)
    for j, i in enumerate(np.flatnonzero(pt["op"].to_numpy() == ":=")):
        lower[i], upper[i] = interval(draws.defined[draws.ok, j], est[i], level, kind)
    return lower, upper


def boot_columns(pt, est: np.ndarray, draws: Draws, level: float = 0.95) -> dict:
    """se, z, pvalue, ci.lower and ci.upper of every row from the draws (the
    intervals percentile, lavaan's default ``boot.ci.type``)."""
    free = pt["free"].to_numpy()
    se = np.zeros(len(pt))
    se[free > 0] = np.sqrt(np.clip(np.diag(draws.vcov()), 0, None))[free[free > 0] - 1]
    se[pt["op"].to_numpy() == ":="] = draws.defined_se()
    tested = (free > 0) | (pt["op"].to_numpy() == ":=")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(tested, est / se, np.nan)
    lower, upper = table_intervals(pt, est, draws, level)
    return {"se": se, "z": z, "pvalue": special.erfc(np.abs(z) / np.sqrt(2.0)),
            "ci.lower": lower, "ci.upper": upper}
