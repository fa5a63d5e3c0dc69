"""The public entry points: ``fit``, ``sem``, ``cfa`` and ``growth``.

The pipeline reads as lavaan's: options -> estimator -> Spec (syntax -> parameter
table -> model matrices) -> SampleStats -> Estimate -> Fit (see ARCHITECTURE.md).
"""
from __future__ import annotations

from functools import partial
from typing import Optional, Sequence, Union

import pandas as pd

from .data.frames import native
from .data.given import RAW_DATA, GivenMoments, given_moments
from .data.patterns import fiml_name, is_fiml
from .data.sources import open_source, shard
from .distributed.comm import communicator
from .errors import DataError, ModelError, TorchfitError
from .estimate.ml import one_thread
from .estimators.moments import standardized_data
from .estimators.registry import select
from .inference.robust_options import options as robust_options
from .inference.robust_options import require_raw_data
from .options import (
    BY_NAME,
    CONTINUOUS_LS,
    ESTIMATORS,
    IRT,
    ML_FAMILY,
    ORDINAL,
    FitOptions,
    bootstrap_options,
    check_estimator,
    check_extra,
    check_named,
)
from .results.assemble import assemble
from .results.fit import Fit
from .version import __version__

#: the optimiser's iteration bound, from the option table (lavaan's nlminb default)
ITER_MAX = BY_NAME["iter_max"].default

__all__ = ["fit", "sem", "cfa", "growth", "resolve_options", "ESTIMATORS", "__version__"]


