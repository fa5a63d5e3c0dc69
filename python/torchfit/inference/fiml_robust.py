"""MLR with missing = "ml" (and FIML with clusters): lavaan's robust inference
after a FIML fit.

- standard errors ``robust.huber.white``: H^-1 B0 H^-1 / N, with H the observed
  information (the Hessian of the FIML objective) and B0 = sum_g f_g Delta_g' B1_g
  Delta_g, B1_g the mean outer product of the rows' scores over their observed
  values at the implied moments (:mod:`torchfit.inference.casewise`);
- the Yuan-Bentler (Mplus) test with lavaan's h1 pieces for missing data: the
  observed information A1 of the pattern likelihood and the first-order B1 of the
  rows, both at EM's unrestricted moments, c = (tr(B1 A1^-1) - tr(B0 H^-1)) / df;
  the same for the independence model at its FIML estimates (its moments are
  linear in its parameters, so its Hessian is Delta_b' A1(baseline) Delta_b);
- the robust CFI/TLI/RMSEA from lavaan's FIML-corrected test, version V3 (the
  one lavaan takes with a scaled test);
- with clusters the rows' scores summed within clusters (``se = "robust.cluster"``)
  and, for lavaan's ML, the test's information Delta' A1 Delta (A1 the observed
  h1 information at the implied moments).
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np
import torch

from ..data.cases import Cases
from ..data.patterns import PatternMoments
from ..estimate.ml import one_thread
from .baseline import Baseline
from .casewise import first_order, trace_h1
from .fiml import (
    FimlFit,
    baseline_moments,
    corrected_test,
    fiml_pieces,
    fiml_robust_indices,
    h1_expected,
    h1_information,
    model_delta,
)
from .robust import ScaledTest, sandwich, scaled_measures, scaled_test, yuan_bentler
from .robust_options import Options


def _h1(pm: PatternMoments, mu, sigma, information: str) -> np.ndarray:
    """The pattern likelihood's observed or expected h1 information at (mu, sigma)."""
    return (h1_information if information == "observed" else h1_expected)(pm, mu, sigma)


def _baseline_trace(pm: PatternMoments, h1, case: Cases, information: str, base: Baseline
                    ) -> float:
    """tr(B0 H^-1) of the independence model of one group at its FIML estimates
    (its moments are linear in its parameters: H = Delta' A1 Delta)."""
    mb, sb = baseline_moments(pm, h1, base)
    D = base.delta(means=True)
    H = D.T @ _h1(pm, mb, sb, information) @ D
    B0 = D.T @ first_order(case, mb, sb).numpy() @ D
    return float(np.trace(B0 @ np.linalg.inv(H)))


class RobustFimlFit(FimlFit):
    """``FimlFit`` with MLR's sandwich standard errors, the Yuan-Bentler (Mplus)
    scaled tests of the model and the baseline, and the V3 robust indices."""

    def __init__(self, models, patterns, h1s, objective, result, information: str,
                 cases: Sequence[Cases], robust: Options):
        super().__init__(models, patterns, h1s, objective, result, information)
        self.cases = list(cases)
        n = sum(pm.n for pm in patterns)
        x = result.x
        H = objective.observed_information(x) if information == "observed" \
            else result.information
        self.bread = torch.linalg.inv(torch.as_tensor(H, dtype=torch.float64))
        self.bread = (self.bread + self.bread.T) / 2
        self.deltas = [torch.as_tensor(model_delta(m, x)) for m in models]
        self.B0 = sum(
            pm.n / n * D.T @ first_order(case, mu, sigma) @ D for pm, case, mu, sigma, D in
            zip(patterns, self.cases, result.mu, result.sigma, self.deltas))
        K = torch.as_tensor(models[0].reduce_matrix())
        self.vcov = sandwich(self.bread, self.B0, K, n)
        # the h1 pieces at EM's moments: B1 of the rows and A1 of the patterns
        self.jm = [first_order(case, h1[0], h1[1]) for case, h1 in zip(self.cases, h1s)]
        self.trace_h1 = sum(
            trace_h1(jm, torch.as_tensor(_h1(pm, h1[0], h1[1], information)))
            for jm, pm, h1 in zip(self.jm, patterns, h1s))
        # the baseline's trace too, now: it reads the rows, which on a rank of a
        # data-parallel fit means a collective, and the measures are asked for on
        # rank 0 alone
        self.trace_b = sum(_baseline_trace(pm, h1, case, information, b) for pm, h1, case, b
                           in zip(patterns, h1s, self.cases, self.baselines))
        self.info.update(se=robust.se, test="yuan.bentler.mplus")
        self.test_bread = self.bread
        if robust.test_information == "h1":  # lavaan's ML with clusters
            self.info["test_information"] = "h1"
            self.test_bread = torch.linalg.inv(sum(
                pm.n / n * D.T @ torch.as_tensor(h1_information(pm, mu, sigma)) @ D
                for pm, mu, sigma, D in zip(patterns, result.mu, result.sigma, self.deltas)))

    def tests(self, chisq: float, df: float, baseline_chisq: float, baseline_df: float
              ) -> List[ScaledTest]:
        """The scaled tests of the model and of the independence model."""
        ndat = sum(pm.p + pm.p * (pm.p + 1) // 2 for pm in self.patterns)
        test = yuan_bentler(self.B0, self.test_bread, self.trace_h1, ndat,
                            len(self.models[0].x_index), chisq, df)
        baseline = scaled_test("yuan.bentler.mplus", baseline_chisq, baseline_df,
                               self.trace_h1 - self.trace_b)
        return [test, baseline]

    def measures(self, standard) -> Dict[str, float]:
        """lavaan's fitMeasures() of an MLR fit with missing = "ml"."""
        pieces = [fiml_pieces(pm, h1, mu, sigma, b) for pm, h1, mu, sigma, b in
                  zip(self.patterns, self.h1s, self.result.mu, self.result.sigma,
                      self.baselines)]
        out = standard(overrides=pieces)
        with one_thread():
            test, baseline = self.tests(out["chisq"], out["df"], out["baseline.chisq"],
                                        out["baseline.df"])
            corrected = corrected_test(
                [(m, pm, h1, mu, sigma) for m, pm, h1, mu, sigma in
                 zip(self.models, self.patterns, self.h1s, self.result.mu, self.result.sigma)],
                self.result.x, out["df"], out["baseline.df"],
                first_order=[jm.numpy() for jm in self.jm], information=self.info["information"])
        out = scaled_measures(out, test, baseline, len(self.models))
        out.update(fiml_robust_indices(out, corrected, len(self.models)))
        return out
