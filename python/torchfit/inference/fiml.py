"""Inference after a FIML fit: standard errors, fit measures and the corrected test.

- ``FimlFit``: the vcov from the chosen information and lavaan's fitMeasures()
  for such a fit: the baseline model under FIML, the log-likelihoods, GFI with
  the missing-data weight matrix, and the "robust" CFI/TLI/RMSEA of the
  FIML-corrected test (Zhang & Savalei; lavaan's ``lav_fit_fiml_corrected``,
  version V6).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from scipy.linalg import block_diag

from ..data.gamma import vech_index
from ..data.patterns import (
    LOG_2PI,
    PatternMoments,
    baseline_estimates,
    em_h1,
    loglik,
    loglik_torch,
    pairwise_moments,
)
from ..estimate.fiml import FimlObjective
from ..estimate.ml import one_thread
from ..model.matrices import Model
from .baseline import Baseline
from .indices import insert_after, robust_indices
from .robust import dup_pre_post, ml_weight
from .vcov import vcov_free


def _weighted_gfi(pm: PatternMoments, mu, sigma, xi: Sequence[int] = ()) -> float:
    """GFI as lavaan computes it for missing data: WLS.obs are the
    available-case moments (``pairwise_moments``) and WLS.V the expected h1
    information of the pattern likelihood at the implied moments
    (``structured``), i.e. per pattern Sigma_o^-1 for the means and half of
    Sigma_o^-1 (x) Sigma_o^-1 for the covariances, weighted by the pattern's
    share of the rows; fixed covariates (``xi``) carry no weight, as in lavaan's WLS.V."""
    num = den = 0.0
    obs_mean, obs_cov = pairwise_moments(pm)
    d_all, R_all = obs_mean - mu, obs_cov - sigma
    xx = np.ix_(xi, xi)
    for vec, mat in ((d_all, R_all), (obs_mean, obs_cov)):
        vec[list(xi)], mat[xx] = 0.0, 0.0
    for pat in pm.patterns:
        o, w = pat.observed, pat.n / pm.n
        inv = np.linalg.inv(sigma[np.ix_(o, o)])
        for vec, mat, is_num in ((d_all[o], R_all[np.ix_(o, o)], True),
                                 (obs_mean[o], obs_cov[np.ix_(o, o)], False)):
            q = float(vec @ inv @ vec) + 0.5 * float(np.trace(inv @ mat @ inv @ mat))
            if is_num:
                num += w * q
            else:
                den += w * q
    return 1.0 - num / den


def h1_information(pm: PatternMoments, mu: np.ndarray, sigma: np.ndarray,
                    complete: bool = False) -> np.ndarray:
    """Observed information (Hessian of -logl / N) of the unrestricted model
    in (mu, vech Sigma) coordinates (lavaan's vech order) at (mu, sigma): of the
    pattern likelihood,
    or with ``complete`` of complete data with these as sample moments."""
    p = pm.p
    I, J = vech_index(p)
    if complete:  # at the sample moments the observed information is the expected one
        inv = np.linalg.inv(sigma)
        S = torch.as_tensor(sigma, dtype=torch.float64)
        return block_diag(inv, ml_weight(S, I, J).numpy())

    def unpack(theta):
        m = theta[:p]
        S = torch.zeros((p, p), dtype=theta.dtype)
        S = S.index_put((torch.as_tensor(I), torch.as_tensor(J)), theta[p:])
        S = S + S.T - torch.diag(torch.diagonal(S))
        return m, S

    f = lambda t: -loglik_torch(pm, *unpack(t)) / pm.n
    theta = torch.as_tensor(np.concatenate([mu, sigma[I, J]]), dtype=torch.float64)
    H = torch.autograd.functional.hessian(f, theta, vectorize=True)
    return ((H + H.T) / 2).numpy()


