"""Marginal maximum likelihood (``estimator = "MML"``): the IWAVE models with up
to a few factors, their likelihood integrated exactly by Gauss-Hermite
quadrature (:mod:`torchfit.iwave.quadrature`).

The same syntax, parameter table, item types and start values as IWAVE
(:mod:`torchfit.iwave.fit`); L-BFGS on the exact (autograd) gradient, on the
unconstrained scale of IWAVE (log variances, ordered graded thresholds), then
Newton steps on the table's scale with the exact Hessian, whose inverse at
the solution gives the observed-information standard errors.  The
log-likelihood, AIC and BIC are exact (up to the quadrature rule), and the
factor scores are the posterior means (EAP) or modes (MAP).

Data-parallel (``distributed=True``): each rank's quadrature holds its shard
of the rows and sums the log-likelihood, gradient and Hessian over the ranks
(:class:`~torchfit.iwave.quadrature.Quadrature`), so every rank takes the same
L-BFGS and Newton steps from one process's start values (every rank's
margins, :func:`~torchfit.iwave.fit.item_start_values`) and ends at the
one-process estimates, standard errors and log-likelihood.
"""
from __future__ import annotations

import math
import time
import warnings
from typing import Dict, List, Optional, Union

import numpy as np
import pandas as pd
import torch
from scipy import optimize

from ..data.frames import as_frame
from ..data.reader import comm_of
from ..data.stats import SampleStats
from ..errors import TorchfitError
from ..estimate.record import Estimate
from ..estimate.start import reduced_start
from ..model.matrices import Model
from ..model.spec import Spec
from ..options import FitOptions, check_extra, own_names
from ..results import report
from ..results.assemble import assemble
from .fit import (
    check_codings,
    check_device,
    item_start_values,
    model_frame,
    new_tensors,
    prepare,
    standardized_columns,
    structure_of,
    tensors_of,
)
from .itemfit import SHARD_SCORES, ItemFit
from .networks import Batch, Structure
from .quadrature import ADAPTIVE_POINTS, DEFAULT_POINTS, Quadrature, check_factors

#: adaptive quadrature: at most this many maximisations, each with the nodes
#: re-centred at the previous solution's posteriors
ADAPT_ROUNDS = 6
#: MML's own options (rows of :data:`torchfit.options.OPTIONS`) and their defaults
MML_OPTIONS = own_names("MML")
DEFAULTS = {"ordered": None, "item_types": None, "quad_points": None, "quadrature": "fixed",
            "max_factors": 3,
            "se": "observed", "device": "cpu", "quiet": True}


def fit_mml(model: Union[str, pd.DataFrame], data, *, model_type: str = "sem",
            std_lv: bool = False, orthogonal: bool = False, fixed_x: bool = True,
            missing: str = "default", iter_max: int = 500, **options) -> "MMLFit":
    """Fit an item response / latent variable model by marginal maximum likelihood;
    called by ``torchfit.fit(..., estimator="MML")``.

    Parameters
    ----------
    model, data, model_type, std_lv, orthogonal, fixed_x
        As for :func:`torchfit.iwave.fit.fit_iwave`: lavaan syntax or a table,
        every IWAVE item type; missing responses are left out of the
        likelihood.
    iter_max : int
        L-BFGS iterations.
    **options
        ``ordered``, ``item_types`` (as IWAVE's); ``quad_points`` (Gauss-Hermite
        points per factor: 61, 41, 41 for 1, 2, 3 factors, the 3-factor grid
        without its nodes of weight below 1e-5 of the largest, 3,839 nodes,
        about 1e-4 from exact ML (:data:`torchfit.iwave.quadrature.PRUNE`,
        bench/results/mml_quadrature.md); adaptive 21, 11, 7);
        ``quadrature`` ("fixed": the nodes at the prior, or "adaptive": each
        row's nodes at its posterior, re-centred between maximisations);
        ``max_factors`` (3:
        the most latent variables integrated over, the grid growing as
        points^factors; above it a ModelError points to IWAVE); ``se``
        ("observed": the inverse of the exact Hessian, or "none"); ``device``
        ("cpu" or "cuda"); ``quiet`` (accepted for symmetry: MML prints nothing).

    Returns
    -------
    MMLFit

    Examples
    --------
    >>> import torchfit
    >>> data, truth = torchfit.datasets.simulate(500, "binary", n_factors=1,
    ...                                          items_per_factor=5, seed=1)
    >>> fit = torchfit.fit(truth["syntax"], data, estimator="MML", ordered=True, std_lv=True)
    >>> fit.converged, fit.info.quad_points
    (True, 61)
    """
    check_extra("MML", options)
    opts = FitOptions("MML", missing, False, None, None, iter_max, None, None,
                      dict(model_type=model_type, std_lv=std_lv, orthogonal=orthogonal,
                           fixed_x=fixed_x), dict(options))
    method = MML()
    spec = method.spec(model, data, opts)
    stats = method.sample_stats(spec, data, opts)
    return assemble(spec, stats, method.estimate(spec, stats, opts), opts)


