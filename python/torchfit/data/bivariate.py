"""The standard bivariate normal distribution, vectorised in torch (float64).

The polychoric correlations and their asymptotic covariance need the
probability of every cell of every two-way table, and its derivatives, at
once: ``bvn_cdf`` evaluates P(X < h, Y < k) for tensors of bounds and
correlations by Genz's (2004) method (Gauss-Legendre quadrature in polar
coordinates for |r| < 0.925, a Taylor expansion of the remainder beyond),
accurate to about 1e-15, the accuracy of the Fortran code that R's pbivnorm
(and so lavaan) uses.  Infinite bounds are to be clamped by the caller
(``BOUND``): the probability beyond 12 standard deviations is below 1e-32.
"""
from __future__ import annotations

import math

import numpy as np
import torch

BOUND = 12.0
# Genz's rules: 6, 12 or 20 Gauss-Legendre points as |r| < 0.3, < 0.75 or beyond
_RULES = {n: np.polynomial.legendre.leggauss(n) for n in (6, 12, 20)}
_TWO_PI = 2.0 * math.pi


def norm_cdf(x: torch.Tensor) -> torch.Tensor:
    """Phi(x), accurate in both tails."""
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


def norm_pdf(x: torch.Tensor) -> torch.Tensor:
    """phi(x)."""
    return torch.exp(-0.5 * x * x) / math.sqrt(_TWO_PI)


def bvn_pdf(h: torch.Tensor, k: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """The density phi2(h, k; r) of the standard bivariate normal."""
    s = 1.0 - r * r
    return torch.exp(-0.5 * (h * h - 2.0 * r * h * k + k * k) / s) / (_TWO_PI * torch.sqrt(s))


def bvn_cdf(h: torch.Tensor, k: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """P(X < h, Y < k) for standard normals X, Y with correlation r (|r| < 1);
    the arguments broadcast.

    Examples
    --------
    >>> import torch
    >>> t = lambda v: torch.tensor(v, dtype=torch.float64)
    >>> round(float(bvn_cdf(t(0.0), t(0.0), t(0.5))), 12)  # 1/4 + asin(r)/(2 pi)
    0.333333333333
    """
    h, k, r = torch.broadcast_tensors(-h, -k, r)  # upper orthant: P(X > -h, Y > -k)
    near = r.abs() >= 0.925
    out = _polar(h, k, torch.where(near, torch.zeros_like(r), r))
    if bool(near.any()):
        out = torch.where(near, _taylor(h, k, torch.where(near, r, torch.ones_like(r) * 0.95)),
                          out)
    return out.clamp(0.0, 1.0)


def _nodes(like: torch.Tensor, n: int = 20):
    nodes, weights = _RULES[n]
    x = torch.as_tensor(nodes, dtype=like.dtype, device=like.device)
    w = torch.as_tensor(weights, dtype=like.dtype, device=like.device)
    return x, w


def _polar(h, k, r):
    """P(X > h, Y > k) = Phi(-h) Phi(-k) + 1/(2 pi) int_0^asin(r) exp(-(h^2 + k^2 -
    2 h k sin t) / (2 cos^2 t)) dt, by Gauss-Legendre with Genz's number of
    points for the largest |r|."""
    top = float(r.abs().max()) if r.numel() else 0.0
    x, w = _nodes(r, 6 if top < 0.3 else 12 if top < 0.75 else 20)
    half = torch.asin(r)[..., None] / 2.0
    sn = torch.sin(half * (x + 1.0))
    hk, hs = (h * k)[..., None], ((h * h + k * k) / 2.0)[..., None]
    integral = (torch.exp((sn * hk - hs) / (1.0 - sn * sn)) * w).sum(-1)
    return norm_cdf(-h) * norm_cdf(-k) + half[..., 0] * integral / _TWO_PI


def _taylor(h, k, r):
    """Genz's expansion for |r| >= 0.925: the limit at r = sign(r) minus
    the integral of the remainder over [0, sqrt(1 - r^2)]."""
    s = torch.where(r > 0, torch.ones_like(r), -torch.ones_like(r))
    hk = s * h * k
    as_ = (1.0 - r) * (1.0 + r)
    a = torch.sqrt(as_)
    bs = (h - s * k) ** 2
    b = torch.sqrt(bs)
    c, d = (4.0 - hk) / 8.0, (12.0 - hk) / 16.0
    analytic = a * torch.exp(-(bs / as_ + hk) / 2.0) * (
        1.0 - c * (bs - as_) * (1.0 - d * bs / 5.0) / 3.0 + c * d * as_ * as_ / 5.0)
    tail = torch.exp(-hk / 2.0) * math.sqrt(_TWO_PI) * norm_cdf(-b / a) * b * (
        1.0 - c * bs * (1.0 - d * bs / 5.0) / 3.0)
    analytic = analytic - torch.where(hk > -160.0, tail, torch.zeros_like(tail))
    x, w = _nodes(r)
    xs = ((a / 2.0)[..., None] * (x + 1.0)) ** 2
    rs = torch.sqrt(1.0 - xs)
    hk_, c_, d_, bs_ = hk[..., None], c[..., None], d[..., None], bs[..., None]
    expo = -(bs_ / xs + hk_) / 2.0
    term = torch.exp(expo) * (torch.exp(-hk_ * (1.0 - rs) / (2.0 * (1.0 + rs))) / rs
                              - (1.0 + c_ * xs * (1.0 + d_ * xs)))
    term = torch.where(expo > -100.0, term, torch.zeros_like(term))
    total = analytic + (a / 2.0) * (term * w).sum(-1)
    limit = torch.where(r > 0, norm_cdf(-torch.maximum(h, k)),
                        (norm_cdf(s * k) - norm_cdf(h)).clamp(min=0.0))
    return limit - s * total / _TWO_PI
