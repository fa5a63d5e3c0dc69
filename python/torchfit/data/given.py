"""Fits from sample moments instead of data: lavaan's ``sample.cov``, ``sample.mean`` and
``sample.nobs``.

The user passes each group's unbiased covariance matrix (divided by N - 1, as R's
``cov()`` and pandas' ``DataFrame.cov()``), named by its rows and columns, its number
of observations and, optionally, its means.  As lavaan's ``sample.cov.rescale``
default for ML, the covariance is rescaled by (N - 1) / N to the N-normalised one the
ML discrepancy takes; without means, a mean structure fits zero means (lavaan's
choice).  Several groups are a list (labelled "Group 1", "Group 2", ... as lavaan
labels an unnamed list) or a dict (labelled by its keys, in its order), with
``sample_nobs`` (and ``sample_mean``) in the same form.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from .frames import Moments

#: what to do instead, in every refusal of a fit from moments
RAW_DATA = "pass the data (one row per observation) instead of sample_cov="


@dataclass
class GivenGroup:
    """One group's moments as given: the unbiased covariance and means (named) and N."""

    cov: pd.DataFrame
    mean: Optional[pd.Series]
    nobs: int

    def moments(self, names: Sequence[str]) -> Moments:
        """The model variables' moments, N-normalised (lavaan's rescaling), means 0
        when none were given."""
        missing = [v for v in names if v not in self.cov.index]
        if missing:
            raise DataError(f"sample_cov has no row or column for {', '.join(missing)} (its "
                            f"names: {', '.join(map(str, self.cov.index))}); give the "
                            "covariance matrix of every observed variable of the model")
        n = self.nobs
        cov = self.cov.loc[list(names), list(names)].to_numpy(dtype=float) * (n - 1) / n
        mean = np.zeros(len(names)) if self.mean is None else \
            self.mean[list(names)].to_numpy(dtype=float)
        return Moments(n, mean, cov, n)


@dataclass
class GivenMoments:
    """The groups' moments a fit is made from, with lavaan's group labels (None for
    one group)."""

    labels: List[Optional[str]]
    groups: List[GivenGroup]

    @property
    def names(self) -> List[str]:
        """Every variable named in the covariance matrices."""
        return list(dict.fromkeys(str(v) for g in self.groups for v in g.cov.index))


def _per_group(value, labels: List[Optional[str]], what: str) -> list:
    """``value`` as one entry per group: a dict by label, a list in order, or, for a
    single group, the value itself."""
    if labels == [None]:
        if what == "nobs" and isinstance(value, (Mapping, list, tuple, np.ndarray)):
            raise DataError(f"sample_{what} has several groups but sample_cov one; give both "
                            "as a list (or a dict) with one entry per group")
        return [value]
    if isinstance(value, Mapping):
        unknown = [k for k in value if str(k) not in labels]
        if unknown or len(value) != len(labels):
            raise DataError(f"sample_{what}'s groups ({', '.join(map(str, value))}) are not "
                            f"sample_cov's ({', '.join(map(str, labels))}); key both dicts by "
                            "the same group labels")
        by_label = {str(k): v for k, v in value.items()}
        return [by_label[label] for label in labels]
    if not isinstance(value, (list, tuple)) or len(value) != len(labels):
        raise DataError(f"sample_{what} must give one entry per group of sample_cov "
                        f"({len(labels)} groups), as a list or a dict keyed by group")
    return list(value)


