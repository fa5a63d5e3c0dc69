"""Thresholds and polychoric correlations of ordered items, as lavaan computes them.

lavaan's two-step method (Olsson 1979; lavaan's ``lav_samp_step1`` and
``lav_samp_step2``): each item's thresholds are the normal quantiles of its
cumulative proportions; each pair's correlation maximises the bivariate-normal
likelihood of the pair's two-way table with the thresholds held fixed.  The
data are read once to learn the categories and once more to count every
two-way table at once (a one-hot matrix multiplied by itself, block by block,
float64), so memory does not grow with the number of rows.  The correlations
of all pairs are found together, by Newton steps on the tables.

Missing values (NaN) are left out item by item for the thresholds and pair by
pair for the tables (lavaan's ``missing = "pairwise"``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from scipy.linalg import blas
from scipy.special import ndtri

from ..errors import DataError
from .bivariate import BOUND, bvn_cdf, bvn_pdf, norm_cdf, norm_pdf
from .frames import check_finite, check_ordered, chunks
from .reader import in_memory_frame, reduced

MAX_CATEGORIES = 10
CHUNK_ROWS = 1 << 14


class ZeroCellWarning(UserWarning):
    """Some two-way tables of ordered items have empty cells (lavaan warns too)."""


class PolychoricWarning(UserWarning):
    """A polychoric correlation is (nearly) 1, or the matrix is not positive definite."""


@dataclass
class Tables:
    """One- and two-way frequency tables of ordered items.

    ``levels[v]`` are the item's categories (sorted values); ``counts`` is
    (p, K) with K the largest number of categories; ``tables`` is
    (n_pairs, K, K) for the pairs ``first[k] < second[k]`` in lavaan's order
    (x1~~x2, x1~~x3, ..., x2~~x3, ...); ``n`` the number of rows used
    (without missing values, or with pairwise ones, with an observed value),
    ``n_total`` the number read.
    """

    names: List[str]
    levels: List[np.ndarray]
    counts: np.ndarray
    tables: np.ndarray
    n: int
    n_total: int = 0

    @property
    def n_categories(self) -> np.ndarray:
        return np.array([len(lv) for lv in self.levels])

    @property
    def pairs(self):
        return np.triu_indices(len(self.names), 1)


def coded_chunks(data, names: Sequence[str], columns=None, chunk_rows: int = CHUNK_ROWS,
                 listwise: bool = False):
    """Blocks of the items' values, float64 with NaN for missing (rows with
    any missing value dropped when ``listwise``); ordered categorical
    columns of a DataFrame (or of a shard of one) become their codes (0, 1, ...)."""
    frame = in_memory_frame(data)
    if frame is not None:
        cat = [v for v in names if v in frame.columns
               and isinstance(frame[v].dtype, pd.CategoricalDtype)]
        for v in cat:
            check_ordered(v, frame[v].dtype)
        if cat:
            data = frame.assign(**{v: frame[v].cat.codes.astype(float).where(frame[v].notna())
                                   for v in cat})
    for X in chunks(data, names, columns, chunk_rows):
        check_finite(X, names)
        yield X[~np.isnan(X).any(axis=1)] if listwise else X


def item_levels(data, names: Sequence[str], columns=None,
                chunk_rows: int = CHUNK_ROWS) -> List[np.ndarray]:
    """The categories of each item (one pass; on a rank's shard, those of every
    rank's rows), checked."""
    seen = reduced(data, partial(_seen, data, names, columns, chunk_rows),
                   lambda ranks: [set().union(*s) for s in zip(*ranks)])
    levels = [np.array(sorted(s)) for s in seen]
    _check_categories(data, names, levels)
    return levels


def _seen(data, names, columns, chunk_rows) -> List[set]:
    """The distinct values of each item in ``data``."""
    seen = [set() for _ in names]
    for X in coded_chunks(data, names, columns, chunk_rows):
        for v, x in enumerate(np.ascontiguousarray(X.T)):
            seen[v].update(_distinct(x[~np.isnan(x)]))
    return seen


def _distinct(x: np.ndarray) -> list:
    """The distinct values of x: counted when they are integers in a short
    range (the usual codes of ordered items), else sorted."""
    if len(x) and x.max() - x.min() < 64:
        lo = x.min()
        k = x - lo
        if np.array_equal(k, np.floor(k)):
            return (lo + np.flatnonzero(np.bincount(k.astype(np.int64)))).tolist()
    return np.unique(x).tolist()


def _check_categories(data, names, levels) -> None:
    for v, lv in zip(names, levels):
        if len(lv) < 2:
            what = f"one category ({lv[0]:g})" if len(lv) else "no values"
            raise DataError(f"the ordered item '{v}' has {what}: it carries no information; "
                            "drop it from the model")
        if len(lv) > MAX_CATEGORIES:
            raise DataError(f"the ordered item '{v}' has {len(lv)} categories (more than "
                            f"{MAX_CATEGORIES}): treat it as continuous (leave it out of "
                            "ordered=) or collapse categories")
    frame = in_memory_frame(data)
    if frame is not None:
        for v, lv in zip(names, levels):
            if isinstance(frame[v].dtype, pd.CategoricalDtype) \
                    and len(lv) < len(frame[v].cat.categories):
                empty = [str(c) for k, c in enumerate(frame[v].cat.categories) if k not in lv]
                raise DataError(f"the ordered item '{v}' has categories nobody chose "
                                f"({', '.join(empty)}): lavaan cannot estimate their "
                                "thresholds; drop them (e.g. "
                                f"data['{v}'].cat.remove_unused_categories()) or merge them "
                                "with a neighbour")


def tables(data, names: Sequence[str], columns: Optional[Sequence[str]] = None,
           chunk_rows: int = CHUNK_ROWS, levels: Optional[List[np.ndarray]] = None,
           listwise: bool = False) -> Tables:
    """The one- and two-way tables of the items ``names`` of ``data`` (with
    the categories ``levels``, by default those found in ``data``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = tables(pd.DataFrame({"a": [1, 2, 2, 3], "b": [1, 1, 2, 2]}), ["a", "b"])
    >>> t.counts.tolist(), t.tables[0].tolist()
    ([[1.0, 2.0, 1.0], [2.0, 2.0, 0.0]], [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    """
    if levels is None:
        levels = item_levels(data, names, columns, chunk_rows)
    p, K = len(names), max(len(lv) for lv in levels)
    # on a rank's shard, every rank's counts summed (whole numbers: exact)
    cross, n, n_total = reduced(data, partial(_counts, data, names, columns, chunk_rows,
                                              levels, listwise),
                                lambda ranks: [sum(parts) for parts in zip(*ranks)])
    cross = (np.triu(cross) + np.triu(cross, 1).T).reshape(p, K, p, K)
    first, second = np.triu_indices(p, 1)
    return Tables(list(names), levels, np.einsum("vkvk->vk", cross),
                  cross[first, :, second, :], n, n_total)


def _counts(data, names, columns, chunk_rows, levels, listwise):
    """The upper triangle of the one-hot cross-product of ``data``'s items,
    the rows used and the rows read."""
    p, K = len(names), max(len(lv) for lv in levels)
    cross = np.zeros((p * K, p * K))
    n = n_total = 0
    for X in coded_chunks(data, names, columns, chunk_rows):
        n_total += X.shape[0]
        if listwise:
            X = X[~np.isnan(X).any(axis=1)]
            n += X.shape[0]
        else:  # lavaan ignores empty rows (they add nothing to the tables)
            n += int((~np.isnan(X)).any(axis=1).sum())
        onehot = _one_hot(codes(X, levels), K)
        # counts below 2^24 are exact in float32 (twice as fast as float64);
        # BLAS's rank-k update fills the upper triangle
        for s in range(0, len(onehot), 1 << 20):
            cross += blas.ssyrk(1.0, onehot[s:s + (1 << 20)], trans=1)
    return cross, n, n_total


def codes(X: np.ndarray, levels: Sequence[np.ndarray]) -> np.ndarray:
    """Category codes 0..K-1 of each value, -1 where missing: (rows, items),
    the transpose of an item-major array (``codes(X, levels).T`` is
    contiguous).

    Examples
    --------
    >>> import numpy as np
    >>> codes(np.array([[2.0, 5.0], [1.0, np.nan]]), [np.array([1.0, 2.0]), np.array([5.0])])
    array([[ 1,  0],
           [ 0, -1]])
    """
    XT = np.ascontiguousarray(X.T)  # item by item, contiguous
    out = np.empty(XT.shape, dtype=np.int64)
    missing = np.isnan(XT)
    for v, lv in enumerate(levels):
        if np.array_equal(lv, lv[0] + np.arange(len(lv))) and not missing[v].any():
            # consecutive integers (the values are among the levels): a subtraction
            np.subtract(XT[v], lv[0], out=out[v], casting="unsafe")
        else:
            out[v] = np.searchsorted(lv, XT[v])
    out[missing] = -1
    return out.T


def _one_hot(C: np.ndarray, K: int) -> np.ndarray:
    """The indicators of the codes C (rows, items): (rows, items * K),
    float32, Fortran-ordered (built category-major, which writes in order)."""
    n, p = C.shape
    CT = C.T
    out = np.zeros((p * K, n), dtype=np.float32)
    idx = (CT + (np.arange(p) * K)[:, None]) * n + np.arange(n)[None, :]
    out.reshape(-1)[idx[CT >= 0]] = 1.0
    return out.T


# -- step 1: thresholds ---------------------------------------------------------------------

def thresholds(counts: np.ndarray, n_categories: np.ndarray) -> List[np.ndarray]:
    """Each item's thresholds: normal quantiles of its cumulative proportions.

    Examples
    --------
    >>> import numpy as np
    >>> [t.round(4).tolist() for t in thresholds(np.array([[1.0, 2.0, 1.0]]), np.array([3]))]
    [[-0.6745, 0.6745]]
    """
    out = []
    for c, k in zip(counts, n_categories):
        cum = np.cumsum(c[:k]) / c[:k].sum()
        out.append(ndtri(cum[:-1]))
    return out


def grid(th: Sequence[np.ndarray], K: int) -> torch.Tensor:
    """(p, K+1) cut points per item: -BOUND, its thresholds, then BOUND
    (repeated past its last category)."""
    out = np.full((len(th), K + 1), BOUND)
    out[:, 0] = -BOUND
    for v, t in enumerate(th):
        out[v, 1:len(t) + 1] = t
    return torch.as_tensor(out)


# -- step 2: polychoric correlations ---------------------------------------------------

@dataclass
class CellProbabilities:
    """P (n_pairs, K, K) of every cell at rho, dP/drho and d2P/drho2."""

    P: torch.Tensor
    dP: torch.Tensor
    d2P: torch.Tensor


def _corners(F: torch.Tensor) -> torch.Tensor:
    """Cell values from values at the cut points (upper-upper minus ...)."""
    return F[:, 1:, 1:] - F[:, :-1, 1:] - F[:, 1:, :-1] + F[:, :-1, :-1]


def cell_probabilities(gi: torch.Tensor, gj: torch.Tensor, rho: torch.Tensor,
                       second: bool = True) -> CellProbabilities:
    """Cell probabilities of pairs with cut points gi, gj (n_pairs, K+1).

    Only the inner cut points need the bivariate normal: at -BOUND the
    distribution function is 0, at BOUND it is the other margin, and the
    density (and its derivative) vanish on the boundary."""
    h, k, r = gi[:, 1:-1, None], gj[:, None, 1:-1], rho[:, None, None]
    pdf = bvn_pdf(h, k, r)
    s = 1.0 - r * r
    d2 = pdf * (r / s + (h * k * (1.0 + r * r) - r * (h * h + k * k)) / (s * s)) \
        if second else pdf
    F = _bordered(bvn_cdf(h, k, r), norm_cdf(gi[:, 1:-1]), norm_cdf(gj[:, 1:-1]))
    return CellProbabilities(_corners(F), _corners(_bordered(pdf)), _corners(_bordered(d2)))


def _bordered(inner: torch.Tensor, row_margin=None, col_margin=None) -> torch.Tensor:
    """Values at all cut points from those at the inner ones: 0 on the lower
    borders, the margins on the upper ones (1 in the corner); 0 throughout
    the borders without margins (the density)."""
    n, a, b = inner.shape
    out = inner.new_zeros((n, a + 2, b + 2))
    out[:, 1:-1, 1:-1] = inner
    if row_margin is not None:
        out[:, 1:-1, -1] = row_margin
        out[:, -1, 1:-1] = col_margin
        out[:, -1, -1] = 1.0
    return out


def adjusted_tables(t: Tables) -> torch.Tensor:
    """The tables the correlations are estimated from: lavaan adds 0.5 to a
    single empty cell of a 2 x 2 table (keeping the margins) and warns about
    tables with empty cells."""
    K = t.n_categories
    first, second = t.pairs
    out = torch.as_tensor(t.tables.copy())
    inside = (np.arange(out.shape[1])[None, :, None] < K[first][:, None, None]) \
        & (np.arange(out.shape[2])[None, None, :] < K[second][:, None, None])
    empty = ((t.tables == 0) & inside).any(axis=(1, 2))
    if empty.any():
        names = [f"{t.names[a]} x {t.names[b]}" for a, b in zip(first[empty], second[empty])]
        warnings.warn(f"{int(empty.sum())} bivariate table(s) of ordered items have empty cells "
                      f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}); as lavaan, "
                      "a single empty cell of a 2 x 2 table gets 0.5 (margins kept), other "
                      "tables are used as they are", ZeroCellWarning, stacklevel=3)
    for k in np.flatnonzero(empty & (K[first] == 2) & (K[second] == 2)):
        zero = (t.tables[k, :2, :2] == 0)
        if zero.sum() == 1:
            sign = 1.0 if zero[0, 0] or zero[1, 1] else -1.0
            out[k, :2, :2] += sign * torch.tensor([[0.5, -0.5], [-0.5, 0.5]], dtype=out.dtype)
    return out