class MML:
    """The MML estimator (:class:`torchfit.estimators.protocol.Estimator`): IWAVE's
    ``Spec`` (table with thresholds, items, structure); as ``SampleStats`` the
    response patterns on the quadrature; its ``Estimate`` the ML estimates, the
    observed-information vcov and an :class:`Marginal` as the tests record.

    Examples
    --------
    >>> from torchfit.options import FitOptions
    >>> MML().applies(FitOptions("MML", "default", False, None, None, 0, None, None, {}, {}))
    True
    """

    name = "MML"
    data_parallel = True

    def applies(self, options: FitOptions) -> bool:
        return options.estimator == "MML"

    def spec(self, model, data, options: FitOptions) -> Spec:
        s = {**DEFAULTS, **options.own}
        device = _check_options(s["se"], options.missing, s["device"], options.iter_max)
        if s["quadrature"] not in ("fixed", "adaptive"):
            raise TorchfitError(f"quadrature = {s['quadrature']!r} is not a rule of MML; use "
                                "'fixed' (Gauss-Hermite nodes at the prior) or 'adaptive' (each "
                                "row's nodes at its posterior)")
        prep = prepare(model, model_frame(model, data, options.columns), options.model,
                       s["ordered"], s["item_types"])
        mod = Model(prep.pt, mean_structure=True)
        check_factors(len(mod.lv_names), s["max_factors"])
        order, structure = structure_of(prep, mod, device)
        return Spec(prep.pt, [mod], None, None, extras=dict(
            prepared=prep, order=order, structure=structure, settings=s, device=device,
            comm=comm_of(data)))

    def sample_stats(self, spec: Spec, data, options: FitOptions) -> SampleStats:
        prep, structure = spec.extras["prepared"], spec.extras["structure"]
        tensors = tensors_of(prep, spec.extras["order"], structure, torch.float64)
        m = len(spec.model.lv_names)
        s = spec.extras["settings"]
        adaptive = s["quadrature"] == "adaptive"
        points = int(s["quad_points"] or (ADAPTIVE_POINTS if adaptive else DEFAULT_POINTS)
                     .get(m, 9))
        comm = spec.extras["comm"]
        quad = Quadrature(structure, tensors, points, adaptive, comm)
        n_total = len(prep.keep) if comm is None else \
            int(comm.all_sum(np.array([len(prep.keep)]))[0][0])  # every rank's rows
        return SampleStats([], [], options.missing, data, options.columns,
                           extras={"quadrature": quad}, n=quad.n, n_total=n_total)

    def estimate(self, spec: Spec, stats: SampleStats, options: FitOptions) -> Estimate:
        start = time.perf_counter()
        prep, structure, s = spec.extras["prepared"], spec.extras["structure"], \
            spec.extras["settings"]
        mod, quad = spec.model, stats.extras["quadrature"]
        if quad.comm is not None:  # the ranks' sums are of the same categories
            check_codings(quad.comm, prep)
        # every rank's rows: the ranks start where one process does
        values = item_start_values(mod, prep.pt, prep.coded, prep.keep, prep.X, prep.types,
                                   prep.covariates, quad.comm)
        mod.fixed_values(values)
        structure.set_fixed(values)
        x, run = maximise(structure, quad, reduced_start(mod, values), options.iter_max)
        record = Marginal(structure, quad, x, run["logl"], spec.extras["order"], prep,
                          int(mod.n_free))
        est = Estimate(x, run["converged"], run["iterations"], start=values, tests=record,
                       optimizer="L-BFGS + Newton", messages=run["warnings"], extras={
                           "quad_points": quad.n_points, "quad_nodes": int(len(quad.log_w)),
                           "quadrature": s["quadrature"],
                           "max_gradient": run["max_gradient"], "se": s["se"],
                           "item_types": dict(prep.types), "device": str(spec.extras["device"])})
        if s["se"] == "observed":
            est.vcov = _vcov(mod, run["hessian"])
        mats = {k: v.cpu().numpy() for k, v in
                mod.matrices(torch.as_tensor(x, dtype=torch.float64)).items()}
        est.matrices = [mats]
        est.std = standardized_columns(mod, mats, prep.pt, est.values(prep.pt, mod), prep.types)
        est.extras["seconds"] = time.perf_counter() - start
        return est


