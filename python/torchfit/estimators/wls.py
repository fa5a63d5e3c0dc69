"""The WLS family on ordered items (lavaan's WLSMV, WLSM, ULSMV, ULSM, WLS, DWLS and
ULS): thresholds and polychoric correlations with their NACOV, least squares on
them, robust standard errors and the scaled tests (see :mod:`torchfit.ordinal.fit`
for the stages and :mod:`torchfit.inference.wls` for the formulas)."""
from __future__ import annotations

from ..data.stats import SampleStats
from ..estimate.record import Estimate
from ..model.spec import Spec
from ..options import ORDINAL, FitOptions
from ..ordinal.fit import ordinal_estimate, ordinal_sample_stats, ordinal_spec


class WLS:
    """Ordered items (``ordered=``) by the WLS family.

    Examples
    --------
    >>> from torchfit.options import FitOptions
    >>> WLS().applies(FitOptions("WLSMV", "default", False, True, None, 500, None, None,
    ...                          {}, {"ordered": True}))
    True
    """

    name = "WLS family"
    # the tables, the polyserial sums and Gamma's sums are reduced over the ranks
    data_parallel = True

    def applies(self, options: FitOptions) -> bool:
        return options.estimator in ORDINAL

    def spec(self, model, data, options: FitOptions) -> Spec:
        return ordinal_spec(model, data, options)

    def sample_stats(self, spec: Spec, data, options: FitOptions) -> SampleStats:
        return ordinal_sample_stats(spec, data, options)

    def estimate(self, spec: Spec, stats: SampleStats, options: FitOptions) -> Estimate:
        return ordinal_estimate(spec, stats, options)
