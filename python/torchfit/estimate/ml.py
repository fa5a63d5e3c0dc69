"""Maximum likelihood on the sample moments, by Fisher scoring.

Minimises F_ML(x) = log|Sigma| + tr(S Sigma^-1) - log|S| - p (summed over
groups with weights N_g / N) over the reduced parameter vector.  Each iteration
costs O(q^2 p^2) for q parameters and p
observed variables, whatever the number of rows: S is sufficient.  The step
solves the expected-information system H d = -g with the analytic Jacobian
of Sigma, followed by a backtracking line search on F_ML; close to the
optimum, BFGS updates of H take over, so the last steps converge
superlinearly to lavaan's optimum.

Tiny matrices are dominated by thread hand-offs, not arithmetic: the fit runs
with one torch thread (``one_thread``), which also keeps torch's spinning
worker threads from starving NumPy's BLAS on a 2-core machine.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np
import torch

from ..errors import ModelError
from ..model.matrices import Model


@dataclass
class GroupMoments:
    """What ML needs of one group: its model and sufficient statistics."""

    model: Model
    cov: np.ndarray  # N-normalised, in model.ov_names order
    mean: Optional[np.ndarray]  # with a mean structure, else None
    nobs: int


@dataclass
class MLResult:
    x: np.ndarray
    fmin: float  # F_ML / 2, lavaan's fmin (weighted over groups)
    iterations: int
    converged: bool
    sigma: List[np.ndarray]  # implied covariance matrix per group
    mu: List[Optional[np.ndarray]]  # implied mean per group, with a mean structure
    information: np.ndarray  # expected information per observation (reduced)
    # general constraints: Jacobian of the equalities and active inequalities
    constraint_jacobian: Optional[np.ndarray] = None
    n_equalities: int = 0  # general equality constraints (each removes a parameter)
    n_inequalities: int = 0
    at_bound: List[int] = field(default_factory=list)  # reduced indices held at a bound


class _Group:
    """F_ML of one group, its gradient and expected Hessian, sharing the work.

    With a mean structure F_ML gains (m - mu)' Sigma^-1 (m - mu) for the
    sample mean m: the covariance part then sees S + d d' (d = m - mu), and
    the expected Hessian gains 2 J' Sigma^-1 J for the mean Jacobian J.
    """

    def __init__(self, data: GroupMoments):
        model = self.model = data.model
        as_tensor = lambda a: torch.as_tensor(a, dtype=model.dtype, device=model.device)
        self.S = as_tensor(data.cov)
        self.mean = None if data.mean is None else as_tensor(data.mean)
        self.p = data.cov.shape[0]
        self.logdet_S = float(torch.linalg.slogdet(self.S)[1])

    def value(self, x: torch.Tensor):
        """(F, state) with state = (Sigma, Sigma^-1, A, mats, S + dd', d), or
        None when Sigma is not positive definite."""
        mats = self.model.matrices(x)
        sigma, A = self.model.implied(mats)
        L, info = torch.linalg.cholesky_ex(sigma)
        if int(info) != 0:
            return None
        F, state = self._discrepancy(mats, sigma, A, L)
        return float(F), state

    def _discrepancy(self, mats, sigma, A, L):
        """F_ML (a tensor) and the state, given the Cholesky factor L of Sigma."""
        inv = torch.cholesky_inverse(L)
        logdet = 2.0 * torch.log(torch.diagonal(L)).sum()
        S, d = self.S, None
        if self.mean is not None:
            d = self.mean - self.model.implied_mean(mats, A)
            S = S + torch.outer(d, d)
        F = logdet + (S * inv).sum() - self.logdet_S - self.p
        return F, (sigma, inv, A, mats, S, d)

    def fmin_torch(self, x: torch.Tensor) -> torch.Tensor:
        """lavaan's fmin = F_ML / 2 as a differentiable function of x (for the
        Hessian)."""
        mats = self.model.matrices(x)
        sigma, A = self.model.implied(mats)
        return self._discrepancy(mats, sigma, A, torch.linalg.cholesky(sigma))[0] / 2

    def moments(self, state):
        """Implied covariance matrix and mean (None without a mean structure)."""
        sigma, d = state[0], state[5]
        return sigma.cpu().numpy(), None if d is None else (self.mean - d).cpu().numpy()

    def derivatives(self, state, gradient_only: bool = False):
        """Gradient g and expected Hessian H of F_ML (only g if asked)."""
        sigma, inv, A, mats, S, d = state
        D = self.model.jacobian(mats, A)
        V = inv - inv @ S @ inv
        g = torch.einsum("ab,kab->k", V, D)
        if d is not None:
            J = self.model.mean_jacobian(mats, A)
            g = g - 2.0 * J @ (inv @ d)
        if gradient_only:
            return g, None
        W = inv @ D
        H = torch.einsum("iab,jba->ij", W, W)
        if d is not None:
            H = H + 2.0 * J @ inv @ J.T
        return g, H


class Objective:
    """F_ML over groups: the sum of each group's F_ML weighted by N_g / N."""

    def __init__(self, groups: Sequence[GroupMoments]):
        n = sum(g.nobs for g in groups)
        self.parts = [(_Group(g), g.nobs / n) for g in groups]

    def value(self, x: torch.Tensor):
        states, total = [], 0.0
        for part, weight in self.parts:
            out = part.value(x)
            if out is None:
                return None
            total += weight * out[0]
            states.append(out[1])
        return total, states

    def observed_information(self, x: np.ndarray) -> np.ndarray:
        """The Hessian of fmin = sum_g (N_g / N) fmin_g at x: lavaan's observed
        information per observation ("hessian"), exact by autograd (lavaan
        differentiates its analytic gradient numerically; the two agree to
        about 1e-9)."""
        xt = torch.as_tensor(x, dtype=self.parts[0][0].model.dtype)

        def fmin(v):
            return sum(w * part.fmin_torch(v) for part, w in self.parts)

        H = torch.autograd.functional.hessian(fmin, xt, vectorize=True)
        return ((H + H.T) / 2).detach().cpu().numpy()

    def derivatives(self, state, gradient_only: bool = False):
        g = H = None
        for (part, weight), st in zip(self.parts, state[1]):
            gg, hh = part.derivatives(st, gradient_only)
            g = weight * gg if g is None else g + weight * gg
            if not gradient_only:
                H = weight * hh if H is None else H + weight * hh
        return g if gradient_only else (g, H)


