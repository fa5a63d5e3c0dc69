"""The public entry points: ``fit``, ``sem``, ``cfa`` and ``growth``.

The pipeline reads as lavaan's: options -> estimator -> Spec (syntax -> parameter
table -> model matrices) -> SampleStats -> Estimate -> Fit (see ARCHITECTURE.md).
"""
from __future__ import annotations

from functools import partial
from typing import Optional, Sequence, Union

import pandas as pd

from .data.patterns import is_fiml
from .data.sources import open_source, shard
from .distributed.comm import communicator
from .errors import ModelError
from .estimate.ml import one_thread
from .estimators.registry import select
from .inference.robust_options import options as robust_options
from .inference.robust_options import require_raw_data
from .options import ESTIMATORS, FitOptions, check_estimator, check_extra
from .results.assemble import assemble
from .results.fit import Fit
from .version import __version__

__all__ = ["fit", "sem", "cfa", "growth", "resolve_options", "ESTIMATORS", "__version__"]


def fit(model: Union[str, pd.DataFrame], data, estimator: str = "ML", model_type: str = "sem",
        std_lv: bool = False, orthogonal: bool = False, fixed_x: bool = True,
        missing: str = "default", iter_max: int = 500, columns=None,
        meanstructure: Optional[bool] = None, information: Optional[str] = None,
        group: Optional[str] = None, group_equal: Union[str, Sequence[str]] = (),
        group_partial: Union[str, Sequence[str]] = (), distributed: Optional[bool] = None,
        **options) -> Optional[Fit]:
    """Fit a structural equation model.

    Parameters
    ----------
    model : str or pandas.DataFrame
        lavaan model syntax, or a lavaan parameter table.
    data : pandas.DataFrame, 2-D array, Arrow table or path
        One column per observed variable; extra columns are ignored and the
        data are not modified.  Large data can be a memory-mapped array
        (``np.load(path, mmap_mode="r")``), the path of a .npy or CSV file, or
        of a Parquet file or directory (pyarrow, read by row group, only the
        model's columns): the sample moments are formed in one pass over
        blocks of rows.
    estimator : {"ML", "MLM", "MLR", "IWAVE"}
        Maximum likelihood on the sample moments; ML with robust standard
        errors and the Satorra-Bentler scaled test ("MLM") or with
        Huber-White sandwich standard errors and the Yuan-Bentler (Mplus)
        scaled test ("MLR"), both of which need the raw data (see
        :mod:`torchfit.inference.robust`); or importance-weighted
        amortized variational estimation (any mix of item types; see
        :func:`torchfit.iwave.fit.fit_iwave` for its options: ``ordered``,
        ``item_types``, ``iw_samples``, ``batch_size``, ``lr``, ...).
    model_type : {"sem", "cfa"}
        Which of lavaan's defaults to apply (the same for both).
    std_lv : bool
        Fix latent variances to 1 instead of the first loadings.
    orthogonal : bool
        Fix covariances among exogenous latent variables to 0.
    fixed_x : bool
        Treat exogenous observed covariates as fixed (lavaan's default).
    missing : {"default", "listwise", "ml"}
        Rows with missing values are an error by default; "listwise" drops
        them; "ml" (also "fiml", "direct") fits every row by full-information
        maximum likelihood over its observed values, with a mean structure,
        lavaan's EM estimate of the unrestricted model for the test and the
        observed information for the standard errors (see
        :mod:`torchfit.estimate.fiml`); rows missing on every model variable are
        dropped with a warning.
    iter_max : int
        Maximum number of optimiser iterations.
    columns : sequence of str, optional
        Column names, when ``data`` is an array or a .npy file.
    information : {"expected", "observed"}, optional
        Information matrix of the standard errors (lavaan's option): by
        default "expected" for ML and MLM, "observed" (the Hessian) for MLR.
    group : str, optional
        Column of ``data`` whose values split the rows into groups, each with
        its own parameters (a multiple-group model; lavaan's ``group=``).
    group_equal : str or sequence of str
        Parameter types equal across groups (lavaan's ``group.equal``):
        "loadings", "intercepts", "means", "thresholds", "regressions",
        "residuals", "residual.covariances", "lv.variances", "lv.covariances";
        one type can be a plain string (``group_equal="loadings"``).
    group_partial : str or sequence of str
        Parameters exempt from ``group_equal``, written ``lhs op rhs``, e.g.
        ``["visual =~ x2", "x3 ~ 1"]``; whitespace does not matter, and an
        entry that names no parameter of the model is an error.
    distributed : bool, optional
        Data-parallel fit on torch.distributed (launched by ``torchrun``; by
        default on when its environment is there): every rank runs the same
        call and reads its own shard of the rows; the moments (and Gamma) are
        reduced over the ranks, the stochastic estimators all-reduce their
        gradients every step.  Rank 0 returns the Fit, the other ranks None
        (see :mod:`torchfit.distributed.comm` and README-distributed.md).
    **options
        Options of the IWAVE estimator (snake case, as in ``fit_iwave``), or,
        for ML, ``batch_size`` (with ``lr``, ``max_epochs``, ``n_intervals``,
        ``seed``, ``quiet``): ML on the raw data in mini-batches with Adam,
        the tensorsem way (:mod:`torchfit.estimate.minibatch`).

    Returns
    -------
    Fit

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.fit("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6", hs)
    >>> int(fit.fit_measures()["df"])
    8
    """
    comm = communicator(distributed, str(options.get("device", "cpu")))
    if comm is not None:
        return _on_ranks(comm, partial(
            fit, model, estimator=estimator, model_type=model_type, std_lv=std_lv,
            orthogonal=orthogonal, fixed_x=fixed_x, missing=missing, iter_max=iter_max,
            columns=columns, meanstructure=meanstructure, information=information,
            distributed=False, **options), data, columns, group)
    data = open_source(data)
    options = resolve_options(
        estimator, data, model_type=model_type, std_lv=std_lv, orthogonal=orthogonal,
        fixed_x=fixed_x, missing=missing, iter_max=iter_max, columns=columns,
        meanstructure=meanstructure, information=information, group=group,
        group_equal=group_equal, group_partial=group_partial, **options)
    method = select(options)
    spec = method.spec(model, data, options)
    stats = method.sample_stats(spec, data, options)
    estimate = method.estimate(spec, stats, options)
    with one_thread():
        return assemble(spec, stats, estimate, options)


