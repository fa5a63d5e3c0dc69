"""Exact marginal maximum likelihood for small IRT models, independently of torchfit.

Plain NumPy/SciPy (no torch, no torchfit import): the marginal likelihood is
integrated by a fixed tensor-product Gauss-Hermite rule (61 points for one
factor, 41 x 41 for two, 41^3 for three without its nodes of weight below
1e-8 of the largest), its gradient is derived by hand (below), BFGS runs
to a tight tolerance and Newton steps with a finite-difference Hessian of the
analytic gradient polish the solution.  The quadrature error is measured by
refitting with more points (81, 51 x 51; for three factors, and two with
covariates, 51^3 or 51 x 51 by one Newton step from the estimates) and written
next to the estimates.  ``graded_2f_cov`` (600 rows, 6 items) takes 5 minutes
on one core: its rule moves no estimate by more than 1.1e-6.

Models, in torchfit's (and the lavaan table's) parametrisation, with
standardized factors (``std.lv = TRUE``): eta ~ N(0, Psi), Psi with unit
diagonal and free correlations between the factors, lp_j = lambda_j' eta,

- graded:  Pr(y >= k | eta) = logistic(lp - tau_k), k = 1 .. K-1
- binary:  graded with K = 2
- gpcm:    Pr(y = k | eta) proportional to exp(k lp - sum_{j <= k} tau_j)

The cases with observed covariates (``COV_CASES``) add a latent regression
``f ~ x1 + x2``: eta_i = B x_i + zeta_i, zeta ~ N(0, Psi) (Psi standardized as
above: the residual variances fixed at 1), so every row has its own nodes
B x_i + chol(Psi) w_q and the likelihood is evaluated per row and node; the
gradient in B is that of the linear predictor times x_i.

Each data set is simulated from a fixed seed and written to
``tests/reference/irt/<case>.csv``; the estimates go to
``tests/reference/irt/<case>_exact.csv`` (lhs, op, rhs, est, se, and the
quadrature check) and the log-likelihoods to ``exact_irt.json`` (and
``exact_irt_logl.csv``).

Run from the repository root: ``python tests/reference/exact_irt.py``
(a few minutes on one core).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logsumexp

OUT = Path(__file__).resolve().parent / "irt"

#: name -> (item type, factors, items per factor, categories, rows, seed)
CASES = {
    "graded_1f": ("graded", 1, 8, 4, 1000, 101),
    "graded_2f": ("graded", 2, 4, 4, 1000, 102),
    "gpcm_1f": ("gpcm", 1, 8, 4, 1000, 103),
    "gpcm_2f": ("gpcm", 2, 4, 4, 1000, 104),
    "binary_1f": ("binary", 1, 10, 2, 1000, 105),
    "binary_2f": ("binary", 2, 5, 2, 1000, 106),
    # the issue-17 benchmark: 1 factor x 10 five-category graded items, N = 5000
    "graded_1f_n5000": ("graded", 1, 10, 5, 5000, 107),
    # three correlated factors: the accuracy of MML's default 3-factor rule
    "graded_3f": ("graded", 3, 4, 4, 1000, 109),
}
#: latent regressions on two covariates (x1 normal, x2 binary):
#: name -> (item type, factors, items per factor, categories, rows, seed, B (factors x 2))
COV_CASES = {
    "graded_1f_cov": ("graded", 1, 6, 4, 1000, 108, [[0.6, -0.5]]),
    # two correlated factors: per-row nodes make each evaluation rows x 41^2, so
    # fewer rows and items than the 2-factor cases without covariates
    "graded_2f_cov": ("graded", 2, 3, 4, 600, 110, [[0.6, -0.5], [0.3, 0.4]]),
}
POINTS = {1: (61, 81), 2: (41, 51), 3: (41, 51)}
#: three factors: the product grid without its nodes of weight below this
#: fraction of the largest (a ball of radius 6.1 prior sd; 7,569 and 10,731
#: nodes), which keeps the (rows x nodes) arrays in memory and the fit in minutes
PRUNE = {3: 1e-8}


# -- simulation -------------------------------------------------------------------------------
def simulate(kind, n_factors, per_factor, n_cat, n, seed, B=None):
    """The responses (n, p); with a regression matrix B also the covariates (n, 2)."""
    rng = np.random.default_rng(seed)
    p = n_factors * per_factor
    lam = np.zeros((p, n_factors))
    for f in range(n_factors):
        lam[f * per_factor:(f + 1) * per_factor, f] = rng.uniform(0.8, 2.0, per_factor)
    psi = np.eye(n_factors)
    if n_factors == 2:
        psi[0, 1] = psi[1, 0] = 0.4
    if n_factors == 3:
        psi = np.array([[1.0, 0.4, 0.3], [0.4, 1.0, 0.2], [0.3, 0.2, 1.0]])
    # well-separated thresholds around an item location: no empty categories
    centres = np.linspace(-1.2, 1.2, n_cat - 1) if n_cat > 2 else np.zeros(1)
    tau = centres + rng.uniform(-0.8, 0.8, (p, 1)) + rng.uniform(-0.2, 0.2, (p, n_cat - 1))
    eta = rng.standard_normal((n, n_factors)) @ np.linalg.cholesky(psi).T
    if B is not None:
        X = np.column_stack([rng.standard_normal(n), (rng.uniform(size=n) < 0.4) * 1.0])
        eta = eta + X @ np.asarray(B).T
    lp = eta @ lam.T
    y = np.empty((n, p), dtype=int)
    for j in range(p):
        prob = category_probs(kind, lp[:, j], tau[j])
        u = rng.uniform(size=n)
        y[:, j] = (u[:, None] > np.cumsum(prob, axis=1)[:, :-1]).sum(axis=1)
    return y if B is None else (y, X)


def category_probs(kind, lp, tau):
    """Pr(y = k | lp), (n, K), for one item."""
    if kind == "gpcm":
        k = np.arange(len(tau) + 1)
        logits = lp[:, None] * k - np.concatenate([[0.0], np.cumsum(tau)])
        return np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    ge = expit(lp[:, None] - tau)  # Pr(y >= k), k = 1..K-1
    ones, zeros = np.ones((len(lp), 1)), np.zeros((len(lp), 1))
    cum = np.hstack([ones, ge, zeros])
    return cum[:, :-1] - cum[:, 1:]


# -- the model ----------------------------------------------------------------------------------
class Problem:
    """Marginal log-likelihood and its gradient for one data set and one rule."""

    def __init__(self, kind, n_factors, per_factor, y, n_points):
        self.kind, self.m, self.per = kind, n_factors, per_factor
        self.y = y
        self.p = y.shape[1]
        self.n_cat = y.max(axis=0) + 1
        self.factor = np.repeat(np.arange(n_factors), per_factor)  # the item's factor
        x, w = np.polynomial.hermite_e.hermegauss(n_points)  # weight exp(-x^2 / 2)
        w = w / w.sum()
        grids = np.meshgrid(*[x] * n_factors, indexing="ij")
        self.w_nodes = np.column_stack([g.ravel() for g in grids])  # standard normal nodes
        wgrid = np.meshgrid(*[w] * n_factors, indexing="ij")
        self.log_wq = np.log(np.prod([g.ravel() for g in wgrid], axis=0))
        if n_factors in PRUNE:
            keep = self.log_wq >= self.log_wq.max() + np.log(PRUNE[n_factors])
            self.w_nodes, self.log_wq = self.w_nodes[keep], self.log_wq[keep]
        # the factor correlations: (i, j) for i < j, lavaan's order
        self.pairs = [(i, j) for i in range(n_factors) for j in range(i + 1, n_factors)]
        # one-hot responses per item, (n, K_j)
        self.onehot = [(y[:, j][:, None] == np.arange(self.n_cat[j])).astype(float)
                       for j in range(self.p)]

    # parameter vector: slopes (p), thresholds (sum K_j - 1), correlations (pairs)
    def unpack(self, theta):
        a = theta[:self.p]
        taus, at = [], self.p
        for j in range(self.p):
            taus.append(theta[at:at + self.n_cat[j] - 1])
            at += self.n_cat[j] - 1
        return a, taus, theta[at:at + len(self.pairs)]

    def nodes(self, rho):
        """eta = L w at the nodes (L the Cholesky factor of the correlation
        matrix), and d eta / d rho_k (Q, m) for each correlation: with
        dL = L Phi(L^-1 dR L^-T), Phi the lower triangle with half its diagonal
        (the derivative of the Cholesky factor)."""
        R = np.eye(self.m)
        for (i, j), r in zip(self.pairs, rho):
            R[i, j] = R[j, i] = r
        L = np.linalg.cholesky(R)
        Linv = np.linalg.inv(L)
        deta = []
        for i, j in self.pairs:
            dR = np.zeros((self.m, self.m))
            dR[i, j] = dR[j, i] = 1.0
            A = Linv @ dR @ Linv.T
            deta.append(self.w_nodes @ (L @ (np.tril(A, -1) + np.diag(np.diag(A)) / 2)).T)
        return self.w_nodes @ L.T, deta

    def item(self, lp, tau):
        """log Pr(y = k | lp) (Q, K), d/d lp (Q, K) and d/d tau (Q, K, K-1)."""
        K = len(tau) + 1
        if self.kind == "gpcm":
            k = np.arange(K)
            logits = lp[:, None] * k - np.concatenate([[0.0], np.cumsum(tau)])
            logp = logits - logsumexp(logits, axis=1, keepdims=True)
            prob = np.exp(logp)
            d_lp = k[None, :] - (prob @ k)[:, None]
            # d log p_k / d tau_j = -[j <= k] + Pr(Y >= j), j = 1..K-1
            ge = np.cumsum(prob[:, ::-1], axis=1)[:, ::-1][:, 1:]  # Pr(Y >= j)
            le = (np.arange(1, K)[None, :] <= k[:, None]).astype(float)  # (K, K-1)
            d_tau = -le[None, :, :] + ge[:, None, :]
            return logp, d_lp, d_tau
        z = lp[:, None] - tau  # (Q, K-1)
        ge = expit(z)
        dens = ge * (1 - ge)
        Q = len(lp)
        upper = np.hstack([np.ones((Q, 1)), ge])  # Pr(y >= k)
        lower = np.hstack([ge, np.zeros((Q, 1))])  # Pr(y >= k + 1)
        prob = upper - lower
        # log of a difference of logistics, stably: both tails
        logp = np.log(np.maximum(prob, 1e-300))
        dup = np.hstack([np.zeros((Q, 1)), dens])
        dlo = np.hstack([dens, np.zeros((Q, 1))])
        d_lp = (dup - dlo) / np.maximum(prob, 1e-300)
        d_tau = np.zeros((Q, K, K - 1))
        for k in range(K):
            if k >= 1:
                d_tau[:, k, k - 1] -= dens[:, k - 1]
            if k <= K - 2:
                d_tau[:, k, k] += dens[:, k]
            d_tau[:, k, :] /= np.maximum(prob[:, k:k + 1], 1e-300)
        return logp, d_lp, d_tau

    def value_and_grad(self, theta):
        a, taus, rho = self.unpack(theta)
        eta, deta = self.nodes(rho)
        pieces = []
        ll = np.zeros((self.y.shape[0], len(eta)))
        for j in range(self.p):
            lp = a[j] * eta[:, self.factor[j]]
            logp, d_lp, d_tau = self.item(lp, taus[j])
            pieces.append((logp, d_lp, d_tau))
            ll += self.onehot[j] @ logp.T
        lw = ll + self.log_wq
        logl_i = logsumexp(lw, axis=1)
        post = np.exp(lw - logl_i[:, None])  # (n, Q) posterior weights
        g_a, g_tau, g_rho = np.zeros(self.p), [], np.zeros(len(self.pairs))
        for j, (logp, d_lp, d_tau) in enumerate(pieces):
            counts = post.T @ self.onehot[j]  # (Q, K): expected responses at each node
            f = eta[:, self.factor[j]]
            g_lp = (counts * d_lp).sum(axis=1)  # d logL / d lp_j at each node
            g_a[j] = (g_lp * f).sum()
            g_tau.append(np.einsum("qk,qkt->t", counts, d_tau))
            g_rho += [(g_lp * a[j] * d[:, self.factor[j]]).sum() for d in deta]
        grad = np.concatenate([g_a] + g_tau + [g_rho])
        return logl_i.sum(), grad

    def start(self):
        taus = []
        for j in range(self.p):
            share = np.bincount(self.y[:, j], minlength=self.n_cat[j]) / len(self.y)
            if self.kind == "gpcm":
                taus.append(np.log(share[:-1] / share[1:]))
            else:
                ge = np.cumsum(share[::-1])[::-1][1:]
                taus.append(-np.log(ge / (1 - ge)) * 1.4)
        return np.concatenate([np.ones(self.p)] + taus + [np.full(len(self.pairs), 0.2)])


class CovariateProblem(Problem):
    """The latent regression eta_i = B x_i + zeta_i: per-row nodes.  Parameters:
    slopes, thresholds, the residual correlation (two factors), then B row by row."""

    def __init__(self, kind, n_factors, per_factor, y, X, n_points):
        super().__init__(kind, n_factors, per_factor, y, n_points)
        self.X = X

    def unpack(self, theta):
        a, taus, rho = super().unpack(theta)
        B = theta[-self.m * self.X.shape[1]:].reshape(self.m, -1)
        return a, taus, rho, B

    def value_and_grad(self, theta):
        a, taus, rho, B = self.unpack(theta)
        w, deta = self.nodes(rho)
        eta = (self.X @ B.T)[:, None, :] + w[None, :, :]  # (n, Q, m)
        n, Q = eta.shape[:2]
        ll = np.zeros((n, Q))
        pieces = []
        for j in range(self.p):
            lp = a[j] * eta[:, :, self.factor[j]].ravel()
            k = np.repeat(self.y[:, j], Q)  # the row's response at each of its nodes
            logp, d_lp, d_tau = self.observed(lp, taus[j], k)
            ll += logp.reshape(n, Q)
            pieces.append((d_lp.reshape(n, Q), d_tau.reshape(n, Q, -1)))
        lw = ll + self.log_wq
        logl_i = logsumexp(lw, axis=1)
        post = np.exp(lw - logl_i[:, None])
        g_a, g_tau, g_rho, g_B = np.zeros(self.p), [], np.zeros(len(self.pairs)), \
            np.zeros_like(B)
        for j, (d_lp, d_tau) in enumerate(pieces):
            f = self.factor[j]
            g_lp = post * d_lp  # d logL_i / d lp_j at each (row, node)
            g_a[j] = (g_lp * eta[:, :, f]).sum()
            g_tau.append(np.einsum("nq,nqt->t", post, d_tau))
            g_B[f] += a[j] * (g_lp.sum(axis=1) @ self.X)
            g_rho += [a[j] * (g_lp.sum(axis=0) @ d[:, f]) for d in deta]
        grad = np.concatenate([g_a] + g_tau + [g_rho, g_B.ravel()])
        return logl_i.sum(), grad

    def start(self):
        return np.concatenate([super().start(), np.zeros(self.m * self.X.shape[1])])

    def observed(self, lp, tau, k):
        """log Pr(y = k | lp), its derivatives in lp and in tau (rows, K-1) at each
        row's own response k. Graded items need only the two cumulative logistics
        around k: item()'s full (rows x nodes, K, K-1) arrays took most of the time
        (6.6 s of a 7 s evaluation at 41 x 41 nodes and 600 rows)."""
        rows = np.arange(len(lp))
        if self.kind == "gpcm":
            logp, d_lp, d_tau = self.item(lp, tau)
            return logp[rows, k], d_lp[rows, k], d_tau[rows, k]
        cuts = np.concatenate([[-np.inf], tau, [np.inf]])
        upper, lower = expit(lp - cuts[k]), expit(lp - cuts[k + 1])  # Pr(y >= k), Pr(y > k)
        d_up, d_lo = upper * (1 - upper), lower * (1 - lower)
        prob = np.maximum(upper - lower, 1e-300)
        d_up, d_lo = d_up / prob, d_lo / prob
        # tau_t enters Pr(y >= t) (t = k: lower) and Pr(y > t - 1) (t = k - 1: upper)
        d_tau = np.column_stack([np.where(k == t + 1, -d_up, np.where(k == t, d_lo, 0.0))
                                 for t in range(len(tau))])
        return np.log(prob), d_up - d_lo, d_tau


def maximise(problem, theta0, polish=3):
    """BFGS, then ``polish`` Newton steps with a finite-difference Hessian of the
    exact gradient; the estimates, log-likelihood, largest gradient, SEs and the
    Hessian (with ``polish`` 1, the polishing step's, at the BFGS solution; else at
    the estimates)."""
    def f(t):
        v, g = problem.value_and_grad(t)
        return -v, -g

    res = minimize(f, theta0, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 5000})
    theta = res.x
    for _ in range(polish):
        H = hessian(problem, theta)
        theta = theta - np.linalg.solve(H, problem.value_and_grad(theta)[1])
    value, grad = problem.value_and_grad(theta)
    if polish != 1:
        H = hessian(problem, theta)
    se = np.sqrt(np.diag(np.linalg.inv(-H)))
    return theta, value, float(np.abs(grad).max()), se, H


def refit_newton(problem, theta, H):
    """The maximum under a finer rule by one Newton step from ``theta`` with the
    Hessian H of the coarser rule (three factors: a full refit would take an
    hour); the step's error is second order in the rule's (already small) shift."""
    theta2 = theta - np.linalg.solve(H, problem.value_and_grad(theta)[1])
    return theta2, problem.value_and_grad(theta2)[0]


def hessian(problem, theta, h=1e-5):
    n = len(theta)
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        up, down = problem.value_and_grad(theta + e)[1], problem.value_and_grad(theta - e)[1]
        H[:, i] = (up - down) / (2 * h)
    return (H + H.T) / 2


def labels(problem):
    names = [f"y{j + 1}" for j in range(problem.p)]
    rows = [(f"f{problem.factor[j] + 1}", "=~", names[j]) for j in range(problem.p)]
    for j in range(problem.p):
        rows += [(names[j], "|", f"t{k + 1}") for k in range(problem.n_cat[j] - 1)]
    rows += [(f"f{i + 1}", "~~", f"f{j + 1}") for i, j in problem.pairs]
    return rows


def syntax(n_factors, per_factor, covariates=()):
    items = [[f"y{j + 1}" for j in range(f * per_factor, (f + 1) * per_factor)]
             for f in range(n_factors)]
    lines = [f"f{f + 1} =~ " + " + ".join(names) for f, names in enumerate(items)]
    if covariates:
        lines += [f"f{f + 1} ~ " + " + ".join(covariates) for f in range(n_factors)]
    return "\n".join(lines)


def run_case(name, spec):
    kind, m, per, n_cat, n, seed = spec[:6]
    fine, finer = POINTS[m]
    OUT.mkdir(exist_ok=True)
    if len(spec) == 6:
        y = simulate(kind, m, per, n_cat, n, seed)
        header = ",".join(f"y{j + 1}" for j in range(y.shape[1]))
        np.savetxt(OUT / f"{name}.csv", y, fmt="%d", delimiter=",", header=header, comments="")
        covariates = ()

        def problem(points):
            return Problem(kind, m, per, y, points)
    else:
        y, X = simulate(kind, m, per, n_cat, n, seed, spec[6])
        covariates = ("x1", "x2")
        header = ",".join([f"y{j + 1}" for j in range(y.shape[1])] + list(covariates))
        np.savetxt(OUT / f"{name}.csv", np.column_stack([y, X]), fmt=["%d"] * y.shape[1]
                   + ["%.10f"] * 2, delimiter=",", header=header, comments="")

        def problem(points):
            return CovariateProblem(kind, m, per, y, X, points)
    prob = problem(fine)
    if m == 3 or (covariates and m == 2):
        # the costly cases (3-factor grids; rows x 2-factor grids): one Newton
        # polish, whose Hessian gives the SEs and the finer rule's step
        theta, logl, grad, se, H = maximise(prob, prob.start(), polish=1)
        theta2, logl2 = refit_newton(problem(finer), theta, H)
    else:
        theta, logl, grad, se, _ = maximise(prob, prob.start())
        theta2, logl2, _, _, _ = maximise(problem(finer), theta)
    rows = labels(prob) + [(f"f{f + 1}", "~", x) for f in range(m) for x in covariates]
    with open(OUT / f"{name}_exact.csv", "w") as fh:
        fh.write("lhs,op,rhs,est,se,est_more_points\n")
        for (lhs, op, rhs), v, s, v2 in zip(rows, theta, se, theta2):
            fh.write(f"{lhs},{op},{rhs},{v:.10f},{s:.10f},{v2:.10f}\n")
    return {"item_type": kind, "factors": m, "n": n, "seed": seed,
            "syntax": syntax(m, per, covariates),
            "points": fine, "logl": logl, "max_abs_gradient": grad,
            "points_check": finer, "logl_check": logl2,
            "max_abs_change_with_more_points": float(np.abs(theta2 - theta).max())}


def main(names):
    path = OUT / "exact_irt.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    cases = {**CASES, **COV_CASES}
    for name in names or cases:
        summary[name] = run_case(name, cases[name])
        print(name, summary[name], flush=True)
        # after each case: a long run stopped later keeps the cases done
        path.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
        write_table(summary)


def write_table(summary):
    """The log-likelihoods as CSV too (for R's tests, which read no JSON)."""
    with open(OUT / "exact_irt_logl.csv", "w") as fh:
        fh.write("case,item_type,factors,n,logl\n")
        for name, s in sorted(summary.items()):
            fh.write(f"{name},{s['item_type']},{s['factors']},{s['n']},{s['logl']!r}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
