"""The R side's one call into the engine.

R builds the parameter table with lavaan and sends plain data: the table as a
dict of columns and the observed variables as a numeric matrix.  What comes
back is plain data too (dicts, lists, numpy arrays), which R stores as
ordinary values, plus the Fit object itself for methods that need the engine
again (predict()).
"""
from __future__ import annotations

import platform
import warnings
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from . import datasets
from .api import fit
from .data.frames import (
    check_columns,
    check_group_column,
    check_latent_names,
    check_option_column,
    sample_moments,
)
from .data.patterns import is_fiml
from .data.sources import open_source
from .errors import ConvergenceWarning
from .iwave.items import CATEGORICAL
from .model.partable import variable_names
from .options import (
    BY_NAME,
    IRT,
    OPTIONS,
    check_estimator,
    extra_message,
    integer_names,
    names,
    option_table,
    r_name,
)
from .version import __version__

# What R settles itself with lavaan (the table's mean structure and group.equal/
# group.partial rows), never sends (the data's column names) or sends apart
# (sample.cov, sample.mean and sample.nobs: fit_from_r's ``moments``).
R_OWNS = ("columns", "meanstructure", "group_equal", "group_partial", "sample_cov",
          "sample_mean", "sample_nobs")
#: the engine's options that R's torchfit() does not take (it sends the data's columns)
PYTHON_ONLY = ("columns",)
#: the engine's options R may send, from the option table (torchfit.options)
ENGINE_OPTIONS = tuple(n for n in names() if n not in R_OWNS)
# The IWAVE item types that R codes as categories (thresholds, integer codes).
CATEGORICAL_ITEM_TYPES = CATEGORICAL
# R sends numbers as doubles; these options are counts.
INTEGER_OPTIONS = integer_names()
#: R's lavaan object holds every fit measure from the start; an IWAVE fit's
#: log-likelihood (importance sampling, ``logl_samples`` draws per row) is left to
#: ``log_likelihood()`` when its draws outnumber the training's this many times
#: (at 621K Big-Five rows it cost 35 trainings) and exceed LOGL_SMALL_DRAWS
LOGL_EAGER_RATIO = 2.0
LOGL_SMALL_DRAWS = 2_000_000


def options() -> Dict[str, list]:
    """The option table (:func:`torchfit.options.option_table`) for R: each option's
    engine name, lavaan name, type, default, estimators and role.

    Examples
    --------
    >>> table = options()
    >>> table["estimators"][table["name"].index("iw_samples")]
    ['IWAVE']
    """
    return option_table()


#: what the message for an unknown option adds for R, whose torchfit() takes lavaan's
#: options beside the engine's
LAVAAN_NOTE = " and lavaan's options (names(lavaan::lavOptions()), lavaanify()'s arguments)"


def check_r_options(estimator: str, ordered: bool, given: Sequence[str],
                    lavaan_names: Sequence[str] = ()) -> Optional[str]:
    """Why R's ``torchfit(...)`` cannot take the options ``given`` (as R spells them,
    lavaan's taken out), or None: those that are not ``estimator``'s own, with the
    option table's message in R's spelling (:func:`torchfit.options.extra_message`):
    another estimator's option is named as misplaced, an unknown one listed with the
    estimator's options and the close names among them and ``lavaan_names``.
    ``fit()``'s named arguments are left to ``fit()``. The estimator "DEFAULT" is
    lavaan's: WLSMV with ``ordered`` items, else ML.

    Examples
    --------
    >>> check_r_options("IWAVE", True, ["iw.samples", "item_types", "iter.max"])
    >>> print(check_r_options("ML", False, ["std.lvv"], ["std.lv", "orthogonal"]))
    unknown option(s) std.lvv for estimator 'ML'; known: ... did you mean std.lv?
    """
    if str(estimator).upper() == "DEFAULT":
        estimator = "WLSMV" if ordered else "ML"
    estimator = check_estimator(estimator)
    by_r = {**{o.name: o.name for o in OPTIONS}, **{r_name(o.name): o.name for o in OPTIONS}}
    engine = [by_r.get(g, g) for g in (str(g) for g in given)]
    own = [g for g in engine if g not in BY_NAME or BY_NAME[g].role != "fit"]
    known = [n for n in names(estimator) if n not in PYTHON_ONLY]
    return extra_message(estimator, own, spell=_r_spelling, known=known,
                         also=[str(n) for n in lavaan_names], note=LAVAAN_NOTE)


