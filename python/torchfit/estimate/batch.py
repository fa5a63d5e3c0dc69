"""Many ML fits of one model at once (the bootstrap's replicates).

Each of R replicates has its own sample moments.  Fisher scoring runs on all
of them as one batch of tensors: an (R, q) parameter matrix, (R, q, p, p)
Jacobians of Sigma and (R, q, q) expected information matrices, from the
same discrepancy, gradient and information as a single fit
(:class:`torchfit.estimate.ml.Objective` with batched moments; the model's
Jacobians carry the batch dimension).  A replicate is done when its Newton
decrement falls below ``tol``; one whose information is singular or whose
step cannot lower F is left to :func:`torchfit.estimate.ml.fit_ml`, one at a
time (there are few), from the same start and with no other: lavaan fits a
bootstrap replicate once (``optim.attempts = 1``) from the original
estimates, and a replicate whose path from there does not converge is a
failed draw, not one to reach from other starts (on a likelihood with
several optima other starts find optima lavaan's path never reaches, e.g. a
factor's sign flipped through a marker loading near zero).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .ml import GroupMoments, Objective, fit_ml

#: Fisher-scoring iterations of the batch before the stragglers go one by one
BATCH_ITERATIONS = 50
#: halvings of a step before the batch gives a replicate up
HALVINGS = 30


@dataclass
class BatchResult:
    """The R fits: estimates, lavaan's fmin (F/2) and whether each converged."""

    x: np.ndarray  # (R, q)
    fmin: np.ndarray  # (R,)
    converged: np.ndarray  # (R,) bool
    iterations: int  # scoring iterations of the batch
    one_by_one: int  # replicates the batch left to fit_ml


def _values(obj: Objective, X: torch.Tensor):
    """F of every replicate (inf where Sigma is not positive definite) and the
    objective's state, as ``Objective.value`` gives it for one fit."""
    total, states = 0.0, []
    ok = torch.ones(X.shape[0], dtype=torch.bool, device=X.device)
    for part, weight in obj.parts:
        mats = part.model.matrices(X)
        sigma, A = part.model.implied(mats)
        L, info = torch.linalg.cholesky_ex(sigma)
        bad = info != 0
        ok &= ~bad
        if bool(bad.any()):  # a harmless factor where Sigma is not positive definite
            L = torch.where(bad[:, None, None], torch.eye(L.shape[-1], dtype=L.dtype), L)
        F, state = part.discrepancy(mats, sigma, A, L)
        total = total + weight * F
        states.append(state)
    total = torch.where(ok & torch.isfinite(total), total, torch.full_like(total, np.inf))
    return total, (total, states)


def _subset(groups: Sequence[GroupMoments], rows: np.ndarray) -> Objective:
    """F_ML of the replicates ``rows`` only."""
    return Objective([GroupMoments(g.model, g.cov[rows], None if g.mean is None else g.mean[rows],
                                   g.nobs) for g in groups])


def _derivatives(groups: Sequence[GroupMoments], rows: np.ndarray, X: torch.Tensor,
                 quasi: np.ndarray):
    """F, the gradient and the expected information of the replicates ``rows``;
    only the gradient (H zero) for those in ``quasi``, whose Hessian comes
    from BFGS updates."""
    F = X.new_empty(len(rows))
    g = X.new_empty((len(rows), X.shape[1]))
    H = X.new_zeros((len(rows), X.shape[1], X.shape[1]))
    for part, gradient_only in ((~quasi, False), (quasi, True)):
        if not part.any():
            continue
        obj = _subset(groups, rows[part])
        F[part], state = _values(obj, X[rows[part]])
        if gradient_only:
            g[part] = obj.derivatives(state, gradient_only=True)
        else:
            g[part], H[part] = obj.derivatives(state)
    return F, g, H


def _steps(g: torch.Tensor, H: torch.Tensor):
    """The scoring steps H^-1 (-g) of every replicate (scaled to a unit
    diagonal first) and which could be taken (H positive definite)."""
    d = torch.sqrt(torch.diagonal(H, dim1=-2, dim2=-1).abs().clamp_min(1e-150))
    L, info = torch.linalg.cholesky_ex(H / (d[..., :, None] * d[..., None, :]))
    step = torch.cholesky_solve((-g / d)[..., None], L)[..., 0] / d
    return torch.nan_to_num(step), info == 0