def fit_ml(groups: Sequence[GroupMoments], x0: np.ndarray, iter_max: int = 500,
           tol: float = 1e-14, switch: float = 1e-3, objective=None,
           constraints=None) -> MLResult:
    """Minimise F_ML from ``x0``.

    Parameters
    ----------
    groups : sequence of GroupMoments
        One per group: the Model (with its fixed values set by
        ``model.fixed_values``), the N-normalised sample covariance matrix in
        ``model.ov_names`` order, the sample mean for a model with a mean
        structure (else None) and the number of observations.
    x0 : ndarray
        Start of the reduced parameter vector (shared by the groups).
    iter_max : int
        Fisher-scoring iterations before giving up (flagged, not raised).
    tol : float
        Convergence when the squared Newton decrement g'H^-1 g falls below it.
    switch : float
        Below this decrement, BFGS updates of the Hessian replace the expected
        information: Fisher scoring converges only linearly when the model
        misfits, the secant updates make the last steps superlinear.
    objective : optional
        Another discrepancy with the interface of ``Objective`` (``value``,
        ``derivatives`` and per-group parts with ``moments``), e.g. the FIML
        one of :mod:`torchfit.estimate.fiml`; by default F_ML of ``groups``.
    constraints : torchfit.model.constraints.Constraints, optional
        General equality and inequality constraints; they switch to the
        sequential quadratic programming loop of :func:`_fit_constrained`.

    Examples
    --------
    >>> import numpy as np
    >>> from torchfit.model.partable import parse
    >>> from torchfit.estimate.start import start_values, reduced_start
    >>> m = Model(parse("f =~ x1 + x2 + x3", std_lv=True))
    >>> S = np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]])
    >>> v = start_values(m, S); m.fixed_values(v)
    >>> r = fit_ml([GroupMoments(m, S, None, 100)], reduced_start(m, v))
    >>> round(r.fmin, 10), r.converged
    (0.0, True)
    """
    obj = Objective(groups) if objective is None else objective
    model = groups[0].model
    x = torch.as_tensor(x0, dtype=model.dtype, device=model.device)
    state = obj.value(x)
    if state is None:
        raise ModelError("the start values give a model-implied covariance matrix that is not "
                         "positive definite; give start values with start() in the syntax")
    if constraints:
        return _fit_constrained(obj, x, state, constraints, iter_max, tol)
    converged = False
    iterations = 0
    g, H = obj.derivatives(state)
    quasi_newton = False
    for iterations in range(1, iter_max + 1):
        step = _solve(H, -g)
        decrement = float(-(g @ step))
        if not np.isfinite(decrement) or decrement < 0:
            if not quasi_newton:
                break
            quasi_newton = False  # the secant matrix went bad: back to Fisher scoring
            g, H = obj.derivatives(state)
            continue
        t, new = 1.0, None
        for _ in range(40):
            candidate = obj.value(x + t * step)
            if candidate is not None and candidate[0] <= state[0] - 1e-4 * t * decrement \
                    + 1e-13 * max(1.0, abs(state[0])):
                new = candidate
                break
            t /= 2.0
        if new is None:
            break
        x_new = x + t * step
        if decrement < tol:
            x, state = x_new, new
            converged = True
            break
        if not quasi_newton and decrement < switch:
            quasi_newton = True
        if quasi_newton:
            g_new = obj.derivatives(new, gradient_only=True)
            H = _bfgs(H, x_new - x, g_new - g)
            g = g_new
        else:
            g, H = obj.derivatives(new)
        x, state = x_new, new
    return _result(obj, x, state, iterations, converged)