def polychoric(t: Tables, th: Sequence[np.ndarray], tol: float = 1e-11,
               max_iter: int = 100) -> np.ndarray:
    """The polychoric correlation matrix, all pairs at once by Newton steps on
    the two-step likelihood (scoring steps where it is not concave), within
    lavaan's bounds (-0.999, 0.999).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> z = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], 20000)
    >>> t = tables(pd.DataFrame(np.digitize(z, [-0.5, 0.4]), columns=["a", "b"]), ["a", "b"])
    >>> round(float(polychoric(t, thresholds(t.counts, t.n_categories))[0, 1]), 2)
    0.5
    """
    K = t.counts.shape[1]
    g = grid(th, K)
    first, second = t.pairs
    gi, gj = g[first], g[second]
    n = adjusted_tables(t)
    rho = _start(t)
    state = _likelihood(gi, gj, rho, n)
    for _ in range(max_iter):
        ll, score, hess, opg = state
        step = torch.where(hess < 0, -score / hess,
                           torch.where(opg > 0, score / opg.clamp(min=1e-300), 0.0))
        new, state = _halve_until_better(gi, gj, rho, step, n, ll)
        done = bool(((new - rho).abs() < tol).all())
        rho = new
        if done:
            break
    R = np.eye(len(t.names))
    R[first, second] = R[second, first] = rho.numpy()
    near = np.abs(rho.numpy()) > 0.99
    for a, b in zip(first[near], second[near]):
        warnings.warn(f"the polychoric correlation of {t.names[a]} and {t.names[b]} is "
                      "(nearly) 1", PolychoricWarning, stacklevel=2)
    return R


