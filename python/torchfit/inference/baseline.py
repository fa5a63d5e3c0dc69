"""The baseline (independence) model of one group, as lavaan's
``lav_partable_independence``.

Every variable has its own variance (and, with a mean structure, its own
mean) and no covariance, except within the block of observed exogenous
variables (lavaan's ``ov.x``), whose covariances stay as in the data:

- with ``fixed.x`` (fixed covariates) the block's moments are given, so they
  are neither parameters nor fitted statistics;
- without it the block's covariances are free parameters of the baseline
  (lavaan's ``baseline.fixed.x.free.cov = TRUE``), so a model with correlated
  covariates is not compared with a baseline that sets their correlation to 0.

Either way the ML estimate of the block is the block of the sample moments
(with complete data), which is why one ``sigma`` serves both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..data.gamma import vech_index


@dataclass(frozen=True)
class Baseline:
    """Which variables form the baseline's block of exogenous variables.

    Examples
    --------
    >>> import numpy as np
    >>> b = Baseline(np.array([False, True, True]), fixed=False)
    >>> S = np.array([[2.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.5]])
    >>> b.sigma(S)[1, 2], b.sigma(S)[0, 1]
    (0.4, 0.0)
    >>> b.n_free(means=True)  # 3 means, 3 variances, the covariance in the block
    7
    """

    block: np.ndarray  # bool per variable: the observed exogenous variables
    fixed: bool  # fixed.x: the block's moments are given, not fitted

    @classmethod
    def of(cls, model, exo: Sequence[bool] = ()) -> "Baseline":
        """The baseline of a group of ``model`` whose fixed covariates are ``exo``
        (lavaan fixes the block exactly when it holds fixed covariates)."""
        exo = np.asarray(exo, dtype=bool)
        if exo.any():
            return cls(exo, True)
        ov_x = set(model.names.ov_x)
        return cls(np.array([v in ov_x for v in model.ov_names], dtype=bool), False)

    def sigma(self, S: np.ndarray) -> np.ndarray:
        """The baseline covariance matrix at the sample one: its diagonal, and the
        block's covariances."""
        out = np.diag(np.diag(S))
        out[np.ix_(self.block, self.block)] = S[np.ix_(self.block, self.block)]
        return out

    def delta(self, means: bool) -> np.ndarray:
        """d (mu, vech Sigma) / d parameters (rows: vech Sigma only without
        ``means``): the means, then the variances of the variables that are not
        fixed covariates, then the block's covariances when they are free."""
        p = len(self.block)
        I, J = vech_index(p)
        own = np.ones(p, dtype=bool) if not self.fixed else ~self.block
        cov = (I != J) & self.block[I] & self.block[J] & (not self.fixed)
        var_rows = np.flatnonzero((I == J) & own[I])
        cov_rows = np.flatnonzero(cov)
        cols = len(var_rows) + len(cov_rows)
        D = np.zeros((len(I), cols))
        D[np.concatenate([var_rows, cov_rows]), np.arange(cols)] = 1.0
        if not means:
            return D
        Dm = np.eye(p)[:, own]
        out = np.zeros((p + len(I), Dm.shape[1] + cols))
        out[:p, :Dm.shape[1]], out[p:, Dm.shape[1]:] = Dm, D
        return out

    def n_free(self, means: bool) -> int:
        """The baseline's free parameters."""
        return self.delta(means).shape[1]
