"""Robust maximum likelihood: sandwich standard errors and scaled tests.

lavaan's ``estimator = "MLM"`` and ``"MLR"`` are ML estimates with other
standard errors and test statistics; the point estimates do not change.  Both
need the raw data through Gamma, the asymptotic covariance matrix of the
sample (co)variances (the "ADF" Gamma, N-normalised), which is formed here in
one more bounded-memory pass over the data (the sample moments came from the
first one).

With W(Sigma) = 1/2 D'(Sigma^-1 (x) Sigma^-1) D (the ML weight matrix in vech
coordinates), Delta = d vech(Sigma) / d theta, the expected information
E = Delta' W Delta and the observed information H (the Hessian of lavaan's
fmin = F_ML / 2), per observation:

- MLM (lavaan ``se = "robust.sem"``, ``test = "satorra.bentler"``):
  vcov = E^-1 (Delta' W Gamma W Delta) E^-1 / N and the Satorra-Bentler
  factor c = tr(U Gamma) / df with U = W - W Delta E^-1 Delta' W.
- MLR (``se = "robust.huber.white"``, ``test = "yuan.bentler.mplus"``):
  vcov = H^-1 B0 H^-1 / N with B0 = Delta' B1 Delta, B1 the mean outer
  product of the casewise scores = W (Gamma + r r') W (r = vech(S - Sigma)),
  and the Yuan-Bentler (Mplus) factor c = (tr(W_S Gamma) - tr(H^-1 B0)) / df,
  W_S being W at the sample covariance matrix (lavaan's unstructured h1).
- ML with ``information = "observed"``: vcov = H^-1 / N.

The baseline (independence) model gets the same treatment, which gives the
scaled baseline test and with it the scaled and robust CFI/TLI/...; the robust
RMSEA and CFI use lavaan's formulas with the scaling factor ("c.hat").

With a mean structure the moments are (mean, vech S): W gains the block
Sigma^-1 for the means, Delta the mean Jacobian, Gamma the means' rows (third
moments) and r the mean residual.  Several groups are weighted by N_g / N
(see :func:`robust_inference`); fixed covariates (fixed.x) as in lavaan.  Data
are complete (or listwise-deleted).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from scipy import special

from ..data.cases import Cases, weighted_moments
from ..data.gamma import vech_index
from ..estimate.ml import Objective
from ..model.matrices import Model
from .baseline import Baseline
from .casewise import first_order, h1_observed
from .casewise import trace_h1 as trace_h1_of
from .indices import (
    cfi,
    ifi,
    insert_after,
    nfi,
    pnfi,
    rfi,
    rmsea,
    rmsea_ci,
    rmsea_p,
    rni,
    robust_indices,
    tli,
)
from .measures import count_moments
from .robust_options import Options
from .vcov import constrained_inverse


def dup_pre_post(A: torch.Tensor, B: torch.Tensor, I, J) -> torch.Tensor:
    """D'(A (x) B)D for symmetric A, B, without forming the duplication matrix D.

    Element (ij, kl) is c_ij c_kl / 4 (A_jl B_ik + A_jk B_il + A_il B_jk +
    A_ik B_jl), with c = 2 off the diagonal and 1 on it: memory stays at
    p*^2 for p* = p(p+1)/2 moments, whatever p.
    """
    I, J = torch.as_tensor(I), torch.as_tensor(J)
    c = torch.where(I == J, 1.0, 2.0).to(A.dtype)
    out = (A[J][:, J] * B[I][:, I] + A[J][:, I] * B[I][:, J]
           + A[I][:, J] * B[J][:, I] + A[I][:, I] * B[J][:, J])
    return out * torch.outer(c, c) / 4.0


def ml_weight(sigma: torch.Tensor, I, J) -> torch.Tensor:
    """W = 1/2 D'(Sigma^-1 (x) Sigma^-1)D, the normal-theory h1 information."""
    inv = torch.linalg.inv(sigma)
    inv = (inv + inv.T) / 2
    return 0.5 * dup_pre_post(inv, inv, I, J)


def moment_weight(sigma: torch.Tensor, I, J, means: bool) -> torch.Tensor:
    """The normal-theory h1 information of the moments (mean, vech Sigma):
    Sigma^-1 for the means (with a mean structure) and W for vech Sigma."""
    W = ml_weight(sigma, I, J)
    if not means:
        return W
    inv = torch.linalg.inv(sigma)
    return torch.block_diag((inv + inv.T) / 2, W)


