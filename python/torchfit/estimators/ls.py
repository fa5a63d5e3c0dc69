"""Least squares on the covariances of continuous data: lavaan's ``estimator =
"ULS"``, ``"GLS"``, ``"WLS"`` (ADF) and ``"DWLS"`` without ordered items.

Each group's statistics are the unbiased sample covariances s (lavaan's wls.obs;
after the sample means with a mean structure), fitted by minimising
F = sum_g (N_g - 1)/N (s_g - sigma_g)' W_g (s_g - sigma_g) with
:func:`torchfit.estimate.wls.fit_wls` (Gauss-Newton), where W is
lavaan's WLS.V: the identity (ULS), the normal-theory weight 0.5 D'(S^-1 x S^-1)D of
the unbiased S (GLS), the inverse of the ADF NACOV Gamma (WLS) or of its diagonal
(DWLS).  As lavaan: fmin = F / 2, the test 2 N fmin on the moments less the free
parameters, the standard errors (sum_g N_g/N Delta' W Delta)^-1 / (N - G) (expected
information; naive for ULS and DWLS, as lavaan's ``se = "standard"``), and the
baseline refitted by the same estimator (variances free, covariances 0).  The
statistics put the means (with a mean structure, as several groups have) and the
variances first, so :func:`torchfit.inference.wls.baseline`'s independence model frees
the first (2)p of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from scipy import linalg

from ..data.gamma import gamma_adf, vech_index
from ..data.stats import SampleStats
from ..errors import ModelError
from ..estimate.ml import one_thread
from ..estimate.record import Estimate
from ..estimate.wls import fit_wls, weight
from ..inference import wls as inference
from ..inference.measures import rmr_measures
from ..model.matrices import Model
from ..model.spec import Spec
from ..options import CONTINUOUS_LS, FitOptions
from . import moments


def vech_variances_first(p: int):
    """Rows and columns of the statistics (the variances, then the covariances in
    lavaan's vech order) and their positions in lavaan's vech.

    Examples
    --------
    >>> [list(a) for a in vech_variances_first(2)]
    [[0, 1, 1], [0, 1, 0], [0, 2, 1]]
    """
    I, J = vech_index(p)
    order = np.concatenate([np.flatnonzero(I == J), np.flatnonzero(I != J)])
    return I[order], J[order], order


@dataclass
class CovarianceGroup:
    """One group for :func:`torchfit.estimate.wls.fit_wls`: its model, statistics
    (``obs``: the means first with a mean structure), weight (a vector when diagonal)
    and size."""

    model: Model
    obs: np.ndarray
    weight: np.ndarray
    nobs: int

    def __post_init__(self):
        self.I, self.J, _ = vech_variances_first(len(self.model.ov_names))

    def implied(self, x: torch.Tensor, jacobian: bool = False):
        """sigma(x) as ``obs``; with ``jacobian``, also d sigma / d x (q, n_free)."""
        mats = self.model.matrices(x)
        sigma, A = self.model.implied(mats)
        means = self.model.mean_structure
        out = sigma[self.I, self.J]
        if means:
            out = torch.cat([self.model.implied_mean(mats, A), out])
        if not jacobian:
            return out
        J = self.model.jacobian(mats, A)[:, self.I, self.J]
        if means:
            J = torch.cat([self.model.mean_jacobian(mats, A), J], 1)
        return out, J.T



class LeastSquares:
    """Continuous data by ULS, GLS, WLS or DWLS.

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs, estimator="GLS")
    >>> fit.info.estimator, round(fit.fit_measures()["chisq"], 6)
    ('GLS', 0.0)
    """

    name = "least squares"
    data_parallel = True

    def applies(self, options: FitOptions) -> bool:
        return options.estimator in CONTINUOUS_LS and not options.own.get("ordered")

    def spec(self, model, data, options: FitOptions) -> Spec:
        return moments.build_spec(model, data, options)

    def sample_stats(self, spec: Spec, data, options: FitOptions) -> SampleStats:
        stats = moments.moment_stats(spec, data, options)
        if any(any(e) for e in stats.exo):
            raise ModelError(f"fixed exogenous covariates (fixed.x) with estimator = "
                             f"{options.estimator!r} are not supported yet; use fixed_x=False")
        if options.estimator in ("WLS", "DWLS"):  # the ADF NACOV
            _, subsets = moments.groups_of(data, options.group)
            with one_thread():
                stats.gammas = [gamma_adf(sub, mod.ov_names, mom.mean, mom.cov, options.missing,
                                          options.columns, meanstructure=spec.means)
                                for mod, mom, sub in zip(spec.models, stats.moments, subsets)]
        return stats

    def estimate(self, spec: Spec, stats: SampleStats, options: FitOptions) -> Estimate:
        with one_thread():
            return _estimate(spec, stats, options.estimator, options.iter_max)


def _groups(spec: Spec, stats: SampleStats, estimator: str):
    out = []
    for k, (mod, mom) in enumerate(zip(spec.models, stats.moments)):
        p = len(mod.ov_names)
        I, J, order = vech_variances_first(p)
        S = _unbiased(mom)
        obs = np.concatenate([mom.mean, S[I, J]]) if spec.means else S[I, J]
        if spec.means:  # the means come first, in Gamma as in obs
            order = np.concatenate([np.arange(p), p + order])
        if estimator == "GLS":
            W = inference.nt_weight(S, I, J)
            if spec.means:
                W = linalg.block_diag(np.linalg.inv(S), W)
        else:
            gamma = stats.gammas[k][np.ix_(order, order)] if stats.gammas else \
                np.eye(len(obs))
            W = weight(gamma, estimator)
        out.append(CovarianceGroup(mod, obs, W, mom.n))
    return out


def _unbiased(mom) -> np.ndarray:
    """lavaan's wls.obs of continuous data: the unbiased covariances."""
    return mom.cov * mom.n / (mom.n - 1)


