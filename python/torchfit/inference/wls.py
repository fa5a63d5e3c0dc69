"""Standard errors, tests and fit measures of the WLS family on ordered items,
as lavaan (0.6) computes them for WLSMV, WLSM, ULSMV, ULSM, WLS, DWLS and ULS.

With f_g = N_g / N, V = blockdiag(f_g W_g), Gamma = blockdiag(Gamma_g / f_g)
and Delta the stacked Jacobians (lavaan's stacking convention):

- information E = Delta' V Delta; robust ("robust.sem") covariance
  E^-1 (Delta' V Gamma V Delta) E^-1 / N, standard E^-1 / N;
- U = V - V Delta E^-1 Delta' V; the mean-adjusted test (WLSM, ULSM) divides
  the statistic by tr(U Gamma) / df, the scaled-shifted one (WLSMV, ULSMV)
  is a T + df - a tr(U Gamma) with a = sqrt(df / tr((U Gamma)^2));
- the baseline model frees the thresholds and fixes the correlations at 0;
- the ``.robust`` CFI, TLI and RMSEA follow Savalei (2021): the normal-theory
  (catML) statistic of the polychoric matrix at the estimates, with scaling
  factors from the DWLS residual projection (lavaan's ``lav_fit_catml_dwls``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np
from scipy import linalg, special

from .indices import cfi, ifi, nfi, pnfi, rfi, rmsea, rmsea_ci, rmsea_p, rni, tli

#: lavaan's estimator shortcuts: the discrepancy, robust standard errors, the test
ESTIMATORS = {
    "WLSMV": ("DWLS", True, "scaled.shifted"),
    "WLSM": ("DWLS", True, "satorra.bentler"),
    "ULSMV": ("ULS", True, "scaled.shifted"),
    "ULSM": ("ULS", True, "satorra.bentler"),
    "WLS": ("WLS", False, "standard"),
    "DWLS": ("DWLS", False, "standard"),
    "ULS": ("ULS", False, "standard"),
}


@dataclass
class Stacked:
    """The groups' pieces in lavaan's stacking convention; ``V`` is a vector
    (its diagonal) when every weight is diagonal (DWLS, ULS)."""

    fg: np.ndarray
    V: np.ndarray
    gamma: Optional[np.ndarray]
    delta: np.ndarray

    def times_v(self, X: np.ndarray) -> np.ndarray:
        """V X."""
        return self.V[:, None] * X if self.V.ndim == 1 else self.V @ X


def _matrix(w: np.ndarray) -> np.ndarray:
    return np.diag(w) if w.ndim == 1 else w


def stack(weights: Sequence[np.ndarray], gammas: Sequence[Optional[np.ndarray]],
          deltas: Sequence[np.ndarray], nobs: Sequence[int], block_delta: bool = False) -> Stacked:
    """Stack per-group weights, NACOVs and Jacobians (``block_delta``: the
    groups share no parameter, as in the baseline model)."""
    fg = np.asarray(nobs, dtype=float) / float(sum(nobs))
    if all(w.ndim == 1 for w in weights):
        V = np.concatenate([f * w for f, w in zip(fg, weights)])
    else:
        V = linalg.block_diag(*[f * _matrix(w) for f, w in zip(fg, weights)])
    gamma = None if any(g is None for g in gammas) else \
        linalg.block_diag(*[g / f for f, g in zip(fg, gammas)])
    delta = linalg.block_diag(*deltas) if block_delta else np.vstack(deltas)
    return Stacked(fg, V, gamma, delta)


def information(s: Stacked) -> np.ndarray:
    """lavaan's expected information Delta' V Delta."""
    return s.delta.T @ s.times_v(s.delta)


def vcov(s: Stacked, robust: bool, ntotal: int) -> np.ndarray:
    """The covariance matrix of the estimates (robust sandwich or standard)."""
    e_inv = np.linalg.inv(information(s))
    if not robust:
        return e_inv / ntotal
    VD = s.times_v(s.delta)
    return e_inv @ (VD.T @ s.gamma @ VD) @ e_inv / ntotal


def ug_traces(s: Stacked):
    """tr(U Gamma) and tr((U Gamma)^2).

    U Gamma = V Gamma - V Delta M with M = E^-1 Delta' V Gamma (k x q), so
    with V and Gamma symmetric tr((U Gamma)^2) = tr(V Gamma V Gamma)
    - 2 tr(M V Gamma V Delta) + tr((M V Delta)^2), and V Gamma V Delta =
    V M' E: one k x q x q product, no q x q one (q = 1425 at 50 items)."""
    e_inv = np.linalg.inv(information(s))
    VD = s.times_v(s.delta)
    P = VD.T @ s.gamma  # Delta' V Gamma
    M = e_inv @ P
    MVD = M @ VD
    G = s.gamma
    # tr(V Gamma V Gamma): sum_ij V_i V_j Gamma_ij^2 for a diagonal V
    vgvg = s.V @ (G * G) @ s.V if s.V.ndim == 1 else np.sum(s.times_v(G) * s.times_v(G).T)
    cross = np.sum(M * s.times_v(P.T).T)
    tr = np.sum(s.V * np.diag(G)) if s.V.ndim == 1 else np.trace(s.times_v(G))
    return float(tr - np.trace(MVD)), float(vgvg - 2.0 * cross + np.sum(MVD * MVD.T))