def moment_jacobian(model: Model, x: torch.Tensor, I, J) -> torch.Tensor:
    """Delta = d (mu, vech Sigma) / d x, (p + p*, q); without a mean
    structure d vech(Sigma) / d x, (p*, q)."""
    mats = model.matrices(x)
    _, A = model.implied(mats)
    D = model.jacobian(mats, A)[:, torch.as_tensor(I), torch.as_tensor(J)].T
    if not model.mean_structure:
        return D
    return torch.cat([model.mean_jacobian(mats, A).T, D])


def _inv(a: torch.Tensor) -> Optional[torch.Tensor]:
    """The inverse of a symmetric information matrix, or None where it is singular
    in its unit-diagonal form (:func:`torchfit.inference.vcov.constrained_inverse`,
    which the ordinary SEs use: variables in badly different units, HS's x7-x9 in
    thousandths, keep their standard errors)."""
    V = constrained_inverse(a.numpy(), np.zeros((0, a.shape[0])))
    return None if V is None else torch.as_tensor(V)


@dataclass
class ScaledTest:
    """A scaled test statistic, lavaan's names."""

    test: str
    stat: float
    df: float
    pvalue: float
    scaling_factor: float
    trace_ugamma: float
    scaling_factor_h1: float = np.nan
    scaling_factor_h0: float = np.nan


@dataclass
class Robust:
    """What a robust (or observed-information) fit changes: the vcov of the
    free table parameters and, for MLM/MLR, the scaled tests of the model and
    of the baseline model."""

    options: Options
    vcov: Optional[np.ndarray]
    test: Optional[ScaledTest] = None
    baseline: Optional[ScaledTest] = None
    info: Dict = field(default_factory=dict)
    groups: int = 1

    def measures(self, standard: Callable[[], Dict[str, float]]) -> Dict[str, float]:
        """The standard fit measures (computed by ``standard()``) with the
        scaled and robust ones added in lavaan's order."""
        if self.test is None:
            return standard()
        return scaled_measures(standard(), self.test, self.baseline, self.groups)


def scaled_test(test: str, chisq: float, df: float, trace: float, h1=np.nan, h0=np.nan
                ) -> ScaledTest:
    """The statistic ``chisq`` scaled by c = ``trace`` / df (lavaan: no scaling at
    df = 0, NaN for a negative c); ``h1``, ``h0``: lavaan's scaling.factor.h1/h0.

    Examples
    --------
    >>> scaled_test("yuan.bentler.mplus", 20.0, 10, 12.5).stat
    16.0
    """
    if df <= 0:  # as lavaan: a saturated model has no scaling (nor trace, h1, h0)
        return ScaledTest(test, chisq, df, np.nan, np.nan, np.nan)
    c = trace / df
    if c < 0:
        c = np.nan
    stat = chisq / c
    return ScaledTest(test, stat, df, float(special.chdtrc(df, stat)), c, trace, h1, h0)


@dataclass
class _GroupPieces:
    """One group at the estimates, in the coordinates (mean, vech S): its share
    f = N_g / N, the weights W (at Sigma) and W_S (at S), Delta, the Gammas,
    the residual of the casewise scores' moments, and the same pieces of the
    baseline model (variances, and means when the model has them, free)."""

    f: float
    W: torch.Tensor
    W_S: torch.Tensor
    Delta: torch.Tensor
    G: Optional[torch.Tensor]  # without what fixed covariates explain (lavaan's NACOV)
    G_full: Optional[torch.Tensor]  # of all the moments, covariates' included
    G_scores: Optional[torch.Tensor]  # of the moments of the casewise scores (MLR)
    r_scores: torch.Tensor  # their mean residual
    Wb: torch.Tensor
    Deltab: torch.Tensor
    rb: torch.Tensor
    Hb_obs: torch.Tensor  # the baseline's observed h1 information (moments)
    # from the rows (weights, clusters): B1 at the estimates, at the sample moments
    # (unstructured) and at the baseline; the observed h1 information at the estimates
    B1: Optional[torch.Tensor] = None
    B1u: Optional[torch.Tensor] = None
    B1b: Optional[torch.Tensor] = None
    A1s: Optional[torch.Tensor] = None