def _r_spelling(name: str) -> str:
    return r_name(name) if name in BY_NAME else name


def _column(values) -> list:
    return values.tolist() if isinstance(values, (np.ndarray, pd.Series)) else list(values)


#: how R's engine_matrix() sends a matrix: its values and its row and column names
R_MATRIX = ("values", "rows", "cols")


def _r_matrix(matrix: Mapping):
    """An R matrix (R's ``engine_matrix()``) as ``fit()`` takes it: a frame named by its
    rows and columns, or, when R had no names, the bare array (which the engine
    refuses by name)."""
    values = np.asarray(matrix["values"], dtype=float)
    rows, cols = ([str(v) for v in np.atleast_1d(matrix.get(k) or [])] for k in ("rows", "cols"))
    if not rows or not cols:
        return values
    return pd.DataFrame(values.reshape(len(rows), len(cols)), index=rows, columns=cols)


def _given_moments(moments: Mapping) -> Dict:
    """R's sample.cov, sample.mean and sample.nobs as ``fit()``'s arguments, unchecked
    (``fit()`` checks them): one matrix, or a list (a dict by group label, from a named
    list) of them."""
    cov = moments.get("sample_cov")
    if isinstance(cov, Mapping) and set(cov) == set(R_MATRIX) \
            and not isinstance(cov["values"], Mapping):
        cov = _r_matrix(cov)
    elif isinstance(cov, Mapping):
        cov = {str(k): _r_matrix(v) for k, v in cov.items()}
    elif cov is not None:
        cov = [_r_matrix(m) for m in (cov if isinstance(cov, (list, tuple)) else [cov])]
    return {"sample_cov": cov, "sample_mean": moments.get("sample_mean"),
            "sample_nobs": moments.get("sample_nobs")}


def fit_from_r(partable: Mapping[str, Sequence], data, columns: Sequence[str],
               options: Mapping, group_values: Optional[Sequence[str]] = None,
               data_names: Optional[Sequence[str]] = None,
               moments: Optional[Mapping] = None,
               extra_columns: Optional[Mapping[str, Sequence]] = None) -> Dict:
    """Fit the model given by a lavaan parameter table to a numeric matrix.

    Parameters
    ----------
    partable : mapping of column name -> sequence
        The table lavaan::lavaanify() returned.
    data : 2-D array, str or None
        The observed variables (NaN for missing values); a path, or None, is
        ``fit()``'s to read or refuse.
    columns : sequence of str
        Column names of ``data``.
    options : mapping
        Engine options (see ``ENGINE_OPTIONS``); unknown names are an error.
    group_values : sequence of str, optional
        The grouping column (one value per row) of a multiple-group model,
        named by ``options["group"]``.
    data_names : sequence of str, optional
        Every column name of the user's data frame (R sends only the model's
        variables it has): a model variable not among them is an error (naming
        close names), as are a latent variable named like any of them and a model
        variable in two columns, as in lavaan.
    moments : mapping, optional
        lavaan's sample.cov, sample.mean and sample.nobs, for a fit from sample
        moments, as ``sample_cov`` (R's matrix, see ``R_MATRIX``, or a list, named by
        group or not, of them), ``sample_mean`` and ``sample_nobs``; ``fit()`` checks
        them (with ``data`` too, it refuses the two).
    extra_columns : mapping of column name -> sequence, optional
        Columns beside the model's variables that options name (``cluster``,
        ``sampling_weights``), one value per row.

    Returns
    -------
    dict
        partable (IWAVE and MML fits; empty for the others, whose table R takes
        from lavaan), start (every row's start value where it is lavaan's, see
        ``_lavaans_start``; else empty), fit_measures, coef and vcov (lavaan's order of the free
        parameters), info, warnings, summary (IWAVE and MML fits: the pieces of
        the summary text, see ``Fit.summary_parts``) and fit (the Fit object).

    Examples
    --------
    >>> import torchfit
    >>> from torchfit.model.partable import parse
    >>> pt = parse("f =~ x1 + x2 + x3")
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> out = fit_from_r({c: pt[c].tolist() for c in pt.columns},
    ...                  hs[["x1", "x2", "x3"]].to_numpy(), ["x1", "x2", "x3"], {})
    >>> out["info"]["converged"]
    True
    """
    unknown = [k for k in options if k not in ENGINE_OPTIONS]
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)} for the engine; "
                        f"known: {', '.join(ENGINE_OPTIONS)}")
    opts = dict(options)
    for name in INTEGER_OPTIONS:
        if opts.get(name) is not None:
            opts[name] = int(opts[name])
    if opts.get("hidden") is not None:
        hidden = opts["hidden"]
        opts["hidden"] = tuple(int(h) for h in (hidden if np.ndim(hidden) else [hidden]))
    if isinstance(opts.get("ordered"), str):  # one ordinal column arrives as a string
        opts["ordered"] = [opts["ordered"]]
    if data_names is not None:
        _check_data_names([str(n) for n in data_names], partable, opts)
    if moments is not None:
        opts.update(_given_moments(moments))
    if data is None or isinstance(data, str):
        frame = data
    else:
        values = np.array(data, dtype=float).reshape(-1, len(columns))
        # R's NA is a NaN with a payload that sets NumPy's "invalid" flag in
        # arithmetic; plain NaN is what the engine expects for missing values.
        values[np.isnan(values)] = np.nan
        frame = pd.DataFrame(values, columns=list(columns))
        if group_values is not None:
            frame[opts["group"]] = list(group_values)
        for name, values in (extra_columns or {}).items():
            frame[name] = list(values) if np.ndim(values) else [values]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # sent to R as messages
        result = fit({k: _column(v) for k, v in partable.items()}, frame, **opts)
    notes = _defer_log_likelihood(result, opts)
    # R builds an ML-family fit's table from lavaan's own: only the table of a
    # model lavaan does not have (IWAVE, MML) crosses over
    irt = result.info.estimator in IRT
    table = result.partable if irt else None
    return {
        "notes": notes,
        "partable": {} if table is None else {c: table[c].to_numpy() for c in table.columns},
        "start": result.start_values() if _lavaans_start(result) else np.array([]),
        "fit_measures": result.fit_measures(),
        "coef": result.coef().to_numpy(),
        "vcov": result.vcov().to_numpy(),
        "info": {k: v for k, v in result.info.as_dict().items() if k != "warnings"},
        # stochastic fits: the loss per window, for R's plot_loss()
        "loss_history": np.asarray(result.info.loss_history or []
                                   if getattr(result, "loss_history", None) is None
                                   else result.loss_history, dtype=float),
        "warnings": list(result.info.warnings),
        # R prints lavaan's own summary of ML-family fits; the engine's text
        # is for IWAVE fits, a model lavaan does not have
        "summary": result.summary_parts() if irt else {},
        # se/test = "bootstrap": the draws, for lavaan's @boot slot
        "boot": {} if result.boot is None else {
            "coef": result.boot.coef,
            "chisq": np.array([]) if result.boot.chisq is None else result.boot.chisq,
            "failed": result.boot.failed + 1},
        "fit": result,
    }


