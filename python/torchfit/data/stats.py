"""``SampleStats``: what the data say, as lavaan's lavData and lavSampleStats: per-group
moments (or missing-data patterns and the EM moments of the unrestricted model for
FIML), the asymptotic covariance of the moments (Gamma, for MLM/MLR), which observed
variables are fixed covariates, and the data themselves (by reference, for the
estimators; the Fit keeps its own copy of the model's columns).  Built by the
estimator's ``sample_stats`` step."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from .frames import Moments


@dataclass
class SampleStats:
    """The data of a fit.

    ``moments`` per group (N-normalised covariance, mean, n); ``exo`` the fixed.x
    flags per group in model order; ``patterns`` and ``h1`` (FIML: the patterns and
    EM's mean, covariance and log-likelihood per group); ``gammas`` (MLM/MLR: Gamma
    per group, with and without the fixed.x rows); ``missing`` as resolved; ``data``
    and ``columns`` as the caller gave them; ``extras`` what an estimator adds (IWAVE:
    the coded responses); ``n`` and ``n_total`` the rows used and given.

    Examples
    --------
    >>> import numpy as np
    >>> stats = SampleStats([Moments(10, np.zeros(2), np.eye(2), 12)], [[False, False]])
    >>> stats.n, stats.n_total
    (10, 12)
    """

    moments: List[Moments]
    exo: List[List[bool]]
    missing: str = "default"
    data: object = None
    columns: Optional[Sequence[str]] = None
    patterns: Optional[list] = None
    h1: Optional[list] = None
    gammas: Optional[list] = None
    extras: Dict = field(default_factory=dict)
    n: int = -1  # rows used, over all groups (by default, the moments')
    n_total: int = -1  # rows of the data, with the dropped ones

    @property
    def sizes(self) -> list:
        """Each group's N in the likelihood: its rows, or with sampling weights (as
        lavaan) the sum of its normalised weights."""
        cases = self.extras.get("cases") or [None] * len(self.moments)
        return [m.n if c is None or getattr(c, "weights", None) is None
                else c.weight_sum for m, c in zip(self.moments, cases)]

    def __post_init__(self):
        if self.n < 0:
            self.n = sum(m.n for m in self.moments)
        if self.n_total < 0:
            self.n_total = sum(m.n_total for m in self.moments)