def _likelihood(gi, gj, rho, n):
    """Log-likelihood of the tables n at rho, its score, Hessian and the
    outer product of the cell scores (all per pair)."""
    cp = cell_probabilities(gi, gj, rho)
    ok = n > 0
    P = torch.where(ok, cp.P, torch.ones_like(cp.P))
    u = cp.dP / P
    ll = (n * torch.log(P.clamp(min=1e-300))).sum((1, 2))
    return (ll, (n * u).sum((1, 2)), (n * (cp.d2P / P - u * u)).sum((1, 2)),
            (n * u * u).sum((1, 2)))


def _halve_until_better(gi, gj, rho, step, n, ll, tries: int = 40) -> torch.Tensor:
    """rho + step within lavaan's bounds, the step halved for the pairs
    whose likelihood it lowers (a safeguard for tables with empty cells),
    and the likelihood there."""
    for _ in range(tries):
        new = (rho + step).clamp(-0.999, 0.999)
        state = _likelihood(gi, gj, new, n)
        worse = state[0] < ll - 1e-10 * ll.abs()
        if not bool(worse.any()):
            return new, state
        step = torch.where(worse, step / 2, step)
    new = torch.where(worse, rho, new)
    return new, _likelihood(gi, gj, new, n)


def _start(t: Tables) -> torch.Tensor:
    """Pearson correlations of the category codes (lavaan's start)."""
    K = t.counts.shape[1]
    first, second = t.pairs
    c = np.arange(K, dtype=float)
    tab = t.tables
    tot = tab.sum((1, 2))
    pa, pb = tab.sum(2) / tot[:, None], tab.sum(1) / tot[:, None]
    ma, mb = pa @ c, pb @ c
    va, vb = pa @ c ** 2 - ma ** 2, pb @ c ** 2 - mb ** 2
    cov = np.einsum("kab,a,b->k", tab, c, c) / tot - ma * mb
    r = np.where((va > 0) & (vb > 0), cov / np.sqrt(np.maximum(va * vb, 1e-300)), 0.0)
    return torch.as_tensor(np.clip(r, -0.9, 0.9))


def check_positive_definite(R: np.ndarray, names: Sequence[str]) -> None:
    """lavaan warns when the polychoric matrix is not positive definite."""
    smallest = float(np.linalg.eigvalsh(R)[0])
    if smallest <= 0:
        warnings.warn(f"the polychoric correlation matrix of {', '.join(names)} is not positive "
                      f"definite (smallest eigenvalue {smallest:.3g}); the estimates may be "
                      "unstable: check for items that are (nearly) redundant or tables with "
                      "empty cells", PolychoricWarning, stacklevel=3)


__all__ = ["Tables", "tables", "thresholds", "polychoric", "cell_probabilities", "grid", "codes",
           "norm_cdf", "norm_pdf", "coded_chunks"]