def _check_options(se: str, missing: str, device, iter_max) -> torch.device:
    if se not in ("observed", "none"):
        raise TorchfitError(f"se = {se!r} is not available for MML; use 'observed' (the "
                            "inverse of the exact Hessian) or 'none'")
    if missing not in ("default", "listwise", "ml", "fiml"):
        raise TorchfitError(f"missing = {missing!r} is not available for MML; missing "
                            "responses are always left out of the likelihood")
    if not isinstance(iter_max, (int, np.integer)) or iter_max < 1:
        raise TorchfitError(f"iter_max = {iter_max!r} must be a positive integer")
    return check_device(device)


def maximise(structure: Structure, quad: Quadrature, x0: np.ndarray, iter_max: int):
    """The ML estimates (reduced parameters, float64 numpy) and the run: L-BFGS
    on the unconstrained scale, then Newton on the table's scale.

    Returns ``(x, run)``, ``run`` with ``iterations``, ``converged``, ``logl``,
    ``hessian`` (of the log-likelihood at x), ``max_gradient`` (per row) and
    ``warnings``.
    """
    x = torch.as_tensor(x0, dtype=torch.float64, device=structure.device)
    if quad.adaptive:
        # the nodes at the posteriors of the start, maximise, re-centre at the
        # solution's posteriors, until the solution stops moving
        quad.adapt(x, rounds=2)
        iterations = 0
        for _ in range(ADAPT_ROUNDS):
            new, its = _lbfgs(structure, quad, x, iter_max)
            iterations += its
            moved = float((new - x).abs().max())
            x = new
            quad.adapt(x)
            if moved < 1e-6:
                break
    else:
        x, iterations = _lbfgs(structure, quad, x, iter_max)
    n = quad.n
    x, hessian, grad = _newton(quad, x)
    max_gradient = float(grad.abs().max()) / n
    warnings = []
    converged = max_gradient < 1e-6 and bool(torch.isfinite(hessian).all())
    if not converged:
        warnings.append(f"MML did not converge: the largest gradient per row is "
                        f"{max_gradient:.1e} after {iterations} L-BFGS iterations; raise "
                        "iter_max, check the model's identification, or simplify it")
    logl = quad.log_lik(x)
    return x.cpu().numpy(), {"iterations": iterations, "converged": converged, "logl": logl,
                             "hessian": hessian.cpu().numpy(), "max_gradient": max_gradient,
                             "warnings": warnings}


def _lbfgs(structure: Structure, quad: Quadrature, x0: torch.Tensor, iter_max: int):
    """L-BFGS on the unconstrained scale from x0: the point (table's scale) and
    the iterations."""
    device = structure.device
    u0 = structure.unconstrained(x0).detach().cpu().numpy()
    n = quad.n

    def objective(u_np):
        u = torch.as_tensor(u_np, dtype=torch.float64, device=device).requires_grad_(True)
        x = structure.values(u)
        value, grad_x = quad.value_and_grad(x)
        if not math.isfinite(value):  # Psi not positive definite: the line search steps back
            return 1e10, np.zeros_like(u_np)
        grad_u = torch.autograd.grad(x, u, grad_x)[0]  # the chain rule through values()
        return -value / n, -grad_u.cpu().numpy() / n

    # scipy's L-BFGS-B: a torch.optim optimizer would import torch._dynamo (seconds)
    res = optimize.minimize(objective, u0, jac=True, method="L-BFGS-B",
                            options={"maxiter": int(iter_max), "gtol": 1e-5, "ftol": 1e-14,
                                     "maxcor": 20})
    u = torch.as_tensor(res.x, dtype=torch.float64, device=device)
    return structure.values(u).detach(), int(res.nit)