def _cov_frame(cov, columns: Optional[Sequence[str]], label: str) -> pd.DataFrame:
    """A covariance matrix as a named, checked frame."""
    if isinstance(cov, pd.DataFrame):
        if [str(c) for c in cov.index] != [str(c) for c in cov.columns]:
            raise DataError(f"sample_cov{label}'s row names ({', '.join(map(str, cov.index))}) "
                            f"are not its column names ({', '.join(map(str, cov.columns))}); "
                            "name rows and columns by the same variables, in the same order")
        names = [str(c) for c in cov.columns]
        values = cov.to_numpy(dtype=float)
    else:
        values = np.asarray(cov, dtype=float)
        if columns is None:
            raise DataError(f"sample_cov{label} is a matrix without variable names: name its "
                            "rows and columns by the observed variables (in Python a "
                            "DataFrame, or columns=[...]; in R rownames and colnames)")
        names = [str(c) for c in columns]
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] != len(names):
        raise DataError(f"sample_cov{label} must be a square matrix with one row and column "
                        f"per named variable; it is {values.shape} for {len(names)} names")
    if not np.isfinite(values).all():
        raise DataError(f"sample_cov{label} has missing or infinite entries; give a complete "
                        "covariance matrix")
    if np.abs(values - values.T).max() > 1e-10 * max(1.0, np.abs(values).max()):
        i, j = np.unravel_index(np.argmax(np.abs(values - values.T)), values.shape)
        raise DataError(f"sample_cov{label} is not symmetric ({names[i]},{names[j]} is "
                        f"{values[i, j]:.6g} but {names[j]},{names[i]} is {values[j, i]:.6g}); "
                        "give a covariance matrix")
    if (np.diag(values) <= 0).any():
        bad = [v for v, d in zip(names, np.diag(values)) if d <= 0]
        raise DataError(f"sample_cov{label} has zero or negative variances ({', '.join(bad)}); "
                        "give a covariance matrix")
    return pd.DataFrame((values + values.T) / 2, index=names, columns=names)


def _nobs(value, label: str) -> int:
    if not isinstance(value, (int, float, np.integer, np.floating)) or \
            isinstance(value, (bool, np.bool_)) or not float(value).is_integer() or value < 2:
        raise DataError(f"sample_nobs{label} = {value!r}: the number of observations must be "
                        "a whole number of at least 2")
    return int(value)


def _mean(value, names: List[str], label: str) -> Optional[pd.Series]:
    if value is None:
        return None
    if isinstance(value, (pd.Series, Mapping)):
        mean = pd.Series(value, dtype=float)
        mean.index = [str(i) for i in mean.index]
        if sorted(mean.index) != sorted(names):
            raise DataError(f"sample_mean{label} names {', '.join(mean.index)} but sample_cov "
                            f"{', '.join(names)}; name the means by the covariance matrix's "
                            "variables")
        return mean[names]
    values = np.asarray(value, dtype=float).ravel()
    if len(values) != len(names):
        raise DataError(f"sample_mean{label} has {len(values)} values for the {len(names)} "
                        "variables of sample_cov; give one mean per variable, in its order")
    if not np.isfinite(values).all():
        raise DataError(f"sample_mean{label} has missing or infinite values")
    return pd.Series(values, index=names)


def given_moments(sample_cov, sample_mean=None, sample_nobs=None,
                  columns: Optional[Sequence[str]] = None) -> GivenMoments:
    """The checked moments of ``sample_cov=``, ``sample_mean=`` and ``sample_nobs=``.

    Examples
    --------
    >>> S = pd.DataFrame([[2.0, 1.0], [1.0, 2.0]], index=["a", "b"], columns=["a", "b"])
    >>> given = given_moments(S, sample_nobs=11)
    >>> given.groups[0].moments(["b", "a"]).cov.tolist()
    [[1.8181818181818181, 0.9090909090909091], [0.9090909090909091, 1.8181818181818181]]
    >>> given_moments({"boys": S, "girls": S}, sample_nobs={"girls": 20, "boys": 10}).labels
    ['boys', 'girls']
    >>> given_moments(S)
    Traceback (most recent call last):
    ...
    torchfit.errors.DataError: sample_cov needs sample_nobs=, the number of observations the ...
    """
    if sample_nobs is None:
        raise DataError("sample_cov needs sample_nobs=, the number of observations the "
                        "covariance matrix was computed from (one per group for several)")
    if isinstance(sample_cov, Mapping):
        labels, covs = [str(k) for k in sample_cov], list(sample_cov.values())
    elif isinstance(sample_cov, (list, tuple)):
        labels = [f"Group {g + 1}" for g in range(len(sample_cov))]
        covs = list(sample_cov)
    else:
        labels, covs = [None], [sample_cov]
    if not covs:
        raise DataError("sample_cov is an empty list; give one covariance matrix per group")
    nobs = _per_group(sample_nobs, labels, "nobs")
    means = [None] * len(labels) if sample_mean is None else \
        _per_group(sample_mean, labels, "mean")
    groups = []
    for label, cov, n, mean in zip(labels, covs, nobs, means):
        where = "" if label is None else f" (group {label!r})"
        frame = _cov_frame(cov, columns, where)
        groups.append(GivenGroup(frame, _mean(mean, list(frame.index), where), _nobs(n, where)))
    return GivenMoments(labels, groups)
