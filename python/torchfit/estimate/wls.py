"""Weighted least squares on thresholds and polychoric correlations (lavaan's
DWLS, WLS and ULS for ordered items, the estimators of WLSMV, WLSM, ULSMV).

Each group's sample statistics s are its thresholds and correlations
(``torchfit.data.ordinal``); the model implies, in lavaan's delta
parameterization,

    thresholds   tau* = Delta (tau - mu),      mu = nu + Lambda (I - B)^-1 alpha
    correlations r*_ij = Delta_i Delta_j Sigma_ij   (i < j)

with Sigma the LISREL covariance matrix and Delta the scale factors (``~*~``,
fixed at 1 in the first group).  The residual variances of ordered items are
no parameters: they are what makes the diagonal of Delta Sigma Delta one.
The theta parameterization instead fixes those residual variances and
derives Delta = diag(Sigma)^-1/2.

The discrepancy is F = sum_g N_g/N (s_g - sigma_g)' W_g (s_g - sigma_g) with
W_g the inverse of the diagonal of the NACOV (DWLS), of the whole NACOV (WLS)
or the identity (ULS); lavaan's fmin is F / 2.  F is minimised by
Gauss-Newton steps with step halving, the Jacobian of sigma by automatic
differentiation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch

from ..errors import ModelError
from ..model.matrices import Model


@dataclass
class WlsGroup:
    """One group: its model, statistics (``obs``), weight (a vector for a
    diagonal weight, else a matrix), NACOV and size."""

    model: Model
    obs: np.ndarray
    weight: np.ndarray
    nacov: Optional[np.ndarray]
    nobs: int
    n_thresholds: np.ndarray
    parameterization: str = "delta"
    numeric: Optional[np.ndarray] = None  # continuous variables (one "threshold": -mu)

    def __post_init__(self):
        if self.numeric is None:
            self.numeric = np.zeros(len(self.model.ov_names), dtype=bool)
        self.num_idx = torch.as_tensor(np.flatnonzero(self.numeric))
        pt = self.model.partable
        rows = np.flatnonzero(self.model.in_block & (pt["op"] == "~*~").to_numpy())
        ov = self.model.ov_names
        self.delta_item = np.array([ov.index(v) for v in pt["lhs"].to_numpy()[rows]], dtype=int)
        free = pt["free"].to_numpy()[rows]
        self.delta_x = np.where(free > 0, self.model.x_index[np.maximum(free, 1) - 1], -1)
        self.delta_fixed = pt["ustart"].to_numpy(dtype=float)[rows]
        self.delta_fixed = np.where(np.isnan(self.delta_fixed), 1.0, self.delta_fixed)
        T = int(self.n_thresholds.max()) if len(self.n_thresholds) else 0
        self.th_mask = torch.as_tensor(np.arange(T)[None, :] < self.n_thresholds[:, None])
        self.pairs = np.triu_indices(len(ov), 1)

    @property
    def ordered_names(self) -> List[str]:
        return [v for v, n in zip(self.model.ov_names, self.numeric) if not n]

    def delta(self, x: torch.Tensor, sigma_diag: torch.Tensor) -> torch.Tensor:
        """The scale factors Delta (one per item; 1 for continuous variables)."""
        if self.parameterization == "theta":
            return torch.where(torch.as_tensor(self.numeric), torch.ones_like(sigma_diag),
                               1.0 / torch.sqrt(sigma_diag))
        d = torch.ones(len(self.model.ov_names), dtype=x.dtype)
        fixed = torch.as_tensor(self.delta_fixed, dtype=x.dtype)
        free = torch.as_tensor(self.delta_x)
        vals = torch.where(free >= 0, x[free.clamp(min=0)], fixed)
        return d.index_put((torch.as_tensor(self.delta_item),), vals)

    def implied(self, x: torch.Tensor, jacobian: bool = False):
        """sigma(x): the implied thresholds, then correlations, as ``obs``;
        with ``jacobian``, also d sigma / d x (q, n_free), analytically."""
        mats = self.model.matrices(x)
        sigma, A = self.model.implied(mats)
        delta = self.delta(x, torch.diagonal(sigma))
        mu = self.model.implied_mean(mats, A)
        centred = mats["tau"] - mu[:, None]
        tau = delta[:, None] * centred
        first, second = self.pairs
        cor = delta[first] * delta[second] * sigma[first, second]
        var = sigma[self.num_idx, self.num_idx]
        out = torch.cat([tau[self.th_mask], var, cor])
        if not jacobian:
            return out
        dS = self.model.jacobian(mats, A)  # (k, p, p)
        dmu = self.model.mean_jacobian(mats, A)  # (k, p)
        dtau = torch.zeros((self.model.n_free,) + tuple(centred.shape), dtype=x.dtype)
        r, c, k = self._tau_cells()
        dtau[k, r, c] = 1.0
        dd = self._delta_jacobian(x, delta, dS)
        dtau_star = delta[None, :, None] * (dtau - dmu[:, :, None]) + dd[:, :, None] * centred
        dcor = delta[first] * delta[second] * dS[:, first, second] + sigma[first, second] * (
            dd[:, first] * delta[second] + delta[first] * dd[:, second])
        dvar = dS[:, self.num_idx, self.num_idx]
        return out, torch.cat([dtau_star[:, self.th_mask], dvar, dcor], 1).T

    def _tau_cells(self):
        cells = self.model.cells["tau"]
        free = cells.x >= 0
        return (torch.as_tensor(cells.r[free]), torch.as_tensor(cells.c[free]),
                torch.as_tensor(cells.x[free]))

    def _delta_jacobian(self, x, delta, dS) -> torch.Tensor:
        """d Delta / d x, (n_free, p)."""
        if self.parameterization == "theta":
            dd = -0.5 * delta[None, :] ** 3 * torch.diagonal(dS, dim1=1, dim2=2)
            return torch.where(torch.as_tensor(self.numeric)[None, :], torch.zeros_like(dd), dd)
        dd = torch.zeros((self.model.n_free, len(delta)), dtype=x.dtype)
        free = self.delta_x >= 0
        dd[torch.as_tensor(self.delta_x[free]), torch.as_tensor(self.delta_item[free])] = 1.0
        return dd


def jacobian(group: WlsGroup, x: torch.Tensor) -> torch.Tensor:
    """d sigma / d x, (q, n_free)."""
    return group.implied(x, jacobian=True)[1]


@dataclass
class WlsResult:
    x: np.ndarray
    fmin: float
    iterations: int
    converged: bool
    implied: List[np.ndarray]
    jacobians: List[np.ndarray]


def discrepancy(groups: Sequence[WlsGroup], x: torch.Tensor):
    """F (lavaan's 2 fmin), the residuals and implied statistics per group."""
    ntotal = sum(g.nobs for g in groups)
    F, res, imp = 0.0, [], []
    for g in groups:
        sig = g.implied(x)
        r = torch.as_tensor(g.obs) - sig
        # lavaan weighs a group by (N_g - 1) / N for the WLS family
        F = F + (g.nobs - 1) / ntotal * (r @ _weighted(g, r))
        res.append(r)
        imp.append(sig)
    return F, res, imp


def fit_wls(groups: Sequence[WlsGroup], x0: np.ndarray, iter_max: int = 500,
            tol: float = 1e-10) -> WlsResult:
    """Minimise F by Gauss-Newton with step halving."""
    ntotal = sum(g.nobs for g in groups)
    x = torch.as_tensor(x0, dtype=torch.float64)
    F, res, _ = discrepancy(groups, x)
    converged, it = False, 0
    for it in range(1, iter_max + 1):
        Js = [jacobian(g, x) for g in groups]
        H = sum((g.nobs - 1) / ntotal * J.T @ _weighted(g, J) for g, J in zip(groups, Js))
        grad = sum((g.nobs - 1) / ntotal * J.T @ _weighted(g, r)
                   for g, J, r in zip(groups, Js, res))
        step = _solve(H, grad)
        for _ in range(30):
            F_new, res_new, _ = discrepancy(groups, x + step)
            if torch.isfinite(F_new) and F_new <= F * (1 + 1e-12):
                break
            step = step / 2
        x = x + step
        small = float(step.abs().max()) < tol or \
            abs(float(F - F_new)) <= 1e-15 * max(float(F), 1e-300)
        F, res = F_new, res_new
        if small:
            converged = True
            break
    F, res, imp = discrepancy(groups, x)
    Js = [jacobian(g, x) for g in groups]
    return WlsResult(x.numpy(), float(F) / 2, it, converged, [s.detach().numpy() for s in imp],
                     [J.numpy() for J in Js])


def _weighted(g, X: torch.Tensor) -> torch.Tensor:
    """W X for a group's weight W (a vector when diagonal) and a vector or matrix X."""
    W = torch.as_tensor(g.weight, dtype=X.dtype)
    if W.ndim == 1:
        return W.reshape((-1,) + (1,) * (X.ndim - 1)) * X
    return W @ X


def _solve(H: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    try:
        return torch.linalg.solve(H, grad)
    except RuntimeError as err:
        raise ModelError("the model is not identified: the weighted least squares information "
                         "matrix is singular; fix parameters or add constraints") from err


def weight(nacov: np.ndarray, estimator: str) -> np.ndarray:
    """lavaan's WLS.V: 1 / diag(NACOV) (DWLS), NACOV^-1 (WLS), ones (ULS)."""
    if estimator == "DWLS":
        return 1.0 / np.diag(nacov)
    if estimator == "ULS":
        return np.ones(nacov.shape[0])
    try:
        return np.linalg.inv(np.linalg.cholesky(nacov)).T @ np.linalg.inv(np.linalg.cholesky(nacov))
    except np.linalg.LinAlgError as err:
        raise ModelError("estimator='WLS' needs a positive definite NACOV (asymptotic "
                         "covariance of the thresholds and correlations), and this one is not: "
                         "use estimator='WLSMV' (DWLS) or more observations") from err