def _newton(quad: Quadrature, x: torch.Tensor, steps: int = 10):
    """Newton steps on the table's scale from the L-BFGS solution, with the exact
    Hessian of that point (so close to the maximum that it is the Hessian there
    to many digits: one Hessian, a few cheap gradients); the point, the Hessian
    and the gradient there."""
    value, g = quad.value_and_grad(x)
    H = quad.hessian(x)
    if not torch.isfinite(H).all():
        return x, H, g
    for _ in range(steps):
        try:
            step = torch.linalg.solve(H, g)
        except RuntimeError:  # singular: not identified, keep L-BFGS's answer
            break
        trial = x - step
        new_value, new_g = quad.value_and_grad(trial)
        if not (torch.isfinite(step).all() and new_value >= value - 1e-9):
            break  # not a step up: not near a maximum
        x, value, g = trial, new_value, new_g
        if float(step.abs().max()) < 1e-10:
            break
    return x, H, g


def _vcov(mod: Model, hessian: np.ndarray) -> Optional[np.ndarray]:
    """(-H)^-1 over the reduced parameters, mapped to the table; None if singular."""
    w = np.linalg.eigvalsh(-hessian)
    if not np.isfinite(w).all() or w[0] <= 1e-10 * max(w[-1], 1e-300):
        return None
    K = mod.reduce_matrix()
    return K @ np.linalg.inv(-hessian) @ K.T


class Marginal:
    """MML's tests record: the structure and quadrature at the estimates, which give
    the exact log-likelihood (the fit measures), the factor scores and the
    likelihood of new data; an :class:`MMLFit` presents it."""

    info: Dict = {}  # lavaan's se/test values: MML has none

    def __init__(self, structure: Structure, quad: Quadrature, x: np.ndarray, logl: float,
                 order: List[str], prep, npar: int):
        self.structure, self.quadrature, self.x, self.logl = structure, quad, x, logl
        self.order, self.prep, self.npar = order, prep, npar

    @property
    def fit_class(self):
        return MMLFit

    def measures(self, standard=None) -> Dict[str, float]:
        """The exact log-likelihood and information criteria (``standard`` unused)."""
        n, k, logl = self.quadrature.n, self.npar, self.logl
        return {"npar": float(k), "logl": logl, "aic": -2 * logl + 2 * k,
                "bic": -2 * logl + k * math.log(n),
                "bic2": -2 * logl + k * math.log((n + 2) / 24), "ntotal": float(n)}