def _lavaans_start(result) -> bool:
    """Whether the fit's start values are lavaan's, which R's dry run then takes
    instead of computing them again: ML's from complete data (the engine's
    fabin3 path equals lavaan's; tests/testthat/test-lavaan-object.R). FIML
    starts from other moments than lavaan's, the IRT and WLS estimators from
    their own."""
    return result.info.estimator == "ML" and not is_fiml(str(result.info.missing))


#: the options that name a column of the data, and the column's role
COLUMN_OPTIONS = {"group": "grouping", "cluster": "cluster", "sampling_weights": "sampling weight"}


def _check_data_names(names: Sequence[str], partable: Mapping[str, Sequence],
                      opts: Mapping) -> None:
    """The checks that need every column name of R's data frame (R sends the
    model's variables and the options' columns that are there): a model variable
    or an option's column absent from the data (with the close names), or in two
    columns, and a latent variable named like a column; and, before R's grouping
    column replaces a model variable of the same name in the frame, a grouping column
    that is a model variable. The messages are a Python caller's for the same data."""
    variables = variable_names(list(partable["lhs"]), list(partable["op"]), list(partable["rhs"]))
    check_columns(names, variables.ov)
    for option, role in COLUMN_OPTIONS.items():
        if isinstance(opts.get(option), str):
            check_option_column(names, opts[option], role)
    check_group_column(opts.get("group"), variables.ov)
    check_latent_names(None, variables.lv, names)