def _fit_constrained(obj, x: torch.Tensor, state, constraints, iter_max: int,
                     tol: float) -> MLResult:
    """Sequential quadratic programming with Fisher-scoring Hessians.

    Each step solves the quadratic model of F_ML subject to the linearised
    equalities and the inequalities of an active set (added when a step would
    cross them, dropped when their multiplier turns negative); a backtracking
    line search on F_ML + rho * violation keeps the iterates moving towards
    the feasible optimum.
    """
    rho, active = 10.0, set()
    converged, iterations = False, 0
    for iterations in range(1, iter_max + 1):
        g, H = obj.derivatives(state)
        step, lam, active = _qp_step(H, g, x, constraints, active)
        rho = max(rho, 2.0 * float(lam.abs().max()) if len(lam) else 0.0)
        violation = constraints.violation(x)
        decrement = float(-(g @ step)) + rho * violation
        merit = state[0] + rho * violation
        t, new = 1.0, None
        for _ in range(40):
            candidate = obj.value(x + t * step)
            if candidate is not None and candidate[0] + rho * constraints.violation(x + t * step) \
                    <= merit - 1e-4 * t * max(decrement, 0.0) + 1e-13 * max(1.0, abs(merit)):
                new = candidate
                break
            t /= 2.0
        if new is None:
            break
        x, state = x + t * step, new
        if float(step @ H @ step) < tol and constraints.violation(x) < 1e-9:
            converged = True
            break
    result = _result(obj, x, state, iterations, converged)
    h, Jh, gi, Jg = constraints.jacobians(x)
    binding = [i for i in range(len(gi)) if i in active or float(gi[i]) < 1e-8]
    result.constraint_jacobian = torch.cat([Jh, Jg[binding]]).numpy()
    result.n_equalities, result.n_inequalities = constraints.n_eq, constraints.n_in
    result.at_bound = [constraints.bounds[i] for i in binding if constraints.bounds[i] is not None]
    return result