class MMLFit(ItemFit):
    """A model fitted by marginal maximum likelihood.

    Has the accessors of :class:`torchfit.Fit` (``parameter_estimates``,
    ``coef``, ``vcov``, ``summary``, ``fit_measures``) and ``scores(method)``
    / ``predict(data, method)`` (EAP or MAP factor scores) and
    ``log_likelihood(data)`` (exact, by the fit's quadrature).

    Examples
    --------
    >>> import torchfit
    >>> data, truth = torchfit.datasets.simulate(300, "graded", n_factors=1,
    ...                                          items_per_factor=4, seed=2)
    >>> fit = torchfit.fit(truth["syntax"], data, estimator="MML", ordered=True)
    >>> fit.scores().shape, fit.scores("MAP").shape
    ((300, 1), (300, 1))
    """

    SE_LABELS = {"observed": "Observed information"}

    def __init__(self, *args, tests: Marginal, **kwargs):
        super().__init__(*args, tests=tests, **kwargs)
        self.structure, self.quadrature, self.x = tests.structure, tests.quadrature, tests.x
        self.item_types, self._order = tests.prep.types, tests.order
        self._prep, self._logl = tests.prep, tests.logl
        self._score_cache: Dict[str, pd.DataFrame] = {}

    def _quadrature_for(self, data) -> Quadrature:
        if data is None:
            return self.quadrature
        with warnings.catch_warnings():  # the encoder's standardization, unused here, of
            warnings.simplefilter("ignore", RuntimeWarning)  # a column all missing
            tensors = new_tensors(as_frame(data), self.structure, self._order, self._prep,
                                  torch.float64)
        quad = Quadrature(self.structure, tensors, self.quadrature.n_points,
                          self.quadrature.adaptive)
        if quad.adaptive:  # the new rows' posteriors, as the fitted rows' at the end
            quad.adapt(self._x(), rounds=3)
        return quad

    def log_likelihood(self, data=None) -> float:
        """The marginal log-likelihood of the fitted or of new data.

        Examples
        --------
        >>> import torchfit
        >>> data, truth = torchfit.datasets.simulate(200, "binary", n_factors=1,
        ...                                          items_per_factor=4)
        >>> fit = torchfit.fit(truth["syntax"], data, estimator="MML", ordered=True)
        >>> round(fit.log_likelihood(), 6) == round(fit.fit_measures()["logl"], 6)
        True
        """
        if data is None:
            return float(self._logl)
        return self._quadrature_for(data).log_lik(self._x())

    def _x(self) -> torch.Tensor:
        return torch.as_tensor(self.x, dtype=torch.float64, device=self.structure.device)

    def predict(self, data=None, method: str = "EAP") -> pd.DataFrame:
        """Factor scores: posterior means ("EAP", with the quadrature) or
        modes ("MAP", Newton's method per row) given the responses.

        Examples
        --------
        >>> import torchfit
        >>> data, truth = torchfit.datasets.simulate(200, "gpcm", n_factors=1,
        ...                                          items_per_factor=4)
        >>> fit = torchfit.fit(truth["syntax"], data, estimator="MML",
        ...                    item_types={v: "gpcm" for v in data.columns})
        >>> fit.predict(data.head(3), method="MAP").shape
        (3, 1)
        """
        if method not in ("EAP", "MAP"):
            raise TorchfitError(f"method = {method!r} is not a factor score of MML fits; use "
                                "'EAP' (posterior mean) or 'MAP' (posterior mode)")
        if data is None and method in self._score_cache:
            return self._score_cache[method].copy()
        if data is None and self.quadrature.n_here != self.quadrature.n:
            raise TorchfitError(SHARD_SCORES)
        quad = self._quadrature_for(data)
        with torch.no_grad():
            parts = self.structure.parts(self._x())
            joint, z = quad.joint(parts)  # z: the nodes, (Q, m) or per row (R, Q, m)
            eap = (torch.softmax(joint, 1).unsqueeze(-1) * z).sum(-2)
        scores = eap if method == "EAP" else posterior_modes(self.structure, quad, parts, eap)
        frame = pd.DataFrame(quad.per_row(scores).cpu().numpy(), columns=self.model.lv_names)
        if data is None:
            self._score_cache[method] = frame
        return frame.copy()

    def scores(self, method: str = "EAP") -> pd.DataFrame:
        """Factor scores of the fitted data (see :meth:`predict`)."""
        return self.predict(None, method)

    def _header_lines(self) -> List[str]:
        return report.mml_header(self.info)


def posterior_modes(structure: Structure, quad: Quadrature, parts, start: torch.Tensor,
                    iterations: int = 50) -> torch.Tensor:
    """MAP factor scores: Newton's method on log p(y | eta) + log p(eta) for every
    response pattern at once (the log posterior of these models is concave),
    from ``start`` (R, m)."""
    z = start.clone()
    batch: Batch = quad.batch
    m = z.shape[1]
    for _ in range(iterations):
        z = z.detach().requires_grad_(True)
        with torch.enable_grad():
            f = (structure.log_lik(z.unsqueeze(0), batch, parts)
                 + structure.log_prior(z.unsqueeze(0), batch.covariates, parts)).sum()
            g = torch.autograd.grad(f, z, create_graph=True)[0]
            H = torch.stack([torch.autograd.grad(g[:, d].sum(), z, retain_graph=True)[0]
                             for d in range(m)], 1)
        step = torch.linalg.solve(H.detach(), g.detach().unsqueeze(-1)).squeeze(-1)
        z = (z - step).detach()
        if float(step.abs().max()) < 1e-10:
            break
    return z
