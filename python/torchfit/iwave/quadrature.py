"""The marginal likelihood of an IRT model by Gauss-Hermite quadrature.

    log p(y_i) = log sum_q w_q p(y_i | eta_q),   eta_q = mu + C x_q

with x_q the nodes of a tensor-product Gauss-Hermite rule for N(0, I)
(nodes of negligible weight pruned: :data:`PRUNE`) and mu, C the mean and Cholesky factor of
the factors' prior, both read from the parameter table through
:class:`~torchfit.iwave.networks.Structure` (so identification, fixed values,
factor regressions and correlations act as in IWAVE).

The item likelihoods are those of :mod:`torchfit.iwave.items`.  A categorical
item's log-probabilities are tabulated once per (node, category), and the
rows' log-likelihoods at every node are one matrix product of the one-hot
responses with that table; identical response patterns are fitted once with
their count.  Other item types are evaluated for every row and node.
Everything is batched in torch (float64), so autograd gives the exact
gradient and Hessian of the marginal log-likelihood.

In a data-parallel fit each rank holds a quadrature of its shard of the
rows (``comm``): the log-likelihood, its gradient and its Hessian are sums
over the rows, so each rank's are summed over the ranks
(:meth:`~torchfit.distributed.comm.Communicator.all_sum`) and every rank sees
those of all the rows; the nodes adapted to each row stay the rank's own.

With observed covariates the prior mean, and so the nodes, are each row's
own: mu_r + C x_q.  Adaptive quadrature (``adaptive=True``, Schilling & Bock,
2005) centres and scales each row's nodes at its posterior mean and
covariance, c_r + L_r x_q, with the weights w_q p(eta) |L_r| / phi(x_q):
the centres come from a previous parameter value (:meth:`Quadrature.adapt`)
and stay fixed while the likelihood is maximised, so it is a smooth function
of the parameters, exact as the rule's points grow for any centres.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..errors import ModelError
from .networks import Batch, Data, Structure

#: default points per factor: the rule's error is far below 1e-4 in the
#: estimates for 1 and 2 factors (tests/reference/exact_irt.py); for 3 factors
#: about 1e-4 with the grid pruned as PRUNE says (bench/results/mml_quadrature.md:
#: 15 points, the default before, were 1e-2 off at 2,819 nodes)
DEFAULT_POINTS = {1: 61, 2: 41, 3: 41}
#: adaptive quadrature's default points per factor (bench/mml.py measures them)
ADAPTIVE_POINTS = {1: 21, 2: 11, 3: 7}
#: the fixed rule drops the nodes whose weight is below this fraction of the
#: largest: for 3 factors those outside a ball of radius sqrt(2 log 1e5) = 4.8
#: prior sd (41 points: 3,839 of 68,921 nodes; the prior mass left out ~5e-5),
#: which changes the estimates by 1e-4 and buys the finer grid; else 1e-14
PRUNE = {3: 1e-5}
#: the threshold for the other rules (the adaptive one's nodes are at each
#: row's posterior, where few are negligible)
PRUNE_DEFAULT = 1e-14


def gauss_hermite(n_factors: int, n_points: int, prune: float = PRUNE_DEFAULT
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Nodes (Q, m) and log weights (Q,) of the product rule for N(0, I_m),
    without the nodes whose weight is below ``prune`` times the largest.

    Examples
    --------
    >>> x, log_w = gauss_hermite(1, 3)
    >>> [round(v, 4) for v in x.flatten().tolist()], [round(v, 4) for v in log_w.exp().tolist()]
    ([-1.7321, 0.0, 1.7321], [0.1667, 0.6667, 0.1667])
    >>> len(gauss_hermite(3, 41, PRUNE[3])[1]), len(gauss_hermite(3, 15)[1])
    (3839, 2819)
    """
    x, w = np.polynomial.hermite_e.hermegauss(int(n_points))  # weight exp(-x^2 / 2)
    w = w / w.sum()
    grid = np.stack(np.meshgrid(*[x] * n_factors, indexing="ij"), -1).reshape(-1, n_factors)
    log_w = np.log(np.stack(np.meshgrid(*[w] * n_factors, indexing="ij"), -1)
                   .reshape(-1, n_factors)).sum(-1)
    keep = log_w >= log_w.max() + np.log(prune)
    # the kept weights sum to one again: the rule integrates constants exactly,
    # and the log-likelihood is not lowered by the prior mass left out (3.8e-5
    # per row for 3 factors' default grid)
    log_w = log_w[keep] - np.logaddexp.reduce(log_w[keep])
    return (torch.as_tensor(grid[keep], dtype=torch.float64),
            torch.as_tensor(log_w, dtype=torch.float64))


