"""From the user's data to the numbers the estimators need.

``select`` checks and extracts the model's observed variables (never touching
the caller's object); ``moments`` forms the N-normalised sample covariance
matrix, the sufficient statistic of the ML estimator for complete data.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np
import pandas as pd

from .errors import DataError

MISSING_OPTIONS = ("default", "listwise")


@dataclass
class Selected:
    """The model's columns of the data, complete rows only."""

    X: np.ndarray  # (n_used, p) float64
    names: List[str]
    n_total: int
    n_dropped: int


def _as_frame(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        return pd.DataFrame(data)
    raise DataError(f"data must be a pandas DataFrame (or a dict of columns), not "
                    f"{type(data).__name__}; e.g. pandas.read_csv('file.csv')")


def select(data, names: Sequence[str], missing: str = "default") -> Selected:
    """The columns ``names`` of ``data`` as a float64 matrix, checked.

    Parameters
    ----------
    data : pandas.DataFrame
        Extra columns are ignored; the frame itself is not modified.
    names : sequence of str
        Observed variables of the model, in model order.
    missing : {"default", "listwise"}
        ``"listwise"`` drops rows with a missing value in a model variable;
        by default such rows are an error.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [1.0, 0.0, 2.0], "c": ["u", "v", "w"]})
    >>> select(df, ["b", "a"]).X[:, 0].tolist()
    [1.0, 0.0, 2.0]
    """
    if missing not in MISSING_OPTIONS:
        raise DataError(f"missing = {missing!r} is not supported; use one of "
                        f"{', '.join(repr(m) for m in MISSING_OPTIONS)}")
    frame = _as_frame(data)
    columns = [str(c) for c in frame.columns]
    absent = [v for v in names if v not in columns]
    if absent:
        hints = []
        for v in absent:
            close = difflib.get_close_matches(v, columns, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            hints.append(f"'{v}'{hint}")
        raise DataError(f"the model uses variable(s) missing from the data: {'; '.join(hints)}. "
                        f"The data have columns: {', '.join(columns[:30])}"
                        f"{' ...' if len(columns) > 30 else ''}. Rename the column or fix the model")
    sub = frame.loc[:, list(names)]
    for v in names:
        dtype = sub[v].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
            raise DataError(
                f"column '{v}' is not numeric (dtype {dtype}); the ML estimator treats "
                f"variables as continuous: convert it, e.g. data['{v}'] = "
                f"pd.to_numeric(data['{v}']) or with .cat.codes for ordered categories")
    X = sub.to_numpy(dtype=np.float64, copy=True)
    bad = ~np.isfinite(X)
    if np.isinf(X).any():
        col = names[int(np.flatnonzero(np.isinf(X).any(axis=0))[0])]
        raise DataError(f"column '{col}' contains infinite values; replace them with NaN "
                        "or finite values")
    incomplete = bad.any(axis=1)
    n_total, n_bad = X.shape[0], int(incomplete.sum())
    if n_bad and missing != "listwise":
        cols = [names[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise DataError(
            f"{n_bad} of {n_total} rows have missing values (in {', '.join(cols)}); "
            "use missing = 'listwise' to drop them")
    if n_bad:
        X = X[~incomplete]
    return Selected(X, list(names), n_total, n_bad)


def moments(X: np.ndarray):
    """Sample mean and N-normalised covariance matrix of the rows of X.

    Examples
    --------
    >>> mean, S = moments(np.array([[0.0, 1.0], [2.0, 3.0]]))
    >>> S.tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    mean = X.mean(axis=0)
    Xc = X - mean
    return mean, (Xc.T @ Xc) / X.shape[0]


def check_moments(S: np.ndarray, n: int, names: Sequence[str]) -> None:
    """Refuse samples whose covariance matrix cannot be fitted by ML."""
    p = len(names)
    if n <= p:
        raise DataError(f"the data have {n} complete rows for {p} observed variables; ML "
                        f"needs more rows than variables (at least {p + 1})")
    sd = np.sqrt(np.diag(S))
    constant = [v for v, s in zip(names, sd) if s <= 1e-12 * max(1.0, sd.max())]
    if constant:
        raise DataError(f"variable(s) {', '.join(constant)} have no variance in the data; "
                        "remove them from the model")
    R = S / np.outer(sd, sd)
    w, vecs = np.linalg.eigh(R)
    if w[0] <= 1e-10:
        involved = [names[j] for j in np.flatnonzero(np.abs(vecs[:, 0]) > 0.1)]
        raise DataError("the sample covariance matrix is not positive definite: the variables "
                        f"{', '.join(involved)} are (nearly) linearly dependent; remove one of them")
