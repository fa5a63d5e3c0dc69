"""Residuals of the sample moments, lavaan's ``residuals()`` / ``lavResiduals``.

- ``"raw"``: S - Sigma (and the mean residual m - mu with a mean structure);
- ``"cor"`` (lavaan's ``cor.bollen``): cor(S) - cor(Sigma), the mean
  residuals divided by the sample standard deviations;
- ``"cor.bentler"``: both S and Sigma divided by the sample standard deviations;
- ``"standardized"``: raw residuals divided by their standard errors, lavaan's
  ``z.type = "standardized"``: with the h1 information A1 at Sigma (expected,
  the moments of fixed covariates given) and Delta = d(mu, vech Sigma)/dx,
  ACOV(res) = Q ACOV(s) Q', Q = I - (N_g/N) Delta A0^-1 Delta' A1, A0 the
  expected information of the model and ACOV(s) = A1(S)^+ / N_g the
  unstructured covariance of the sample moments (fixed covariates' moments
  zeroed in both A1, hence the generalized inverse, as lavaan).  With robust
  standard errors (MLM, MLR) ACOV(s) = Gamma / N_g, and for MLR (observed
  information) A1 is the observed h1 information at Sigma.  A residual below 1e-5 keeps
  its raw value, as in lavaan.

Entries (of S, Sigma or a residual) below 1e-5 in absolute value are not
rescaled, as lavaan's ``lav_residuals_rescale`` does.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
import torch

from ..data.gamma import vech_index
from ..errors import TorchfitError
from .fiml import h1_information
from .robust import dup_pre_post, moment_jacobian, moment_weight
from .vcov import constrained_inverse

TYPES = ("raw", "cor", "cor.bollen", "cor.bentler", "standardized")
NEAR_ZERO = 1e-5


def _rescale(cov: np.ndarray, mean: Optional[np.ndarray], var_cov: np.ndarray,
             var_mean: np.ndarray):
    """cov / sqrt(v v') and mean / sqrt(v), leaving entries near 0 alone."""
    scale = 1.0 / np.sqrt(np.outer(var_cov, var_cov))
    cov = np.where(np.abs(cov) < NEAR_ZERO, cov, cov * scale)
    if mean is not None:
        mean = np.where(np.abs(mean) < NEAR_ZERO, mean, mean / np.sqrt(var_mean))
    return cov, mean


def raw_or_cor(sample: Dict, implied: Dict, kind: str, means: bool) -> Dict[str, np.ndarray]:
    """The raw or correlation residuals of one group."""
    S, sigma = sample["cov"], implied["cov"]
    m, mu = (sample["mean"], implied["mean"]) if means else (None, None)
    if kind in ("cor", "cor.bollen", "cor.bentler"):
        v_s = np.diag(S)
        v_e = v_s if kind == "cor.bentler" else np.diag(sigma)
        S, m = _rescale(S, m, v_s, v_s)
        sigma, mu = _rescale(sigma, mu, v_e, v_s)
    return {"cov": S - sigma, "mean": None if m is None else m - mu}


def standardized(groups: Sequence, x: np.ndarray, exo: Sequence[Sequence[bool]],
                 means: bool, information: str = "expected",
                 gammas: Optional[Sequence[np.ndarray]] = None,
                 patterns: Optional[Sequence] = None,
                 constraint_jacobian: Optional[np.ndarray] = None
                 ) -> Sequence[Dict[str, np.ndarray]]:
    """Standardized residuals of every group (see the module docstring).

    ``groups`` are the fit's group views (model, sample and implied moments),
    ``x`` the reduced parameter vector at the estimates, ``exo`` the fixed
    covariates of each group.  With robust standard errors (MLM, MLR),
    ``gammas`` are the groups' N-normalised Gamma (lavaan's NACOV, fixed
    covariates' part taken out; ACOV(s) = Gamma / N_g) and ``information``
    the fit's: with "observed" (MLR) A1 is the observed h1 information at
    Sigma.  For FIML, ``patterns`` are the groups' missing-data patterns: A1
    is the observed information of the pattern likelihood at the implied
    moments, ACOV(s) its inverse at the EM moments over N_g.  A0 is inverted
    under the general constraints (``constraint_jacobian`` over ``x``).
    """
    n = sum(g.sample["nobs"] for g in groups)
    xt = torch.as_tensor(x, dtype=torch.float64)
    pieces = []
    for k, (g, e) in enumerate(zip(groups, exo)):
        p = len(g.model.ov_names)
        I, J = vech_index(p)
        e = np.asarray(e, dtype=bool)
        given = np.concatenate([e, e[I] & e[J]] if means else [e[I] & e[J]])
        if patterns is not None:
            A1 = h1_information(patterns[k], g.implied["mean"], g.implied["cov"])
            acov_obs = np.linalg.pinv(h1_information(patterns[k], g.sample["mean"],
                                                     g.sample["cov"])) / g.sample["nobs"]
        else:
            A1 = _h1_information(g.implied["cov"], I, J, means, given,
                                 g.sample["cov"] if information == "observed" else None)
            # the unstructured covariance of the sample moments, generalized
            # inverse as lavaan's (the fixed covariates' rows are zero)
            acov_obs = (gammas[k] if gammas is not None else
                        np.linalg.pinv(_h1_information(g.sample["cov"], I, J, means, given))) \
                / g.sample["nobs"]
        D = moment_jacobian(g.model, xt, I, J).numpy()
        pieces.append((g, I, J, A1, acov_obs, D, g.sample["nobs"] / n))
    A0 = sum(f * D.T @ A1 @ D for *_, A1, _, D, f in pieces)
    R = constraint_jacobian if constraint_jacobian is not None else np.zeros((0, len(x)))
    A0_inv = constrained_inverse(A0, R)
    if A0_inv is None:
        raise TorchfitError("the information matrix is singular (the model may not be "
                            "identified): no standardized residuals")
    out = []
    for g, I, J, A1, acov_obs, D, f in pieces:
        Q = np.eye(len(A1)) - f * D @ A0_inv @ D.T @ A1
        se = np.sqrt(np.clip(np.diag(Q @ acov_obs @ Q.T), 0, None))
        res = raw_or_cor(g.sample, g.implied, "raw", means)
        p = len(g.model.ov_names)
        se_cov = np.zeros((p, p))
        se_cov[I, J] = se_cov[J, I] = se[p:] if means else se
        out.append({"cov": _divide(res["cov"], se_cov),
                    "mean": None if not means else _divide(res["mean"], se[:p])})
    return out


def _h1_information(cov: np.ndarray, I, J, means: bool, given: np.ndarray,
                    sample: Optional[np.ndarray] = None) -> np.ndarray:
    """The expected h1 information at ``cov`` (or, given the ``sample``
    covariance matrix S, the observed one: 1/2 D'(C (x) C (2S - C) C)D with
    C = cov^-1, the mean residuals taken as 0), with the rows and columns of
    the fixed covariates' moments (``given``) zeroed."""
    if sample is None:
        A1 = moment_weight(torch.as_tensor(cov), I, J, means).numpy()
    else:
        inv = torch.linalg.inv(torch.as_tensor(cov))
        inv = (inv + inv.T) / 2
        A1 = 0.5 * dup_pre_post(inv, inv @ (2 * torch.as_tensor(sample) - torch.as_tensor(cov))
                                @ inv, I, J)
        A1 = (torch.block_diag(inv, A1) if means else A1).numpy()
    A1[given, :] = 0.0
    A1[:, given] = 0.0
    return A1


def _divide(res: np.ndarray, se: np.ndarray) -> np.ndarray:
    se = np.where(np.abs(res) < NEAR_ZERO, 1.0, se)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, res / se, np.nan)


def check_type(kind: str, info) -> str:
    """The residual type, checked against what the fit supports (its
    :class:`torchfit.results.info.FitInfo`: ``missing`` and ``information``)."""
    if kind not in TYPES:
        raise TorchfitError(f"unknown residual type {kind!r}; use one of {', '.join(TYPES)}")
    if kind == "standardized" and info.missing in ("ml", "ml.x") and \
            info.information != "observed":
        raise TorchfitError("standardized residuals of a missing='ml' fit need its default "
                            "information='observed'; for this fit use type='raw' or "
                            "type='cor'")
    return kind
