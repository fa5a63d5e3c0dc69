"""The protocol every estimator follows, and that the registry
(:mod:`torchfit.estimators.registry`) holds.

An estimator is an object with a ``name`` and four methods, called in this order by
:func:`torchfit.api.fit` (and nothing else is asked of it)::

    applies(options)               -> bool          is this fit mine?
    spec(model, data, options)     -> Spec          the table and the matrices
    sample_stats(spec, data, options) -> SampleStats   the data's statistics
    estimate(spec, stats, options) -> Estimate      the estimates and their inference

:func:`torchfit.results.assemble.assemble` then turns ``(spec, stats, estimate,
options)`` into the ``Fit``.  ``options`` is the resolved
:class:`torchfit.options.FitOptions`.  An estimator of the ML family reuses
:mod:`torchfit.estimators.moments` for ``spec`` and ``sample_stats``.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..data.stats import SampleStats
from ..estimate.record import Estimate
from ..model.spec import Spec
from ..options import FitOptions


@runtime_checkable
class Estimator(Protocol):
    """One way to fit a model (see the module's docstring for the order of the calls).

    Examples
    --------
    >>> from torchfit.estimators.registry import REGISTRY
    >>> all(isinstance(e, Estimator) for e in REGISTRY)
    True
    """

    name: str
    #: whether its statistics of a rank's shard are reduced over the ranks
    #: (``distributed=True``); the others are refused there, never fitted on one shard
    data_parallel: bool

    def applies(self, options: FitOptions) -> bool:
        """Whether this estimator fits a model with ``options``."""

    def spec(self, model, data, options: FitOptions) -> Spec:
        """The parameter table, model matrices, definitions and constraints."""

    def sample_stats(self, spec: Spec, data, options: FitOptions) -> SampleStats:
        """The statistics of the data the estimator needs."""

    def estimate(self, spec: Spec, stats: SampleStats, options: FitOptions) -> Estimate:
        """The estimates, with their vcov and tests."""