def _estimate(spec: Spec, stats: SampleStats, estimator: str, iter_max: int) -> Estimate:
    values, x0 = moments.start(spec, moments.group_moments(spec, stats))
    groups = _groups(spec, stats, estimator)
    result = fit_wls(groups, x0, iter_max=iter_max)
    nobs = [g.nobs for g in groups]
    st = inference.stack([g.weight for g in groups], [None] * len(groups), result.jacobians,
                         nobs)
    # as the ordinal fits: lavaan's WLS-family information carries (N - G) / N
    K = spec.model.reduce_matrix()
    vcov = K @ inference.vcov(st, False, sum(nobs) - len(groups)) @ K.T
    x = torch.as_tensor(result.x, dtype=torch.float64)
    mats, sigma, mu = [], [], []
    for mod in spec.models:
        m = mod.matrices(x)
        sig, A = mod.implied(m)
        sigma.append(sig.numpy())
        mu.append(mod.implied_mean(m, A).numpy() if spec.means else None)
        mats.append({k: v.numpy() for k, v in m.items()})
    info = {"estimator": estimator, "se": "standard", "test": "standard",
            "information": "expected", "h1_information": "structured"}
    messages = [] if result.converged else [
        f"the {estimator} optimiser did not converge in {result.iterations} iterations; raise "
        "iter_max or check the model's identification"]
    tests = LsTests(partial(_measures, spec, stats, groups, result, estimator, sigma, mu), info)
    return Estimate(result.x, result.converged, result.iterations, start=values, vcov=vcov,
                    tests=tests, extras=info, messages=messages, optimizer="Gauss-Newton",
                    matrices=mats, sigma=sigma, mu=mu)


@dataclass
class LsTests:
    """The inference record: the fit measures on demand, and lavaan's option values."""

    measures: object
    info: dict


def _measures(spec, stats, groups, result, estimator, sigma, mu, standard=None) -> dict:
    """lavaan's fitMeasures() of a least-squares fit of continuous data."""
    nobs = [g.nobs for g in groups]
    N, npar = sum(nobs), spec.model.n_free
    test = inference.Test(2 * N * result.fmin,
                          sum(len(g.obs) for g in groups) - npar)
    # the baseline frees the means and variances: the first (2)p statistics
    bstat, bdf, _ = inference.baseline([g.obs for g in groups], [g.weight for g in groups],
                                       [len(g.model.ov_names) * (2 if spec.means else 1)
                                        for g in groups], nobs)
    resid = [rmr_measures(_unbiased(mom), sig, mom.mean if m is not None else None, m)
             for mom, sig, m in zip(stats.moments, sigma, mu)]
    summary = inference.Summary(
        npar, result.fmin, N, len(groups), estimator, test, inference.Test(bstat, bdf), None,
        {k: float(np.average([r[k] for r in resid], weights=nobs)) for k in resid[0]},
        [(g.obs, imp, g.weight, g.nobs) for g, imp in zip(groups, result.implied)],
        sum(len(g.obs) for g in groups), "standard")
    out = inference.fit_measures(summary)
    out.pop("wrmr")
    out["ecvi"] = (test.stat + 2 * npar) / (N - len(groups))
    return out