@dataclass
class Test:
    stat: float
    df: float
    scaled: float = np.nan
    scaling: float = np.nan
    shift: float = np.nan
    trace: float = np.nan

    @property
    def pvalue(self) -> float:
        return float(special.chdtrc(self.df, self.stat)) if self.df > 0 else np.nan

    @property
    def pvalue_scaled(self) -> float:
        return float(special.chdtrc(self.df, self.scaled)) if self.df > 0 else np.nan


def scaled_test(stat: float, df: float, s: Stacked, kind: str) -> Test:
    """The standard statistic with lavaan's mean-adjusted ("satorra.bentler")
    or scaled-shifted correction."""
    out = Test(stat, df)
    if kind == "standard":
        return out
    if df <= 0:  # a saturated model: lavaan's scaled statistic is the statistic
        out.scaled = stat
        return out
    tr, tr2 = ug_traces(s)
    out.trace = tr
    if kind == "satorra.bentler":
        out.scaling = tr / df
        out.scaled = stat / out.scaling
    else:
        a = np.sqrt(df / tr2)
        out.scaling, out.shift = 1.0 / a, df - a * tr
        out.scaled = stat * a + out.shift
    return out


# -- the baseline (independence) model ---------------------------------------------------

def baseline(obs: Sequence[np.ndarray], weights: Sequence[np.ndarray], n_th: Sequence[int],
             nobs: Sequence[int]):
    """Per group: the thresholds free, the correlations 0; returns the
    statistic, its df and each group's Jacobian."""
    stat, deltas = 0.0, []
    for s, w, k, n in zip(obs, weights, n_th, nobs):
        D = np.zeros((len(s), k))
        D[np.arange(k), np.arange(k)] = 1.0
        W = _matrix(w)
        theta = np.linalg.solve(D.T @ W @ D, D.T @ W @ s)
        r = s - D @ theta
        stat += (n - 1) * float(r @ W @ r)
        deltas.append(D)
    df = sum(len(s) - k for s, k in zip(obs, n_th))
    return stat, df, deltas


# -- Savalei's (2021) robust measures ---------------------------------------------------------

