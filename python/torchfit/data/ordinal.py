"""The sample statistics of ordered items for the WLS family (one group).

Thresholds, polychoric correlations (:mod:`torchfit.data.polychoric`) and
their NACOV (:mod:`torchfit.data.ordinal_gamma`; on a rank's shard, from every
rank's tables and sums), stacked in lavaan's order
(lavaan's ``WLS.obs``: every item's thresholds, then the correlations); with
continuous variables among them, the means, variances and polyserial
correlations of :mod:`torchfit.data.polyserial` (on a rank's shard, from sums
over every rank's rows too).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from ..errors import DataError
from .ordinal_gamma import nacov, obs_names, wls_obs
from .polychoric import check_positive_definite, polychoric, tables, thresholds
from .polyserial import mixed_stats


@dataclass
class OrdinalStats:
    """One group's statistics: ``obs`` (thresholds, then correlations) named
    ``obs_names``, the correlation matrix ``cor``, the thresholds per item,
    the NACOV (None when not needed), the rows used (``n``) and read.

    With continuous variables (``numeric``), ``cor`` is their covariance
    matrix, ``mean`` their means, their "thresholds" the negated means, and
    their variances follow the thresholds in ``obs``."""

    obs: np.ndarray
    obs_names: List[str]
    cor: np.ndarray
    thresholds: List[np.ndarray]
    nacov: Optional[np.ndarray]
    n: int
    n_total: int
    numeric: Optional[np.ndarray] = None
    mean: Optional[np.ndarray] = None

    def __post_init__(self):
        if self.numeric is None:
            self.numeric = np.zeros(len(self.thresholds), dtype=bool)
        if self.mean is None:
            self.mean = np.zeros(len(self.thresholds))

    @property
    def n_thresholds(self) -> np.ndarray:
        """Per variable its thresholds (1 for a continuous variable's mean)."""
        return np.array([len(t) for t in self.thresholds])

    @property
    def n_univariate(self) -> int:
        """The statistics before the covariances: thresholds, means, variances."""
        return int(self.n_thresholds.sum() + self.numeric.sum())


def ordinal_stats(data, names: Sequence[str], columns=None, levels=None,
                  missing: str = "default", gamma: bool = True,
                  label=None, numeric: Sequence[str] = ()) -> OrdinalStats:
    """Thresholds, polychorics and (with ``gamma``) their NACOV of the items
    ``names`` of ``data``; ``missing`` is "default" (no missing values
    allowed), "listwise" or "pairwise"; ``numeric`` names the continuous
    variables among ``names`` (their ``levels`` entries are ignored).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": [1, 2, 2, 3, 1, 3], "b": [1, 1, 2, 2, 1, 2]})
    >>> s = ordinal_stats(d, ["a", "b"])
    >>> s.obs_names
    ['a|t1', 'a|t2', 'b|t1', 'a~~b']
    """
    if len(numeric):
        return _mixed(data, names, columns, levels, missing, gamma, label, numeric)
    listwise = missing != "pairwise"
    t = tables(data, list(names), columns, levels=levels, listwise=listwise)
    where = f" in group {label}" if label is not None else ""
    if missing == "default" and t.n < t.n_total:
        raise DataError(f"{t.n_total - t.n} of {t.n_total} rows{where} have missing values on "
                        "the ordered items; pass missing='listwise' to drop them or "
                        "missing='pairwise' to use every available value")
    if t.n == 0:
        raise DataError(f"no complete rows of the ordered items{where}; use missing='pairwise'")
    for v, c, k in zip(names, t.counts, t.n_categories):
        empty = [str(lv) for lv, x in zip(t.levels[list(names).index(v)], c[:k]) if x == 0]
        if empty:
            raise DataError(f"no observation of '{v}' falls in categor"
                            f"{'y' if len(empty) == 1 else 'ies'} {', '.join(empty)}{where}: "
                            "its thresholds cannot be estimated; merge the category with a "
                            "neighbour (or drop it)")
    th = thresholds(t.counts, t.n_categories)
    R = polychoric(t, th)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        check_positive_definite(R, names)
    G = nacov(data, names, t, th, R, columns, listwise=listwise) if gamma else None
    return OrdinalStats(wls_obs(th, R), obs_names(names, th), R, th, G, t.n, t.n_total)


def _mixed(data, names, columns, levels, missing, gamma, label, numeric) -> OrdinalStats:
    where = f" in group {label}" if label is not None else ""
    ordered = [v not in numeric for v in names]
    s = mixed_stats(data, names, ordered, levels, columns, gamma, pairwise=missing == "pairwise")
    if missing == "default" and s.n < s.n_total:
        raise DataError(f"{s.n_total - s.n} of {s.n_total} rows{where} have missing values on "
                        "the model's variables; pass missing='listwise' to drop them or "
                        "missing='pairwise' to use every available value")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        check_positive_definite(s.cov, names)
    return OrdinalStats(s.obs, s.names, s.cov, s.thresholds, s.nacov, s.n, s.n_total,
                        numeric=~np.asarray(ordered), mean=s.mean)
