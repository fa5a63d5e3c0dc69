"""The rows of a fit whose inference needs them one by one: lavaan's single-level
``cluster`` option (the rows' scores are summed within clusters) and its
``sampling.weights`` (weighted moments and scores, the weights normalised to sum
to the number of rows, lavaan's ``sampling.weights.normalization = "total"``).

- ``Cases``: one group's used rows, their weights and cluster codes.
- ``read_cases``: the groups' rows with the weight and cluster columns, checked;
  ``incomplete_cases``: the rows of a FIML fit (MLR's scores).
- ``weighted_moments``: the mean and the weight-normalised covariance matrix
  (``cov.wt(method = "ML")``, as lavaan).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from .frames import Moments, as_frame, check_option_column, chunks, select


@dataclass
class Cases:
    """One group's rows used by the fit (model order; NaN where FIML leaves a value
    missing), their normalised sampling weights (None: unweighted) and cluster
    codes (None: independent rows)."""

    X: np.ndarray
    weights: Optional[np.ndarray] = None
    cluster: Optional[np.ndarray] = None

    @property
    def n(self) -> int:
        return self.X.shape[0]


def _label_column(frame: pd.DataFrame, name: str, role: str) -> pd.Series:
    """The column ``name`` of the data, present and complete."""
    check_option_column([str(c) for c in frame.columns], name, role)
    values = frame[name]
    if values.isna().any():
        raise DataError(f"the {role} column '{name}' is missing in {int(values.isna().sum())} "
                        f"rows; drop those rows or give them a value")
    return values


def _weights(frame: pd.DataFrame, name: str) -> np.ndarray:
    values = _label_column(frame, name, "sampling weight")
    if not pd.api.types.is_numeric_dtype(values.dtype) or values.dtype == bool:
        raise DataError(f"the sampling weight column '{name}' is not numeric (dtype "
                        f"{values.dtype}); give one number per row, e.g. "
                        f"data['{name}'] = pd.to_numeric(data['{name}'])")
    w = values.to_numpy(dtype=float)
    if not np.isfinite(w).all():
        raise DataError(f"the sampling weight column '{name}' has infinite values; weights "
                        "must be finite and non-negative")
    if (w < 0).any():
        raise DataError(f"the sampling weight column '{name}' has {int((w < 0).sum())} "
                        "negative values; sampling weights must be non-negative")
    return w


def read_cases(subsets: Sequence, names: Sequence[str], missing: str,
               columns: Optional[Sequence[str]] = None, weights: Optional[str] = None,
               cluster: Optional[str] = None) -> List[Cases]:
    """Each group's complete rows (``missing = "listwise"`` drops the others) with
    the sampling weights, normalised over all groups to sum to the rows used, and
    the cluster codes.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 4.0], "w": [1.0, 1.0, 2.0], "c": [1, 1, 2]})
    >>> case, = read_cases([df], ["x"], "default", weights="w", cluster="c")
    >>> case.weights.tolist(), case.cluster.tolist()
    ([0.75, 0.75, 1.5], [0, 0, 1])
    """
    out = []
    for subset in subsets:
        frame = as_frame(subset, columns)
        sel = select(frame, names, missing=missing, columns=columns)
        keep = np.isfinite(frame[list(names)].to_numpy(dtype=float)).all(axis=1)
        case = Cases(sel.X)
        if weights is not None:
            case.weights = _weights(frame, weights)[keep]
        if cluster is not None:
            labels = _label_column(frame, cluster, "cluster")[keep]
            case.cluster = pd.factorize(labels.astype(str))[0]
        out.append(case)
    if weights is not None:
        total = sum(float(c.weights.sum()) for c in out)
        if total <= 0:
            raise DataError(f"the sampling weights in '{weights}' are all zero; give the rows "
                            "positive weights")
        n = sum(c.n for c in out)
        for c in out:
            c.weights = c.weights * (n / total)
    return out


def incomplete_cases(subsets: Sequence, names: Sequence[str],
                     columns: Optional[Sequence[str]] = None,
                     cluster: Optional[str] = None) -> List[Cases]:
    """Each group's rows as FIML fits them: NaN where a value is missing, the rows
    missing on every model variable dropped; with their cluster codes.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, None, 3.0], "y": [None, None, 2.0]})
    >>> incomplete_cases([df], ["x", "y"])[0].X.tolist()
    [[1.0, nan], [3.0, 2.0]]
    """
    out = []
    for subset in subsets:
        X = np.concatenate(list(chunks(subset, names, columns, 1 << 30)) or
                           [np.empty((0, len(names)))])
        keep = np.isfinite(X).any(axis=1)
        case = Cases(X[keep])
        if cluster is not None:
            labels = _label_column(as_frame(subset, columns), cluster, "cluster")[keep]
            case.cluster = pd.factorize(labels.astype(str))[0]
        out.append(case)
    return out


def weighted_moments(case: Cases) -> Moments:
    """The weighted mean and covariance matrix (divided by the sum of the weights)
    of one group's rows (unweighted rows: the mean and N-normalised covariance).

    Examples
    --------
    >>> m = weighted_moments(Cases(np.array([[0.0], [2.0]]), np.array([1.0, 3.0])))
    >>> m.mean.tolist(), m.cov.tolist()
    ([1.5], [[0.75]])
    """
    w = np.ones(case.n) if case.weights is None else case.weights
    mean = w @ case.X / w.sum()
    centred = case.X - mean
    cov = (centred * w[:, None]).T @ centred / w.sum()
    return Moments(case.n, mean, (cov + cov.T) / 2, case.n)
