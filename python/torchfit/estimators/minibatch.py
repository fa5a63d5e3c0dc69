"""Mini-batch ML (``batch_size=`` with estimator ML): Adam on batches of raw rows
(:mod:`torchfit.estimate.minibatch`), then ML's inference at the estimates."""
from __future__ import annotations

from ..data.frames import select
from ..data.reader import Reader
from ..data.stats import SampleStats
from ..errors import ModelError
from ..estimate.minibatch import BATCH_SIZE, fit_minibatch
from ..estimate.ml import one_thread
from ..estimate.record import Estimate
from ..inference.vcov import vcov_free
from ..model.spec import Spec
from ..options import ML_FAMILY, FitOptions
from . import moments


class MiniBatchML:
    """ML by Adam on mini-batches of rows, the tensorsem way.

    Examples
    --------
    >>> from torchfit.options import FitOptions
    >>> MiniBatchML().applies(FitOptions("ML", "default", False, None, None, 500, None, None,
    ...                                  {}, {"batch_size": 64}))
    True
    """

    name = "mini-batch ML"
    data_parallel = True

    def applies(self, options: FitOptions) -> bool:
        return options.estimator in ML_FAMILY and options.minibatch and not options.fiml

    def spec(self, model, data, options: FitOptions) -> Spec:
        return moments.build_spec(model, data, options)

    def sample_stats(self, spec: Spec, data, options: FitOptions) -> SampleStats:
        return moments.moment_stats(spec, data, options)

    def estimate(self, spec: Spec, stats: SampleStats, options: FitOptions) -> Estimate:
        if len(spec.models) > 1 or not options.robust.default:
            raise ModelError("batch_size= (mini-batch ML) works with one group and the "
                             "standard ML standard errors; leave out group=, estimator= or "
                             "information=")
        groups = moments.group_moments(spec, stats)
        values, x0 = moments.start(spec, groups)
        X = select(stats.data, spec.model.ov_names, missing=stats.missing,
                   columns=stats.columns).X
        comm = stats.data.comm if isinstance(stats.data, Reader) else None  # a rank's shard
        est, trained = fit_minibatch(groups[0], X, x0, **options.own, comm=comm)
        est.start, est.loss_history = values, trained.history
        est.optimizer = "Adam (mini-batch)"
        est.extras.update(epochs=trained.epochs, loss_history=trained.history,
                          seconds=trained.seconds,
                          batch_size=int(options.own.get("batch_size", BATCH_SIZE)))
        with one_thread():
            est.vcov = vcov_free(spec.model, est.information, stats.n,
                                 est.constraint_jacobian, est.at_bound)
        return est
