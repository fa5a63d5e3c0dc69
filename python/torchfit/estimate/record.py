"""``Estimate``: the one record every estimator returns (lavaan's lavModel at the
estimates plus lavaan's @Fit, @vcov and @test slots), which
:func:`torchfit.results.assemble.assemble` turns into a ``Fit``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np


@dataclass
class Estimate:
    """What an estimator found.

    Every estimator sets ``x`` (the reduced free parameters), ``converged``,
    ``iterations``, ``optimizer`` and ``start`` (every table row's start value, fixed
    values set); ``vcov`` (of the free table parameters; None when the information
    is singular) and ``tests`` (an inference record with ``vcov``,
    ``measures(standard)`` and ``info``, e.g. :class:`torchfit.inference.robust.Robust`:
    the scaled tests of MLM/MLR) once the estimator's inference has run; stochastic
    estimators the ``loss_history``;
    ``extras`` holds what is the estimator's own (reported in the fit's ``info``),
    ``messages`` what it says about its run (listed in ``info.warnings``) and ``std``
    its standardized columns when they are not ML's (IWAVE: logistic latent responses).

    The fields after ``extras`` describe an ML-family fit at ``x``: F_ML/2
    (``fmin``), the implied moments and model matrices per group, the expected
    information per observation (reduced), lavaan's post-check warnings
    (``heywood``) and the general constraints.

    Examples
    --------
    >>> e = Estimate(np.zeros(2), True, 5)
    >>> e.converged, e.loss_history, e.optimizer
    (True, [], 'Fisher scoring')
    """

    x: np.ndarray
    converged: bool
    iterations: int
    start: Optional[np.ndarray] = None  # every table row, fixed values set
    information: Optional[np.ndarray] = None  # per observation, reduced
    vcov: Optional[np.ndarray] = None
    tests: object = None
    loss_history: List[float] = field(default_factory=list)
    extras: Dict = field(default_factory=dict)
    messages: List[str] = field(default_factory=list)  # about the run, for info.warnings
    std: Optional[Dict[str, np.ndarray]] = None  # the estimator's own std.lv, std.all
    fmin: float = float("nan")  # F_ML / 2, lavaan's fmin (weighted over groups)
    sigma: List[np.ndarray] = field(default_factory=list)  # implied covariance per group
    mu: List[Optional[np.ndarray]] = field(default_factory=list)  # implied mean per group
    # general constraints: Jacobian of the equalities and active inequalities
    constraint_jacobian: Optional[np.ndarray] = None
    n_equalities: int = 0  # general equality constraints (each removes a parameter)
    n_inequalities: int = 0
    at_bound: List[int] = field(default_factory=list)  # reduced indices held at a bound
    gradient_norm: float = 0.0  # Euclidean norm of the gradient of fmin at x
    optimizer: str = "Fisher scoring"  # the strategy that reached x
    tried: List[str] = field(default_factory=list)  # the strategies that ran, in order
    matrices: List[dict] = field(default_factory=list)  # model matrices per group at x
    heywood: List[str] = field(default_factory=list)  # lavaan's post-check warnings
    boot: object = None  # the bootstrap's draws (torchfit.inference.bootstrap.Draws)

    def values(self, table, model) -> np.ndarray:
        """Every row of ``table`` at the estimates: the free ones from ``x`` through
        ``model`` (a :class:`torchfit.model.matrices.Model`), the others at ``start``."""
        free = table["free"].to_numpy()
        out = self.start.copy()
        out[free > 0] = model.expand(self.x)[free[free > 0] - 1]
        return out