def _on_ranks(comm, run, data, columns, group) -> Optional[Fit]:
    """``run`` on this rank's shard of the data; the Fit on rank 0 (holding the
    caller's data for predict()), None elsewhere."""
    if group is not None:
        raise ModelError("distributed=True fits one group so far; leave out group= (or fit "
                         "the groups one by one)")
    out = run(shard(data, comm, columns))
    if comm.rank != 0:
        return None
    out.data = data
    out.info.update(world_size=comm.size)
    return out


def resolve_options(estimator: str, data, *, model_type: str = "sem", std_lv: bool = False,
                    orthogonal: bool = False, fixed_x: bool = True, missing: str = "default",
                    iter_max: int = 500, columns=None, meanstructure: Optional[bool] = None,
                    information: Optional[str] = None, group: Optional[str] = None,
                    group_equal=(), group_partial=(), **own) -> FitOptions:
    """``fit()``'s options checked against the option table and resolved as lavaan
    resolves them: the estimator, FIML or not (with its mean structure and observed
    information), lavaan's se/test/information, and the estimator's own options.

    Examples
    --------
    >>> opts = resolve_options("ML", None, missing="fiml")
    >>> opts.fiml, opts.missing, opts.meanstructure, opts.information
    (True, 'ml', True, 'observed')
    >>> resolve_options("ML", None, hidden=(10,))
    Traceback (most recent call last):
    ...
    TypeError: option(s) hidden are for estimator 'IWAVE', not 'ML'
    """
    estimator = check_estimator(estimator)
    check_extra(estimator, own)
    model = dict(model_type=model_type, std_lv=std_lv, orthogonal=orthogonal, fixed_x=fixed_x)
    if estimator == "IWAVE":
        if group is not None:
            raise ModelError("estimator='IWAVE' fits a single group; leave group= out or use "
                             "estimator='ML' for a multiple-group model")
        return FitOptions(estimator, missing, False, None, None, iter_max, None, None, model,
                          own)
    fiml = is_fiml(missing)
    if fiml:
        missing = "ml"
        if estimator != "ML":
            # lavaan refuses MLM with missing = "ml": the Satorra-Bentler
            # correction is defined for complete data only.
            raise ModelError(f"estimator {estimator!r} with missing = 'ml' is not available: "
                             "MLM needs complete data (use missing = 'listwise') and MLR "
                             "with FIML is not supported yet; use estimator = 'ML'")
        meanstructure = True  # as lavaan: FIML always fits the means
        information = "observed" if information is None else information
    robust = robust_options(estimator, information)
    if robust.needs_raw_data:
        require_raw_data(data, robust.estimator)
    model.update(group_equal=group_equal, group_partial=group_partial)
    return FitOptions(estimator, missing, fiml, meanstructure, information, iter_max, group,
                      columns, model, own, robust)


def sem(model: Union[str, pd.DataFrame], data, **options) -> Fit:
    """Fit a structural equation model with lavaan's sem() defaults.

    Examples
    --------
    >>> import torchfit
    >>> pd_data = torchfit.datasets.political_democracy()
    >>> fit = torchfit.sem("ind60 =~ x1 + x2 + x3; dem60 =~ y1 + y2 + y3 + y4; "
    ...                    "dem60 ~ ind60", pd_data)
    >>> fit.converged
    True
    """
    return fit(model, data, model_type="sem", **options)


def growth(model: Union[str, pd.DataFrame], data, **options) -> Fit:
    """Fit a latent growth curve model with lavaan's growth() defaults: a mean
    structure with observed intercepts fixed at 0 and latent means free.

    Examples
    --------
    >>> import torchfit
    >>> g = torchfit.datasets.demo_growth()
    >>> fit = torchfit.growth("i =~ 1*t1 + 1*t2 + 1*t3 + 1*t4; "
    ...                       "s =~ 0*t1 + 1*t2 + 2*t3 + 3*t4", g)
    >>> round(fit.fit_measures()["chisq"], 3)
    8.069
    """
    return fit(model, data, model_type="growth", **options)


def cfa(model: Union[str, pd.DataFrame], data, **options) -> Fit:
    """Fit a confirmatory factor model with lavaan's cfa() defaults.

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; "
    ...                    "speed =~ x7 + x8 + x9", hs)
    >>> round(fit.fit_measures()["chisq"], 3)
    85.306
    """
    return fit(model, data, model_type="cfa", **options)