def fit(model: Union[str, pd.DataFrame], data=None, estimator: str = "default",
        model_type: str = "sem",
        std_lv: bool = False, orthogonal: bool = False, fixed_x: bool = True,
        missing: str = "default", iter_max: int = ITER_MAX, columns=None,
        meanstructure: Optional[bool] = None, information: Optional[str] = None,
        group: Optional[str] = None, group_equal: Union[str, Sequence[str]] = (),
        group_partial: Union[str, Sequence[str]] = (), sample_cov=None, sample_mean=None,
        sample_nobs=None, std_ov: bool = False, distributed: Optional[bool] = None,
        cluster: Optional[str] = None, sampling_weights: Optional[str] = None,
        **options) -> Optional[Fit]:
    """Fit a structural equation model.

    Parameters
    ----------
    model : str or pandas.DataFrame
        lavaan model syntax, or a lavaan parameter table.
    data : pandas.DataFrame, 2-D array, Arrow table or path, optional
        One column per observed variable; extra columns are ignored and the
        data are not modified (leave it out for a fit from ``sample_cov``).
        Large data can be a memory-mapped array
        (``np.load(path, mmap_mode="r")``), the path of a .npy or CSV file, or
        of a Parquet file or directory (pyarrow, read by row group, only the
        model's columns): the sample moments are formed in one pass over
        blocks of rows.
    estimator : str
        "default" (ML, or WLSMV with ``ordered`` items, as in lavaan), "ML",
        "MLM", "MLR", "IWAVE", "MML", or for ordered items "WLSMV", "WLSM",
        "ULSMV", "ULSM", "WLS", "DWLS", "ULS".
        Maximum likelihood on the sample moments; ML with robust standard
        errors and the Satorra-Bentler scaled test ("MLM") or with
        Huber-White sandwich standard errors and the Yuan-Bentler (Mplus)
        scaled test ("MLR"), both of which need the raw data (see
        :mod:`torchfit.inference.robust`); or importance-weighted
        amortized variational estimation (any mix of item types; see
        :func:`torchfit.iwave.fit.fit_iwave` for its options: ``ordered``,
        ``item_types``, ``iw_samples``, ``batch_size``, ``lr``, ...); or, for
        the same models with up to three factors, exact marginal maximum
        likelihood by Gauss-Hermite quadrature ("MML"; see
        :func:`torchfit.iwave.mml.fit_mml`: ``quad_points``, ``quadrature``, ``max_factors``,
        ``se``; ``iter_max`` bounds its L-BFGS iterations); or
        lavaan's limited-information estimators on thresholds and polychoric
        correlations (``ordered=[...]`` or ``ordered=True``, and
        ``parameterization="delta"`` or ``"theta"``; variables not named in
        ``ordered`` stay continuous, with polyserial correlations, as in
        lavaan; see :mod:`torchfit.estimators.wls`).
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
        dropped with a warning.  With fixed covariates (``fixed_x``), "ml" drops the
        rows missing a covariate (with a warning, as lavaan) and "ml.x" (also
        "fiml.x", "direct.x") keeps them, the covariates' fixed moments being
        the EM estimates.
    iter_max : int
        Most optimiser iterations, all strategies together (lavaan's nlminb
        bound); a fit that converges within it is the same for any larger
        value.
    columns : sequence of str, optional
        Column names, when ``data`` is an array or a .npy file.
    meanstructure : bool, optional
        Fit the means too (intercepts of the observed variables), as
        lavaan's ``meanstructure = TRUE``; by default only where the model
        asks for them (``~ 1`` rows, growth models, several groups, FIML).
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
    sample_cov : pandas.DataFrame, or a list or dict of them, optional
        Fit from sample moments instead of data (lavaan's ``sample.cov``):
        the unbiased covariance matrix (divided by N - 1, as
        ``DataFrame.cov()``), its index and columns naming the variables (an
        array takes them from ``columns``); for several groups a list
        (groups "Group 1", "Group 2", ...) or a dict keyed by the group
        labels.  ML rescales it by (N - 1) / N, as lavaan.  Only
        ``estimator="ML"`` on complete data: what needs the rows (MLM, MLR,
        ``missing="ml"``, the bootstrap, ``predict()`` without data, mini-batches)
        is refused.
    sample_mean : pandas.Series or array, or a list or dict of them, optional
        The means that go with ``sample_cov`` (named as its variables or in
        its order); they give the model a mean structure.  Without them a
        mean structure fits zero means, as lavaan.
    sample_nobs : int, or a list or dict of them
        The number of observations of each ``sample_cov`` (required with it).
    std_ov : bool
        Standardize the observed variables before the fit (lavaan's
        ``std.ov``): each group's variables, except fixed covariates, get
        mean 0 and variance 1 (the N - 1 variance, as R's ``scale()``) over
        the rows the fit uses.
    distributed : bool, optional
        Data-parallel fit on torch.distributed (launched by ``torchrun``; by
        default on when its environment is there): every rank runs the same
        call and reads its own shard of the rows; the moments (and Gamma) are
        reduced over the ranks (per group with ``group=``), so are the weighted
        moments and casewise scores of ``sampling_weights=`` and ``cluster=`` and
        the bootstrap's replicates (every rank draws one process's); MML
        all-reduces its log-likelihood, gradient and Hessian, the stochastic
        estimators their gradients every step.  Rank 0 returns the Fit, the
        other ranks None
        (see :mod:`torchfit.distributed.comm` and README.md, "More than one machine").
    cluster : str, optional
        Column of ``data`` naming each row's cluster (lavaan's single-level
        ``cluster=``): the model is fitted as usual and the standard errors and
        the Yuan-Bentler scaled test are cluster-robust (the rows' scores summed
        within clusters), lavaan's ``se = "robust.cluster"``; with a mean
        structure. Estimators ML and MLR (which differ, as in lavaan, only in the
        information of the scaled test).
    sampling_weights : str, optional
        Column of ``data`` with each row's sampling weight (lavaan's
        ``sampling.weights=``, normalised to sum to the number of rows): weighted
        sample moments, Huber-White standard errors and the Yuan-Bentler scaled
        test, as lavaan computes them for weighted data. Estimators ML and MLR.
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
        if sample_cov is not None:
            raise DataError("distributed=True shards rows of data; a fit from sample_cov= has "
                            "none: leave out distributed=")
        return _on_ranks(comm, partial(
            fit, model, estimator=estimator, model_type=model_type, std_lv=std_lv,
            orthogonal=orthogonal, fixed_x=fixed_x, missing=missing, iter_max=iter_max,
            columns=columns, meanstructure=meanstructure, information=information,
            group=group, group_equal=group_equal, group_partial=group_partial,
            std_ov=std_ov, distributed=False, cluster=cluster,
            sampling_weights=sampling_weights, **options), data, columns)
    data = _data_or_moments(data, sample_cov, sample_mean, sample_nobs, columns)
    options = resolve_options(
        estimator, data, model_type=model_type, std_lv=std_lv, orthogonal=orthogonal,
        fixed_x=fixed_x, missing=missing, iter_max=iter_max, columns=columns,
        meanstructure=meanstructure, information=information, group=group,
        group_equal=group_equal, group_partial=group_partial, std_ov=std_ov, cluster=cluster,
        sampling_weights=sampling_weights, **options)
    if data is None:  # (MLM and MLR have said that they need the rows)
        raise DataError("no data: give the data, or sample_cov= and sample_nobs= for a fit "
                        "from sample moments")
    method = select(options)
    _check_data_parallel(method, options, data)
    spec = method.spec(model, data, options)
    if options.std_ov:
        data = standardized_data(spec, data, options)
    stats = method.sample_stats(spec, data, options)
    estimate = method.estimate(spec, stats, options)
    with one_thread():
        return assemble(spec, stats, estimate, options)


def _data_or_moments(data, sample_cov, sample_mean, sample_nobs, columns):
    """The data as the estimators read them: Parquet/Arrow streamed, polars/... frames
    as pandas, or the checked moments of ``sample_cov=``."""
    if sample_cov is None:
        given = [n for n, v in (("sample_mean", sample_mean), ("sample_nobs", sample_nobs))
                 if v is not None]
        if given:
            raise DataError(f"{' and '.join(given)} go{'es' if len(given) == 1 else ''} with "
                            "sample_cov= (a fit from sample moments); give sample_cov= "
                            f"too, or leave {'it' if len(given) == 1 else 'them'} out")
        return native(open_source(data))
    if data is not None:
        raise DataError("give the data or sample_cov=, not both: a fit is made from one of them")
    return given_moments(sample_cov, sample_mean, sample_nobs, columns)


def _check_data_parallel(method, options: FitOptions, data) -> None:
    """A rank's shard is fitted only by an estimator that reduces its statistics
    over the ranks; any other would fit this rank's rows alone."""
    if getattr(data, "comm", None) is None:
        return
    if not method.data_parallel:
        raise ModelError(f"distributed=True is not supported by the {method.name} estimator "
                         "(its statistics are not reduced over the ranks yet); fit on one "
                         "machine")


