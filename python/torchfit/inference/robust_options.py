"""The options of robust ML (lavaan's ``estimator = "MLM"``/``"MLR"`` and ``information``),
resolved before estimation: lavaan's se/test names per estimator and the check that
the raw data are there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd

from ..errors import DataError, TorchfitError

#: estimator -> (lavaan's se, lavaan's test, default information)
ROBUST = {"MLM": ("robust.sem", "satorra.bentler", "expected"),
          "MLR": ("robust.huber.white", "yuan.bentler.mplus", "observed")}
INFORMATION = ("expected", "observed")
LABELS = {"satorra.bentler": "Satorra-Bentler correction",
          "yuan.bentler.mplus": "Yuan-Bentler correction (Mplus variant)"}


@dataclass
class Options:
    """What a fit computes: lavaan's ``se``, ``test`` and ``information``."""

    estimator: str  # "ML", "MLM" or "MLR" (upper case)
    se: str
    test: str
    information: str
    # the observed information of the scaled test: "hessian", or lavaan's "h1"
    # (Delta' A1 Delta) that lavaan's ML with clusters takes
    test_information: str = "hessian"

    @property
    def needs_raw_data(self) -> bool:
        return self.estimator in ROBUST

    @property
    def default(self) -> bool:
        """Plain ML with the expected information: nothing to do here."""
        return self.estimator == "ML" and self.information == "expected"


def options(estimator: str, information: Optional[str] = None) -> Options:
    """Check and complete the robust options as lavaan does.

    Parameters
    ----------
    estimator : {"ML", "MLM", "MLR"}
        Case-insensitive.
    information : {"expected", "observed"}, optional
        The information matrix of the standard errors (the "bread" of the
        sandwich for MLR); by default "expected" for ML and MLM, "observed"
        for MLR, as in lavaan.

    Examples
    --------
    >>> opts = options("mlr")
    >>> opts.estimator, opts.se, opts.test, opts.information
    ('MLR', 'robust.huber.white', 'yuan.bentler.mplus', 'observed')
    """
    est = estimator.upper()
    if est not in ("ML",) + tuple(ROBUST):
        raise TorchfitError(f"estimator {estimator!r} has no robust variant here; use 'ML', "
                            "'MLM' or 'MLR'")
    se, test, default_info = ROBUST.get(est, ("standard", "standard", "expected"))
    info = default_info if information is None else str(information).lower()
    if info not in INFORMATION:
        raise TorchfitError(f"information = {information!r} is not available; use "
                            f"{' or '.join(repr(i) for i in INFORMATION)}")
    if est == "MLM" and info != "expected":
        # lavaan's MLM is defined with the expected information; the observed
        # one would make the Satorra-Bentler statistic something else.
        raise TorchfitError("estimator 'MLM' uses the expected information; for robust "
                            "standard errors with the observed information use "
                            "estimator = 'MLR'")
    return Options(est, se, test, info)


def require_raw_data(data, estimator: str) -> None:
    """MLM and MLR need one row per observation, not a covariance matrix.

    Examples
    --------
    >>> cov = pd.DataFrame([[1.0, 0.5], [0.5, 1.0]], index=["a", "b"], columns=["a", "b"])
    >>> require_raw_data(cov, "MLR")
    Traceback (most recent call last):
    ...
    torchfit.errors.DataError: estimator 'MLR' needs the raw data ...
    """
    message = (f"estimator {estimator!r} needs the raw data (one row per observation, one "
               "column per observed variable): its standard errors and test come from the "
               "fourth-order moments of the data, which sample (co)variances do not carry. "
               "Pass the data frame, array or file the moments were computed from, or use "
               "estimator = 'ML'")
    if data is None:
        raise DataError(message)
    if isinstance(data, pd.DataFrame) and data.shape[0] == data.shape[1] and \
            list(map(str, data.index)) == list(map(str, data.columns)):
        # A square frame labelled by its own columns is a covariance matrix.
        raise DataError(message)