def nt_weight(sigma: np.ndarray, I: np.ndarray, J: np.ndarray) -> np.ndarray:
    """The normal-theory weight 0.5 D'(A x A) D (A = sigma^-1) of the (co)variances at
    rows ``I`` and columns ``J``: A_ik A_jl + A_il A_jk, halved once for each
    variance (lavaan's GLS weight; on the correlations alone, catML's).

    Examples
    --------
    >>> nt_weight(np.eye(2) * 2, np.array([0, 1, 1]), np.array([0, 1, 0])).tolist()
    [[0.125, 0.0, 0.0], [0.0, 0.125, 0.0], [0.0, 0.0, 0.25]]
    """
    A = np.linalg.inv(sigma)
    h = np.where(I == J, 0.5, 1.0)
    return (A[np.ix_(I, I)] * A[np.ix_(J, J)] + A[np.ix_(I, J)] * A[np.ix_(J, I)]) \
        * np.outer(h, h)


def catml(cors: Sequence[np.ndarray], implied: Sequence[np.ndarray], s: Stacked,
          n_th: Sequence[int], nobs: Sequence[int], npar_cor: int) -> Dict[str, float]:
    """lavaan's lav_fit_catml_dwls: XX3, df3, c.hat3 and their baseline."""
    for R in cors:
        if np.linalg.eigvalsh(R)[0] < np.sqrt(np.finfo(float).eps):
            return dict.fromkeys(("XX3", "df3", "c3", "XX3.null", "c3.null"), np.nan)
    p_star = [R.shape[0] * (R.shape[0] - 1) // 2 for R in cors]
    xx3 = sum(n * _f_ml(R, S) for R, S, n in zip(cors, implied, nobs))
    df3 = sum(p_star) - npar_cor
    keep = np.concatenate([np.arange(k, k + q) + off for k, q, off in
                           zip(n_th, p_star, np.cumsum([0] + [k + q for k, q in
                                                             zip(n_th, p_star)])[:-1])])
    e_inv = np.linalg.inv(information(s))
    D = s.delta[keep]
    W = s.V[keep] if s.V.ndim == 1 else s.V[np.ix_(keep, keep)]
    G = s.gamma[np.ix_(keep, keep)]
    V = linalg.block_diag(*[f * nt_weight(S, *np.triu_indices(S.shape[0], 1))
                            for f, S in zip(s.fg, implied)])
    # tr(WiU' V WiU G) with WiU = I - D M, M = E^-1 D' W, expanded so that
    # no product of two q x q matrices is formed
    M = e_inv @ (D.T * W[None, :] if W.ndim == 1 else D.T @ W)
    MG, VD = M @ G, V @ D
    ks = float(np.sum(V * G) - np.sum(M * ((D.T @ V) @ G)) - np.sum(MG * VD.T)
               + np.sum((D.T @ VD) * (MG @ M.T).T))
    null = sum(-n * np.linalg.slogdet(R)[1] for R, n in zip(cors, nobs))
    # a saturated model (df3 = 0) has no scaling factor; lavaan's indices
    # then take their saturated values whatever it is (1 here, not R's 0/0)
    return {"XX3": xx3, "df3": df3, "c3": ks / df3 if df3 > 0 else 1.0, "XX3.null": null,
            "c3.null": float(np.trace(G)) / sum(p_star)}


def _f_ml(R: np.ndarray, sigma: np.ndarray) -> float:
    """F_ML of a correlation matrix R against sigma."""
    _, ld_s = np.linalg.slogdet(sigma)
    _, ld_r = np.linalg.slogdet(R)
    return float(ld_s - ld_r + np.trace(np.linalg.solve(sigma, R)) - R.shape[0])


# -- fit measures -------------------------------------------------------------------------

@dataclass
class Residuals:
    """One group's residuals as lavaan's lav_residuals summarises them: the
    ordered items' thresholds, the covariance matrix's lower half with its
    diagonal raw (``cov``) and in the sample's standard deviations
    (``bentler``), and the correlations' off-diagonal (``bollen``)."""

    th: np.ndarray
    cov: np.ndarray
    bentler: np.ndarray
    bollen: np.ndarray


def residuals(th_res: np.ndarray, S: np.ndarray, implied: np.ndarray) -> Residuals:
    """The residuals of a sample covariance (correlation) matrix S against
    the implied one, and of the thresholds (``th_res``).  As lavaan's
    summary of a categorical fit, the variances' residuals count as zero
    (they stay in the number of elements)."""
    i, j = np.tril_indices(S.shape[0])
    raw = S - implied
    np.fill_diagonal(raw, 0.0)
    sd = np.sqrt(np.diag(S))
    imp_sd = np.sqrt(np.diag(implied))
    bollen = S / np.outer(sd, sd) - implied / np.outer(imp_sd, imp_sd)
    k, m = np.tril_indices(S.shape[0], -1)
    return Residuals(th_res, raw[i, j], (raw / np.outer(sd, sd))[i, j], bollen[k, m])


def residual_measures(res: Sequence[Residuals], nobs: Sequence[int]) -> Dict[str, float]:
    """lavaan's (S)RMR and CRMR on the covariance (correlation) and threshold residuals."""
    fg = np.asarray(nobs, dtype=float) / sum(nobs)
    out = dict.fromkeys(("rmr", "rmr_nomean", "srmr", "srmr_nomean", "crmr", "crmr_nomean"),
                        0.0)
    for f, r in zip(fg, res):
        ss_t, k = float(r.th @ r.th), len(r.th)
        for key, v in (("rmr", r.cov), ("srmr", r.bentler), ("crmr", r.bollen)):
            ss = float(v @ v)
            out[key] += f * np.sqrt((ss + ss_t) / (len(v) + k))
            out[key + "_nomean"] += f * np.sqrt(ss / len(v))
    return {"rmr": out["rmr"], "rmr_nomean": out["rmr_nomean"], "srmr": out["srmr_nomean"],
            "srmr_bentler": out["srmr"], "srmr_bentler_nomean": out["srmr_nomean"],
            "crmr": out["crmr"], "crmr_nomean": out["crmr_nomean"],
            "srmr_mplus": np.nan, "srmr_mplus_nomean": np.nan}


@dataclass
class Summary:
    """What the fit measures need."""

    npar: int
    fmin: float
    ntotal: int
    ngroups: int
    discrepancy: str
    test: Test
    base: Test
    robust: Optional[Dict[str, float]]
    residuals: Dict[str, float]
    gfi_parts: Sequence[tuple]
    nel: int
    kind: str


def fit_measures(s: Summary) -> Dict[str, float]:
    """lavaan's fitMeasures(fit, "all") for the WLS family, in its order."""
    t, b = s.test, s.base
    scaled = s.kind != "standard"
    N, G = s.ntotal - s.ngroups, s.ngroups
    # lavaan gives no p-value for the ULS statistic (it is not chi-square distributed)
    uls = s.discrepancy == "ULS"
    out = {"npar": s.npar, "fmin": s.fmin, "chisq": t.stat, "df": t.df,
           "pvalue": np.nan if uls else t.pvalue}
    if scaled:
        out.update({"chisq.scaled": t.scaled, "df.scaled": t.df,
                    "pvalue.scaled": t.pvalue_scaled, "chisq.scaling.factor": t.scaling})
    out.update({"baseline.chisq": b.stat, "baseline.df": b.df,
                "baseline.pvalue": np.nan if uls else b.pvalue})
    if scaled:
        out.update({"baseline.chisq.scaled": b.scaled, "baseline.df.scaled": b.df,
                    "baseline.pvalue.scaled": b.pvalue_scaled,
                    "baseline.chisq.scaling.factor": b.scaling})
    args = (t.stat, t.df, b.stat, b.df)
    sargs = (t.scaled, t.df, b.scaled, b.df)
    out.update({"cfi": cfi(*args), "tli": tli(*args)})
    r = s.robust
    if scaled:
        out.update({"cfi.scaled": cfi(*sargs), "tli.scaled": tli(*sargs)})
        rargs = (r["XX3"], t.df, r["XX3.null"], b.df, r["c3"], r["c3.null"], True)
        out.update({"cfi.robust": cfi(*rargs), "tli.robust": tli(*rargs)})
    out.update({"nnfi": tli(*args), "rfi": rfi(*args), "nfi": nfi(*args), "pnfi": pnfi(*args),
                "ifi": ifi(*args), "rni": rni(*args)})
    if scaled:
        out.update({"nnfi.scaled": tli(*sargs), "rfi.scaled": rfi(*sargs),
                    "nfi.scaled": nfi(*sargs), "pnfi.scaled": pnfi(*sargs),
                    "ifi.scaled": ifi(*sargs), "rni.scaled": rni(*sargs),
                    "nnfi.robust": tli(*rargs), "rni.robust": rni(*rargs)})
    out.update(_rmsea(s, N, G))
    out.update(s.residuals)
    out.update(_other(s, N))
    return {k: float(v) for k, v in out.items()}


def _rmsea(s: Summary, N: int, G: int) -> Dict[str, float]:
    t = s.test
    lo, hi = rmsea_ci(t.stat, t.df, N, groups=G)
    out = {"rmsea": rmsea(t.stat, t.df, N, groups=G), "rmsea.ci.lower": lo, "rmsea.ci.upper": hi,
           "rmsea.ci.level": 0.90, "rmsea.pvalue": rmsea_p(t.stat, t.df, N, 0.05, groups=G),
           "rmsea.close.h0": 0.05,
           "rmsea.notclose.pvalue": rmsea_p(t.stat, t.df, N, 0.08, close=False, groups=G),
           "rmsea.notclose.h0": 0.08}
    if s.kind == "standard":
        return out
    # the scaled-shifted statistic on df; the mean-adjusted one as X2 on tr(U Gamma)
    x2, df2 = (t.scaled, t.df) if s.kind == "scaled.shifted" else (t.stat, t.trace)
    lo, hi = rmsea_ci(x2, df2, N, groups=G)
    out.update({"rmsea.scaled": rmsea(x2, df2, N, groups=G), "rmsea.ci.lower.scaled": lo,
                "rmsea.ci.upper.scaled": hi,
                "rmsea.pvalue.scaled": rmsea_p(x2, df2, N, 0.05, groups=G),
                "rmsea.notclose.pvalue.scaled": rmsea_p(x2, df2, N, 0.08, close=False,
                                                        groups=G)})
    r = s.robust
    scaled3 = r["XX3"] / r["c3"]
    lo, hi = rmsea_ci(scaled3, r["df3"], N, r["c3"], groups=G)
    out.update({"rmsea.robust": rmsea(r["XX3"], r["df3"], N, r["c3"], groups=G),
                "rmsea.ci.lower.robust": lo, "rmsea.ci.upper.robust": hi,
                "rmsea.pvalue.robust": rmsea_p(scaled3, r["df3"], N, 0.05, r["c3"], groups=G),
                "rmsea.notclose.pvalue.robust": rmsea_p(scaled3, r["df3"], N, 0.08, r["c3"],
                                                        close=False, groups=G)})
    return out


def _other(s: Summary, N: int) -> Dict[str, float]:
    t = s.test
    gfis, ns = [], []
    for obs, est, w, n in s.gfi_parts:
        W = _matrix(w)
        d = obs - est
        gfis.append(1.0 - float(d @ W @ d) / float(obs @ W @ obs))
        ns.append(n)
    gfi = float(np.dot(ns, gfis) / sum(ns))
    # chi-square quantiles on 0 df are 0: lavaan's CN of a saturated model is 1
    cn = {a: special.chdtri(t.df, a) / (t.stat / N) + 1 if t.df > 0 else 1.0
          for a in (0.05, 0.01)}
    return {"cn_05": cn[0.05], "cn_01": cn[0.01], "gfi": gfi,
            "agfi": 1 - (s.nel / t.df) * (1 - gfi) if t.df > 0 else 1.0,
            "pgfi": t.df / s.nel * gfi, "mfi": np.exp(-0.5 * (t.stat - t.df) / N),
            "wrmr": np.sqrt(t.stat / len(s.gfi_parts[0][0]))}
