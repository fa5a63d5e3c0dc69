"""Ordered and continuous variables together, as lavaan's ``muthen1984`` takes them.

The statistics (lavaan's ``WLS.obs``) are, in the variables' order, each
ordered item's thresholds or each continuous variable's mean (negated: the
"threshold" -mu), then the continuous variables' variances (divided by N),
then the covariances of every pair: polychoric correlations between ordered
items, Pearson covariances between continuous ones and polyserial
correlations times the continuous variable's standard deviation between the
two kinds.  A polyserial correlation maximises the likelihood of the ordered
item given the standardised continuous one (Olsson, Drasgow & Dorans 1982),
the mean, variance and thresholds held fixed (lavaan's two-step method).

Their NACOV is Muthén's (1984) estimator as lavaan forms it: per case the
influence psi_i = B^-1 s_i of the univariate and bivariate scores s_i, the
correlations carried to covariances (lavaan's H), the means' rows negated,
and Gamma = N sum_i psi_i psi_i'.  The ordered items' parts are those of
:mod:`torchfit.data.ordinal_gamma`; the others are formed case by case.  The
polyserial likelihood has no sufficient statistics, so the rows used are held
in memory (the ordered-only path reads the data in chunks); the influences
are summed a block of rows at a time, so Gamma costs no more than that.

On one rank's shard (torch.distributed) each rank holds its own rows and every
sum over them (counts, moments, the polyserial scores of each Newton step, the
A matrices and Gamma's outer products) is added over the ranks
(:func:`torchfit.data.reader.summed`), so every rank computes one process's
statistics and takes the same steps.

With missing values taken pairwise (lavaan's ``missing = "pairwise"``) every
row with an observed value is used: each threshold, mean and variance (still
divided by the variable's own count) from the rows observing the variable,
each correlation from the rows observing both, the others' statistics held
at their own values (so a Pearson correlation is the two-step maximum
likelihood one, not the rows' sample correlation), and a missing value gives
a zero score (lavaan's NA scores, summed with ``na.rm``): a row missing one
variable of a pair still moves the pair through the other's influence.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import List, Sequence

import numpy as np
from scipy.special import ndtr

from ..errors import DataError
from .ordinal_gamma import influence
from .polychoric import CHUNK_ROWS, coded_chunks, codes, polychoric, tables, thresholds
from .reader import comm_of, summed
from .sources import Shard

_PDF = 1.0 / np.sqrt(2.0 * np.pi)
_EPS = np.finfo(float).eps
BOUNDS = (-0.995, 0.995)  # lavaan's bounds of a polyserial correlation
PEARSON_BOUND = 0.999  # and of a Pearson one with missing values


def _pdf(x):
    return _PDF * np.exp(-0.5 * x * x)


@dataclass
class MixedStats:
    """One group's statistics of a mix: ``obs`` and its ``names``, the
    covariance matrix (correlations between ordered items), the means (0 for
    ordered items), the thresholds (the negated mean for a continuous
    variable), the NACOV (or None) and the rows used and read."""

    obs: np.ndarray
    names: List[str]
    cov: np.ndarray
    mean: np.ndarray
    thresholds: List[np.ndarray]
    nacov: object
    n: int
    n_total: int


def rows_used(data, names: Sequence[str], columns=None, pairwise: bool = False):
    """The rows of ``names`` without a missing value, or (``pairwise``) with
    an observed one (lavaan ignores empty rows), in memory, and the number
    of rows read (of one rank's shard, on a rank)."""
    blocks = list(coded_chunks(data, names, columns))
    X = np.concatenate(blocks) if blocks else np.empty((0, len(names)))
    missing = np.isnan(X)
    return X[~missing.all(axis=1) if pairwise else ~missing.any(axis=1)], X.shape[0]


class _Case:
    """Per-case pieces: the ordered items' codes (-1 where missing), their
    thresholds with +-100 past the ends (lavaan's), the continuous
    variables' z-scores, which values are observed (``seen``); means and
    variances (divided by the count) of each variable's observed values.

    On one rank, ``X`` holds the rank's rows and ``total`` (see
    :func:`torchfit.data.reader.summed`) adds a sum over them to the other
    ranks': every statistic below is a function of such sums (np.nanmean's
    and np.nanvar's, so one process's values are theirs to the last bit)."""

    def __init__(self, X, ordered, levels, th, total=None):
        self.X, self.ordered = X, np.asarray(ordered)
        self.total = summed(None) if total is None else total
        self.seen = ~np.isnan(X)
        self.ord_idx = np.flatnonzero(self.ordered)
        self.C = codes(X[:, self.ord_idx], levels)
        self.th = th
        count, sums = self.total(self.seen.sum(0), np.where(self.seen, X, 0.0).sum(0))
        mean = sums / count
        e = np.where(self.seen, X - mean, 0.0)
        self.mean = np.where(self.ordered, 0.0, mean)
        self.var = np.where(self.ordered, 1.0, self.total((e * e).sum(0)) / count)
        self.sd = np.sqrt(self.var)

    def rows(self, which: slice) -> "_Case":
        """The same variables' statistics on some of the rows."""
        out = object.__new__(_Case)
        out.__dict__.update(self.__dict__, X=self.X[which], C=self.C[which],
                            seen=self.seen[which])
        return out

    def both(self, i: int, j: int) -> np.ndarray:
        """The rows observing variables i and j."""
        return self.seen[:, i] & self.seen[:, j]

    def cuts(self, v: int):
        """Lower and upper thresholds of each case's category of item v."""
        k = int(np.flatnonzero(self.ord_idx == v)[0])
        g = np.concatenate([[-100.0], self.th[k], [100.0]])
        c = self.C[:, k]
        return g[c], g[c + 1], c, len(self.th[k])

    def z(self, v: int):
        return (self.X[:, v] - self.mean[v]) / self.sd[v]


def _polyserial_parts(case: _Case, num: int, ord_: int, rho: float):
    """lavaan's lav_bvmix_cor_scores: the per-case scores of rho, the mean
    and variance of ``num`` and the thresholds of ``ord_`` (n, T)."""
    lo, hi, c, T = case.cuts(ord_)
    z = case.z(num)
    R = np.sqrt(1.0 - rho * rho)
    a, b = (hi - rho * z) / R, (lo - rho * z) / R
    P = np.maximum(ndtr(a) - ndtr(b), _EPS)
    da, db = _pdf(a), _pdf(b)
    sd, var = case.sd[num], case.var[num]
    d_rho = (da * (hi * rho - z) - db * (lo * rho - z)) / (R ** 3 * P)
    d_mu = (z + rho / R * (da - db) / P) / sd
    d_var = ((z * z - 1.0) + rho * z / R * (da - db) / P) / (2.0 * var)
    d_th = np.zeros((len(z), T))
    rows = np.arange(len(z))
    up, down = c < T, c > 0
    d_th[rows[up], c[up]] = da[up] / (R * P[up])
    d_th[rows[down], c[down] - 1] -= db[down] / (R * P[down])
    # a row missing either variable scores zero (lavaan's NA, summed with na.rm)
    ok = case.both(num, ord_)
    d_th[~ok] = 0.0
    return tuple(np.where(ok, d, 0.0) for d in (d_rho, d_mu, d_var)) + (d_th,)


def _polyserial_scores(z, lo, hi, rho, ok, total):
    """The score of rho summed over the rows observing both (``ok``), for
    every pair (columns of z, lo, hi, ok) at once: lav_bvmix_cor_scores'
    dx.rho (over every rank's rows: one all-reduce for all the pairs)."""
    R = np.sqrt(1.0 - rho * rho)
    a, b = (hi - rho * z) / R, (lo - rho * z) / R
    P = np.maximum(ndtr(a) - ndtr(b), _EPS)
    score = (_pdf(a) * (hi * rho - z) - _pdf(b) * (lo * rho - z)) / P
    return total(np.where(ok, score, 0.0).sum(0)) / R ** 3


def _corrcoef(x, y, total) -> float:
    """np.corrcoef(x, y)[0, 1] by its own steps from sums over the rows (of
    every rank, through ``total``): one process's value is numpy's."""
    X = np.array([x, y], dtype=np.float64)
    n, sums = total(np.array(X.shape[1]), X.sum(axis=1))
    X -= (sums / n)[:, None]
    c = total(np.dot(X, X.T.conj()))
    c *= np.true_divide(1, n - 1)
    sd = np.sqrt(np.diag(c))
    c /= sd[:, None]
    c /= sd[None, :]
    return float(np.clip(c[0, 1], -1.0, 1.0))


def polyserials(case: _Case, pairs) -> np.ndarray:
    """The polyserial correlations of the (continuous, ordered) ``pairs``:
    the roots of their scores within lavaan's bounds (the bound where the
    score keeps its sign), by Newton steps (finite-difference slopes) kept in
    a bracket that bisection narrows when a step leaves it; all pairs at once
    (on ranks, each step's scores summed over the ranks, so that every rank
    takes the same steps and stops at the same one).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> Z = rng.multivariate_normal([0, 0], [[1, -0.3], [-0.3, 1]], 20000)
    >>> X = np.column_stack([Z[:, 0], np.digitize(Z[:, 1], [0.2])])
    >>> case = _Case(X, [False, True], [np.array([0.0, 1.0])], [np.array([0.2])])
    >>> round(float(polyserials(case, [(0, 1)])[0]), 1)
    -0.3
    """
    z = np.column_stack([case.z(num) for num, _ in pairs])
    cuts = [case.cuts(o)[:2] for _, o in pairs]
    lo, hi = np.column_stack([c[0] for c in cuts]), np.column_stack([c[1] for c in cuts])
    ok = np.column_stack([case.both(num, o) for num, o in pairs])
    scores = partial(_polyserial_scores, z, lo, hi, ok=ok, total=case.total)
    low, high = np.full(len(pairs), BOUNDS[0]), np.full(len(pairs), BOUNDS[1])
    s_low, s_high = scores(low), scores(high)
    rho = np.clip(np.array([_corrcoef(z[ok[:, k], k], case.C[ok[:, k], int(np.flatnonzero(
        case.ord_idx == o)[0])], case.total) for k, (_, o) in enumerate(pairs)]), -0.9, 0.9)
    h = 1e-7
    for _ in range(100):
        score = scores(rho)
        low, high = np.where(score > 0, rho, low), np.where(score > 0, high, rho)
        slope = (scores(rho + h) - score) / h
        step = np.where(slope < 0, -score / np.where(slope < 0, slope, -1.0), np.inf)
        new = rho + step
        new = np.where((new > low) & (new < high), new, (low + high) / 2)
        done = np.abs(new - rho) < 1e-13
        rho = new
        if done.all():
            break
    # a score of one sign throughout: the bound it points to
    rho = np.where(s_high > 0, BOUNDS[1], rho)
    return np.where(s_low < 0, BOUNDS[0], rho)


def _pearson_parts(case: _Case, i: int, j: int, rho: float):
    """lavaan's lav_bvreg_cor_scores: per-case scores of rho and of the
    means and variances of i and j."""
    yi, yj = case.X[:, i] - case.mean[i], case.X[:, j] - case.mean[j]
    vi, vj, si, sj = case.var[i], case.var[j], case.sd[i], case.sd[j]
    R = 1.0 - rho * rho
    q = yi * yi / vi - 2 * rho * yi * yj / (si * sj) + yj * yj / vj
    d_rho = rho / R + yi * yj / (si * sj * R) - q * rho / (R * R)
    d_mu_i = (yi / vi - rho * yj / (si * sj)) / R
    d_mu_j = (yj / vj - rho * yi / (si * sj)) / R
    d_var_i = -(0.5 / vi - (yi * yi / vi ** 2 - rho * yi * yj / (vi * si * sj)) / (2 * R))
    d_var_j = -(0.5 / vj - (yj * yj / vj ** 2 - rho * yi * yj / (vj * si * sj)) / (2 * R))
    ok = case.both(i, j)
    return tuple(np.where(ok, d, 0.0) for d in (d_rho, d_mu_i, d_var_i, d_mu_j, d_var_j))


def pearson_pairwise(case: _Case, i: int, j: int) -> float:
    """lavaan's correlation of two continuous variables with missing values
    (lav_bvreg_cor_twostep_fit): the maximum within (-0.999, 0.999) of the
    bivariate normal likelihood of the rows observing both, the means and
    variances held at each variable's own.  Its score's numerator is the
    cubic -n r^3 + S12 r^2 + (n - S11 - S22) r + S12 in the sums S of the
    z-scores' products (with no value missing, its root is the sample
    correlation).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, np.nan], [np.nan, 0.0]])
    >>> round(pearson_pairwise(_Case(X, [False, False], [], []), 0, 1), 6)  # lavaan's: 0.1397948
    0.139795
    """
    ok = case.both(i, j)
    u, w = case.z(i)[ok], case.z(j)[ok]
    n, s11, s12, s22 = case.total(ok.sum(), u @ u, u @ w, w @ w)

    def loglik(r):
        return -0.5 * n * np.log1p(-r * r) - (s11 - 2 * r * s12 + s22) / (2 * (1 - r * r))
    roots = np.roots([-n, s12, n - s11 - s22, s12])
    inside = [r.real for r in roots if abs(r.imag) < 1e-9 and abs(r.real) < PEARSON_BOUND]
    return float(max(inside + [-PEARSON_BOUND, PEARSON_BOUND], key=loglik))


def _continuous_scores(case: _Case, v: int) -> np.ndarray:
    """The scores of a continuous variable's (mean, variance), (n, 2), zero
    where it is missing."""
    e = case.X[:, v] - case.mean[v]
    var = case.var[v]
    S = np.stack([e / var, -0.5 / var + e * e / (2 * var * var)], 1)
    return np.where(case.seen[:, v:v + 1], S, 0.0)


@dataclass
class _PairTerm:
    """What the influence of a pair's covariance needs beyond a block's own
    rows: A21 as coefficients on each variable's univariate influence
    (``inner``), A22, and lavaan's H (``scale`` on the correlation's
    influence, ``var_terms`` on the variances')."""

    i: int
    j: int
    inner: list
    a22: float
    scale: float
    var_terms: list


def _pair_term(case: _Case, R: np.ndarray, i: int, j: int) -> _PairTerm:
    rho = R[i, j]
    if case.ordered[i] or case.ordered[j]:
        num, ord_ = (j, i) if case.ordered[i] else (i, j)
        d_rho, d_mu, d_var, d_th = _polyserial_parts(case, num, ord_, rho)
        sd = case.sd[num]
        a_num, a_ord, a22 = case.total(np.array([d_rho @ d_mu, d_rho @ d_var]),
                                       d_th.T @ d_rho, d_rho @ d_rho)
        return _PairTerm(i, j, [(num, a_num), (ord_, a_ord)], a22, sd, [(num, rho / (2 * sd))])
    d_rho, d_mu_i, d_var_i, d_mu_j, d_var_j = _pearson_parts(case, i, j, rho)
    si, sj = case.sd[i], case.sd[j]
    a_i, a_j, a22 = case.total(np.array([d_rho @ d_mu_i, d_rho @ d_var_i]),
                               np.array([d_rho @ d_mu_j, d_rho @ d_var_j]), d_rho @ d_rho)
    return _PairTerm(i, j, [(i, a_i), (j, a_j)], a22, si * sj,
                     [(i, rho * sj / (2 * si)), (j, rho * si / (2 * sj))])


def _pair_influence(case: _Case, R: np.ndarray, term: _PairTerm, psi_uni) -> np.ndarray:
    """The influence of the pair's covariance on the rows of ``case``:
    (s_rho - A21 psi_uni) / A22, carried to the covariance (lavaan's H)."""
    i, j = term.i, term.j
    if case.ordered[i] or case.ordered[j]:
        num, ord_ = (j, i) if case.ordered[i] else (i, j)
        d_rho = _polyserial_parts(case, num, ord_, R[i, j])[0]
    else:
        d_rho = _pearson_parts(case, i, j, R[i, j])[0]
    psi = (d_rho - sum(psi_uni[v] @ c for v, c in term.inner)) / term.a22
    return term.scale * psi + sum(c * psi_uni[v][:, 1] for v, c in term.var_terms)


def _correlations(case: _Case, R_ord: np.ndarray) -> np.ndarray:
    p = len(case.ordered)
    R = np.eye(p)
    R[np.ix_(case.ord_idx, case.ord_idx)] = R_ord
    seen = case.seen.astype(float)
    n, together = case.total(np.array(len(seen)), seen.T @ seen)  # of every rank's rows
    mixed = []
    for i, j in zip(*np.triu_indices(p, 1)):
        if case.ordered[i] and case.ordered[j]:
            continue
        if case.ordered[i] or case.ordered[j]:
            mixed.append((i, j))
        elif together[i, j] == n:
            R[i, j] = R[j, i] = _corrcoef(case.X[:, i], case.X[:, j], case.total)
        else:
            R[i, j] = R[j, i] = pearson_pairwise(case, i, j)
    if mixed:
        pairs = [(j, i) if case.ordered[i] else (i, j) for i, j in mixed]
        rows, cols = np.array(mixed).T
        R[rows, cols] = R[cols, rows] = polyserials(case, pairs)
    return R


def _influences(case: _Case, t, R: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """The sum over rows of psi_i psi_i', the per-case influences in lavaan's
    order of the statistics, formed ``chunk_rows`` rows at a time (the sums
    they need first, over all rows; on a rank, the sums over every rank's rows)."""
    ords = case.ord_idx
    inf = influence(t, case.th, R[np.ix_(ords, ords)])
    th_inf, cor_inf = inf.th.numpy(), inf.cor.numpy()
    p = len(case.ordered)
    numeric = [v for v in range(p) if not case.ordered[v]]
    a11_inv = {}
    for v in numeric:
        S = _continuous_scores(case, v)
        a11_inv[v] = np.linalg.inv(case.total(S.T @ S))
    pair = {(a, b): k for k, (a, b) in enumerate(zip(*np.triu_indices(len(ords), 1)))}
    where = {v: k for k, v in enumerate(ords)}
    terms = {(i, j): _pair_term(case, R, i, j) for i, j in zip(*np.triu_indices(p, 1))
             if not (case.ordered[i] and case.ordered[j])}
    q = sum(len(t) for t in case.th) + 2 * len(numeric) + p * (p - 1) // 2
    total = np.zeros((q, q))
    for start in range(0, case.X.shape[0], chunk_rows):
        block = case.rows(slice(start, start + chunk_rows))
        psi_uni = {v: th_inf[k, block.C[:, k], :len(case.th[k])] for k, v in enumerate(ords)}
        psi_uni.update({v: _continuous_scores(block, v) @ a11_inv[v] for v in numeric})
        # the means' rows negated, as lavaan's "thresholds" -mu
        cols = [psi_uni[v] if case.ordered[v] else -psi_uni[v][:, :1] for v in range(p)]
        cols += [psi_uni[v][:, 1:] for v in numeric]
        for i, j in zip(*np.triu_indices(p, 1)):
            if (i, j) in terms:
                cols.append(_pair_influence(block, R, terms[(i, j)], psi_uni)[:, None])
            else:
                k = pair[(where[i], where[j])]
                cols.append(cor_inf[k, block.C[:, where[i]], block.C[:, where[j]]][:, None])
        Z = np.concatenate(cols, 1)
        total = total + Z.T @ Z
    return case.total(total)


def mixed_stats(data, names: Sequence[str], ordered: Sequence[bool], levels, columns=None,
                gamma: bool = True, chunk_rows: int = CHUNK_ROWS,
                pairwise: bool = False) -> MixedStats:
    """The statistics of ``names`` (``ordered[k]`` for an ordered item,
    whose categories are ``levels[k]``) of the complete rows of ``data``,
    or with ``pairwise`` of every row with an observed value, each
    statistic from the rows observing its variables (lavaan's ``missing =
    "pairwise"``); the NACOV's sums go ``chunk_rows`` rows at a time.  On
    one rank's shard, every sum is added over the ranks' rows (the tables,
    moments, the polyserial scores of each step and the NACOV's sums), so
    every rank returns the statistics of all the rows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> z = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], 5000)
    >>> d = pd.DataFrame({"y": np.digitize(z[:, 0], [-0.5, 0.5]), "x": 2 + z[:, 1]})
    >>> s = mixed_stats(d, ["y", "x"], [True, False], [np.array([0., 1., 2.]), None])
    >>> s.names
    ['y|t1', 'y|t2', 'x~1', 'x~~x', 'y~~x']
    >>> round(float(s.cov[0, 1] / np.sqrt(s.cov[1, 1])), 1)  # the polyserial correlation
    0.6
    """
    X, n_total = rows_used(data, names, columns, pairwise)
    total = summed(data)
    n, n_total = (int(m) for m in total(np.array(len(X)), np.array(n_total)))
    _check_counts(X, n, names, pairwise, total)
    ordered = np.asarray(ordered, dtype=bool)
    ords = np.flatnonzero(ordered)
    ord_names = [names[v] for v in ords]
    t = tables(Shard(X[:, ords], comm_of(data), ord_names), ord_names,
               levels=[levels[v] for v in ords])
    for v, c, k in zip(ord_names, t.counts, t.n_categories):
        if (c[:k] == 0).any():
            raise DataError(f"a category of '{v}' is empty in the "
                            f"{'observed' if pairwise else 'complete'} rows: its "
                            "thresholds cannot be estimated; merge it with a neighbour")
    th = thresholds(t.counts, t.n_categories)
    case = _Case(X, ordered, [levels[v] for v in ords], th, total)
    R_ord = polychoric(t, th) if len(ords) > 1 else np.eye(len(ords))
    R = _correlations(case, R_ord)
    cov = R * np.outer(case.sd, case.sd)
    th_all, k = [], 0
    for v in range(len(names)):
        th_all.append(th[k] if ordered[v] else np.array([-case.mean[v]]))
        k += int(ordered[v])
    first, second = np.triu_indices(len(names), 1)
    obs = np.concatenate(th_all + [case.var[~ordered], cov[first, second]])
    G = None
    if gamma:
        G = _influences(case, t, R, chunk_rows) * n
    return MixedStats(obs, mixed_names(names, ordered, th_all), cov, case.mean, th_all, G,
                      n, n_total)


def _check_counts(X: np.ndarray, n: int, names: Sequence[str], pairwise: bool, total) -> None:
    """At least two rows for every statistic: complete rows (``n``, of every
    rank), or (pairwise) rows observing each pair of variables."""
    if not pairwise:
        if n < 2:
            raise DataError(f"{n} complete row(s) of {', '.join(names)}: too few for "
                            "their statistics")
        return
    seen = (~np.isnan(X)).astype(float)
    together = total(seen.T @ seen)
    v = int(np.argmin(np.diag(together)))
    if together[v, v] < 2:
        raise DataError(f"'{names[v]}' is observed in {int(together[v, v])} row(s): too few "
                        "for its statistics; drop it from the model")
    a, b = np.unravel_index(np.argmin(together), together.shape)
    if together[a, b] < 2:
        raise DataError(f"'{names[a]}' and '{names[b]}' are observed together in "
                        f"{int(together[a, b])} row(s): too few for their correlation; drop "
                        "one of them from the model")


def mixed_names(names: Sequence[str], ordered: Sequence[bool],
                th: Sequence[np.ndarray]) -> List[str]:
    """lavaan's names of the statistics: y|t1, ..., x~1, x~~x, y~~x."""
    first, second = np.triu_indices(len(names), 1)
    out = []
    for v, o, t in zip(names, ordered, th):
        out += [f"{v}|t{k + 1}" for k in range(len(t))] if o else [f"{v}~1"]
    out += [f"{v}~~{v}" for v, o in zip(names, ordered) if not o]
    return out + [f"{names[a]}~~{names[b]}" for a, b in zip(first, second)]