def _casewise(pc: _GroupPieces, case: Cases, g, x: torch.Tensor, base: Baseline
              ) -> _GroupPieces:
    """The first-order pieces of ``pc`` from the group's rows (lavaan's casewise
    scores with sampling weights or clusters): without a mean structure the
    scores are taken around the (weighted) sample mean, as lavaan."""
    means = g.mean is not None
    mats = g.model.matrices(x)
    sigma, A = g.model.implied(mats)
    m = weighted_moments(case).mean
    mu = g.model.implied_mean(mats, A).detach().numpy() if means else m
    sig, S = sigma.detach().numpy(), g.cov
    pc.B1 = first_order(case, mu, sig, means)
    pc.B1u = first_order(case, m, S, means)
    pc.B1b = first_order(case, m, base.sigma(S), means)
    pc.A1s = h1_observed(m, S, mu, sig, means)
    return pc


def _group_pieces(g, x: torch.Tensor, f: float, gamma, base: Baseline) -> _GroupPieces:
    model, p = g.model, g.cov.shape[0]
    means = g.mean is not None
    I, J = vech_index(p)
    S = torch.as_tensor(g.cov, dtype=torch.float64)
    mats = model.matrices(x)
    sigma, A = model.implied(mats)
    G, G_full = (None, None) if gamma is None else \
        (torch.as_tensor(a, dtype=torch.float64) for a in gamma)
    G_scores, r_scores = G_full, S[I, J] - sigma[I, J]
    if means:
        m = torch.as_tensor(g.mean, dtype=torch.float64)
        rm = m - model.implied_mean(mats, A)
        # The casewise scores are taken around the implied mean: with
        # x_i - mu = d_i + rm their second moments are d_i d_i' + d_i rm' +
        # rm d_i' + rm rm', so the covariance part gains a term linear in d_i
        # (T below) and its mean residual becomes vech(S + rm rm' - Sigma).
        r_scores = torch.cat([rm, (S + torch.outer(rm, rm) - sigma)[I, J]])
        if G_scores is not None:
            L = torch.zeros((len(I), p), dtype=torch.float64)
            k = torch.arange(len(I))
            L[k, torch.as_tensor(I)] += rm[torch.as_tensor(J)]
            L[k, torch.as_tensor(J)] += rm[torch.as_tensor(I)]
            T = torch.eye(p + len(I), dtype=torch.float64)
            T[p:, :p] = L
            G_scores = T @ G_scores @ T.T
    sig_b = torch.as_tensor(base.sigma(g.cov), dtype=torch.float64)
    inv_b = torch.linalg.inv(sig_b)
    inv_b = (inv_b + inv_b.T) / 2
    Db = torch.as_tensor(base.delta(means))
    rb = S[I, J] - sig_b[I, J]
    # The Hessian of the baseline's F / 2 in vech Sigma: linear in its
    # parameters, so no second-order term; the means' block is Sigma_b^-1.
    Hb = 0.5 * dup_pre_post(inv_b, inv_b @ (2 * S - sig_b) @ inv_b, I, J)
    if means:
        rb = torch.cat([torch.zeros(p, dtype=torch.float64), rb])
        Hb = torch.block_diag(inv_b, Hb)
    return _GroupPieces(f, moment_weight(sigma, I, J, means), moment_weight(S, I, J, means),
                        moment_jacobian(model, x, I, J), G, G_full, G_scores, r_scores,
                        moment_weight(sig_b, I, J, means), Db, rb, Hb)