def _on_ranks(comm, run, data, columns) -> Optional[Fit]:
    """``run`` on this rank's shard of the data; the Fit on rank 0 (holding the
    caller's data for predict()), None elsewhere."""
    out = run(shard(data, comm, columns))
    if comm.rank != 0:
        return None
    out.data = data
    out.info.update(world_size=comm.size)
    return out


def resolve_options(estimator: str, data, *, model_type: str = "sem", std_lv: bool = False,
                    orthogonal: bool = False, fixed_x: bool = True, missing: str = "default",
                    iter_max: int = ITER_MAX, columns=None, meanstructure: Optional[bool] = None,
                    information: Optional[str] = None, group: Optional[str] = None,
                    group_equal=(), group_partial=(), std_ov: bool = False,
                    cluster: Optional[str] = None, sampling_weights: Optional[str] = None,
                    **own) -> FitOptions:
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
    estimator = _default_estimator(estimator, own)
    boot = bootstrap_options(estimator, own) if estimator in ML_FAMILY else None
    check_extra(estimator, own)
    check_named(estimator, dict(iter_max=iter_max, meanstructure=meanstructure,
                                information=information, group=group, group_equal=group_equal,
                                group_partial=group_partial, cluster=cluster,
                                sampling_weights=sampling_weights, std_ov=std_ov))
    by_row = _check_rows_options(estimator, cluster, sampling_weights, missing, information,
                                 bool(own or boot))
    model = dict(model_type=model_type, std_lv=std_lv, orthogonal=orthogonal, fixed_x=fixed_x)
    if estimator not in ML_FAMILY:
        _refuse_ml_options(estimator, data)
    if estimator in CONTINUOUS_LS and not _has_ordered(own):
        _check_least_squares(estimator, information, missing)
        model.update(group_equal=group_equal, group_partial=group_partial)
        return FitOptions(estimator, missing, False, meanstructure, "expected", iter_max, group,
                          columns, model, own, robust_options("ML"))
    if estimator in ORDINAL:
        _check_ordinal(estimator, own, information, meanstructure)
        model.update(group_equal=group_equal, group_partial=group_partial)
        return FitOptions(estimator, missing, False, True, "expected", iter_max, group,
                          columns, model, own)
    if estimator in IRT:
        return FitOptions(estimator, missing, False, None, None, iter_max, None, columns, model,
                          own)
    fiml = is_fiml(missing)
    if fiml:
        missing = fiml_name(missing)
        if estimator == "MLM":
            # lavaan refuses MLM with missing = "ml": the Satorra-Bentler
            # correction is defined for complete data only.
            raise ModelError(f"estimator 'MLM' with missing = {missing!r} is not available: MLM "
                             "needs complete data (use missing = 'listwise'); for robust "
                             "standard errors and test with missing data use estimator = 'MLR'")
        if own:  # FIML is chosen before mini-batch ML: their options would be ignored
            raise ModelError(f"missing = {missing!r} fits every row by full-information ML; "
                             f"{', '.join(own)} (mini-batch ML) take complete rows: use "
                             "missing = 'listwise' with them, or leave them out")
        meanstructure = True  # as lavaan: FIML always fits the means
        information = "observed" if information is None else information
    robust = robust_options(estimator, information)
    if by_row:
        robust = by_row
        meanstructure = True if cluster is not None else meanstructure
    given = isinstance(data, GivenMoments)
    if given:  # before the raw-data check: it names what the user asked for (cluster=)
        _check_from_moments(fiml, own, boot, group, std_ov, by_row)
        if meanstructure is None and any(g.mean is not None for g in data.groups):
            meanstructure = True  # as lavaan: sample means give a mean structure
    if robust.needs_raw_data:
        require_raw_data(None if given else data, robust.estimator)
    if boot and (fiml or own or not robust.default):
        raise ModelError("the bootstrap works with estimator='ML' on complete (or listwise) "
                         "data and the default information yet; leave out missing='ml', "
                         "batch_size= and information=")
    model.update(group_equal=group_equal, group_partial=group_partial)
    return FitOptions(estimator, missing, fiml, meanstructure, information, iter_max, group,
                      columns, model, own, robust, boot, cluster, sampling_weights,
                      std_ov=bool(std_ov))


