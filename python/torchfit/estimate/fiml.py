"""Full-information maximum likelihood (lavaan's ``missing = "ml"``): the objective.

The patterns and the H1 model come from :mod:`torchfit.data.patterns`; the
standard errors, fit measures and FIML-corrected test from
:mod:`torchfit.inference.fiml`.  Here:

- ``FimlObjective``: the FIML discrepancy 2 (logl_H1 - logl) / N_g of each
  group (weighted by N_g / N as :mod:`torchfit.estimate.ml` weighs F_ML), with its
  analytic gradient and expected information, so ``ml.fit_ml`` minimises it
  with the same Fisher scoring and BFGS steps; its minimum over 2 is lavaan's
  fmin.
- ``observed_information``: the Hessian of fmin (autograd), lavaan's default
  information for ``missing = "ml"``.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import torch

from ..data.patterns import LOG_2PI, PatternMoments, loglik_torch
from ..model.matrices import Model
from .ml import GroupMoments, Objective

# -- the FIML objective -----------------------------------------------------------------

class FimlGroup:
    """2 (logl_H1 - logl) / N of one group, its gradient and expected information.

    The interface of ``ml._Group`` (``value``, ``derivatives``, ``moments``),
    so ``ml.fit_ml`` drives it unchanged.  Per pattern with observed set o,
    Sigma_o = Sigma[o, o] and d = mean_o - mu[o]: the discrepancy adds
    n_o / N (log|Sigma_o| + tr(Sigma_o^-1 (S_o + d d'))), whose derivatives
    with respect to Sigma and mu are embedded back into p x p and p, and
    mapped to the parameters by the model's Jacobians.
    """

    def __init__(self, model: Model, pm: PatternMoments, h1_logl: float):
        self.model, self.pm = model, pm
        self.mean = True  # FIML always has a mean structure
        as_tensor = lambda a: torch.as_tensor(a, dtype=model.dtype, device=model.device)
        self.parts = [(torch.as_tensor(pat.observed), as_tensor(pat.mean), as_tensor(pat.cov),
                       pat.n / pm.n) for pat in pm.patterns]
        # the constant making the minimum of F/2 lavaan's fmin (logl_H1 - logl) / N
        self.const = 2.0 * h1_logl / pm.n + sum(w * len(o) for o, _, _, w in self.parts) * LOG_2PI

    def value(self, x: torch.Tensor):
        mats = self.model.matrices(x)
        sigma, A = self.model.implied(mats)
        mu = self.model.implied_mean(mats, A)
        F, pieces = 0.0, []
        for o, mean, cov, w in self.parts:
            L, info = torch.linalg.cholesky_ex(sigma[o][:, o])
            if int(info) != 0:
                return None
            inv = torch.cholesky_inverse(L)
            d = mean - mu[o]
            S = cov + torch.outer(d, d)
            F += w * float(2.0 * torch.log(torch.diagonal(L)).sum() + (S * inv).sum())
            pieces.append((inv, S, d))
        return F + self.const, (sigma, mu, A, mats, pieces)

    def moments(self, state) -> Tuple[np.ndarray, np.ndarray]:
        return state[0].cpu().numpy(), state[1].cpu().numpy()

    def derivatives(self, state, gradient_only: bool = False):
        sigma, mu, A, mats, pieces = state
        p = sigma.shape[0]
        D = self.model.jacobian(mats, A)
        J = self.model.mean_jacobian(mats, A)
        V = torch.zeros((p, p), dtype=sigma.dtype, device=sigma.device)
        gm = torch.zeros(p, dtype=sigma.dtype, device=sigma.device)
        H = None
        for (o, _, _, w), (inv, S, d) in zip(self.parts, pieces):
            oo = (o[:, None], o[None, :])
            V[oo] += w * (inv - inv @ S @ inv)
            gm[o] += -2.0 * w * (inv @ d)
            if not gradient_only:
                W = inv @ D[:, o][:, :, o]
                Jo = J[:, o]
                h = w * (torch.einsum("iab,jba->ij", W, W) + 2.0 * Jo @ inv @ Jo.T)
                H = h if H is None else H + h
        g = torch.einsum("ab,kab->k", V, D) + J @ gm
        return (g, None) if gradient_only else (g, H)

    def fmin_torch(self, x: torch.Tensor) -> torch.Tensor:
        """-logl / N as a differentiable function of x (for the Hessian)."""
        mats = self.model.matrices(x)
        sigma, A = self.model.implied(mats)
        return -loglik_torch(self.pm, self.model.implied_mean(mats, A), sigma) / self.pm.n


class FimlObjective(Objective):
    """The FIML discrepancy over groups, weighted by N_g / N.

    Examples
    --------
    >>> import torchfit
    >>> from torchfit.model.partable import parse
    >>> from torchfit.data.patterns import em_h1, pattern_moments
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> m = Model(parse("f =~ x1 + x2 + x3", meanstructure=True), mean_structure=True)
    >>> pm = pattern_moments(hs, m.ov_names)
    >>> obj = FimlObjective([m], [pm], [em_h1(pm)[2]])
    >>> len(obj.parts)
    1
    """

    def __init__(self, models: Sequence[Model], patterns: Sequence[PatternMoments],
                 h1_logl: Sequence[float]):
        n = sum(pm.n for pm in patterns)
        self.parts = [(FimlGroup(m, pm, h1), pm.n / n)
                      for m, pm, h1 in zip(models, patterns, h1_logl)]
        self.n = n


def group_moments(model: Model, pm: PatternMoments, h1: Tuple[np.ndarray, np.ndarray, float]
                  ) -> GroupMoments:
    """The EM moments as the group's "sample" moments (start values, checks)."""
    return GroupMoments(model, h1[1], h1[0], pm.n)