def robust_inference(groups, result, opts: Options, exo: Sequence[Sequence[bool]],
                     gammas: Optional[Sequence[Tuple[np.ndarray, np.ndarray]]] = None,
                     cases: Optional[Sequence[Cases]] = None) -> Robust:
    """Robust standard errors and scaled tests at the ML estimates, over one
    or more groups, with or without a mean structure.

    With several groups the moments of each group are weighted by its share
    f_g = N_g / N, as in lavaan: E = sum_g f_g Delta_g' W_g Delta_g, B0 =
    sum_g f_g Delta_g' B1_g Delta_g, and tr(U Gamma) = sum_g tr(W_g Gamma_g)
    - tr(E^-1 sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g).  The baseline
    model has its own variances (and means) in every group.

    Parameters
    ----------
    groups : sequence of GroupMoments
        The groups' models (with their fixed values set) and sample moments.
    result : MLResult
        The ML fit (``fit_ml``): estimates x and fmin.
    opts : Options
        From :func:`options`.
    exo : sequence of sequence of bool
        Fixed covariates per group (lavaan's fixed.x): their moments are
        given, Gamma leaves out what they explain (:func:`gamma_adf`).
    gammas : sequence of (ndarray, ndarray), optional
        Per group, :func:`gamma_adf` of its data (with the means when the
        model has a mean structure) without and with the part its fixed
        covariates explain: lavaan takes the first for the Satorra-Bentler
        trace and the h1 trace, the second for the casewise scores of MLR.
        Needed for MLM and MLR without ``cases``.
    cases : sequence of Cases, optional
        Per group, the rows with their sampling weights and clusters: MLR's
        first-order information comes from their scores (lavaan's single-level
        ``cluster`` and ``sampling.weights``), not from Gamma.

    Returns
    -------
    Robust

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6", hs,
    ...                    estimator="MLR")
    >>> round(fit.fit_measures()["chisq.scaling.factor"], 3) > 0
    True
    """
    model = groups[0].model
    n = sum(g.nobs for g in groups)
    x = result.x
    xt = torch.as_tensor(x, dtype=torch.float64)
    bases = [Baseline.of(g.model, e) for g, e in zip(groups, exo)]
    parts = [_group_pieces(g, xt, g.nobs / n, None if gammas is None else gammas[k], bases[k])
             for k, g in enumerate(groups)]
    if cases is not None:
        parts = [_casewise(pc, case, g, xt, b) for pc, case, g, b in
                 zip(parts, cases, groups, bases)]
    # the moments of fixed covariates are given, not fitted
    ndat = sum(count_moments(g.cov.shape[0], int(np.sum(e)), g.mean is not None)
               for g, e in zip(groups, exo))
    chisq, df = 2.0 * n * result.fmin, float(ndat - model.n_free)
    baseline_chisq = float(sum(
        g.nobs * (np.linalg.slogdet(b.sigma(g.cov))[1] - np.linalg.slogdet(g.cov)[1])
        for g, b in zip(groups, bases)))
    baseline_df = float(ndat - sum(pc.Deltab.shape[1] for pc in parts))
    K = torch.as_tensor(model.reduce_matrix())
    E = sum(pc.f * pc.Delta.T @ pc.W @ pc.Delta for pc in parts)
    H = torch.as_tensor(Objective(groups).observed_information(x)) \
        if opts.information == "observed" else E
    bread = _inv(H)
    info = {"se": opts.se, "test": opts.test, "information": opts.information,
            "h1_information": "structured",
            "observed_information": "hessian" if opts.information == "observed" else None}
    if opts.test_information == "h1":  # lavaan's ML with clusters: the tests' information
        info["test_information"] = "h1"
    if opts.estimator == "ML":
        vcov = None if bread is None else (K @ bread @ K.T / n).numpy()
        return Robust(opts, vcov, info=info)

    if opts.estimator == "MLM":
        meat = sum(pc.f * pc.Delta.T @ pc.W @ pc.G @ pc.W @ pc.Delta for pc in parts)
        Einv = _inv(E)
        vcov = None if Einv is None else (K @ (Einv @ meat @ Einv) @ K.T / n).numpy()
        test = _satorra_bentler([(pc.W, pc.Delta, pc.G) for pc in parts], Einv, meat,
                                chisq, df)
        # The baseline's parameters are its own in each group: its trace is a
        # sum over the groups.
        trace_b = 0.0
        for pc in parts:
            bE = pc.Deltab.T @ pc.Wb @ pc.Deltab
            bmeat = pc.Deltab.T @ pc.Wb @ pc.G @ pc.Wb @ pc.Deltab
            trace_b += _satorra_bentler([(pc.Wb, pc.Deltab, pc.G)], _inv(bE), bmeat,
                                        baseline_chisq, baseline_df).trace_ugamma
        baseline = scaled_test("satorra.bentler", baseline_chisq, baseline_df, trace_b)
    else:
        vcov, test, baseline = _mlr(parts, bread, opts, K, n, (chisq, df, ndat),
                                    (baseline_chisq, baseline_df), len(model.x_index))
    return Robust(opts, vcov, test, baseline, info, len(groups))