def _refuse_ml_options(estimator: str, data) -> None:
    """A fit from sample moments, refused by name for the other estimators."""
    if isinstance(data, GivenMoments):
        raise DataError(f"estimator {estimator!r} needs the raw data, not sample_cov=: "
                        f"{RAW_DATA} (a fit from sample moments is estimator='ML')")


def _check_from_moments(fiml: bool, own, boot, group, std_ov: bool, by_row) -> None:
    """What a fit from ``sample_cov=`` cannot do: each needs the rows."""
    needs_rows = [name for name, given in (
        ("missing='ml'", fiml), ("the bootstrap (se/test='bootstrap')", boot),
        ("mini-batches (batch_size=...)", own), ("std_ov=True", std_ov),
        ("cluster= or sampling_weights=", by_row)) if given]
    if needs_rows:
        raise DataError(f"{' and '.join(needs_rows)} need{'s' if len(needs_rows) == 1 else ''} "
                        f"the raw data, not sample_cov=: {RAW_DATA}")
    if group is not None:
        raise DataError("group= names a column of the data; with sample_cov= the groups are "
                        "its entries: pass a list or a dict of covariance matrices, one per "
                        "group")


def _check_rows_options(estimator: str, cluster, weights, missing: str, information,
                        other: bool):
    """lavaan's single-level ``cluster`` and ``sampling.weights``, checked: their robust
    options (lavaan's: MLR's sandwich and Yuan-Bentler test, ``se = "robust.cluster"``
    with clusters, and for ML with clusters the test's "h1" information); None
    without them."""
    given = [n for n, v in (("cluster", cluster), ("sampling_weights", weights))
             if v is not None]
    if not given:
        return None
    what = " and ".join(f"{n}=" for n in given)
    for name in given:
        value = cluster if name == "cluster" else weights
        if not isinstance(value, str):
            raise TorchfitError(f"{name}= takes the name of one column of the data, not "
                                f"{value!r}")
    if is_fiml(missing) and weights is not None:
        raise ModelError("sampling_weights= with missing = 'ml' is not supported yet; use "
                         "missing = 'listwise' or leave the option out")
    if other:
        raise ModelError(f"{what} cannot be combined with batch_size= or the bootstrap yet; "
                         "leave those out")
    if information not in (None, "observed"):
        raise ModelError(f"information={information!r}: with {what} the standard errors use "
                         "the observed information (lavaan's default); leave information= out")
    robust = robust_options("MLR", "observed")
    if cluster is not None:
        robust.se = "robust.cluster"
        # lavaan's ML with clusters (unweighted: weights make it MLR) also reports
        # the standard test, and then takes the h1 information for every scaled test
        robust.test_information = "h1" if estimator == "ML" and weights is None else "hessian"
    return robust