def _qp_step(H: torch.Tensor, g: torch.Tensor, x: torch.Tensor, constraints, active: set):
    """The step of the constrained quadratic model and the multipliers."""
    h, Jh, gi, Jg = constraints.jacobians(x)
    H, g = H.to(torch.float64), g.to(torch.float64)
    active = {i for i in active if i < len(gi)} | {i for i in range(len(gi)) if gi[i] < 0}
    for _ in range(2 * len(gi) + 2):
        rows = sorted(active)
        A = torch.cat([Jh, Jg[rows]])
        c = torch.cat([h, gi[rows]])
        m = A.shape[0]
        kkt = torch.cat([torch.cat([H, -A.T], 1),
                         torch.cat([A, torch.zeros((m, m), dtype=H.dtype)], 1)])
        sol = torch.linalg.lstsq(kkt, torch.cat([-g, -c])[:, None]).solution[:, 0]
        step, lam = sol[:len(g)], sol[len(g):]
        lam_in = lam[len(h):]
        if len(lam_in) and float(lam_in.min()) < -1e-12:  # pulls away: release it
            active.discard(rows[int(torch.argmin(lam_in))])
            continue
        crossed = [(float(gi[i] + Jg[i] @ step), i) for i in range(len(gi)) if i not in active]
        crossed = [ci for ci in crossed if ci[0] < -1e-12]
        if crossed:
            active.add(min(crossed)[1])
            continue
        break
    return step.to(x.dtype), lam, active


def _result(obj, x: torch.Tensor, state, iterations: int, converged: bool) -> MLResult:
    """The fit at ``x``: F_ML, implied moments and the expected information."""
    _, H = obj.derivatives(state)
    moments = [part.moments(st) for (part, _), st in zip(obj.parts, state[1])]
    return MLResult(
        x=x.cpu().numpy(), fmin=state[0] / 2.0, iterations=iterations, converged=converged,
        sigma=[m[0] for m in moments], information=H.cpu().numpy() / 2.0,
        mu=[m[1] for m in moments],
    )


def result_at(groups: Sequence[GroupMoments], x: np.ndarray, iterations: int,
              converged: bool) -> MLResult:
    """The ML fit statistics at estimates found another way (e.g. by
    mini-batch training), so inference and fit measures are those of ML."""
    obj = Objective(groups)
    xt = torch.as_tensor(x, dtype=groups[0].model.dtype, device=groups[0].model.device)
    state = obj.value(xt)
    if state is None:
        raise ModelError("the estimates give a model-implied covariance matrix that is not "
                         "positive definite; train longer or with a smaller lr")
    return _result(obj, xt, state, iterations, converged)


def _bfgs(H: torch.Tensor, s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """BFGS update of the Hessian approximation; kept as is when the
    curvature condition fails."""
    sy = float(s @ y)
    if sy <= 1e-300:
        return H
    Hs = H @ s
    return H - torch.outer(Hs, Hs) / float(s @ Hs) + torch.outer(y, y) / sy


def _solve(H: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """H^-1 rhs, falling back to least squares when H is singular."""
    L, info = torch.linalg.cholesky_ex(H)
    if int(info) == 0:
        return torch.cholesky_solve(rhs[:, None], L)[:, 0]
    return torch.linalg.lstsq(H, rhs[:, None]).solution[:, 0]


@contextmanager
def one_thread(elements: Optional[int] = None):
    """Run torch single-threaded for the block, restoring the setting after;
    with ``elements`` (the size of a step's tensors), only when they are
    small, where per-operation overhead dominates and more threads only add
    to it."""
    before = torch.get_num_threads()
    if elements is None or elements < 2_000_000:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
