"""Maximum likelihood on the sample moments: Fisher scoring, lavaan's path, Newton.

Minimises F_ML(x) = log|Sigma| + tr(S Sigma^-1) - log|S| - p (summed over
groups with weights N_g / N) over the reduced parameter vector.  Each
iteration costs O(p^3 + c^2) for p observed variables and c free matrix
cells (the Jacobian of Sigma stays factored, never a (q, p, p) stack),
whatever the number of rows: S is sufficient.  Gradient, expected and exact
Hessian are analytic.

The strategies, in a fixed order (:func:`fit_ml`):

1. Fisher scoring: the step solves the expected-information system
   H d = -g, followed by a backtracking line search on F_ML; close to the
   optimum BFGS updates of H take over, so the last steps converge
   superlinearly.  Cheap, and where its optimum is regular (admissible and
   clearly identified) the optimum is as good as unique: done.
2. Otherwise the likelihood may have several optima, and which one an
   optimiser reaches depends on its path: quasi-Newton steps in a unit
   trust region from lavaan's start values, the path of lavaan's nlminb,
   finished by trust-region Newton with the exact Hessian.
3. Then scoring's own optimum, and scoring followed by trust-region Newton
   from lavaan's fallback start (``start = "simple"``).

Trust-region Newton measures steps by the expected information's diagonal,
so badly scaled variables do not matter; a step to a non positive definite
Sigma is refused and the region shrinks; it handles the flat and indefinite
likelihoods of small samples and Heywood cases.  Every step is
deterministic (no random starts, no least-squares driver with uninitialised
workspace), so the same call gives bit-identical results; ``iter_max``
bounds the total iterations, never the path.

Tiny matrices are dominated by thread hand-offs, not arithmetic: the fit runs
with one torch thread (``one_thread``), which also keeps torch's spinning
worker threads from starving NumPy's BLAS on a 2-core machine.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Iterable, Optional, Sequence

import numpy as np
import torch

from ..errors import ModelError
from ..model.matrices import Factors, Model
from ..options import BY_NAME
from .conditioning import certified_inverse
from .post_check import post_check
from .record import Estimate


@dataclass
class GroupMoments:
    """What ML needs of one group: its model and sufficient statistics."""

    model: Model
    cov: np.ndarray  # N-normalised, in model.ov_names order
    mean: Optional[np.ndarray]  # with a mean structure, else None
    nobs: int


#: The ML optimiser's result is the estimators' one record.
MLResult = Estimate


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
        self.p = data.cov.shape[-1]
        self.logdet_S = torch.linalg.slogdet(self.S)[1]  # one per replicate for a batch
        self._cells = None  # built at the first exact Hessian

    def value(self, x: torch.Tensor):
        """(F, state) with state = (Sigma, Sigma^-1, A, mats, S + dd', d), or
        None when Sigma is not positive definite."""
        mats = self.model.matrices(x)
        sigma, A = self.model.implied(mats)
        L, info = torch.linalg.cholesky_ex(sigma)
        if int(info) != 0:
            return None
        F, state = self.discrepancy(mats, sigma, A, L)
        return float(F), state

    def discrepancy(self, mats, sigma, A, L):
        """F_ML (a tensor) and the state, given the Cholesky factor L of Sigma;
        everything may carry a leading batch dimension (one model and sample
        per bootstrap replicate)."""
        inv = torch.cholesky_inverse(L)
        logdet = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
        S, d = self.S, None
        if self.mean is not None:
            d = self.mean - self.model.implied_mean(mats, A)
            S = S + d[..., :, None] * d[..., None, :]
        F = logdet + (S * inv).sum((-2, -1)) - self.logdet_S - self.p
        return F, (sigma, inv, A, mats, S, d)

    def fmin_torch(self, x: torch.Tensor) -> torch.Tensor:
        """lavaan's fmin = F_ML / 2 as a differentiable function of x (for the
        Hessian)."""
        mats = self.model.matrices(x)
        sigma, A = self.model.implied(mats)
        return self.discrepancy(mats, sigma, A, torch.linalg.cholesky(sigma))[0] / 2

    def moments(self, state):
        """Implied covariance matrix and mean (None without a mean structure)."""
        sigma, d = state[0], state[5]
        return sigma.cpu().numpy(), None if d is None else (self.mean - d).cpu().numpy()

    def derivatives(self, state, gradient_only: bool = False):
        """Gradient g and expected Hessian H of F_ML (only g if asked)."""
        terms = self._terms(state, 1 if gradient_only else 2)
        return terms[0], (None if gradient_only else terms[1])

    def curvatures(self, state):
        """Gradient, expected Hessian and exact Hessian of F_ML."""
        return self._terms(state, 3)

    def _terms(self, state, order: int):
        """The gradient, then (order >= 2) the expected Hessian, then
        (order 3) the exact Hessian, analytically.

        With W_i = Sigma^-1 dSigma/dx_i, R = Sigma^-1 (S + dd'), u = Sigma^-1 d
        and mu_i = dmu/dx_i, the expected Hessian is tr(W_i W_j)
        + 2 mu_i' Sigma^-1 mu_j and the exact one
        2 tr(W_i R W_j) - tr(W_i W_j) + 2 mu_i' Sigma^-1 mu_j
        + 2 mu_i' Sigma^-1 dSigma/dx_j u + 2 mu_j' Sigma^-1 dSigma/dx_i u
        + tr(V d2Sigma/dx_i dx_j) - 2 u' d2mu/dx_i dx_j, the last two from
        :func:`_second_derivatives`; at S = Sigma the two coincide.  The
        traces come from the factored Jacobian (:class:`_Cells`), never
        from (q, p, p) stacks.
        """
        sigma, inv, A, mats, S, d = state
        cells = _Cells(self.model.jacobian_factors(mats, A), self.model.n_free)
        V = inv - inv @ S @ inv
        g = cells.traces(V)
        u = J = None
        if d is not None:
            J = self.model.mean_jacobian(mats, A)
            u = (inv @ d[..., None])[..., 0]
            g = g - 2.0 * (J @ u[..., None])[..., 0]
        if order == 1:
            return (g,)
        covariance = cells.trace_products(inv, inv)
        means = 0.0 if J is None else 2.0 * J @ inv @ J.transpose(-1, -2)
        if order == 2:
            return g, covariance + means
        exact = 2.0 * cells.trace_products(inv, inv @ S @ inv) - covariance + means
        if J is not None:
            cross = cells.times(u) @ (J @ inv).T
            exact = exact + 2.0 * (cross + cross.T)
        if self._cells is None:
            self._cells = _SecondOrderCells(self.model)
        return g, covariance + means, exact + _second_derivatives(self._cells, mats, A, V, u)


class _Cells:
    """Traces with the factored Jacobian of Sigma (:class:`Factors`): cell i
    moves Sigma by D_i = a_i b_i' + b_i a_i' with a_i, b_i columns of one
    basis Z, so the traces of products of D's with symmetric matrices are
    entries of Z' K Z: O(p n^2 + cells^2) work where the (q, p, p) stacks
    cost O(q^2 p^2).  Results are summed into the reduced parameters that
    own the cells.  Gradients and expected Hessians carry the matrices'
    leading batch dimensions (one model per bootstrap replicate)."""

    def __init__(self, factors: Factors, n_free: int):
        self.f, self.n_free = factors, n_free

    def _reduce(self, values: torch.Tensor, dim: int) -> torch.Tensor:
        """Sum dimension ``dim`` (cells) into the owners."""
        if self.f.one_to_one:
            return values
        shape = list(values.shape)
        shape[dim] = self.n_free
        out = torch.zeros(shape, dtype=values.dtype, device=values.device)
        return out.index_add_(dim, self.f.owner, values)

    def _form(self, K: torch.Tensor) -> torch.Tensor:
        """Z' K Z."""
        return self.f.basis.transpose(-1, -2) @ K @ self.f.basis

    def traces(self, V: torch.Tensor) -> torch.Tensor:
        """tr(D_i V) = 2 a_i' V b_i for symmetric V, per parameter."""
        f = self.f
        return self._reduce(2.0 * f.scale ** 2 * self._form(V)[..., f.a, f.b], -1)

    def times(self, u: torch.Tensor) -> torch.Tensor:
        """D_i u, per parameter (rows); one model (no batch)."""
        a, b = self.f.vectors()
        return self._reduce(a * (b @ u)[:, None] + b * (a @ u)[:, None], 0)

    def trace_products(self, K: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
        """tr(K D_i Q D_j) for symmetric K and Q, per pair of parameters:
        (b_i'Q a_j)(b_j'K a_i) + (a_i'Q b_j)(a_j'K b_i) + (b_i'Q b_j)(a_i'K a_j)
        + (a_i'Q a_j)(b_i'K b_j)."""
        f = self.f
        a, b = f.a[None, :], f.b[None, :]
        at, bt = f.a[:, None], f.b[:, None]
        ZK = self._form(K)
        X = ZK[..., bt, a]
        if Q is K:  # the expected information: half the gathers
            T = 2.0 * (X * X.transpose(-1, -2) + ZK[..., bt, b] * ZK[..., at, a])
        else:
            ZQ = self._form(Q)
            XQ = ZQ[..., bt, a]
            T = XQ * X.transpose(-1, -2) + XQ.transpose(-1, -2) * X \
                + ZQ[..., bt, b] * ZK[..., at, a] + ZQ[..., at, a] * ZK[..., bt, b]
        scale = torch.outer(f.scale, f.scale) ** 2
        return self._reduce(self._reduce(T * scale, -2), -1)


class _SecondOrderCells:
    """The free cells whose second derivatives of Sigma and mu do not
    vanish (loadings, regressions, latent (co)variances and intercepts), as
    index tensors, and the map E from cells to reduced parameters."""

    def __init__(self, model: Model):
        def free(m):
            cells = model.cells.get(m)
            if cells is None:
                return torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), []
            keep = cells.x >= 0
            return torch.as_tensor(cells.r[keep]), torch.as_tensor(cells.c[keep]), cells.x[keep]

        (self.rL, self.cL, xL), (self.rB, self.cB, xB), (self.rP, self.cP, xP), \
            (self.rA, _, xA) = (free(m) for m in ("lambda", "beta", "psi", "alpha"))
        self.off = (self.rP != self.cP).to(model.dtype)  # an off-diagonal Psi cell moves two
        self.sizes = [len(xL), len(xB), len(xP), len(xA)]
        owners = np.concatenate([xL, xB, xP, xA]).astype(int)
        self.E = torch.zeros((len(owners), model.n_free), dtype=model.dtype, device=model.device)
        self.E[torch.arange(len(owners)), torch.as_tensor(owners)] = 1.0


def _second_derivatives(cells: _SecondOrderCells, mats, A: torch.Tensor, V: torch.Tensor,
                        u: Optional[torch.Tensor]) -> torch.Tensor:
    """tr(V d2Sigma/dx_i dx_j) - 2 u' d2mu/dx_i dx_j for symmetric V.

    Sigma = Lambda A Psi A' Lambda' + Theta and mu = nu + Lambda A alpha
    (A = (I - B)^-1) are linear in Psi, Theta, nu and alpha; with
    G = Lambda A, M = A Psi A', P = G' V G, a = A alpha and the unit cells
    E_rc of a loading (r, c), a regression B[k, l] (dA = A E_kl A) and a
    (co)variance Psi[k, l] (E_kl + E_lk), the products of two cells give
    the blocks below; they are summed into the reduced parameters that own
    the cells.
    """
    Lam, Psi = mats["lambda"], mats["psi"]
    G = Lam @ A
    M = A @ Psi @ A.T
    VG = V @ G
    P = G.T @ VG
    AQA = A @ Psi @ G.T @ V @ Lam @ A
    VLM = V @ Lam @ M
    zero = torch.zeros(A.shape[0], dtype=A.dtype, device=A.device)
    a = A @ mats["alpha"][:, 0] if "alpha" in mats else zero
    Gu, uu = (zero, torch.zeros_like(V[0])) if u is None else (G.T @ u, u)
    rL, cL, rB, cB, rP, cP, rA = cells.rL, cells.cL, cells.rB, cells.cB, cells.rP, cells.cP, \
        cells.rA
    off = cells.off
    LL = 2.0 * V[rL][:, rL] * M[cL][:, cL]
    LB = 2.0 * (VG[rL][:, rB] * M[cL][:, cB] + VLM[rL][:, cB] * A[cL][:, rB]) \
        - 2.0 * uu[rL][:, None] * A[cL][:, rB] * a[cB][None, :]
    LP = 2.0 * (VG[rL][:, rP] * A[cL][:, cP] + off * VG[rL][:, cP] * A[cL][:, rP])
    PB = 2.0 * (A[cB][:, rP].T * P[cP][:, rB] + off[:, None] * A[cB][:, cP].T * P[rP][:, rB])
    BB = 2.0 * (A.T[rB][:, cB] * AQA[cB][:, rB] + A[cB][:, rB] * AQA.T[rB][:, cB]) \
        + 2.0 * P[rB][:, rB] * M[cB][:, cB] \
        - 2.0 * (Gu[rB][:, None] * A[cB][:, rB] * a[cB][None, :]
                 + Gu[rB][None, :] * A.T[rB][:, cB] * a[cB][:, None])
    LA = -2.0 * uu[rL][:, None] * A[cL][:, rA]
    BA = -2.0 * Gu[rB][:, None] * A[cB][:, rA]
    nL, nB, nP, nA = cells.sizes
    zero = torch.zeros((nP + nA, nP + nA), dtype=A.dtype, device=A.device)
    Hc = torch.cat([torch.cat([LL, LB, LP, LA], 1),
                    torch.cat([LB.T, BB, PB.T, BA], 1),
                    torch.cat([torch.cat([LP, LA], 1).T, torch.cat([PB, BA.T]), zero], 1)], 0)
    return cells.E.T @ Hc @ cells.E


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

    def curvatures(self, x: torch.Tensor, state):
        """Gradient, expected Hessian and exact Hessian of F = 2 fmin at x
        (``state = self.value(x)``): each group's analytic ones, or, for a
        discrepancy without an analytic exact Hessian (FIML), autograd of
        fmin."""
        if all(hasattr(part, "curvatures") for part, _ in self.parts):
            terms = [part.curvatures(st) for (part, _), st in zip(self.parts, state[1])]
            return tuple(sum(w * t[k] for (_, w), t in zip(self.parts, terms)) for k in range(3))

        def fmin(v):
            return sum(w * part.fmin_torch(v) for part, w in self.parts)

        H = torch.autograd.functional.hessian(fmin, x, vectorize=True)
        return (*self.derivatives(state), H + H.T)

    def observed_information(self, x: np.ndarray) -> np.ndarray:
        """The Hessian of fmin = sum_g (N_g / N) fmin_g at x: lavaan's observed
        information per observation ("hessian"), exact (lavaan
        differentiates its analytic gradient numerically; the two agree to
        about 1e-9)."""
        xt = torch.as_tensor(x, dtype=self.parts[0][0].model.dtype)
        H = self.curvatures(xt, self.value(xt))[2]
        return ((H + H.T) / 4).detach().cpu().numpy()

    def derivatives(self, state, gradient_only: bool = False):
        g = H = None
        for (part, weight), st in zip(self.parts, state[1]):
            gg, hh = part.derivatives(st, gradient_only)
            g = weight * gg if g is None else g + weight * gg
            if not gradient_only:
                H = weight * hh if H is None else H + weight * hh
        return g if gradient_only else (g, H)


#: Fisher-scoring iterations per attempt: scoring converges in 5-40 on the
#: models it suits; beyond that it is crawling
SCORING_ITERATIONS = 100
#: steps in a row cut below SLIVER of the scoring step before scoring gives up
SCORING_PATIENCE = 5
SLIVER = 1.0 / 64
#: trust-region Newton iterations per attempt: converging ones take 20-150
TRUST_ITERATIONS = 200
#: quasi-Newton iterations of lavaan's path before it gives up
QUASI_NEWTON_ITERATIONS = 300
#: Newton decrement of the secant model below which trust-region Newton
#: takes over lavaan's path
HANDOVER = 1e-8
#: smallest eigenvalue of the unit-diagonal expected information, relative
#: to the largest, of a solution that counts as clearly identified
WELL_CONDITIONED = 1e-8
#: relative curvature below which a direction counts as flat (singular)
SINGULAR = 1e-10
#: trust-region radius below which a region that keeps refusing steps
#: gives up
MIN_RADIUS = 1e-12


@dataclass
class _Point:
    """An iterate: the parameters, F_ML there and the objective's state."""

    x: torch.Tensor
    state: tuple  # (F, per-group states), as Objective.value returns

    @property
    def value(self) -> float:
        return self.state[0]


class _Budget:
    """The iterations left to all strategies together (``iter_max``)."""

    def __init__(self, iter_max: int):
        self.limit, self.used = iter_max, 0

    def take(self) -> bool:
        """Count one iteration; False when none is left."""
        if self.used >= self.limit:
            return False
        self.used += 1
        return True


def fit_ml(groups: Sequence[GroupMoments], x0: np.ndarray,
           iter_max: int = BY_NAME["iter_max"].default,
           tol: float = 1e-14, switch: float = 1e-3, objective=None,
           constraints=None, restarts: Iterable[np.ndarray] = (),
           scoring_start: Optional[np.ndarray] = None) -> MLResult:
    """Minimise F_ML.

    Fisher scoring runs first; its optimum stands where it is regular
    (:func:`_regular`: admissible and clearly identified, so as good as
    unique).  Otherwise lavaan's path from ``x0`` decides
    (:func:`_quasi_newton`), then scoring's own optimum, then scoring and
    trust-region Newton from each of ``restarts``.

    Parameters
    ----------
    groups : sequence of GroupMoments
        One per group: the Model (with its fixed values set by
        ``model.fixed_values``), the N-normalised sample covariance matrix in
        ``model.ov_names`` order, the sample mean for a model with a mean
        structure (else None) and the number of observations.
    x0 : ndarray
        The start values of the reduced parameter vector (shared by the
        groups), lavaan's: lavaan's path starts there.
    iter_max : int
        Iterations of all strategies together before giving up (flagged,
        not raised).  It only cuts the path short: a fit that converges
        within it is the same for any larger value.
    tol : float
        Convergence when the squared Newton decrement g'H^-1 g falls below it.
    switch : float
        Below this decrement, BFGS updates of the Hessian replace the expected
        information: Fisher scoring converges only linearly when the model
        misfits, the secant updates make the last steps superlinear.
    objective : optional
        Another discrepancy with the interface of ``Objective`` (``value``,
        ``derivatives``, ``curvatures`` and per-group parts with ``model``
        and ``moments``), e.g. the FIML one of :mod:`torchfit.estimate.fiml`; by
        default F_ML of ``groups``.
    constraints : torchfit.model.constraints.Constraints, optional
        General equality and inequality constraints; they switch to the
        sequential quadratic programming loop of :func:`_fit_constrained`.
    restarts : iterable of ndarray
        Fallback starts (e.g. lavaan's ``start = "simple"``), taken only when
        needed (a generator makes them lazily).
    scoring_start : ndarray, optional
        Where Fisher scoring starts, by default ``x0``: start values nearer a
        well-behaved model's optimum (:func:`torchfit.start.start_values`)
        save iterations, and a regular optimum does not depend on the start.

    Examples
    --------
    >>> import numpy as np
    >>> from torchfit.model.partable import parse
    >>> from torchfit.estimate.start import lavaan_start, reduced_start
    >>> m = Model(parse("f =~ x1 + x2 + x3", std_lv=True))
    >>> S = np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, 2.0]])
    >>> v = lavaan_start(m, S); m.fixed_values(v)
    >>> r = fit_ml([GroupMoments(m, S, None, 100)], reduced_start(m, v))
    >>> round(r.fmin, 10), r.converged, r.optimizer
    (0.0, True, 'Fisher scoring')
    """
    obj = Objective(groups) if objective is None else objective
    model = groups[0].model
    as_x = partial(torch.as_tensor, dtype=model.dtype, device=model.device)
    quick = _point(obj, as_x(x0 if scoring_start is None else scoring_start))
    lavaan = quick if scoring_start is None else None  # lavaan's start, made when needed
    if quick is None:
        quick = lavaan = _point(obj, as_x(x0))
    if quick is None:
        raise ModelError("the start values give a model-implied covariance matrix that is not "
                         "positive definite; give start values with start() in the syntax")
    if constraints:
        return _fit_constrained(obj, quick.x, quick.state, constraints, iter_max, tol)
    scoring = partial(_scoring, tol=tol, switch=switch)
    run = _Run(obj, iter_max, quick)
    scored, converged = run.attempt("Fisher scoring", scoring, quick)
    result = run.result(scored, "Fisher scoring") if converged else None
    if result is not None and _regular(result):
        return result
    # a likelihood with several optima: lavaan's path decides
    path_start = _point(obj, as_x(x0)) if lavaan is None else lavaan
    if path_start is not None:
        point, reached = run.attempt("quasi-Newton", partial(_quasi_newton, tol=tol), path_start)
        if reached:
            return run.result(point, "quasi-Newton")
    if result is not None:
        return result
    for k, start in enumerate(restarts, 1):
        start = _point(obj, as_x(start))
        if start is None:
            continue
        point, reached = run.attempt(f"Fisher scoring from fallback start {k}", scoring, start)
        name = "Fisher scoring"
        if not reached:
            name = "trust-region Newton"
            point, reached = run.attempt(name, partial(_trust_region, tol=tol), point)
        if reached:
            return run.result(point, name)
    return run.result(run.best, run.tried[-1] if run.tried else "Fisher scoring", False)


class _Run:
    """The attempts of one fit: their shared iteration budget, the names of
    those that ran and the lowest point any reached."""

    def __init__(self, obj, iter_max: int, start: _Point):
        self.obj, self.budget, self.tried, self.best = obj, _Budget(iter_max), [], start

    def attempt(self, name: str, strategy, start: _Point):
        """(end point, converged) of ``strategy`` from ``start``."""
        if self.budget.used >= self.budget.limit:
            return start, False
        self.tried.append(name)
        point, converged = strategy(self.obj, start, self.budget)
        self.best = point if point.value < self.best.value else self.best
        return point, converged

    def result(self, point: _Point, optimizer: str, converged: bool = True) -> MLResult:
        """The fit at ``point``, reached by the strategy ``optimizer``."""
        return _result(self.obj, point, self.budget.used, converged, optimizer, self.tried)


def _quasi_newton(obj, point: _Point, budget: _Budget, tol: float):
    """lavaan's path: quasi-Newton steps in a trust region measured in the
    parameters' own units, from the identity Hessian and a unit radius, as
    lavaan's nlminb (``step.max = 1``) takes them.  On a likelihood with
    several optima this path decides which one is reached, so it reaches
    lavaan's.  Once the secant model's Newton decrement falls below
    ``HANDOVER``, trust-region Newton finishes (quadratic convergence and a
    check of the second-order conditions).  Returns (the last point,
    converged)."""
    B = torch.eye(len(point.x), dtype=point.x.dtype, device=point.x.device)
    g = obj.derivatives(point.state, gradient_only=True)
    radius = 1.0
    for _ in range(QUASI_NEWTON_ITERATIONS):
        curvature, basis = torch.linalg.eigh(B)
        along = basis.T @ g
        curved = curvature > SINGULAR * float(curvature.abs().max())
        if float((along[curved] ** 2 / curvature[curved]).sum()) < HANDOVER:
            return _trust_region(obj, point, budget, tol)
        if not budget.take():
            break
        candidate = None
        while candidate is None and radius >= MIN_RADIUS:
            z, predicted = _region_step(curvature, along, radius)
            candidate, radius = _try_step(obj, point, basis @ z, predicted, radius)
        if candidate is None:
            break
        g_new = obj.derivatives(candidate.state, gradient_only=True)
        B = _bfgs(B, candidate.x - point.x, g_new - g)
        point, g = candidate, g_new
    return point, False


def _try_step(obj, point: _Point, step: torch.Tensor, predicted: float, radius: float,
              size: Optional[float] = None):
    """A trust-region step: (the new point, or None where refused; the next
    radius).  Taken when F falls by at least 1e-4 of the predicted decrease;
    the radius shrinks to a quarter of the step's ``size`` (its length in
    the region's metric) below a quarter of it and doubles (at least) above
    three quarters; a step to a non positive definite Sigma is refused."""
    candidate = _point(obj, point.x + step)
    ratio = -np.inf if candidate is None or predicted <= 0 else \
        (point.value - candidate.value) / predicted
    size = float(torch.linalg.vector_norm(step)) if size is None else size
    radius = 0.25 * size if ratio < 0.25 else \
        (max(radius, 2.0 * size) if ratio > 0.75 else radius)
    return (candidate if ratio > 1e-4 else None), radius


def _regular(result: MLResult) -> bool:
    """Whether a converged fit stands without a challenge from the other
    strategies: admissible (no Heywood case) and with an expected
    information that is well conditioned in its unit-diagonal form (the
    model is clearly identified there), where the optimum is as good as
    unique."""
    if result.heywood:
        return False
    d = np.sqrt(np.abs(np.diag(result.information))).clip(1e-150)
    M = result.information / np.outer(d, d)
    if certified_inverse(M, WELL_CONDITIONED) is not None:
        return True
    w = torch.linalg.eigvalsh(torch.as_tensor(M))
    return bool(w[0] > WELL_CONDITIONED * w[-1])


def _point(obj, x: torch.Tensor) -> Optional[_Point]:
    """The iterate at x, or None where Sigma is not positive definite."""
    state = obj.value(x)
    return None if state is None else _Point(x, state)


def _scoring(obj, point: _Point, budget: _Budget, tol: float, switch: float):
    """Fisher scoring with a backtracking line search, BFGS near the optimum.

    Returns (the last point, converged); gives up after
    ``SCORING_ITERATIONS``, when no step along the scoring direction
    decreases F, or when ``SCORING_PATIENCE`` steps in a row are cut below
    ``SLIVER`` of the scoring step (its quadratic model is useless there).
    """
    g, H = obj.derivatives(point.state)
    quasi_newton = False
    slivers = 0  # consecutive steps cut below SLIVER of the scoring step
    for _ in range(SCORING_ITERATIONS):
        if not budget.take():
            break
        step = _solve(H, -g)
        decrement = float(-(g @ step))
        new, t = _line_search(obj, point, step, decrement) \
            if np.isfinite(decrement) and decrement >= 0 else (None, 0.0)
        slivers = slivers + 1 if t < SLIVER else 0
        if slivers >= SCORING_PATIENCE:
            return point, False
        if new is None:
            if not quasi_newton:
                return point, False
            quasi_newton = False  # the secant matrix went bad: back to Fisher scoring
            g, H = obj.derivatives(point.state)
            continue
        if decrement < tol:
            return new, True
        quasi_newton = quasi_newton or decrement < switch
        if quasi_newton:
            g_new = obj.derivatives(new.state, gradient_only=True)
            H = _bfgs(H, new.x - point.x, g_new - g)
            g = g_new
        else:
            g, H = obj.derivatives(new.state)
        point = new
    return point, False


def _line_search(obj, point: _Point, step: torch.Tensor, decrement: float):
    """Backtracking from the full step until F decreases enough (Armijo):
    (the new point, the share of ``step`` taken), or (None, 0).

    The step is halved, and after the full step fails it is at most the
    step where the quadratic model t decrement (1 - t/2) promises F itself
    (F >= 0, a discrepancy from the saturated model: no step can gain more),
    which spares the halvings of a step far too long.
    """
    slack = 1e-13 * max(1.0, abs(point.value))  # F's rounding error
    ceiling = max(point.value, 0.0)
    reach = 1.0 if decrement <= 2.0 * ceiling else 1.0 - np.sqrt(1.0 - 2.0 * ceiling / decrement)
    t = 1.0
    for _ in range(40):
        candidate = _point(obj, point.x + t * step)
        if candidate is not None and \
                candidate.value <= point.value - 1e-4 * t * decrement + slack:
            return candidate, t
        t = min(t / 2.0, reach)
    return None, 0.0


def _trust_region(obj, point: _Point, budget: _Budget, tol: float):
    """Newton's method with the exact Hessian in a trust region.

    The region is a ball in the metric D = sqrt(diag(expected information))
    (:func:`_scale`), which makes the steps invariant to the units of the
    variables; steps are taken or refused by :func:`_try_step`.  Converged
    as :func:`_stationary` says.  Returns (the last point, converged).
    """
    radius = None
    for _ in range(TRUST_ITERATIONS):
        g, expected, exact = obj.curvatures(point.x, point.state)
        d = _scale(expected)
        curvature, basis = torch.linalg.eigh(exact / torch.outer(d, d))
        along = basis.T @ (g / d)
        if _stationary(curvature, along, tol):
            return point, True
        if not budget.take():
            break
        if radius is None:
            newton = along / curvature.abs().clamp_min(1e-12)
            radius = min(1.0, float(torch.linalg.vector_norm(newton)))
        candidate = None
        while candidate is None and radius >= MIN_RADIUS:
            z, predicted = _region_step(curvature, along, radius)
            candidate, radius = _try_step(obj, point, (basis @ z) / d, predicted, radius,
                                          size=float(torch.linalg.vector_norm(z)))
        if candidate is None:
            break
        point = candidate
    return point, False


def _scale(expected: torch.Tensor) -> torch.Tensor:
    """The scale of each parameter: sqrt of the expected information's
    diagonal, never below 1e-8 of the largest, so that a parameter the data
    hardly inform still has a bounded step."""
    d = torch.sqrt(torch.diagonal(expected).clamp_min(0.0))
    return d.clamp_min(1e-8 * float(d.max()) if float(d.max()) > 0 else 1.0)


def _stationary(curvature: torch.Tensor, along: torch.Tensor, tol: float) -> bool:
    """A local minimum in the scaled eigenbasis of the Hessian: no direction
    of significant negative curvature, Newton decrement below ``tol`` on the
    curved directions and a negligible gradient on the flat ones (a model
    that is not identified)."""
    flat_below = SINGULAR * max(1.0, float(curvature.abs().max()))
    if float(curvature.min()) < -flat_below:
        return False
    curved = curvature > flat_below
    decrement = float((along[curved] ** 2 / curvature[curved]).sum())
    return decrement < tol and float((along[~curved] ** 2).sum()) < tol


def _region_step(curvature: torch.Tensor, along: torch.Tensor, radius: float):
    """The minimiser z of along'z + z' diag(curvature) z / 2 over |z| <= radius
    (Moré and Sorensen, in the eigenbasis) and the decrease it predicts.

    The shift mu >= max(0, -min curvature) with |z(mu)| = radius is found by
    bisection on log(mu - lower); when even the smallest shift stays inside
    (the "hard case"), the step is completed along the eigenvector of the
    smallest curvature.  Scalar work, in NumPy.
    """
    lam, b = curvature.cpu().numpy(), along.cpu().numpy()
    lower = max(0.0, -lam[0])
    tiny = 1e-12 * max(1.0, np.abs(lam).max())

    def size(mu):
        return np.linalg.norm(b / (lam + mu))

    if lam[0] > tiny and size(0.0) <= radius:
        mu = 0.0  # the Newton step lies inside
    elif size(lower + tiny) <= radius:
        mu = lower + tiny  # the hard case
    else:
        lo, hi = tiny, np.linalg.norm(b) / radius + tiny
        for _ in range(100):
            mid = np.sqrt(lo * hi)
            lo, hi = (mid, hi) if size(lower + mid) > radius else (lo, mid)
            if hi / lo < 1 + 1e-6:
                break
        mu = lower + hi
    z = -b / (lam + mu)
    short = radius ** 2 - z @ z
    if lower > 0 and short > 0:  # hard case: reach the boundary along the flattest direction
        z[0] += np.sqrt(short) * (-1.0 if b[0] > 0 else 1.0)
    predicted = -float(b @ z + 0.5 * (lam * z * z).sum())
    return torch.as_tensor(z, dtype=along.dtype, device=along.device), predicted


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
    result = _result(obj, _Point(x, state), iterations, converged,
                     "sequential quadratic programming")
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
        sol = _least_squares(kkt, torch.cat([-g, -c]))
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


def _result(obj, point: _Point, iterations: int, converged: bool,
            optimizer: str = "Fisher scoring", tried: Sequence[str] = ()) -> MLResult:
    """The fit at ``point``: F_ML, implied moments, the expected information,
    the gradient norm, the model matrices and whether they are admissible."""
    g, H = obj.derivatives(point.state)
    moments = [part.moments(st) for (part, _), st in zip(obj.parts, point.state[1])]
    models = [part.model for part, _ in obj.parts]
    matrices = [{k: v.cpu().numpy() for k, v in m.matrices(point.x).items()} for m in models]
    return MLResult(
        x=point.x.cpu().numpy(), fmin=point.value / 2.0, iterations=iterations,
        converged=converged, sigma=[m[0] for m in moments], information=H.cpu().numpy() / 2.0,
        mu=[m[1] for m in moments], gradient_norm=float(torch.linalg.vector_norm(g)) / 2.0,
        optimizer=optimizer, tried=list(tried) or [optimizer], matrices=matrices,
        heywood=post_check(models, matrices),
    )


def result_at(groups: Sequence[GroupMoments], x: np.ndarray, iterations: int,
              converged: bool, optimizer: str = "mini-batch training") -> MLResult:
    """The ML fit statistics at estimates found another way (by
    ``optimizer``), so inference and fit measures are those of ML."""
    obj = Objective(groups)
    xt = torch.as_tensor(x, dtype=groups[0].model.dtype, device=groups[0].model.device)
    state = obj.value(xt)
    if state is None:
        raise ModelError("the estimates give a model-implied covariance matrix that is not "
                         "positive definite; train longer or with a smaller lr")
    return _result(obj, _Point(xt, state), iterations, converged, optimizer)


def _bfgs(H: torch.Tensor, s: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """BFGS update of the Hessian approximation; kept as is when the
    curvature condition fails."""
    sy = float(s @ y)
    if sy <= 1e-300:
        return H
    Hs = H @ s
    return H - torch.outer(Hs, Hs) / float(s @ Hs) + torch.outer(y, y) / sy


def _solve(H: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """H^-1 rhs for a positive semi-definite H.  Where H is singular in the
    metric that gives it a unit diagonal (the model is not identified, or
    not at this point; a Cholesky pivot of that form below ``SINGULAR``),
    the minimum-norm solution on the directions of curvature above
    ``SINGULAR`` of the largest, so that no step runs off along a flat
    direction."""
    L, info = torch.linalg.cholesky_ex(H)
    diagonal = np.diagonal(H.cpu().numpy())  # NumPy: cheaper on tiny vectors
    if int(info) == 0 and (np.diagonal(L.cpu().numpy()) ** 2 > SINGULAR * diagonal).all():
        return torch.cholesky_solve(rhs[:, None], L)[:, 0]
    d = torch.as_tensor(np.sqrt(np.abs(diagonal)).clip(1e-150), dtype=H.dtype, device=H.device)
    w, V = torch.linalg.eigh(H / torch.outer(d, d))
    keep = w > SINGULAR * float(w.abs().max())
    return V[:, keep] @ ((V[:, keep].T @ (rhs / d)) / w[keep]) / d


def _least_squares(A: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """The minimum-norm least-squares solution of A x = rhs, by the SVD with
    singular values below max(shape) * eps * the largest dropped.

    Not ``torch.linalg.lstsq``: on a rank-deficient matrix its default
    driver returns different solutions on repeated calls.
    """
    U, sv, Vh = torch.linalg.svd(A, full_matrices=False)
    keep = sv > max(A.shape) * torch.finfo(A.dtype).eps * float(sv.max())
    return Vh[keep].T @ ((U[:, keep].T @ rhs) / sv[keep])


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