def _has_ordered(own) -> bool:
    """Whether ``ordered=`` names any item (True, or a non-empty list)."""
    ordered = own.get("ordered")
    return ordered is not None and ordered is not False and \
        not (isinstance(ordered, (list, tuple)) and not ordered)


def _default_estimator(estimator: str, own) -> str:
    """lavaan's "default": WLSMV with ordered items, else ML; a named estimator
    checked (the WLS family's robust variants need ordered items)."""
    has_ordered = _has_ordered(own)
    if str(estimator).upper() == "DEFAULT":
        return "WLSMV" if has_ordered else "ML"
    estimator = check_estimator(estimator)
    if has_ordered and estimator in ML_FAMILY:
        raise ModelError(f"estimator {estimator!r} treats the items as continuous; ordered "
                         "items are fitted by estimator='WLSMV' (the default with ordered=), "
                         "'WLSM', 'ULSMV', 'ULSM', 'WLS', 'DWLS', 'ULS', 'IWAVE' or 'MML'")
    if estimator in ORDINAL and estimator not in CONTINUOUS_LS and not has_ordered:
        raise ModelError(f"estimator {estimator!r} is for ordered items here: name them with "
                         "ordered=[...] (or ordered=True); continuous data are fitted by 'ML', "
                         "'MLM', 'MLR', 'ULS', 'GLS', 'WLS' or 'DWLS'")
    return estimator


def _check_least_squares(estimator: str, information, missing) -> None:
    """What least squares on continuous data refuse of fit()'s options."""
    if information not in (None, "expected"):
        raise ModelError(f"information={information!r}: estimator {estimator!r} uses the "
                         "expected information (lavaan's only choice for least squares)")
    if is_fiml(missing):
        raise ModelError(f"missing={missing!r} is full-information ML; estimator "
                         f"{estimator!r} fits complete rows: use missing='listwise' (or "
                         "estimator='ML' for FIML)")


