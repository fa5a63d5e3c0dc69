"""lavaan's ``std.ov = TRUE``: the observed variables standardized before the fit.

As lavaan's ``lav_data_full``, each group's model variables except the fixed covariates
are centred and divided by their standard deviation (R's ``scale()``: the N - 1
variance, missing values left out) over the rows the fit uses: the complete rows with
``missing = "listwise"``, the rows with every fixed covariate observed with
``missing = "ml"``, all rows otherwise.  The caller's data are not modified.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from .frames import as_frame, chunks, group_data
from .reader import Reader


def _rows_used(X: np.ndarray, exo: Sequence[bool], rows: str) -> np.ndarray:
    """Which rows of the group's model variables ``X`` the fit keeps."""
    finite = np.isfinite(X)
    if rows == "complete":
        return finite.all(axis=1)
    if rows == "covariates":
        return finite[:, np.asarray(exo, dtype=bool)].all(axis=1)
    return np.ones(X.shape[0], dtype=bool)


def rows_for(missing: str) -> str:
    """Which rows a fit with ``missing`` standardizes over (``standardize``'s ``rows``).

    Examples
    --------
    >>> rows_for("listwise"), rows_for("ml"), rows_for("ml.x")
    ('complete', 'covariates', 'all')
    """
    return {"listwise": "complete", "ml": "covariates"}.get(missing, "all")


def standardize(data, names: List[Sequence[str]], exo: List[Sequence[bool]],
                group: Optional[str] = None, rows: str = "all",
                columns: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """A copy of ``data`` with each group's ``names`` (except those flagged in ``exo``)
    standardized over the rows the fit uses (``rows``: "all", "complete" or
    "covariates").

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 5.0, 10.0]})
    >>> standardize(df, [["a", "b"]], [[False, True]])["a"].tolist()
    [-1.0, 0.0, 1.0]
    >>> df["a"].tolist()
    [1.0, 2.0, 3.0]
    """
    if isinstance(data, (str, Path, Reader, np.memmap)):
        raise DataError("std_ov=True standardizes a copy of the data in memory; read the file "
                        "into a DataFrame (or an array) first, or standardize it yourself")
    frame = as_frame(data, columns).copy()
    labels, _ = group_data(frame, group)
    for label, vars_, flags in zip(labels, names, exo):
        mask = np.ones(len(frame), dtype=bool) if label is None else \
            (frame[group].astype(str) == label).to_numpy()
        X = np.concatenate(list(chunks(frame[mask], list(vars_), None, 1 << 30)))
        used = _rows_used(X, flags, rows)
        for j, (name, fixed) in enumerate(zip(vars_, flags)):
            if fixed:
                continue
            values = X[used, j]
            values = values[np.isfinite(values)]
            sd = values.std(ddof=1) if len(values) > 1 else 0.0
            if not sd > 0:
                raise DataError(f"std_ov=True cannot standardize '{name}': it has no variance "
                                "in the rows the fit uses; remove it from the model")
            column = frame[name].to_numpy(dtype=float, copy=True)
            column[mask] = (X[:, j] - values.mean()) / sd
            frame[name] = column
    return frame
