"""The registry of estimators: ``fit()`` asks each, in order, whether a fit is its
own (``applies(options)``) and runs the first that says yes.  Adding an estimator is
one module (a class with the methods of :class:`.protocol.Estimator`) and one line
here; its options are rows of :data:`torchfit.options.OPTIONS`."""
from __future__ import annotations

from typing import Tuple

from ..errors import TorchfitError
from ..iwave.fit import IWAVE
from ..iwave.mml import MML
from ..options import FitOptions
from .fiml import FIML
from .ls import LeastSquares
from .minibatch import MiniBatchML
from .ml import ML
from .protocol import Estimator
from .wls import WLS

#: the estimators, asked in this order (the special cases of ML before ML itself)
REGISTRY: Tuple[Estimator, ...] = (
    FIML(),
    MiniBatchML(),
    ML(),
    IWAVE(),
    LeastSquares(),
    WLS(),
    MML(),
)


def select(options: FitOptions) -> Estimator:
    """The first estimator of the registry that fits a model with ``options``.

    Examples
    --------
    >>> from torchfit.options import FitOptions
    >>> select(FitOptions("MLR", "default", False, None, None, 500, None, None, {}, {})).name
    'ML'
    """
    for estimator in REGISTRY:
        if estimator.applies(options):
            return estimator
    raise TorchfitError(f"no estimator fits estimator = {options.estimator!r} with "
                        f"missing = {options.missing!r}")
