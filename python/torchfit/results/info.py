"""``FitInfo``: what a fit records about its run and lavaan's option values, as named
fields (lavaan's ``lavInspect(fit, "options")`` and ``@optim`` pieces that torchfit
reports). Built by :func:`torchfit.results.assemble.assemble`; R reads it as a named
list (``bridge.fit_from_r``: :meth:`FitInfo.as_dict`).

A field an estimator does not set stays None and is absent from :meth:`as_dict`; the
estimators' own records (``Estimate.extras``, the tests record's ``info``) are merged
in by :meth:`FitInfo.update`, which refuses a name that is not a field.
``fit.info["estimator"]`` (the mapping of the set fields) reads as it did when ``info``
was a dict.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Dict, Iterator, List, Optional


@dataclass(eq=False)
class FitInfo(Mapping):
    """The fit's record of its run, by field (None: not set for this estimator).

    Examples
    --------
    >>> info = FitInfo.of(estimator="ML", converged=True, nobs=301)
    >>> info.estimator, info.se, info["nobs"], "se" in info
    ('ML', None, 301, False)
    >>> info.update(se="standard")
    >>> info.as_dict()
    {'estimator': 'ML', 'converged': True, 'nobs': 301, 'se': 'standard', 'warnings': []}
    >>> info.update(colour="red")
    Traceback (most recent call last):
    ...
    TypeError: FitInfo has no field colour
    """

    # -- the run (every estimator) -------------------------------------------------
    #: lavaan's estimator name ("ML" for MLM and MLR, whose se and test say the rest)
    estimator: Optional[str] = None
    #: the optimiser that ended the fit
    optimizer: Optional[str] = None
    #: its iterations (steps of the stochastic ones)
    iterations: Optional[int] = None
    #: whether it converged
    converged: Optional[bool] = None
    #: the rows used, and the rows before missing values were dropped
    nobs: Optional[int] = None
    nobs_total: Optional[int] = None
    #: free parameters, equality constraints and (moment-based fits) inequality ones
    npar: Optional[int] = None
    neq: Optional[int] = None
    nin: Optional[int] = None
    #: how missing values were treated (lavaan's missing=)
    missing: Optional[str] = None
    #: the engine's version
    version: Optional[str] = None
    #: the fit's warnings (convergence, Heywood cases, the estimator's notes)
    warnings: List[str] = field(default_factory=list)
    #: wall-clock seconds of the stochastic and quadrature fits
    seconds: Optional[float] = None
    #: the ranks of a distributed fit
    world_size: Optional[int] = None

    # -- moment-based fits (ML family, least squares) ----------------------------
    #: the gradient's norm at the estimates, and whether no Heywood case was found
    gradient_norm: Optional[float] = None
    admissible: Optional[bool] = None
    #: lavaan's se, test, information, h1.information and observed.information
    se: Optional[str] = None
    test: Optional[str] = None
    information: Optional[str] = None
    h1_information: Optional[str] = None
    observed_information: Optional[str] = None
    #: the information the scaled test was computed with ("h1" for clusters and weights)
    test_information: Optional[str] = None
    #: the grouping column (None: one group) and the groups' labels, rows and statistics
    group: Optional[str] = None
    group_labels: Optional[List[str]] = None
    nobs_group: Optional[List[int]] = None
    nobs_total_group: Optional[List[int]] = None
    chisq_group: Optional[List[float]] = None
    #: FIML's missing-data patterns per group
    npatterns: Optional[List[int]] = None
    #: "sample_cov": made from sample moments (no rows to score or resample)
    data: Optional[str] = None
    #: the observed variables were standardized first (lavaan's std.ov)
    std_ov: Optional[bool] = None
    #: the cluster column and each group's clusters; the sampling-weight column
    cluster: Optional[str] = None
    nclusters: Optional[List[int]] = None
    sampling_weights: Optional[str] = None
    #: the bootstrap: draws asked for, draws that converged, the seed, Bollen-Stine's p
    bootstrap: Optional[int] = None
    bootstrap_successful: Optional[int] = None
    bootstrap_seed: Optional[int] = None
    bollen_stine_pvalue: Optional[float] = None
    #: the WLS family: the estimator asked for (WLSMV, ...) and the parameterization
    estimator_option: Optional[str] = None
    parameterization: Optional[str] = None

    # -- stochastic fits (mini-batch ML, IWAVE) ------------------------------------
    #: epochs, rows per step and (mini-batch ML) the loss per window
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    loss_history: Optional[List[float]] = None

    # -- IWAVE and MML -----------------------------------------------------------------
    #: each item's measurement model, and the device the fit ran on
    item_types: Optional[Dict[str, str]] = None
    device: Optional[str] = None
    #: IWAVE's settings: importance samples, learning rates, seed, refinement,
    #: doubly reparameterized gradients, the final pass's draws and steps
    iw_samples: Optional[int] = None
    lr: Optional[float] = None
    lr_model: Optional[float] = None
    seed: Optional[int] = None
    refine: Optional[bool] = None
    dreg: Optional[bool] = None
    final_samples: Optional[int] = None
    final_iterations: Optional[int] = None
    #: IWAVE's final loss (-IW-ELBO per row)
    final_loss: Optional[float] = None
    #: IWAVE's standard errors (draws, rows) and log-likelihood (draws per row)
    se_samples: Optional[int] = None
    se_rows: Optional[int] = None
    logl_samples: Optional[int] = None
    #: IWAVE streamed from Parquet (stream=True): row groups per buffer, the most
    #: rows held at once
    stream_buffer: Optional[int] = None
    rows_in_memory: Optional[int] = None
    #: MML's quadrature: points per factor, nodes, rule, largest gradient per row
    quad_points: Optional[int] = None
    quad_nodes: Optional[int] = None
    quadrature: Optional[str] = None
    max_gradient: Optional[float] = None

    @classmethod
    def of(cls, **values) -> "FitInfo":
        """A record with ``values`` set (see :meth:`update`)."""
        info = cls()
        info.update(**values)
        return info

    def update(self, **values) -> None:
        """Set fields by name; a name that is not a field is an error (the record's
        fields are its contract with the reports and R)."""
        for name, value in values.items():
            if name not in _FIELDS:
                raise TypeError(f"FitInfo has no field {name}")
            setattr(self, name, value)
            self._set[name] = None

    def as_dict(self) -> Dict[str, object]:
        """The fields set, in the order they were set (then ``warnings``), as R reads
        them (``@info``)."""
        return {name: getattr(self, name) for name in self}

    # -- read-only mapping of the fields set: ``fit.info["nobs"]`` as before --------
    def __getitem__(self, name: str):
        if name not in self._set and name != "warnings":
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter([*(n for n in self._set if n != "warnings"), "warnings"])

    def __len__(self) -> int:
        return len(self._set) + ("warnings" not in self._set)

    def __post_init__(self) -> None:
        # the fields set, in order (a dict as an ordered set)
        self._set: Dict[str, None] = {}


_FIELDS = frozenset(f.name for f in fields(FitInfo))
