"""ML, MLM and MLR on the sample moments of complete data: Fisher scoring and its
fall-backs (:func:`torchfit.estimate.ml.fit_ml`), then the standard, observed-information
or robust inference (:mod:`torchfit.inference.robust`)."""
from __future__ import annotations

import numpy as np
import torch

from ..data.frames import group_data, select
from ..data.stats import SampleStats
from ..estimate.ml import fit_ml, one_thread
from ..estimate.record import Estimate
from ..inference.bootstrap import run_bootstrap
from ..inference.robust import robust_inference
from ..inference.vcov import vcov_free
from ..model.spec import Spec
from ..options import ML_FAMILY, FitOptions
from . import moments


class ML:
    """lavaan's ``estimator = "ML"``, ``"MLM"`` and ``"MLR"`` with complete data.

    Examples
    --------
    >>> import torchfit
    >>> from torchfit.options import FitOptions
    >>> ML().applies(FitOptions("MLR", "default", False, None, None, 500, None, None, {}, {}))
    True
    """

    name = "ML"
    data_parallel = True

    def applies(self, options: FitOptions) -> bool:
        return options.estimator in ML_FAMILY and not options.fiml and not options.minibatch

    def spec(self, model, data, options: FitOptions) -> Spec:
        return moments.build_spec(model, data, options)

    def sample_stats(self, spec: Spec, data, options: FitOptions) -> SampleStats:
        return moments.moment_stats(spec, data, options)

    def estimate(self, spec: Spec, stats: SampleStats, options: FitOptions) -> Estimate:
        groups = moments.group_moments(spec, stats)
        values, x0 = moments.start(spec, groups)
        with one_thread():
            est = fit_ml(groups, x0, iter_max=options.iter_max,
                         constraints=spec.constraints or None,
                         **moments.fallback_starts(groups, values))
            est.start = values
            if options.robust.default:
                est.vcov = vcov_free(spec.model, est.information, stats.n,
                                     est.constraint_jacobian, est.at_bound)
            else:  # robust (MLM, MLR) or observed-information standard errors
                est.tests = robust_inference(groups, est, options.robust, stats.exo,
                                             stats.gammas, stats.extras.get("cases"))
                est.tests.info.update(moments.rows_info(options, stats))
                est.vcov = est.tests.vcov
        if options.bootstrap:
            est.boot = _bootstrap(spec, stats, est, groups, options)
        return est


def _bootstrap(spec: Spec, stats: SampleStats, est, groups, options: FitOptions):
    """se/test = "bootstrap": the replicates of every group's used rows, fitted at once
    (:mod:`torchfit.inference.bootstrap`); their draws of the free table parameters."""
    _, subsets = group_data(stats.data, options.group)
    data = [select(s, g.model.ov_names, missing=options.missing, columns=options.columns).X
            for s, g in zip(subsets, groups)]
    K = spec.model.reduce_matrix()  # reduced parameters -> free table parameters
    pt = spec.table
    free, full = pt["free"].to_numpy(), est.values(pt, spec.model)

    def defined(x: np.ndarray) -> np.ndarray:
        if not len(spec.definitions.rows):
            return np.empty((len(x), 0))
        rows = np.repeat(full[:, None], len(x), axis=1)
        rows[free > 0] = (x @ K.T)[:, free[free > 0] - 1].T
        return torch.stack(spec.definitions.values(rows), dim=1).numpy()

    boot = options.bootstrap
    draws = run_bootstrap(groups, data, est.x, boot["replicates"], boot["seed"],
                          boot["bollen_stine"], implied=list(zip(est.sigma, est.mu)),
                          exo=stats.exo, defined=defined,
                          comm=getattr(stats.data, "comm", None))  # (a rank's shard)
    draws.coef = np.where(draws.ok[:, None], draws.coef @ K.T, np.nan)
    return draws