def _bfgs(H: torch.Tensor, s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """BFGS updates of every replicate's Hessian approximation; kept where
    the curvature condition fails."""
    Hs = (H @ s[..., None])[..., 0]
    sy, sHs = (s * y).sum(-1), (s * Hs).sum(-1)
    ok = (sy > 1e-300) & (sHs > 1e-300)
    new = H - Hs[:, :, None] * Hs[:, None, :] / torch.where(ok, sHs, 1.0)[:, None, None] \
        + y[:, :, None] * y[:, None, :] / torch.where(ok, sy, 1.0)[:, None, None]
    return torch.where(ok[:, None, None], new, H)


def _line_search(obj: Objective, X, F, step, decrement, moving):
    """Backtracking (Armijo) per replicate: the share of ``step`` each takes
    (0 where no halving lowers F)."""
    t = torch.where(moving, 1.0, 0.0).to(X.dtype)
    accepted = ~moving
    slack = 1e-13 * F.abs().clamp_min(1.0)
    for _ in range(HALVINGS):
        trial, _ = _values(obj, X + t[:, None] * step)
        good = trial <= F - 1e-4 * t * decrement + slack
        accepted = accepted | good
        if bool(accepted.all()):
            break
        t = torch.where(accepted, t, t / 2)
    return torch.where(accepted, t, torch.zeros_like(t))


def fit_ml_batch(groups: Sequence[GroupMoments], x0: np.ndarray,
                 tol: float = 1e-10) -> BatchResult:
    """Minimise F_ML for R samples at once.

    Parameters
    ----------
    groups : sequence of GroupMoments
        One per group, as for :func:`fit_ml`, with ``cov`` (R, p, p) and
        ``mean`` (R, p) (or None): one sample per replicate.
    x0 : ndarray
        The start of every replicate (the estimates of the original sample).
    tol : float
        Done when the Newton decrement g'H^-1 g is below it.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> from torchfit.model.matrices import Model
    >>> from torchfit.estimate.start import lavaan_start, reduced_start
    >>> m = Model(parse("f =~ x1 + x2 + x3", std_lv=True))
    >>> S = np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]])
    >>> v = lavaan_start(m, S); m.fixed_values(v)
    >>> out = fit_ml_batch([GroupMoments(m, np.stack([S, 2 * S]), None, 100)],
    ...                    reduced_start(m, v))
    >>> np.round(out.x, 6).tolist()
    [[1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [1.414214, 1.414214, 1.414214, 2.0, 2.0, 2.0]]
    """
    model = groups[0].model
    R = groups[0].cov.shape[0]
    X = torch.as_tensor(x0, dtype=model.dtype, device=model.device).expand(R, -1).clone()
    done, stuck = np.zeros(R, dtype=bool), np.zeros(R, dtype=bool)
    # The expected information depends on the parameters only, not on the
    # sample: at x0 it is one matrix for all replicates, the start of their
    # BFGS updates (quasi-Newton from the first step; Fisher scoring where a
    # step fails).
    first = _subset(groups, np.arange(1))
    H0 = first.derivatives(_values(first, X[:1])[1])[1][0]
    quasi, fresh = np.ones(R, dtype=bool), np.ones(R, dtype=bool)
    last = [X.clone(), torch.zeros_like(X), H0.expand(R, -1, -1).clone()]
    iterations = 0
    for iterations in range(1, BATCH_ITERATIONS + 1):
        rows = np.flatnonzero(~done & ~stuck)  # only the replicates still moving
        if not len(rows):
            break
        F, g, H = _derivatives(groups, rows, X, quasi[rows])
        if quasi[rows].any():
            updated = _bfgs(last[2][rows], X[rows] - last[0][rows], g - last[1][rows])
            updated = torch.where(torch.as_tensor(fresh[rows])[:, None, None], last[2][rows],
                                  updated)
            H = torch.where(torch.as_tensor(quasi[rows])[:, None, None], updated, H)
        fresh[rows] = False
        step, solvable = _steps(g, H)
        decrement = -(g * step).sum(-1)
        moving = solvable & torch.isfinite(F)
        t = _line_search(_subset(groups, rows), X[rows], F, step, decrement, moving)
        last[0][rows], last[1][rows], last[2][rows] = X[rows], g, H
        X[rows] = X[rows] + t[:, None] * step
        small, moved = (decrement < tol).cpu().numpy(), (t > 0).cpu().numpy()
        moving = moving.cpu().numpy()
        done[rows] = moving & small
        # a failed quasi-Newton step falls back to Fisher scoring; a failed scoring step stops
        stuck[rows] = ~moving | (~moved & ~small & ~quasi[rows])
        quasi[rows] = moved
    fmin = np.full(R, np.nan)
    finished = np.flatnonzero(done)
    if len(finished):
        fmin[finished] = _values(_subset(groups, finished), X[finished])[0].cpu().numpy() / 2
    left = np.flatnonzero(~done).tolist()
    x, converged = X.cpu().numpy(), done.copy()
    for r in left:  # the stragglers: a single fit from x0 alone, as lavaan's one attempt
        single = [GroupMoments(g.model, g.cov[r], None if g.mean is None else g.mean[r], g.nobs)
                  for g in groups]
        out = fit_ml(single, x0)
        x[r], fmin[r], converged[r] = out.x, out.fmin, out.converged
    return BatchResult(x, fmin, converged, iterations, len(left))
