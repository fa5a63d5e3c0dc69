"""The asymptotic covariance (lavaan's NACOV, Gamma) of thresholds and polychorics.

Muthén's (1984) estimator as lavaan's ``muthen1984`` forms it: with s_i the
per-case scores of the univariate (thresholds) and bivariate (correlation)
likelihoods and B the block-triangular matrix of their derivatives,

    Gamma = N * B^-1 (sum_i s_i s_i') B^-T.

A case's scores depend only on its categories, so B and each case's
influence psi_i = B^-1 s_i are tables indexed by categories: one row of
thresholds per item and category, one cell per pair and pair of categories.
The data are read once more to sum psi_i psi_i' block by block (float64),
so memory stays p*^2 whatever N.  A missing value contributes a zero score
(lavaan's pairwise handling).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import List, Sequence

import numpy as np
import torch
from scipy.linalg import blas

from .bivariate import norm_cdf, norm_pdf
from .polychoric import CHUNK_ROWS, Tables, cell_probabilities, coded_chunks, codes, grid
from .reader import reduced

_BLOCK = 2048


@dataclass
class Influence:
    """Per-category influence tables: ``th`` (p, K + 1, T) for the thresholds
    (T = K - 1 columns, those past an item's own thresholds zero) and
    ``cor`` (n_pairs, K + 1, K + 1) for the correlations; category K
    stands for a missing value."""

    th: torch.Tensor
    cor: torch.Tensor
    n_thresholds: np.ndarray


def _univariate_scores(th: Sequence[np.ndarray], K: int) -> torch.Tensor:
    """d log P(category c) / d threshold t, (p, K, K-1)."""
    g = grid(th, K)
    P = norm_cdf(g[:, 1:]) - norm_cdf(g[:, :-1])
    dens = norm_pdf(g[:, 1:-1])  # the thresholds' densities, (p, K-1)
    S = torch.zeros((len(th), K, K - 1), dtype=torch.float64)
    idx = torch.arange(K - 1)
    safe = torch.where(P > 0, P, torch.ones_like(P))
    S[:, idx, idx] = dens / safe[:, :-1]          # upper bound of category t
    S[:, idx + 1, idx] = -dens / safe[:, 1:]      # lower bound of category t + 1
    for v, t in enumerate(th):  # past the item's own categories
        S[v, len(t) + 1:, :] = 0.0
        S[v, :, len(t):] = 0.0
    return S


def _threshold_influence(S: torch.Tensor, counts: torch.Tensor, n_th: np.ndarray):
    """A11 per item (the outer product of its scores, lavaan's 'sparse'
    A11) and the thresholds' influence S A11^-1."""
    A11 = torch.einsum("vc,vct,vcu->vtu", counts, S, S)
    T = S.shape[2]
    pad = torch.as_tensor(np.arange(T)[None, :] >= n_th[:, None])
    A11 = A11 + torch.diag_embed(pad.to(A11.dtype))  # unit diagonal past the thresholds
    return S @ torch.linalg.inv(A11)


def _cross_derivatives(g_own, g_other, rho, Q, transpose: bool):
    """A21 of one side: sum over cells of n * score_rho * dlogP / dthreshold."""
    s = torch.sqrt(1.0 - rho * rho)[:, None, None]
    h, k = g_own[:, 1:-1, None], g_other[:, None, :]
    G = norm_pdf(h) * norm_cdf((k - rho[:, None, None] * h) / s)  # (n_pairs, K-1, K+1)
    D = G[:, :, 1:] - G[:, :, :-1]  # d P / d threshold at the cell's upper bound
    Qo = Q.transpose(1, 2) if transpose else Q
    return (D * (Qo[:, :-1, :] - Qo[:, 1:, :])).sum(2)


def influence(t: Tables, th: Sequence[np.ndarray], R: np.ndarray) -> Influence:
    """The influence tables of thresholds ``th`` and polychorics ``R``."""
    K = t.counts.shape[1]
    n_th = t.n_categories - 1
    counts = torch.as_tensor(t.counts)
    psi_th = _threshold_influence(_univariate_scores(th, K), counts, n_th)
    first, second = t.pairs
    g = grid(th, K)
    gi, gj = g[first], g[second]
    rho = torch.as_tensor(R[first, second])
    cp = cell_probabilities(gi, gj, rho, second=False)
    n = torch.as_tensor(t.tables)
    P = torch.where(cp.P > 0, cp.P, torch.ones_like(cp.P))
    sc = torch.where(cp.P > 0, cp.dP / P, torch.zeros_like(P))
    Q = n * sc / P
    a21_i = _cross_derivatives(gi, gj, rho, Q, transpose=False)  # (n_pairs, K-1)
    a21_j = _cross_derivatives(gj, gi, rho, Q, transpose=True)
    a22 = (n * sc * sc).sum((1, 2))
    # a last row of zeros: the category "missing" (code K)
    psi_th = torch.cat([psi_th, torch.zeros_like(psi_th[:, :1])], 1)
    sc = torch.nn.functional.pad(sc, (0, 1, 0, 1))
    corr_i = torch.einsum("kt,kat->ka", a21_i, psi_th[first])
    corr_j = torch.einsum("kt,kbt->kb", a21_j, psi_th[second])
    # a case missing one item of the pair still moves the pair through the
    # other item's thresholds (lavaan's B^-1 applied to a zero pair score)
    psi_cor = (sc - corr_i[:, :, None] - corr_j[:, None, :]) / a22[:, None, None]
    return Influence(psi_th, psi_cor, n_th)


def nacov(data, names: Sequence[str], t: Tables, th: Sequence[np.ndarray], R: np.ndarray,
          columns=None, chunk_rows: int = CHUNK_ROWS, device=None,
          listwise: bool = False) -> np.ndarray:
    """lavaan's NACOV of (thresholds, correlations) in lavaan's order: every
    item's thresholds, then the correlations x1~~x2, x1~~x3, ..., x2~~x3, ...

    ``device`` (e.g. "cuda") sums the outer products there (float64).  On a
    rank's shard (``t`` then holds every rank's tables, so the influences are
    the whole data's), the ranks' sums are added in rank order.
    """
    lookup = _Lookup(influence(t, th, R), t.n)
    read = partial(_outer_sums, data, names, lookup, t.levels, columns, chunk_rows, device,
                   listwise)
    return reduced(data, read, sum) / t.n


def _outer_sums(data, names, lookup: "_Lookup", levels, columns, chunk_rows, device,
                listwise) -> np.ndarray:
    """sum_i (N psi_i)(N psi_i)' over the rows of ``data``."""
    acc = _Accumulator(lookup.q, device)
    for X in coded_chunks(data, names, columns, chunk_rows, listwise):
        C = codes(X, levels).T
        C = np.where(C < 0, lookup.K, C)
        # a few thousand cases at a time: their indices stay in the cache
        for s in range(0, C.shape[1], _BLOCK):
            acc.add(lookup.cases(C[:, s:s + _BLOCK]))
    return acc.total()


class _Lookup:
    """The influence tables as look-up tables, scaled by N so that a case's
    influences are O(1) (Gamma = N sum psi psi' = sum (N psi)(N psi)' / N).
    ``cases`` gives the influences of a block of cases, one row per
    statistic (q, rows): a case's threshold influences are a row of its
    item's table, those of a pair a cell of the pair's table, taken item by
    item (the pairs of an item are contiguous in lavaan's order), with no
    index wider than one item's pairs."""

    def __init__(self, inf: Influence, n: int):
        self.K = inf.th.shape[1] - 1
        self.n_th = inf.n_thresholds
        self.th = [(n * inf.th[v, :, :k]).T.numpy().copy()  # (k, K + 1)
                   for v, k in enumerate(self.n_th)]
        self.cor = (n * inf.cor).reshape(-1).numpy()
        p = len(self.n_th)
        self.start = int(self.n_th.sum())  # the row of the first correlation
        self.q = self.start + p * (p - 1) // 2
        # pair (i, j) (lavaan's order) in cells (a, b) is at cell offset
        # (first[i] + j - i - 1) (K+1)^2 + a (K+1) + b, first[i] the number of
        # pairs before item i's: an item-i part plus a part of j alone
        cells = (self.K + 1) ** 2
        self.first_pair = np.concatenate([[0], np.cumsum(np.arange(p - 1, 0, -1))])
        self.row_part = (self.first_pair[:-1] - np.arange(p - 1) - 1) * cells
        self.col_part = (np.arange(p) * cells)[:, None]

    def cases(self, C: np.ndarray) -> np.ndarray:
        """(q, rows) influences of the cases with category codes ``C``
        (p, rows), code K for a missing value."""
        Z = np.empty((self.q, C.shape[1]))
        row = 0
        # mode="clip": no bounds check and no buffering (the codes are in range)
        for v, tab in enumerate(self.th):
            tab.take(C[v], axis=1, out=Z[row:row + len(tab)], mode="clip")
            row += len(tab)
        own = C * (self.K + 1)
        other = C + self.col_part
        idx = np.empty_like(other)
        for i in range(len(self.th) - 1):
            a, b = self.first_pair[i], self.first_pair[i + 1]
            part = idx[:b - a]
            np.add(other[i + 1:], own[i] + self.row_part[i], out=part)
            self.cor.take(part, out=Z[self.start + a:self.start + b], mode="clip")
        return Z


class _Accumulator:
    """Sums Z Z' over blocks Z (q, rows), float64: BLAS's symmetric rank-k
    update (half the flops of a product) on the CPU, a product on a GPU.
    (float32 would halve the time again, but its round-off, about 1e-6 of
    Gamma's largest element, is as large as the agreement with lavaan's
    Gamma that the tests hold.)"""

    def __init__(self, q: int, device=None):
        self.gpu = device is not None and torch.device(device).type != "cpu"
        self.device = device
        self.acc = torch.zeros((q, q), dtype=torch.float64, device=device) if self.gpu \
            else np.zeros((q, q), order="F")

    def add(self, Z: np.ndarray) -> None:
        if self.gpu:
            Zd = torch.as_tensor(Z, device=self.device)
            self.acc += Zd @ Zd.T
        else:  # Z Z' into the upper triangle of acc, in place (Z.T is Fortran-ordered)
            self.acc = blas.dsyrk(1.0, Z.T, trans=1, beta=1.0, c=self.acc, overwrite_c=True)

    def total(self) -> np.ndarray:
        if self.gpu:
            return self.acc.cpu().numpy()
        upper = np.triu(self.acc)
        return upper + np.triu(upper, 1).T


def wls_obs(th: Sequence[np.ndarray], R: np.ndarray) -> np.ndarray:
    """lavaan's WLS.obs: the thresholds, then the correlations (pairs in lavaan's order)."""
    first, second = np.triu_indices(R.shape[0], 1)
    return np.concatenate([np.concatenate(th), R[first, second]])


def obs_names(names: Sequence[str], th: Sequence[np.ndarray]) -> List[str]:
    """lavaan's names of WLS.obs: x1|t1, ..., x1~~x2, ..."""
    first, second = np.triu_indices(len(names), 1)
    return [f"{v}|t{k + 1}" for v, t in zip(names, th) for k in range(len(t))] + \
        [f"{names[a]}~~{names[b]}" for a, b in zip(first, second)]