def h1_expected(pm: PatternMoments, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Expected information of the unrestricted model's pattern likelihood in
    (mu, vech Sigma) at (mu, sigma): per pattern Sigma_o^-1 for the means and
    1/2 D'(Sigma_o^-1 (x) Sigma_o^-1)D for the covariances (zero outside the
    observed variables), weighted by the pattern's share of the rows.

    Examples
    --------
    >>> from torchfit.data.patterns import Pattern
    >>> pm = PatternMoments(["a"], [Pattern(np.array([0]), 2, np.zeros(1), np.eye(1))], 2, 2, 0)
    >>> h1_expected(pm, np.zeros(1), 2 * np.eye(1)).tolist()
    [[0.5, 0.0], [0.0, 0.125]]
    """
    I, J = vech_index(pm.p)
    out = np.zeros((pm.p + len(I),) * 2)
    for pat in pm.patterns:
        inv = np.zeros((pm.p, pm.p))
        o = pat.observed
        inv[np.ix_(o, o)] = np.linalg.inv(sigma[np.ix_(o, o)])
        t = torch.as_tensor(inv)
        out += pat.n / pm.n * block_diag(inv, 0.5 * dup_pre_post(t, t, I, J).numpy())
    return out


def model_delta(model: Model, x: np.ndarray) -> np.ndarray:
    """d (mu, vech Sigma) / d x at x, vech as in ``h1_information``.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> pt = parse("f =~ x1 + x2 + x3", meanstructure=True)
    >>> m = Model(pt, mean_structure=True)
    >>> m.fixed_values(pt["ustart"].fillna(0.5).to_numpy())
    >>> model_delta(m, np.full(m.n_free, 0.5)).shape
    (9, 9)
    """
    I, J = vech_index(len(model.ov_names))

    def moments(v):
        mats = model.matrices(v)
        sigma, A = model.implied(mats)
        return torch.cat([model.implied_mean(mats, A), sigma[I, J]])

    return torch.autograd.functional.jacobian(
        moments, torch.as_tensor(x, dtype=model.dtype)).numpy()


def _complete_chisq(n, S, m, sigma, mu) -> float:
    """N F_ML of complete data with sample moments (m, S) at (mu, sigma)."""
    p = S.shape[0]
    d = m - mu
    inv = np.linalg.inv(sigma)
    return float(n * (np.linalg.slogdet(sigma)[1] + np.trace(inv @ S) + d @ inv @ d
                      - np.linalg.slogdet(S)[1] - p))


def _fixed_x_free(p: int, exo: Sequence[bool]) -> np.ndarray:
    """Which of (mu, vech Sigma) are not moments of fixed covariates alone."""
    exo = np.asarray(exo, dtype=bool) if len(exo) else np.zeros(p, dtype=bool)
    I, J = vech_index(p)
    return np.concatenate([~exo, ~(exo[I] & exo[J])])


def _h1_informations(pm: PatternMoments, h1: Tuple, exo: Sequence[bool], information: str):
    """The observed h1 information of the patterns, its inverse, the complete-data one
    at the EM moments and the one of the model's information (observed or expected);
    as lavaan, the fixed covariates' moments get zero rows and columns (and the
    inverse is that of the rest)."""
    wm = h1_information(pm, h1[0], h1[1])
    wc = h1_information(pm, h1[0], h1[1], complete=True)
    we = wm if information == "observed" else h1_expected(pm, h1[0], h1[1])
    keep = _fixed_x_free(pm.p, exo)
    for w in {id(m): m for m in (wm, wc, we)}.values():
        w[~keep], w[:, ~keep] = 0.0, 0.0
    wmi = np.zeros_like(wm)
    wmi[np.ix_(keep, keep)] = np.linalg.inv(wm[np.ix_(keep, keep)])
    return wm, wmi, wc, we


@dataclass
class CorrectedTest:
    """lavaan's FIML-corrected statistics (``lav_fit_fiml_corrected``, V6)."""

    XX3: float
    df3: float
    c_hat3: float
    XX3_null: float
    df3_null: float
    c_hat3_null: float


