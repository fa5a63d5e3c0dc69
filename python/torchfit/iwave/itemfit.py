"""What the fits of item models (IWAVE, MML) share beside :class:`torchfit.Fit`: no
model-implied moments, the log-likelihood and information criteria as their fit
measures, and their own standard-error line in the summary."""
from __future__ import annotations

from typing import Dict, List

from ..errors import TorchfitError
from ..results import report
from ..results.fit import Fit

#: what scores() of a data-parallel fit says: rank 0 holds only its own shard
SHARD_SCORES = ("this distributed fit holds only rank 0's shard of the rows; score the rows "
                "with fit.predict(data) (in blocks of rows for large data)")


class ItemFit(Fit):
    """A fit of a model with non-normal items: :class:`torchfit.Fit` less the
    moment-based accessors."""

    #: the summary's "Standard errors" line for each ``se`` value (else "None")
    SE_LABELS: Dict[str, str] = {}

    def implied(self):
        raise TorchfitError(f"model-implied moments are not defined for "
                            f"{self.info.estimator} fits with non-normal items; use "
                            "predict() or log_likelihood()")

    def _fit_lines(self) -> List[str]:
        return report.loglik_block(self._measures)

    def _se_lines(self):
        return [("Standard errors", self.SE_LABELS.get(self.info.se, "None"))]