def _check_ordinal(estimator: str, own, information, meanstructure) -> None:
    """What the WLS family refuses of fit()'s options."""
    if information not in (None, "expected"):
        raise ModelError(f"information={information!r}: estimator {estimator!r} uses the "
                         "expected information (lavaan's only choice for the WLS family)")
    if meanstructure is False:
        raise ModelError("meanstructure=False: ordered items always have a mean structure "
                         "(their thresholds)")


def _options_doc() -> str:
    """The documentation of fit()'s options: its parameters after ``model_type``."""
    text = fit.__doc__
    options = text[text.index("    estimator :"):text.index("\n    Returns")]
    return options[:options.index("    model_type :")] + options[options.index("    std_lv :"):]


def _front_end(model_type: str, summary: str, examples: str):
    """lavaan's sem(), cfa() or growth(): :func:`fit` with the defaults of
    ``model_type``, its options written out for help() and editors."""
    def front(model: Union[str, pd.DataFrame], data=None, *, estimator: str = "default",
              std_lv: bool = False, orthogonal: bool = False, fixed_x: bool = True,
              missing: str = "default", iter_max: int = ITER_MAX, columns=None,
              meanstructure: Optional[bool] = None, information: Optional[str] = None,
              group: Optional[str] = None, group_equal: Union[str, Sequence[str]] = (),
              group_partial: Union[str, Sequence[str]] = (), sample_cov=None,
              sample_mean=None, sample_nobs=None, std_ov: bool = False,
              distributed: Optional[bool] = None, cluster: Optional[str] = None,
              sampling_weights: Optional[str] = None, **options) -> Optional[Fit]:
        return fit(model, data, model_type=model_type, estimator=estimator, std_lv=std_lv,
                   orthogonal=orthogonal, fixed_x=fixed_x, missing=missing, iter_max=iter_max,
                   columns=columns, meanstructure=meanstructure, information=information,
                   group=group, group_equal=group_equal, group_partial=group_partial,
                   sample_cov=sample_cov, sample_mean=sample_mean, sample_nobs=sample_nobs,
                   std_ov=std_ov, distributed=distributed, cluster=cluster,
                   sampling_weights=sampling_weights, **options)

    front.__name__ = front.__qualname__ = model_type
    front.__doc__ = f"""{summary}

    Parameters
    ----------
    model : str or pandas.DataFrame
        lavaan model syntax, or a lavaan parameter table.
    data : pandas.DataFrame, 2-D array or path, optional
        The observed variables (see :func:`fit`); leave out with ``sample_cov``.
{_options_doc().rstrip()}

    Returns
    -------
    Fit

    Examples
    --------
{examples}"""
    return front


sem = _front_end("sem", "Fit a structural equation model with lavaan's sem() defaults.", """\
    >>> import torchfit
    >>> pd_data = torchfit.datasets.political_democracy()
    >>> fit = torchfit.sem("ind60 =~ x1 + x2 + x3; dem60 =~ y1 + y2 + y3 + y4; "
    ...                    "dem60 ~ ind60", pd_data)
    >>> fit.converged
    True
""")

growth = _front_end("growth", """Fit a latent growth curve model with lavaan's growth()
    defaults: a mean structure with observed intercepts fixed at 0 and latent means
    free.""", """\
    >>> import torchfit
    >>> g = torchfit.datasets.demo_growth()
    >>> fit = torchfit.growth("i =~ 1*t1 + 1*t2 + 1*t3 + 1*t4; "
    ...                       "s =~ 0*t1 + 1*t2 + 2*t3 + 3*t4", g)
    >>> round(fit.fit_measures()["chisq"], 3)
    8.069
""")

cfa = _front_end("cfa", "Fit a confirmatory factor model with lavaan's cfa() defaults.", """\
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; "
    ...                    "speed =~ x7 + x8 + x9", hs)
    >>> round(fit.fit_measures()["chisq"], 3)
    85.306
""")