def corrected_test(groups: Sequence[Tuple],
                   x: np.ndarray, df: float, df_null: float,
                   first_order: Optional[Sequence[np.ndarray]] = None,
                   information: str = "observed") -> CorrectedTest:
    """The FIML-corrected test (Zhang & Savalei) behind lavaan's robust
    CFI/TLI/RMSEA for missing = "ml".

    The complete-data ML statistic of the model at the FIML estimates with
    the EM moments as sample moments (XX3), and the correction
    c = tr(Wc Wm^-1 U Wm^-1) / df with Wm the observed h1 information of the
    pattern likelihood, Wc the complete-data one (both at the EM moments) and
    U = Wm - Wm Delta (Delta' Wm Delta)^-1 Delta' Wm; the same for the
    independence model with its FIML estimates.

    ``groups`` holds per group (model, patterns, EM (mean, cov, logl), implied mean,
    implied covariance and, optionally, the fixed.x flags) at ``x``. With
    ``first_order`` (MLR: per group the first-order h1 information Jm of the rows at the
    EM moments) the trace is lavaan's version V3 of a scaled test, tr(U Wm^-1 Wc Wm^-1 U
    Gamma) with Gamma = Wm^-1 Jm Wm^-1 / f per group. With the expected ``information``
    the (Delta' W Delta)^-1 in U takes W the expected h1 information at the EM moments,
    as lavaan's inverted information then does.
    """
    N = sum(g[1].n for g in groups)
    Wm, Wmi, Wc, Delta, DeltaB, XX3, XX3_null = [], [], [], [], [], 0.0, 0.0
    Gam: List[np.ndarray] = []
    We: List[np.ndarray] = []  # the h1 information of the model's information
    for model, pm, h1, mu, sigma, *fixed in groups:
        exo = fixed[0] if fixed else ()
        f = pm.n / N
        m_h1, S_h1 = h1[0], h1[1]
        wm, wmi, wc, we = _h1_informations(pm, h1, exo, information)
        base = Baseline.of(model, exo)
        if not base.fixed:
            # lavaan 0.6.14 takes Wc from a refit of the EM moments by lavaan(), whose
            # default fixed.x holds the observed covariates fixed: their moments get
            # no complete-data information (zero rows and columns)
            held = ~_fixed_x_free(pm.p, base.block)
            wc[held], wc[:, held] = 0.0, 0.0
        Wm.append(f * wm)
        We.append(f * we)
        Wmi.append(wmi / f)
        if first_order is not None:
            Gam.append(Wmi[-1] @ first_order[len(Gam)] @ Wmi[-1] * f)
        Wc.append(f * wc)
        Delta.append(model_delta(model, x))
        DeltaB.append(base.delta(means=True))
        XX3 += _complete_chisq(pm.n, S_h1, m_h1, sigma, mu)
        mb, sb = baseline_moments(pm, h1, base)
        XX3_null += _complete_chisq(pm.n, S_h1, m_h1, sb, mb)
    Wm_all, Wmi_all, Wc_all = block_diag(*Wm), block_diag(*Wmi), block_diag(*Wc)
    We_all = block_diag(*We)
    # the parameters are shared by the groups: stack the Jacobians' rows
    D = np.vstack(Delta)
    DB = block_diag(*DeltaB)

    def trace(delta):
        E = delta.T @ We_all @ delta
        U = Wm_all - Wm_all @ delta @ np.linalg.solve(E, delta.T @ Wm_all)
        if first_order is not None:  # V3
            return float(np.trace(U @ Wmi_all @ Wc_all @ Wmi_all @ U @ block_diag(*Gam)))
        return float(np.trace(Wc_all @ Wmi_all @ U @ Wmi_all))

    k, kb = trace(D), trace(DB)
    return CorrectedTest(XX3, df, k / df if df > 0 else np.nan, XX3_null, df_null,
                         kb / df_null if df_null > 0 else np.nan)


def baseline_moments(pm: PatternMoments, h1: Tuple, base: Baseline):
    """The independence model's mean and covariance under FIML: the observed
    means and variances, and the block of exogenous variables at EM's moments
    when they are fixed covariates (as the model holds them), else at their own
    FIML estimates (the block is independent of the rest)."""
    mb, vb = baseline_estimates(pm)
    sb = np.diag(vb)
    xi = np.flatnonzero(base.block)
    if len(xi):
        xx = np.ix_(xi, xi)
        mb[xi], sb[xx] = (h1[0][xi], h1[1][xx]) if base.fixed else em_h1(pm.subset(xi))[:2]
    return mb, sb


def fiml_pieces(pm: PatternMoments, h1: Tuple, mu: np.ndarray, sigma: np.ndarray,
                base: Baseline, exo: Sequence[bool] = ()) -> Dict:
    """The per-group pieces of ``measures.fit_measures`` that FIML changes:
    the log-likelihoods of the model and of H1, the baseline test and GFI."""
    logl_b = loglik(pm, *baseline_moments(pm, h1, base))
    xi = np.flatnonzero(np.asarray(exo, dtype=bool))
    # With fixed covariates lavaan's log-likelihoods are the rest's given them: less
    # a saturated marginal of the covariates, at EM's covariance for the model's and
    # at their pairwise covariance for H1's (lavaan's cov.x)
    xx = np.ix_(xi, xi)
    marginal, marginal_h1 = (_saturated(pm.n, h1[1][xx]),
                             _saturated(pm.n, pairwise_moments(pm)[1][xx])) if len(xi) \
        else (0.0, 0.0)
    return {"logl": loglik(pm, mu, sigma) - marginal, "h1": h1[2] - marginal_h1,
            "baseline_chisq": 2.0 * (h1[2] - logl_b),
            "gfi": _weighted_gfi(pm, mu, sigma, xi)}


