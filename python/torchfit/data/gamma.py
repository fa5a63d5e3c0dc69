"""Gamma: the asymptotic covariance matrix of the sample moments from the raw data.

The "ADF" Gamma (N-normalised, lavaan's NACOV) that robust ML (MLM, MLR) needs,
formed in one more bounded-memory pass over the data, and the vech order it uses.
"""
from __future__ import annotations

from functools import partial
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import DataError
from .frames import check_missing, chunks, complete_rows
from .reader import reduced

# -- vech algebra ------------------------------------------------------------------

def vech_index(p: int) -> Tuple[np.ndarray, np.ndarray]:
    """Row and column of each vech element, lavaan's order (columns of the
    lower triangle: (1,1), (2,1), ..., (p,1), (2,2), ...)."""
    cols, rows = np.triu_indices(p)  # row-major upper = column-major lower
    return rows, cols


# -- Gamma from the raw data ------------------------------------------------------------

def gamma_adf(data, names: Sequence[str], mean: np.ndarray, cov: np.ndarray,
              missing: str = "default", columns: Optional[Sequence[str]] = None,
              chunk_rows: int = 1 << 14, meanstructure: bool = False,
              fixed: Optional[Sequence[bool]] = None) -> np.ndarray:
    """The N-normalised asymptotic covariance matrix of vech(S) (lavaan's NACOV),
    of (mean, vech(S)) with ``meanstructure``.

    Gamma = 1/N sum_i (v_i - vech S)(v_i - vech S)' with v_i = vech(d_i d_i'),
    d_i = x_i - mean (with the means, d_i is prepended to v_i - vech S);
    accumulated block by block in float64 (the centring by the known mean and
    vech S avoids the cancellation of a raw-moment formula), so only p*^2
    numbers are held whatever the number of rows.

    With ``fixed`` covariates (lavaan's fixed.x) the part that the covariates
    explain is taken out, as lavaan does: with h_i = d_i M, the covariates'
    own deviations and the other variables' least-squares predictions from
    them, v_i becomes vech(d_i d_i' - h_i h_i') - vech(S - M'SM) (and the
    means part d_i - h_i), so the rows of the covariates' moments are zero.

    Parameters
    ----------
    data, names, missing, columns
        As for :func:`torchfit.data.frames.sample_moments` (same rows are used).
    mean, cov : ndarray
        The sample mean and N-normalised covariance matrix of those rows.
    meanstructure : bool
        Include the means.
    fixed : sequence of bool, optional
        Which of ``names`` are fixed covariates.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 5.0], "b": [1.0, 0.0, 2.0, 1.0]})
    >>> m, S = X.mean().to_numpy(), np.cov(X.T, bias=True)
    >>> gamma_adf(X, ["a", "b"], m, S).shape
    (3, 3)
    """
    check_missing(missing)
    p = len(names)
    I, J = vech_index(p)
    M = None
    if fixed is not None and any(fixed):
        x = np.flatnonzero(fixed)
        y = np.flatnonzero(~np.asarray(fixed, dtype=bool))
        M = np.zeros((p, p))
        M[np.ix_(x, y)] = np.linalg.solve(cov[np.ix_(x, x)], cov[np.ix_(x, y)])
        M[x, x] = 1.0
        cov = cov - M.T @ cov @ M  # the centre of vech(d d' - h h')
        M = torch.as_tensor(M, dtype=torch.float64)
    s = torch.as_tensor(cov[I, J], dtype=torch.float64)
    m = torch.as_tensor(mean, dtype=torch.float64)
    k = len(I) + (p if meanstructure else 0)
    read = partial(_gamma_sums, data, names, columns, chunk_rows, m, s, M, meanstructure, k)
    # one rank's shard: the ranks' sums added in rank order, the same on every rank
    acc, n = reduced(data, read, lambda ranks: [sum(parts) for parts in zip(*ranks)])
    if n == 0:
        raise DataError("the data have no complete rows for the model's variables")
    G = (acc / n).numpy()
    return (G + G.T) / 2


def _gamma_sums(data, names, columns, chunk_rows, m, s, M, meanstructure, k):
    """sum_i v_i v_i' of the rows of ``data`` (see :func:`gamma_adf`) and the rows."""
    acc = torch.zeros((k, k), dtype=torch.float64)
    n = 0
    I, J = vech_index(len(names))
    for X in chunks(data, names, columns, chunk_rows):
        keep = complete_rows(X, names)
        if not keep.all():
            X = X[keep]
        if not len(X):
            continue
        d = torch.as_tensor(X, dtype=torch.float64) - m
        V = d[:, I] * d[:, J] - s
        if M is not None:
            h = d @ M
            V = V - h[:, I] * h[:, J]
            d = d - h
        if meanstructure:
            V = torch.cat([d, V], dim=1)
        acc += V.T @ V
        n += X.shape[0]
    return acc, n


# -- the pieces at the estimates ----------------------------------------------------