def _meat(pc: _GroupPieces) -> torch.Tensor:
    """B1 at the estimates: the rows' own (weights, clusters) or W (Gamma + r r') W."""
    if pc.B1 is not None:
        return pc.B1
    return pc.W @ (pc.G_scores + torch.outer(pc.r_scores, pc.r_scores)) @ pc.W


def _mlr(parts, bread, opts: Options, K, n: int, model_test, baseline_test, npar: int):
    """MLR's sandwich vcov and the Yuan-Bentler (Mplus) tests of the model and the
    baseline; with ``opts.test_information == "h1"`` (lavaan's ML with clusters) the
    test's information is Delta' A1 Delta, A1 the structured observed h1 information."""
    chisq, df, ndat = model_test
    B0 = sum(pc.f * pc.Delta.T @ _meat(pc) @ pc.Delta for pc in parts)
    vcov = sandwich(bread, B0, K, n)
    trace_h1 = sum(float((pc.W_S * pc.G).sum()) if pc.B1u is None else
                   trace_h1_of(pc.B1u, pc.W_S) for pc in parts)  # tr(A1^-1 B1) at S
    bread_t = bread
    if opts.test_information == "h1":
        bread_t = _inv(sum(pc.f * pc.Delta.T @ pc.A1s @ pc.Delta for pc in parts))
    test = yuan_bentler(B0, bread_t, trace_h1, ndat, npar, chisq, df)
    trace_h0b, npar_b = 0.0, 0
    for pc in parts:
        hb = pc.Hb_obs if opts.information == "observed" else pc.Wb
        bread_b = _inv(pc.Deltab.T @ hb @ pc.Deltab)
        B1b = pc.Wb @ (pc.G_full + torch.outer(pc.rb, pc.rb)) @ pc.Wb if pc.B1b is None \
            else pc.B1b
        bB0 = pc.Deltab.T @ B1b @ pc.Deltab
        trace_h0b += np.nan if bread_b is None else float((bB0 * bread_b).sum())
        npar_b += pc.Deltab.shape[1]
    baseline = scaled_test("yuan.bentler.mplus", *baseline_test, trace_h1 - trace_h0b,
                       trace_h1 / ndat, trace_h0b / npar_b)
    return vcov, test, baseline