def _saturated(n: int, S: np.ndarray) -> float:
    """The log-likelihood of n complete rows with covariance S at their own moments."""
    return -0.5 * n * (S.shape[0] * (LOG_2PI + 1.0) + np.linalg.slogdet(S)[1])


def fiml_robust_indices(measures: Dict[str, float], test: CorrectedTest, groups: int
                        ) -> Dict[str, float]:
    """lavaan's ``*.robust`` CFI/TLI/NNFI/RNI/RMSEA of a FIML fit from its corrected
    test and the fit measures ``measures``."""
    X2, df, N = test.XX3, measures["df"], measures["ntotal"]
    X2n, dfn = test.XX3_null, measures["baseline.df"]
    c, cn = test.c_hat3, test.c_hat3_null
    robust = robust_indices(X2, df, X2n, dfn, c, cn, N, X2 / c, measures["rmsea.close.h0"],
                            measures["rmsea.notclose.h0"], groups, df_rmsea=test.df3)
    return robust


def add_robust(measures: Dict[str, float], test: CorrectedTest, groups: int) -> Dict[str, float]:
    """Insert lavaan's ``*.robust`` CFI/TLI/NNFI/RNI/RMSEA of a FIML fit,
    in lavaan's order."""
    robust = fiml_robust_indices(measures, test, groups)
    after = {"tli": ["cfi.robust", "tli.robust"], "rni": ["nnfi.robust", "rni.robust"],
             "rmsea.notclose.h0": ["rmsea.robust", "rmsea.ci.lower.robust",
                                   "rmsea.ci.upper.robust", "rmsea.pvalue.robust",
                                   "rmsea.notclose.pvalue.robust"]}
    return insert_after(measures, robust, after)


class FimlFit:
    """What a FIML fit hands to ``api._results``: the standard errors from
    the chosen information, lavaan's option values and its fit measures (the
    role ``robust.Robust`` plays for MLM and MLR)."""

    def __init__(self, models: Sequence[Model], patterns: Sequence[PatternMoments],
                 h1s: Sequence[Tuple], objective: FimlObjective, result, information: str,
                 exo: Sequence[Sequence[bool]] = (), missing: str = "ml"):
        self.models, self.patterns, self.h1s = list(models), list(patterns), list(h1s)
        self.exo = list(exo) or [[False] * len(m.ov_names) for m in self.models]
        self.baselines = [Baseline.of(m, e) for m, e in zip(self.models, self.exo)]
        self.result = result
        n = sum(pm.n for pm in patterns)
        if information == "observed":
            info = objective.observed_information(result.x)
        else:  # the expected information of the pattern likelihood (Fisher scoring's)
            info = result.information
        self.vcov = vcov_free(models[0], info, n)
        self.info = {"se": "standard", "test": "standard", "information": information,
                     "h1_information": "structured",
                     "observed_information": "hessian" if information == "observed" else None,
                     "missing": missing}

    def group_chisq(self) -> List[float]:
        """Each group's share of the test statistic, 2 (logl_H1 - logl)."""
        return [2.0 * (h1[2] - loglik(pm, mu, sigma)) for pm, h1, mu, sigma in
                zip(self.patterns, self.h1s, self.result.mu, self.result.sigma)]

    def measures(self, standard) -> Dict[str, float]:
        """lavaan's fitMeasures() of the FIML fit; ``standard`` is the
        ``measures.fit_measures`` call of the fit, given the FIML pieces."""
        pieces = [fiml_pieces(pm, h1, mu, sigma, b, e) for pm, h1, mu, sigma, b, e in
                  zip(self.patterns, self.h1s, self.result.mu, self.result.sigma,
                      self.baselines, self.exo)]
        out = standard(overrides=pieces)
        with one_thread():  # tiny matrices: torch's thread hand-offs cost more than the work
            test = corrected_test(
                list(zip(self.models, self.patterns, self.h1s, self.result.mu,
                         self.result.sigma, self.exo)),
                self.result.x, out["df"], out["baseline.df"],
                information=self.info["information"])
        return add_robust(out, test, len(self.models))
