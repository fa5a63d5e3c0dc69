"""The rows of a fit whose inference needs them one by one: lavaan's single-level
``cluster`` option (the rows' scores are summed within clusters) and its
``sampling.weights`` (weighted moments and scores, the weights normalised to sum
to the number of rows, lavaan's ``sampling.weights.normalization = "total"``).

- ``Cases``: one group's used rows, their weights and cluster codes.
- ``read_cases``: the groups' rows with the weight and cluster columns, checked;
  ``incomplete_cases``: the rows of a FIML fit (MLR's scores).
- ``weighted_moments``: the mean and the weight-normalised covariance matrix
  (``cov.wt(method = "ML")``, as lavaan).

In a data-parallel fit each rank holds the used rows of its own shard, and
``Cases.comm`` reduces their sums over the ranks: the weights are normalised
over all the ranks' rows, the moments are the ranks' weighted sums added, and a
cluster's rows may lie on several ranks (the shards are blocks of rows, which
may cut a cluster): :func:`torchfit.inference.casewise.first_order` adds such a
cluster's score totals over the ranks before its outer product.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..errors import DataError
from .frames import Moments, as_frame, check_option_column, chunks, select
from .reader import Reader


@dataclass
class Cases:
    """One group's rows used by the fit (model order; NaN where FIML leaves a value
    missing), their normalised sampling weights (None: unweighted) and cluster
    codes (None: independent rows).

    On one rank of a data-parallel fit (``comm`` set), ``X`` holds this rank's rows
    only; ``rows_all``, ``weight_all`` and ``clusters_all`` are the group's totals
    over the ranks, and ``shared`` names the clusters whose rows lie on more than
    one rank: (this rank's codes of them, their places among all such clusters,
    how many there are)."""

    X: np.ndarray
    weights: Optional[np.ndarray] = None
    cluster: Optional[np.ndarray] = None
    comm: object = None
    rows_all: Optional[int] = None
    weight_all: Optional[float] = None
    clusters_all: Optional[int] = None
    shared: Optional[Tuple[np.ndarray, np.ndarray, int]] = None

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def rows(self) -> int:
        """The group's used rows (over all the ranks)."""
        return self.n if self.rows_all is None else self.rows_all

    @property
    def weight_sum(self) -> float:
        """The sum of the group's normalised weights (over all the ranks)."""
        return float(self.weights.sum()) if self.weight_all is None else self.weight_all

    @property
    def n_clusters(self) -> int:
        """The group's clusters (over all the ranks)."""
        if self.clusters_all is not None:
            return self.clusters_all
        return int(self.cluster.max()) + 1 if len(self.cluster) else 0  # (codes 0, 1, ...)

    def summed(self, *arrays: np.ndarray) -> List[np.ndarray]:
        """Sums over the ranks (the arrays themselves in one process)."""
        return list(arrays) if self.comm is None else self.comm.all_sum(*arrays)


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


def _group_cases(subset, names: Sequence[str], missing: str, columns, weights, cluster):
    """One group's used rows with their weights (not yet normalised) and cluster
    codes; and the cluster labels the codes number (None without clusters)."""
    if isinstance(subset, Reader):  # only the columns used (a Parquet file may be wide)
        for name, role in ((weights, "sampling weight"), (cluster, "cluster")):
            if name is not None:  # (named among all the data's columns)
                check_option_column(subset.column_names, name, role)
        wanted = dict.fromkeys(v for v in (*names, weights, cluster) if v is not None)
        frame = subset.load_frame([v for v in wanted if v in subset.column_names])
    else:
        frame = as_frame(subset, columns)
    case, labels = Cases(np.empty((0, len(names)))), None
    keep = np.zeros(0, dtype=bool)
    if len(frame):  # (one rank's shard may hold no row of a group)
        case.X = select(frame, names, missing=missing, columns=columns).X
        keep = np.isfinite(frame[list(names)].to_numpy(dtype=float)).all(axis=1)
    if weights is not None:
        case.weights = _weights(frame, weights)[keep]
    if cluster is not None:
        case.cluster, labels = pd.factorize(
            _label_column(frame, cluster, "cluster")[keep].astype(str))
    return case, labels


def read_cases(subsets: Sequence, names: Sequence[str], missing: str,
               columns: Optional[Sequence[str]] = None, weights: Optional[str] = None,
               cluster: Optional[str] = None) -> List[Cases]:
    """Each group's complete rows (``missing = "listwise"`` drops the others) with
    the sampling weights, normalised over all groups (and all the ranks' rows) to
    sum to the rows used, and the cluster codes.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 4.0], "w": [1.0, 1.0, 2.0], "c": [1, 1, 2]})
    >>> case, = read_cases([df], ["x"], "default", weights="w", cluster="c")
    >>> case.weights.tolist(), case.cluster.tolist()
    ([0.75, 0.75, 1.5], [0, 0, 1])
    """
    comm = getattr(subsets[0], "comm", None) if len(subsets) else None
    read = []

    def local():  # this rank's groups; what the other ranks need of them
        read.extend(_group_cases(s, names, missing, columns, weights, cluster)
                    for s in subsets)
        return [(c.n, None if weights is None else float(c.weights.sum()),
                 None if labels is None else list(labels)) for c, labels in read]

    # each rank's counts, weight sums and cluster labels (a rank that fails ends
    # every rank's read with its message)
    ranks = [local()] if comm is None else comm.gather_results(local)
    out = [c for c, _ in read]
    scale = _normalise(out, ranks, weights)
    if comm is not None:
        for k, (case, labels) in enumerate(read):
            case.comm, case.rows_all = comm, sum(r[k][0] for r in ranks)
            if weights is not None:
                case.weight_all = sum(r[k][1] for r in ranks) * scale
            if cluster is not None:
                _share_clusters(case, [r[k][2] for r in ranks], labels)
    return out


def _normalise(out: List[Cases], ranks, weights: Optional[str]) -> float:
    """Scale the weights to sum to the rows used, over all groups and ranks (lavaan's
    ``sampling.weights.normalization = "total"``); the factor."""
    if weights is None:
        return 1.0
    total = sum(w for groups in ranks for _, w, _ in groups)
    if total <= 0:
        raise DataError(f"the sampling weights in '{weights}' are all zero; give the rows "
                        "positive weights")
    scale = sum(n for groups in ranks for n, _, _ in groups) / total
    for c in out:
        c.weights = c.weights * scale
    return scale


def _share_clusters(case: Cases, seen: Sequence[List[str]], mine) -> None:
    """The group's clusters over the ranks (``seen``: each rank's labels; ``mine``:
    this rank's, numbered by its codes), and those that more than one rank holds."""
    held = Counter(v for labels in seen for v in labels)  # each rank's labels are unique
    shared = {v: k for k, v in enumerate(dict.fromkeys(
        v for labels in seen for v in labels if held[v] > 1))}
    local = np.array([k for k, v in enumerate(mine) if v in shared], dtype=int)
    case.clusters_all = len(held)
    case.shared = (local, np.array([shared[mine[k]] for k in local], dtype=int), len(shared))


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
    total, wx = case.summed(w.sum(), w @ case.X)
    mean = wx / total
    centred = case.X - mean
    cov = case.summed((centred * w[:, None]).T @ centred)[0] / total
    return Moments(case.rows, mean, (cov + cov.T) / 2, case.rows)