class Quadrature:
    """The data of a fit reduced to what its marginal likelihood needs.

    Parameters
    ----------
    structure : Structure
    data : Data
        The responses (continuous ones in float64).
    n_points : int
        Gauss-Hermite points per factor.
    adaptive : bool
        Per-row nodes at each row's posterior (see :meth:`adapt`).
    comm : torchfit.distributed.comm.Communicator, optional
        A data-parallel fit's ranks, over which the sums are taken; ``n`` is
        then every rank's rows, ``n_here`` this rank's.
    """

    def __init__(self, structure: Structure, data: Data, n_points: int, adaptive: bool = False,
                 comm=None):
        self.structure, self.adaptive, self.comm = structure, adaptive, comm
        device = structure.device
        m = len(structure.latent)
        nodes, log_w = gauss_hermite(m, n_points,
                                     PRUNE_DEFAULT if adaptive else PRUNE.get(m, PRUNE_DEFAULT))
        self.nodes, self.log_w = nodes.to(device), log_w.to(device)
        self.n_points = int(n_points)
        categorical = [it.categorical for it in structure.items]
        responses, covariates = data.responses, data.covariates
        if all(categorical):
            responses, covariates, self.rows, freq = _patterns(responses, covariates)
        else:
            self.rows, freq = None, np.ones(data.n)
        self.freq = torch.as_tensor(freq, dtype=torch.float64, device=device)
        self.n = self.n_here = int(freq.sum())
        if comm is not None:
            self.n = int(comm.all_sum(np.array([self.n_here]))[0][0])
        self.batch = Batch(responses, covariates, len(freq))
        self.onehot = [_one_hot(y, mk, int(it.n_categories.max())) if it.categorical else None
                       for it, (y, mk) in zip(structure.items, responses)]
        # all items categorical, one prior for all rows: the likelihood is a function
        # of the table alone; with covariates every row has its own nodes
        self.tabulated = all(categorical) and covariates is None and not adaptive
        # adaptive: each pattern's centre (R, m), Cholesky factor (R, m, m), log |L_r|
        self._centre = self._chol = self._logdet = None
        self._log_std = -0.5 * (self.nodes ** 2).sum(-1) - 0.5 * m * math.log(2 * math.pi)
        self._onehot_all = torch.cat(self.onehot, 1) if self.tabulated else None
        # rows per chunk of the untabulated likelihood: (rows x nodes x items) bounded
        self._step = max(1, 2_000_000 // (len(self.log_w) * max(1, len(structure.item_names))))

    def nodes_at(self, parts, covariates: Optional[torch.Tensor] = None
                 ) -> Optional[torch.Tensor]:
        """The factors at the nodes: mu + C x_q, (Q, m), or with covariates
        (R, m) each row's own, mu_r + C x_q (R, Q, m); None when Psi is not
        positive definite."""
        chol, info = torch.linalg.cholesky_ex(parts["psi"])
        if int(info) != 0:
            return None
        scale = self.structure.scale(parts, chol)
        mean = self.structure.prior_mean(parts, covariates)
        return (mean.unsqueeze(-2) if mean.dim() == 2 else mean) + self.nodes @ scale.T

    def log_lik_nodes(self, parts, z: torch.Tensor, batch: Optional[Batch] = None
                      ) -> torch.Tensor:
        """log p(y_r | eta_q) for every response pattern r and node q: (R, Q);
        z the nodes (Q, m) or per row (R, Q, m)."""
        s, batch = self.structure, batch or self.batch
        lp = z @ parts["lambda"].T + parts["nu"]  # (Q, p) or (R, Q, p)
        total = 0.0
        for it, sl, onehot, (y, mask) in zip(s.items, s.slices, self.onehot,
                                              batch.responses):
            if lp.dim() == 3:
                total = total + it.log_prob(lp[..., sl].transpose(0, 1), y, mask, parts).T
            elif onehot is None:
                total = total + it.log_prob(lp[:, sl].unsqueeze(1).expand(-1, y.shape[0], -1),
                                            y, mask, parts).T
            else:
                total = total + onehot @ _table(it, lp[:, sl], onehot.shape[1], parts)
        return total

    def _table_at(self, x: torch.Tensor) -> Optional[torch.Tensor]:
        """log Pr(category | node) of every (item, category) at every node, (C, Q),
        in the order of the one-hot columns; None when Psi is not positive definite."""
        parts = self.structure.parts(x)
        z = self.nodes_at(parts)
        if z is None:
            return None
        lp = z @ parts["lambda"].T + parts["nu"]
        s = self.structure
        return torch.cat([_table(it, lp[:, sl], oh.shape[1], parts)
                          for it, sl, oh in zip(s.items, s.slices, self.onehot)])

    def _posterior(self, table: torch.Tensor):
        """Per-pattern log-likelihoods (R,) and posterior weights over the nodes (R, Q)."""
        joint = self._onehot_all @ table + self.log_w
        lse = torch.logsumexp(joint, 1)
        return lse, torch.exp(joint - lse.unsqueeze(1))

    def _summed(self, value: float, *tensors: torch.Tensor):
        """``value`` and ``tensors`` summed over the ranks (as they are in one process)."""
        if self.comm is None:
            return (value, *tensors)
        out = self.comm.all_sum(np.array([value]), *(t.detach().cpu().numpy() for t in tensors))
        return (float(out[0][0]), *(torch.as_tensor(a, dtype=t.dtype, device=t.device)
                                    for a, t in zip(out[1:], tensors)))

    def value_and_grad(self, x: torch.Tensor) -> Tuple[float, torch.Tensor]:
        """The log-likelihood and its exact gradient at x (-inf and zeros when Psi
        is not positive definite), of every rank's rows."""
        return self._summed(*self._value_and_grad_here(x))

    def _value_and_grad_here(self, x: torch.Tensor) -> Tuple[float, torch.Tensor]:
        """:meth:`value_and_grad` of this rank's rows.  Tabulated: the gradient is
        that of the expected complete-data log-likelihood sum_cq N_cq log P_cq(x)
        with the expected counts N held fixed (Fisher's identity), a small graph."""
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            if not self.tabulated:
                return self._value_and_grad_rows(x)
            table = self._table_at(x)
            if table is None:
                return -math.inf, torch.zeros_like(x)
            lse, post = self._posterior(table.detach())
            counts = self._onehot_all.T @ (post * self.freq.unsqueeze(1))
            grad = torch.autograd.grad((counts * table).sum(), x)[0]
        return float(self.freq @ lse), grad

    def hessian(self, x: torch.Tensor) -> torch.Tensor:
        """The exact Hessian of the log-likelihood at x, of every rank's rows."""
        return self._summed(0.0, self._hessian_here(x))[1]

    def _hessian_here(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`hessian` of this rank's rows.  Tabulated, by Louis'
        identity: E[d2 log p(y, eta)] + Var[d log p(y, eta)] over each
        pattern's posterior, from the Jacobian of the table (nodes x categories
        x parameters), in chunks of patterns."""
        x = x.detach()
        if not self.tabulated:
            return sum(_hessian(lambda v: self._log_lik_rows(v, rows), x)
                       for rows in self._chunks())
        table = self._table_at(x)
        _, post = self._posterior(table)
        counts = self._onehot_all.T @ (post * self.freq.unsqueeze(1))
        # the complete-data curvature, with the counts fixed
        H = _hessian(lambda v: (counts * self._table_at(v)).sum(), x)
        jac = _jacobian(self._table_at, x)  # (C, Q, k)
        k = len(x)
        C, Q = table.shape
        flat = jac.reshape(C, Q * k)
        step = max(1, 4_000_000 // (Q * k))
        for start in range(0, post.shape[0], step):
            rows = slice(start, start + step)
            score = (self._onehot_all[rows] @ flat).reshape(-1, Q, k)  # d log p(y_r, eta_q)
            w = post[rows] * self.freq[rows].unsqueeze(1)
            mean = torch.einsum("rq,rqk->rk", post[rows], score)
            weighted = score * w.sqrt().unsqueeze(-1)
            H = H + weighted.reshape(-1, k).T @ weighted.reshape(-1, k) \
                - (mean * self.freq[rows].unsqueeze(1)).T @ mean
        return (H + H.T).detach() / 2

    def joint(self, parts, rows: Optional[slice] = None
              ) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
        """log w_q + log p(y_r | eta_q) (R, Q) of the patterns (or of a slice
        of them) and their nodes ((Q, m) or (R, Q, m)), or None (Psi not
        positive definite)."""
        rows = slice(None) if rows is None else rows
        batch = _batch_rows(self.batch, rows)
        if self._centre is None:
            z, log_w = self.nodes_at(parts, batch.covariates), self.log_w
        else:
            z, log_w = self._adapted_nodes(parts, batch, rows)
        if z is None:
            return None
        return self.log_lik_nodes(parts, z, batch) + log_w, z

    def _adapted_nodes(self, parts, batch: Batch, rows: slice):
        """Each pattern's nodes c_r + L_r x_q (R, Q, m) and log weights
        log w_q + log p(eta_rq) + log |L_r| - log phi(x_q) (R, Q)."""
        if int(torch.linalg.cholesky_ex(parts["psi"])[1]) != 0:
            return None, None
        z = self._centre[rows].unsqueeze(1) + self.nodes @ self._chol[rows].transpose(-1, -2)
        prior = self.structure.log_prior(z.transpose(0, 1), batch.covariates, parts).T
        return z, prior + (self.log_w - self._log_std) + self._logdet[rows].unsqueeze(1)

    def adapt(self, x: torch.Tensor, rounds: int = 1) -> None:
        """Centre and scale each pattern's nodes at its posterior mean and
        covariance under the parameters x (computed with the current nodes;
        ``rounds`` times, each with the nodes of the previous)."""
        parts = self.structure.parts(x.detach())
        eye = torch.eye(len(self.structure.latent), dtype=torch.float64, device=x.device)
        for _ in range(rounds):
            centres, chols = [], []
            with torch.no_grad():
                for rows in self._chunks():
                    joint, z = self.joint(parts, rows)
                    post = torch.softmax(joint, 1)
                    z = z.expand(post.shape[0], -1, -1) if z.dim() == 2 else z
                    mean = torch.einsum("rq,rqm->rm", post, z)
                    d = z - mean.unsqueeze(1)
                    cov = torch.einsum("rq,rqm,rqn->rmn", post, d, d)
                    centres.append(mean)
                    chols.append(torch.linalg.cholesky(cov + 1e-10 * eye))
            self._centre, self._chol = torch.cat(centres), torch.cat(chols)
            self._logdet = torch.log(torch.diagonal(self._chol, dim1=-2, dim2=-1)).sum(-1)

    def log_lik(self, x: torch.Tensor) -> float:
        """The marginal log-likelihood at the reduced parameters x (-inf when
        Psi is not positive definite), of every rank's rows."""
        with torch.no_grad():
            return self._summed(float(sum(self._log_lik_rows(x, rows)
                                          for rows in self._chunks())))[0]

    def _chunks(self) -> List[slice]:
        rows = self.batch.n
        step = rows if self.tabulated else self._step
        return [slice(a, min(a + step, rows)) for a in range(0, rows, step)]

    def _log_lik_rows(self, x: torch.Tensor, rows: slice) -> torch.Tensor:
        out = self.joint(self.structure.parts(x), rows)
        if out is None:
            return x.sum() * 0 - torch.inf
        return (self.freq[rows] * torch.logsumexp(out[0], 1)).sum()

    def _value_and_grad_rows(self, x: torch.Tensor) -> Tuple[float, torch.Tensor]:
        """The untabulated log-likelihood and gradient, chunk by chunk of rows
        (x requires grad)."""
        value, grad = 0.0, torch.zeros_like(x)
        for rows in self._chunks():
            part = self._log_lik_rows(x, rows)
            if not torch.isfinite(part):
                return -math.inf, torch.zeros_like(x)
            value += float(part.detach())
            grad += torch.autograd.grad(part, x)[0]
        return value, grad

    def per_row(self, values: torch.Tensor) -> torch.Tensor:
        """A per-pattern quantity (R, ...) expanded to the rows of the data."""
        return values if self.rows is None else values[self.rows]


def _hessian(fn, x: torch.Tensor) -> torch.Tensor:
    """The Hessian of a scalar function, one backward pass per row (batched
    gradients would import torch's vmap machinery: seconds on first use)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        g = torch.autograd.grad(fn(x), x, create_graph=True)[0]
        rows = [torch.autograd.grad(g[i], x, retain_graph=i < len(x) - 1)[0]
                for i in range(len(x))]
    H = torch.stack(rows).detach()
    return (H + H.T) / 2


def _jacobian(fn, x: torch.Tensor) -> torch.Tensor:
    """d fn(x) / dx, (*fn(x).shape, k): the vector-Jacobian product J'w is linear
    in w, so its gradient in w along each parameter is a column of J (one
    backward pass per parameter; torch's forward mode would import
    torch._dynamo for the scatter of the parameters: seconds)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = fn(x)
        w = torch.zeros_like(out, requires_grad=True)
        jtw = torch.autograd.grad(out, x, w, create_graph=True)[0]
        cols = [torch.autograd.grad(jtw[i], w, retain_graph=i < len(x) - 1)[0]
                for i in range(len(x))]
    return torch.stack(cols, -1).detach()


def _table(item, lp: torch.Tensor, width: int, parts) -> torch.Tensor:
    """A categorical item type's log Pr(y = k | node), (n * K, Q): rows (item,
    category) in the order of the one-hot columns; ``lp`` (Q, n)."""
    k = width // lp.shape[1]
    cats = torch.arange(k, device=lp.device).unsqueeze(1).expand(k, lp.shape[1])
    table = item.log_prob_items(lp.unsqueeze(1).expand(-1, k, -1), cats, parts)  # (Q, K, n)
    return table.permute(2, 1, 0).reshape(-1, table.shape[0])


def _patterns(responses, covariates: Optional[torch.Tensor]):
    """The distinct response patterns of categorical blocks (missing as -1),
    with their covariates (a pattern is a row's responses and covariates), the
    pattern of each row and their counts."""
    codes = []
    for y, mask in responses:
        c = y.long().cpu().numpy()
        codes.append(c if mask is None else np.where(mask.cpu().numpy(), c, -1))
    if covariates is not None:
        codes.append(covariates.cpu().numpy())
    joined = np.concatenate(codes, axis=1)
    unique, rows, counts = np.unique(joined, axis=0, return_inverse=True, return_counts=True)
    device = responses[0][0].device
    out, at = [], 0
    for y, _ in responses:
        block = unique[:, at:at + y.shape[1]]
        at += y.shape[1]
        seen = block >= 0
        out.append((torch.as_tensor(np.where(seen, block, 0), dtype=y.dtype, device=device),
                    None if seen.all() else torch.as_tensor(seen, device=device)))
    if covariates is not None:
        covariates = torch.as_tensor(unique[:, at:], dtype=covariates.dtype, device=device)
    return out, covariates, torch.as_tensor(rows.reshape(-1), device=device), counts


def _batch_rows(batch: Batch, rows: slice) -> Batch:
    """A slice of the patterns."""
    return Batch([(y[rows], None if mk is None else mk[rows]) for y, mk in batch.responses],
                 None if batch.covariates is None else batch.covariates[rows],
                 len(range(*rows.indices(batch.n))))


def _one_hot(y: torch.Tensor, mask: Optional[torch.Tensor], k: int) -> torch.Tensor:
    """(R, n * k) float64 indicators of the responses; all zero where missing."""
    out = torch.nn.functional.one_hot(y.long(), k).to(torch.float64)
    if mask is not None:
        out = out * mask.unsqueeze(-1)
    return out.reshape(y.shape[0], -1)


def check_factors(n_factors: int, max_factors: int) -> None:
    """A ModelError above the factor limit of quadrature.

    Examples
    --------
    >>> check_factors(2, 3)
    """
    if n_factors > max_factors:
        raise ModelError(
            f"the model has {n_factors} latent variables, more than estimator='MML' "
            f"integrates over (max_factors = {max_factors}): quadrature grows as points^factors; "
            "fit it with estimator='IWAVE' (importance-weighted variational estimation "
            "scales to many factors), or raise max_factors if the grid fits in memory")