def _defer_log_likelihood(result, opts: Mapping) -> list:
    """Defer an IWAVE fit's log-likelihood that costs more than LOGL_EAGER_RATIO
    trainings (unless ``logl_samples`` was asked for); the note says so."""
    cost = getattr(result, "log_likelihood_cost", None)
    if cost is None or opts.get("logl_samples") is not None or cost() <= LOGL_EAGER_RATIO \
            or result.tests.n * result.tests.logl_samples <= LOGL_SMALL_DRAWS:
        return []
    result.defer_log_likelihood()
    return [f"the log-likelihood (logl, AIC, BIC) is not computed yet: its "
            f"{result.tests.logl_samples} importance draws per row cost about "
            f"{cost():.0f} times the training's draws. Compute it with "
            "fit <- torchfit_loglik(fit), or fit with logl.samples = ... to compute it now "
            "(fewer draws: faster, less precise)."]


def log_likelihood(fit) -> Dict:
    """The fit measures and the summary's fit block of ``fit`` with its
    log-likelihood computed (R's ``torchfit_loglik()``)."""
    fit.defer_log_likelihood(False)
    return {"fit_measures": fit.fit_measures(), "fit": fit.summary_parts()["fit"]}


def moments_from_path(path: str, names: Sequence[str], missing: str = "default") -> Dict:
    """The moments of the columns ``names`` of the data at ``path`` (Parquet file
    or directory, CSV, .npy), read in one pass of blocks, as lavaan takes them for
    a fit without data: ``cov`` (the unbiased covariance, lavaan's sample.cov),
    ``mean`` and ``nobs`` (the rows used: complete, or with ``missing =
    "listwise"`` the complete ones of all).

    Examples
    --------
    >>> import os, tempfile
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> path = os.path.join(tempfile.mkdtemp(), "hs.csv")
    >>> hs.to_csv(path, index=False)
    >>> m = moments_from_path(path, ["x1", "x2"])
    >>> m["nobs"], round(float(m["cov"][0, 1]), 6) == round(hs["x1"].cov(hs["x2"]), 6)
    (301, True)
    """
    names = [str(v) for v in names]
    m = sample_moments(open_source(str(path)), names, missing=missing)
    return {"cov": m.cov * m.n / (m.n - 1), "mean": m.mean, "nobs": int(m.n)}


DATASETS = ("simulate_big5", "load_ipip_ffm")


def dataset(name: str, *args, **kwargs) -> Dict:
    """One of the data sets of :mod:`torchfit.datasets`, as plain columns for R.

    Returns ``{"columns": {name: numbers or strings}, "truth": dict or None}``
    (simulators return a truth beside the data).

    Examples
    --------
    >>> out = dataset("simulate_big5", 10, seed=1)
    >>> len(out["columns"]), len(out["columns"]["EXT1"]), out["truth"]["loadings"].shape
    (50, 10, (50, 5))
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    out = getattr(datasets, name)(*args, **kwargs)
    frame, truth = out if isinstance(out, tuple) else (out, None)
    columns = {c: (frame[c].to_numpy(dtype=float) if pd.api.types.is_numeric_dtype(frame[c])
                   else frame[c].astype(str).tolist()) for c in frame.columns}
    return {"columns": columns, "truth": truth}


def _plain(out):
    """A DataFrame (or a dict of them) as columns and a float matrix, which
    reticulate hands to R as a list and a matrix."""
    if isinstance(out, pd.DataFrame):
        return {"columns": [str(c) for c in out.columns], "values": out.to_numpy(dtype=float)}
    if isinstance(out, dict) and any(isinstance(v, pd.DataFrame) for v in out.values()):
        return {k: _plain(v) for k, v in out.items()}
    return out


def call_capturing(fn, *args, **kwargs) -> list:
    """``[fn(*args, **kwargs), warnings]``: R's way into every engine call. The
    result is plain (see ``_plain``) and the Python warnings raised are returned
    as messages, for R to raise as R warnings.

    Examples
    --------
    >>> import warnings
    >>> call_capturing(lambda: warnings.warn("careful") or 1)
    [1, ['careful']]
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = _plain(fn(*args, **kwargs))
    return [out, [str(w.message) for w in caught]]


def predict(fit, data=None):
    """Factor scores of an engine fit (IWAVE: importance-weighted posterior
    means), on ``data`` or, without it, on the data the model was fitted on.

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> f = torchfit.cfa("visual =~ x1 + x2 + x3", hs)
    >>> predict(f).shape
    (301, 1)
    """
    return fit.predict() if data is None else fit.predict(data)


def versions() -> Dict[str, str]:
    """The versions of Python, torch, numpy and the engine, for R's sitrep.

    Examples
    --------
    >>> sorted(versions())
    ['numpy', 'python', 'torch', 'torchfit']
    """
    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "torchfit": __version__}
