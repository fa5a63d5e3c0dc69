"""The casewise pieces of lavaan's robust inference when the rows count one by one:
with sampling weights, clusters or missing values the first-order information
("meat") is the mean outer product of the rows' scores, not a function of Gamma.

- ``scores``: each row's gradient of its Gaussian log-likelihood in lavaan's
  coordinates (mean, vech Sigma), over its observed values
  (``lav_mvnorm_missing_scores_mu_vech_sigma``; the off-diagonal elements of
  Sigma counted once, the diagonal halved).
- ``first_order``: B1 = sum of the (weighted, cluster-summed) scores' outer
  products / N, with lavaan's nC / (nC - 1) correction for clusters.
- ``h1_observed``: the observed information of complete data's unrestricted
  model at given moments (``lav_mvnorm_information_observed_samplestats``).
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.cases import Cases
from ..data.gamma import vech_index


def scores(X: np.ndarray, mu: np.ndarray, sigma: np.ndarray, means: bool = True) -> np.ndarray:
    """The rows' scores at (mu, sigma), one row each; NaN marks a missing value,
    whose entries score 0.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [0.0, np.nan]])
    >>> scores(X, np.zeros(2), np.eye(2)).round(2).tolist()
    [[1.0, 2.0, 0.0, 2.0, 1.5], [0.0, 0.0, -0.5, 0.0, 0.0]]
    """
    p = X.shape[1]
    I, J = vech_index(p)
    seen = np.isfinite(X)
    centred = np.where(seen, X - mu, 0.0)
    Yc = np.zeros_like(centred)
    vech_inv = np.zeros((X.shape[0], len(I)))
    keys, inverse = np.unique(seen, axis=0, return_inverse=True)
    for k, key in enumerate(keys):
        rows, o = np.flatnonzero(np.asarray(inverse).reshape(-1) == k), np.flatnonzero(key)
        inv = np.zeros((p, p))
        inv[np.ix_(o, o)] = np.linalg.inv(sigma[np.ix_(o, o)])
        Yc[rows] = centred[rows] @ inv
        vech_inv[rows] = inv[I, J]
    sc = Yc[:, I] * Yc[:, J] - vech_inv
    sc[:, I == J] /= 2
    return np.hstack([Yc, sc]) if means else sc


def first_order(case: Cases, mu: np.ndarray, sigma: np.ndarray, means: bool = True,
                correct: bool = True) -> torch.Tensor:
    """lavaan's first-order information of one group at (mu, sigma): the outer
    products of its rows' scores (times their weights; summed within clusters,
    times nC / (nC - 1) unless ``correct`` is False, as lavaan's Gamma of
    clustered data) over N (the sum of the weights, or the rows).

    Examples
    --------
    >>> X = np.array([[1.0], [-1.0], [2.0], [-2.0]])
    >>> float(first_order(Cases(X), np.zeros(1), np.eye(1), means=False)[0, 0])
    1.125
    """
    sc = scores(case.X, mu, sigma, means)
    n = float(case.rows)
    if case.weights is not None:
        sc = sc * case.weights[:, None]
        n = case.weight_sum
    factor = 1.0
    if case.cluster is None:
        outer = case.summed(sc.T @ sc)[0]
    else:
        outer = _cluster_outer(case, sc)
        nc = case.n_clusters
        factor = nc / (nc - 1) if correct else 1.0
    return torch.as_tensor(factor * outer / n, dtype=torch.float64)


def _cluster_outer(case: Cases, sc: np.ndarray) -> np.ndarray:
    """The sum over clusters of the outer products of their summed scores.

    On one rank of a data-parallel fit a cluster may have rows on other ranks too
    (the shards are blocks of rows, which may cut a cluster; assigning rows to
    ranks by cluster instead would need every rank to read the whole cluster
    column first, and would still split nothing else): the totals of the clusters
    that several ranks hold are added over the ranks, keyed by the cluster, before
    their outer products; the others' outer products are summed on their rank.
    Exact on any input; the ranks exchange q x q numbers plus q per shared cluster
    (with rows sorted by cluster, at most one per boundary between ranks)."""
    summed = np.zeros((len(np.unique(case.cluster)), sc.shape[1]))  # codes 0, 1, ...
    np.add.at(summed, case.cluster, sc)
    if case.comm is None:
        return summed.T @ summed
    local, where, n_shared = case.shared
    own = np.ones(len(summed), dtype=bool)
    own[local] = False
    totals = np.zeros((n_shared, sc.shape[1]))
    totals[where] = summed[local]
    outer, totals = case.comm.all_sum(summed[own].T @ summed[own], totals)
    return outer + totals.T @ totals


def h1_observed(mean: np.ndarray, cov: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                means: bool = True) -> torch.Tensor:
    """The observed information (Hessian of -logl / N) of complete data with
    sample moments (mean, cov), in (mu, vech Sigma), at (mu, sigma).

    Examples
    --------
    >>> h = h1_observed(np.zeros(1), np.eye(1), np.zeros(1), np.eye(1))
    >>> h.numpy().round(3).tolist()
    [[1.0, 0.0], [0.0, 0.5]]
    """
    p = len(mean)
    I, J = (torch.as_tensor(a) for a in vech_index(p))
    m, S = (torch.as_tensor(a, dtype=torch.float64) for a in (mean, cov))

    def f(theta):
        mu_, v = (theta[:p], theta[p:]) if means else (torch.as_tensor(mu), theta)
        sig = torch.zeros((p, p), dtype=theta.dtype).index_put((I, J), v)
        sig = sig + sig.T - torch.diag(torch.diagonal(sig))
        d = m - mu_
        inv = torch.linalg.inv(sig)
        return 0.5 * (torch.logdet(sig) + torch.trace(inv @ (S + torch.outer(d, d))))

    vech = np.asarray(sigma)[I.numpy(), J.numpy()]
    theta = torch.as_tensor(np.concatenate([mu, vech]) if means else vech, dtype=torch.float64)
    H = torch.autograd.functional.hessian(f, theta)
    return (H + H.T) / 2


def trace_h1(B1: torch.Tensor, A1: torch.Tensor) -> float:
    """tr(B1 A1^-1): the h1 part of the Yuan-Bentler (Mplus) trace.

    Examples
    --------
    >>> trace_h1(torch.eye(2), 2 * torch.eye(2))
    1.0
    """
    return float((B1 * torch.linalg.inv(A1).T).sum())