def sandwich(bread: Optional[torch.Tensor], meat: torch.Tensor, K, n: int
             ) -> Optional[np.ndarray]:
    """K bread meat bread K' / N, the sandwich vcov of the free table parameters
    (None when the bread could not be formed).

    Examples
    --------
    >>> sandwich(torch.eye(2) * 2, torch.eye(2), torch.eye(2), 4).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    if bread is None:
        return None
    return (K @ (bread @ meat @ bread) @ K.T / n).numpy()


def _satorra_bentler(blocks, Einv, meat, chisq, df) -> ScaledTest:
    """tr(U Gamma) = sum_g tr(W_g Gamma_g) - tr(E^-1 meat) over the groups'
    (W, Delta, Gamma) ``blocks``."""
    if Einv is None:
        return ScaledTest("satorra.bentler", chisq, df, np.nan, np.nan, np.nan)
    trace = sum(float((W * G).sum()) for W, _, G in blocks) - float((Einv * meat).sum())
    return scaled_test("satorra.bentler", chisq, df, trace)


def yuan_bentler(B0, bread, trace_h1, ndat, npar, chisq, df) -> ScaledTest:
    """The Yuan-Bentler (Mplus) test: c = (tr(B1 A1^-1) - tr(B0 H^-1)) / df with the
    h1 trace ``trace_h1``, B0 and H^-1 (``bread``; None: no scaling).

    Examples
    --------
    >>> round(yuan_bentler(torch.eye(2), torch.eye(2), 12.0, 10, 2, 20.0, 8).stat, 3)
    16.0
    """
    if bread is None:
        return ScaledTest("yuan.bentler.mplus", chisq, df, np.nan, np.nan, np.nan)
    trace_h0 = float((B0 * bread).sum())
    return scaled_test("yuan.bentler.mplus", chisq, df, trace_h1 - trace_h0,
                   trace_h1 / ndat, trace_h0 / npar)


def scaled_measures(standard: Dict[str, float], test: ScaledTest,
                    baseline: ScaledTest, groups: int = 1) -> Dict[str, float]:
    """lavaan's fitMeasures() of a robust fit: the standard measures with the
    scaled (``.scaled``) and robust (``.robust``) versions inserted where
    lavaan puts them.

    ``*.scaled`` use the scaled statistics (the RMSEA: the unscaled statistic
    over tr(U Gamma) degrees of freedom); ``*.robust`` use the unscaled
    statistics with the scaling factors (Brosseau-Liard & Savalei), lavaan's
    ``c.hat``.
    """
    X2, df, N = standard["chisq"], standard["df"], standard["ntotal"]
    X2n, dfn = standard["baseline.chisq"], standard["baseline.df"]
    Xs, Xns = test.stat, baseline.stat
    c, cn = test.scaling_factor, baseline.scaling_factor
    sc = {
        "chisq.scaled": Xs, "df.scaled": test.df, "pvalue.scaled": test.pvalue,
        "chisq.scaling.factor": c,
        "baseline.chisq.scaled": Xns, "baseline.df.scaled": baseline.df,
        "baseline.pvalue.scaled": baseline.pvalue,
        "baseline.chisq.scaling.factor": cn,
        "cfi.scaled": cfi(Xs, df, Xns, dfn), "tli.scaled": tli(Xs, df, Xns, dfn),
        "nnfi.scaled": tli(Xs, df, Xns, dfn), "rfi.scaled": rfi(Xs, df, Xns, dfn),
        "nfi.scaled": nfi(Xs, df, Xns, dfn), "pnfi.scaled": pnfi(Xs, df, Xns, dfn),
        "ifi.scaled": ifi(Xs, df, Xns, dfn), "rni.scaled": rni(Xs, df, Xns, dfn),
        **robust_indices(X2, df, X2n, dfn, c, cn, N, Xs, standard["rmsea.close.h0"],
                         standard["rmsea.notclose.h0"], groups),
    }
    if test.test == "yuan.bentler.mplus" and np.isfinite(test.scaling_factor_h1):
        sc["scaling.factor.h1"] = test.scaling_factor_h1
        sc["scaling.factor.h0"] = test.scaling_factor_h0
    tr = test.trace_ugamma if np.isfinite(test.trace_ugamma) and test.trace_ugamma != 0 \
        else np.nan
    lo_s, hi_s = rmsea_ci(X2, tr, N, groups=groups)
    sc.update({
        "rmsea.scaled": rmsea(X2, tr, N, groups=groups), "rmsea.ci.lower.scaled": lo_s,
        "rmsea.ci.upper.scaled": hi_s,
        "rmsea.pvalue.scaled": rmsea_p(X2, tr, N, standard["rmsea.close.h0"], groups=groups),
        "rmsea.notclose.pvalue.scaled": rmsea_p(X2, tr, N, standard["rmsea.notclose.h0"],
                                                 close=False, groups=groups),
    })
    # lavaan's order: each scaled/robust group follows its standard group.
    after = {
        "pvalue": ["chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor"],
        "baseline.pvalue": ["baseline.chisq.scaled", "baseline.df.scaled",
                            "baseline.pvalue.scaled", "baseline.chisq.scaling.factor"],
        "tli": ["cfi.scaled", "tli.scaled", "cfi.robust", "tli.robust"],
        "rni": ["nnfi.scaled", "rfi.scaled", "nfi.scaled", "pnfi.scaled", "ifi.scaled",
                "rni.scaled", "nnfi.robust", "rni.robust"],
        "bic2": [k for k in ("scaling.factor.h1", "scaling.factor.h0") if k in sc],
        "rmsea.notclose.h0": ["rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled",
                              "rmsea.pvalue.scaled", "rmsea.notclose.pvalue.scaled",
                              "rmsea.robust", "rmsea.ci.lower.robust",
                              "rmsea.ci.upper.robust", "rmsea.pvalue.robust",
                              "rmsea.notclose.pvalue.robust"],
    }
    return insert_after(standard, sc, after)
