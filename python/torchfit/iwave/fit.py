"""The IWAVE pipeline: syntax -> parameter table (with thresholds and
intercepts) -> coded responses per item type -> start values -> IW-ELBO
training -> importance-sampled standard errors, log-likelihood and scores ->
:class:`IWAVEFit`.

It shares the syntax parser, the parameter table, the model matrices, the
start values, the estimate columns and the report with the ML estimator.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Union

import numpy as np
import pandas as pd
import torch

from ..data.frames import as_frame, check_columns, check_finite, check_latent_names, check_numeric
from ..data.reader import Reader, comm_of
from ..data.sources import ParquetSource, Shard
from ..data.stats import SampleStats
from ..errors import ConvergenceWarning, DataError, ModelError, TorchfitError
from ..estimate.ml import one_thread
from ..estimate.record import Estimate
from ..estimate.start import reduced_start, start_values
from ..estimate.training import batch_bounds
from ..inference.vcov import latent_response_std, standardized, vcov_free
from ..model.matrices import Model
from ..model.partable import COLUMNS, add_category_scores, build, from_columns, variable_names
from ..model.spec import Spec
from ..model.syntax import parse_formulas
from ..options import BY_NAME, FitOptions, check_extra, own_names
from ..results import report
from ..results.assemble import assemble
from . import stream
from .itemfit import SHARD_SCORES, ItemFit
from .items import CATEGORICAL, FIXED_VARIANCE, LOGISTIC_VARIANCE, item_class
from .networks import (
    FINAL_SMALL_ELEMENTS,
    FINAL_WORK_RATIO,
    Encoder,
    Structure,
    final_pass,
    importance,
    make_data,
    train,
)
from .opg import information

#: IWAVE's own options (rows of :data:`torchfit.options.OPTIONS`) with their defaults;
#: the mini-batch options it shares with ML have IWAVE's defaults here.
IWAVE_OPTIONS = own_names("IWAVE")
DEFAULTS = {**{name: BY_NAME[name].default for name in IWAVE_OPTIONS},
            "batch_size": 256, "max_epochs": 100000, "n_intervals": 5, "quiet": False,
            "se": "opg"}


def fit_iwave(model: Union[str, pd.DataFrame], data, *, model_type: str = "sem",
              std_lv: bool = False, orthogonal: bool = False, fixed_x: bool = True,
              missing: str = "default", **options) -> "IWAVEFit":
    """Fit a latent variable model by importance-weighted amortized variational
    estimation; called by ``torchfit.fit(..., estimator="IWAVE")``.

    The options and their defaults: ``ordered=None``, ``item_types=None``,
    ``iw_samples=10``, ``batch_size=None`` (256), ``lr=0.01``, ``lr_model=None``,
    ``hidden=(100,)``, ``cov="full"``, ``max_epochs=100000``, ``max_iterations=None``,
    ``n_intervals=5``, ``seed=0``, ``device="cpu"``, ``quiet=False``, ``se="opg"``,
    ``se_samples=40``, ``se_rows=50000``, ``logl_samples=1000``, ``refine=True``, ``dreg=True``,
    ``final_samples=50``, ``stream=False``, ``stream_buffer=4`` (``DEFAULTS``).

    Parameters
    ----------
    model : str or pandas.DataFrame
        lavaan syntax or a lavaan parameter table (with thresholds and
        intercepts, as ``lavaanify(..., meanstructure = TRUE)`` and
        ``ordered=`` give it).
    data : pandas.DataFrame
        One column per observed variable; NaN marks a missing response
        (masked out of the likelihood).
    ordered : list of str or True
        Ordinal columns (graded response model, or binary with two
        categories), as lavaan's ``ordered=``; True: all indicators.
    item_types : dict, optional
        Column -> "normal", "graded", "binary", "gpcm", "nominal",
        "lognormal", "poisson" or "negbinom" (see :mod:`torchfit.iwave.items`);
        overrides ``ordered``.  Default "normal".  A nominal item gets free
        category scores ``y | s1`` .. ``y | s{K-2}`` besides its thresholds.
    iw_samples : int
        Importance samples K per row.
    batch_size : int, optional
        Rows per mini-batch, 256 by default; an epoch is cut into
        round(n / batch_size) batches of equal size (one batch of all rows
        when n < 1.5 batch_size; ``info.batch_size`` says how many).  With
        the parameter averaging of the convergence rule small batches settle
        well and each step is cheap (621K x 50 GRM, bench/big5.py: loading
        RMSE 0.013 in 8 s of training with 256 on 2 CPU cores; on a GPU,
        bench/gpu.py, larger batches are nearly free and more accurate).
    lr : float
        Adam (AMSGrad) learning rate of the encoder; the default works on
        the HS data (301 rows, one batch) and on 621K rows in batches of
        256 (bench/hs_compare.py, bench/big5.py).
    lr_model : float, optional
        Learning rate of the model parameters; by default ``10 * lr``.
    hidden : sequence of int
        Hidden layer sizes of the encoder (ELU).
    cov : {"full", "diagonal"}
        Covariance of the encoder's Gaussian.  "full" can match the
        correlated posterior of correlated factors; with "diagonal" the
        IW-ELBO's bias shows in factor correlations (0.06 on HS).
    max_epochs, max_iterations : int
        Limits on passes over the data and on iterations.
    n_intervals : int
        Converged when the best 100-iteration mean loss has not improved, by
        more than the noise of such a mean, for this many windows
        (:class:`torchfit.estimate.training.ConvergenceChecker`).
    seed : int
        Seeds the encoder's weights, the batches and the draws.
    device : str
        "cpu" or "cuda".
    quiet : bool
        No progress bar (the bar, from tqdm when it is installed, shows the
        mean loss of the last 100 iterations).
    se : {"opg", "none"}
        Standard errors from the outer product of the per-row gradients of
        the importance-sampled log-likelihood (``se_samples`` draws per row,
        the product taken between two independent halves of them, which
        removes the draws' noise from the information;
        :mod:`torchfit.iwave.opg`).
    se_rows : int or None
        The information is a sum over rows: above this many rows (50,000) a
        random subset of them, scaled to all, estimates it (relative SE error
        near 0.3 %); None: every row.
    logl_samples : int
        Draws per row for the log-likelihood of ``fit_measures()``.
    refine : bool
        Once the loss has not improved (so) for ``n_intervals // 2`` windows, cut
        the step sizes tenfold and run until the convergence rule holds
        (HS: loadings within 0.003 of ML instead of 0.01-0.02, in fewer
        iterations than the rule alone takes at the large steps; see
        :func:`torchfit.estimate.training.train`).
    dreg : bool
        The encoder learns from the doubly-reparameterized gradient of the
        IW-ELBO (Tucker et al., 2019), as DeepIRTools does; False: the
        ordinary reparameterized gradient.
    final_samples : int
        After training, the model parameters are refitted with the encoder
        fixed at this many importance samples per row (more on small data, up
        to 1000 while rows x items x samples stays under 1e6; fixed antithetic
        draws, L-BFGS; :func:`~torchfit.iwave.networks.final_pass`), which
        shrinks the IW-ELBO's bias at ``iw_samples`` (1 factor x 10 graded
        items, N = 5000: mean slope bias against exact ML -0.31 % without it,
        +0.02 % with it).  Skipped (``info.final_samples`` 0) when rows x
        samples x free parameters x factors exceeds ``FINAL_WORK_RATIO`` (4)
        times the training's rows x samples, where its passes over all
        the data would cost more than the training; 0 turns it off.
    stream : bool
        ``data`` is a Parquet file or directory read ``stream_buffer`` row groups
        at a time, never whole (:mod:`torchfit.iwave.stream`): each epoch visits
        the row groups in a seeded random order and shuffles the rows of a
        buffer; the start values and the encoder input's standardization come
        from a seeded buffer; the OPG standard errors, the log-likelihood, the
        scores and each evaluation of the final pass read a buffer at a time;
        ``info["rows_in_memory"]`` is the most rows held at once; with
        ``distributed=True`` each rank streams its own row groups.  False: the
        model's columns are loaded (the in-memory path).
    stream_buffer : int
        Row groups read and shuffled together with ``stream=True``.

    Returns
    -------
    IWAVEFit

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs, estimator="IWAVE",
    ...                    std_lv=True, max_iterations=300, se="none")
    >>> fit.info.iterations
    300
    """
    check_extra("IWAVE", options)
    opts = FitOptions("IWAVE", missing, False, None, None, 0, None, None,
                      dict(model_type=model_type, std_lv=std_lv, orthogonal=orthogonal,
                           fixed_x=fixed_x), dict(options))
    method = IWAVE()
    spec = method.spec(model, data, opts)
    stats = method.sample_stats(spec, data, opts)
    return assemble(spec, stats, method.estimate(spec, stats, opts), opts)


class IWAVE:
    """The IWAVE estimator (:class:`torchfit.estimators.protocol.Estimator`): its
    ``Spec`` holds the table with thresholds, the items and the IWAVE structure; its
    ``SampleStats`` the coded responses as tensors; its ``Estimate`` the trained
    parameters, the OPG vcov and a :class:`Posterior` as the tests record.

    Examples
    --------
    >>> from torchfit.options import FitOptions
    >>> IWAVE().applies(FitOptions("IWAVE", "default", False, None, None, 0, None, None,
    ...                            {}, {}))
    True
    """

    name = "IWAVE"
    data_parallel = True

    def applies(self, options: FitOptions) -> bool:
        return options.estimator == "IWAVE"

    def spec(self, model, data, options: FitOptions) -> Spec:
        settings = {**DEFAULTS, **options.own}
        device = _check_options(settings["iw_samples"], settings["batch_size"], settings["se"],
                                options.missing, settings["device"])
        streamed, comm = None, comm_of(data)
        if settings["stream"] is not False:  # read a buffer of row groups at a time
            source = _stream_source(data, settings)
            prep, found = prepare_streamed(
                model, source, options.model, settings["ordered"], settings["item_types"],
                settings["stream_buffer"], settings["seed"], comm)
            streamed = (source, found)
        else:
            prep = prepare(model, model_frame(model, data, options.columns), options.model,
                           settings["ordered"], settings["item_types"])
        mod = Model(prep.pt, mean_structure=True)
        order, structure = structure_of(prep, mod, device)
        return Spec(prep.pt, [mod], None, None, extras=dict(
            prepared=prep, order=order, structure=structure, settings=settings, device=device,
            comm=comm, streamed=streamed))

    def sample_stats(self, spec: Spec, data, options: FitOptions) -> SampleStats:
        prep, structure = spec.extras["prepared"], spec.extras["structure"]
        tensors = tensors_of(prep, spec.extras["order"], structure)
        n, n_total = tensors.n, len(prep.keep)
        if spec.extras["streamed"] is not None:  # the start rows set the standardization
            source, found = spec.extras["streamed"]
            tensors.any_missing = found.missing
            tensors = stream.Streamed(source, spec.extras["order"] + prep.covariates,
                                      Coder(structure, spec.extras["order"], prep, tensors),
                                      found.kept, spec.extras["settings"]["stream_buffer"],
                                      tensors)
            n, n_total, data = tensors.n, source.n_rows, None  # the fit keeps no copy
        if spec.extras["comm"] is not None:  # all the ranks' rows
            n, n_total = (int(v) for v in spec.extras["comm"].all_sum(n, n_total))
        return SampleStats([], [], options.missing, data, options.columns,
                           extras={"tensors": tensors}, n=n, n_total=n_total)

    def estimate(self, spec: Spec, stats: SampleStats, options: FitOptions) -> Estimate:
        prep, structure, s = spec.extras["prepared"], spec.extras["structure"], \
            spec.extras["settings"]
        mod, tensors, device = spec.model, stats.extras["tensors"], spec.extras["device"]
        comm = spec.extras["comm"]
        if comm is not None:
            _synchronise(comm, prep, tensors)
        # the start values of every rank's rows (of its start rows, streamed)
        values = item_start_values(mod, prep.pt, prep.coded, prep.keep, prep.X, prep.types,
                                   prep.covariates, comm)
        mod.fixed_values(values)
        structure.set_fixed(values)
        lr_model = 10 * s["lr"] if s["lr_model"] is None else s["lr_model"]
        encoder, result, rows_per_step = _train(
            structure, mod, values, tensors, len(spec.extras["order"]), device=device,
            seed=s["seed"], hidden=s["hidden"], cov=s["cov"], batch_size=s["batch_size"],
            iw_samples=s["iw_samples"], lr=s["lr"], lr_model=lr_model,
            max_epochs=s["max_epochs"], max_iterations=s["max_iterations"],
            n_intervals=s["n_intervals"], quiet=s["quiet"], refine=s["refine"], dreg=s["dreg"],
            comm=comm)
        # the final pass refines one process's estimates on its rows; a data-parallel
        # fit keeps the estimates all the ranks trained
        training = rows_per_step * s["iw_samples"] * result.iterations
        final = (0, 0) if comm is not None else _final(
            structure, encoder, result, tensors, len(spec.extras["order"]), s["final_samples"],
            s["seed"], training=training)
        posterior = Posterior(structure, encoder, result, tensors, prep,
                              spec.extras["order"], int(mod.n_free), s)
        posterior.training = training
        if comm is not None:  # every rank's rows: summed now, while the ranks are there
            posterior.n = stats.n
            posterior.logl = float(comm.all_sum(posterior.per_row(
                tensors, scores=False, seed_offset=comm.rank_seed(0))["logl"].sum())[0])
        est = Estimate(result.x, result.converged, result.iterations, start=values,
                       tests=posterior, loss_history=list(result.history),
                       optimizer="Adam (AMSGrad)", extras=_info(result, rows_per_step,
                                                                lr_model, s, prep.types, device))
        est.extras.update(dreg=bool(s["dreg"]), final_samples=final[0],
                          final_iterations=final[1])
        if s["se"] == "opg":
            # J^-1 (J = sum_i g_i g_i', the rows' scores) mapped to the table, inverted
            # in its unit-diagonal form as the ML information is: badly scaled
            # variables keep their standard errors
            est.vcov = vcov_free(mod, _information(structure, encoder, result.x, tensors, s,
                                                   stats.n, comm), 1)
        mats = {k: v.cpu().numpy() for k, v in
                mod.matrices(torch.as_tensor(result.x, dtype=torch.float64)).items()}
        est.matrices = [mats]
        est.std = standardized_columns(mod, mats, prep.pt, est.values(prep.pt, mod), prep.types)
        if not result.converged:
            est.messages.append(
                f"IWAVE stopped after {result.iterations} iterations ({result.epochs} epochs) "
                "before the loss stopped improving (its iteration limit); raise "
                "max_epochs/max_iterations")
            warnings.warn(est.messages[-1], ConvergenceWarning, stacklevel=5)
        if isinstance(tensors, stream.Streamed):
            est.extras.update(stream_buffer=tensors.buffer, rows_in_memory=tensors.rows_held)
            dropped = spec.extras["streamed"][1].dropped
            posterior.index = pd.RangeIndex(tensors.source.n_rows).delete(dropped)
        else:
            posterior.index = as_frame(stats.data, options.columns).index[prep.keep]
        return est


def _synchronise(comm, prep: Prepared, tensors) -> None:
    """A data-parallel fit: every rank must code the items alike; the encoder
    input's standardization is rank 0's, and the input has missing-response
    indicators when any rank's rows miss a response."""
    check_codings(comm, prep)
    inputs = tensors.reference if isinstance(tensors, stream.Streamed) else tensors
    inputs.any_missing = any(comm.gather_results(lambda: inputs.any_missing))
    scaling = list(tensors.center) + list(tensors.scale) + \
        [t for t in (tensors.x_center, tensors.x_scale) if t is not None]
    comm.broadcast_tensors(scaling)


def check_codings(comm, prep: Prepared) -> None:
    """A data-parallel fit: a DataError on every rank unless every rank codes the
    items (their categories) as rank 0 does."""
    codings = comm.gather_results(lambda: prep.codings)
    for rank, other in enumerate(codings[1:], start=1):
        differ = [v for v in prep.indicators if other[v] != codings[0][v]]
        if differ:
            raise DataError(f"item '{differ[0]}' has categories {codings[0][differ[0]]} in rank "
                            f"0's rows but {other[differ[0]]} in rank {rank}'s; every rank's "
                            "shard must show every category: shuffle the rows before "
                            "writing the data, or use fewer processes")


def _check_options(iw_samples, batch_size, se: str, missing: str, device) -> torch.device:
    """Check the options of ``fit_iwave`` that are not the model's; the device."""
    if not isinstance(iw_samples, (int, np.integer)) or iw_samples < 1:
        raise TorchfitError(f"iw_samples = {iw_samples!r}: the number of importance samples "
                            "must be an integer >= 1 (10 is the usual choice)")
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
        raise TorchfitError(f"batch_size = {batch_size!r} must be a positive integer")
    if se not in ("opg", "none"):
        raise TorchfitError(f"se = {se!r} is not available for IWAVE; use 'opg' or 'none'")
    if missing not in ("default", "listwise", "ml", "fiml"):
        raise TorchfitError(f"missing = {missing!r} is not available for IWAVE; missing "
                            "responses are always masked out of the likelihood")
    return check_device(device)


def check_device(device) -> torch.device:
    """The torch device, or a TorchfitError when CUDA is asked for but absent."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TorchfitError("device = 'cuda' was asked for but torch sees no CUDA GPU; use "
                            "device = 'cpu' or install a CUDA build of torch")
    return device


@dataclass
class Prepared:
    """The parameter table of an IWAVE fit (with thresholds for the categorical items)
    and its coded data."""

    pt: pd.DataFrame
    indicators: List[str]
    covariates: List[str]  # observed variables that only predict: conditioned on
    types: Dict[str, str]
    coded: Dict[str, np.ndarray]
    codings: Dict[str, Dict]
    X: Optional[np.ndarray]  # the covariates' columns
    keep: np.ndarray  # rows with complete covariates


def _variables(model):
    """The formulas (syntax) or the table (structure columns only), and the names."""
    formulas = pt = None
    if isinstance(model, str):
        formulas = parse_formulas(model)
        rows = [f for f in formulas if f.op not in ("==", "<", ">", ":=")]
        names = variable_names([f.lhs for f in rows], [f.op for f in rows], [f.rhs for f in rows])
    elif isinstance(model, (pd.DataFrame, Mapping)):
        # Only the structure: a table from a fitted model brings est, se...
        pt = from_columns({c: list(model[c]) for c in
                           (model.columns if isinstance(model, pd.DataFrame) else model.keys())
                           if c in COLUMNS})
        names = variable_names(pt["lhs"], pt["op"], pt["rhs"], pt["user"], pt["exo"])
    else:
        raise TorchfitError("model must be lavaan syntax (a string) or a parameter table "
                            f"(a DataFrame), not {type(model).__name__}")
    return formulas, pt, names


@dataclass
class Layout:
    """The model's variables before the data are read: the formulas (syntax) or
    the table, the names, the covariates, the indicators and their item types."""

    formulas: Optional[list]
    pt: Optional[pd.DataFrame]
    names: object
    covariates: List[str]
    indicators: List[str]
    types: Dict[str, str]


def layout(model, ordered, item_types) -> Layout:
    """The variables of ``model`` and the item types of its indicators."""
    formulas, pt, names = _variables(model)
    # Observed variables that only predict are conditioned on, not modelled.
    lhs_reg = set(pt_rows_lhs(model, formulas if isinstance(model, str) else None))
    covariates = [v for v in names.ov if v not in names.ov_ind and v not in lhs_reg]
    indicators = [v for v in names.ov if v not in covariates]
    if not isinstance(model, str) and ordered is not True:
        # A table with thresholds (lavaan's ordered=) says which items are ordinal.
        with_thresholds = [v for v in pt.loc[pt["op"] == "|", "lhs"] if v in indicators]
        ordered = list(dict.fromkeys(list(ordered or []) + with_thresholds))
    types = resolve_item_types(indicators, ordered, item_types)
    return Layout(formulas, pt, names, covariates, indicators, types)


def _table(lay: Layout, codings: Dict[str, Dict], options: Dict) -> pd.DataFrame:
    """The parameter table with thresholds (and category scores) as the codings ask."""
    pt, indicators, types = lay.pt, lay.indicators, lay.types
    if lay.formulas is not None:
        thresholds = {v: codings[v]["n_categories"] - 1 for v in indicators
                      if types[v] in CATEGORICAL}
        pt = build(lay.formulas, meanstructure=True, ordered=thresholds, **options)
    _check_thresholds(pt, indicators, types, codings)
    pt = add_category_scores(pt, {v: codings[v]["n_categories"] - 2 for v in indicators
                                  if types[v] == "nominal"})
    return _fix_variances(pt, {v: LOGISTIC_VARIANCE if types[v] in CATEGORICAL else 1.0
                               for v in indicators if types[v] in FIXED_VARIANCE})


def model_frame(model, data, columns=None) -> pd.DataFrame:
    """The data as a frame; of a Reader (Parquet, Arrow, a rank's shard) only the
    model's columns are read."""
    return data.load_frame(_variables(model)[2].ov) if isinstance(data, Reader) \
        else as_frame(data, columns)


def prepare(model, frame: pd.DataFrame, options: Dict, ordered, item_types) -> Prepared:
    """The parameter table, with thresholds for the categorical items, and the coded data."""
    lay = layout(model, ordered, item_types)
    check_columns([str(c) for c in frame.columns], lay.names.ov)
    check_latent_names(frame, lay.names.lv)

    coded, codings = {}, {}
    for v in lay.indicators:
        coded[v], codings[v] = item_class(lay.types[v], v).prepare(frame[v], v)
    X, keep = _kept(frame, lay.covariates)
    return Prepared(_table(lay, codings, options), lay.indicators, lay.covariates, lay.types,
                    coded, codings, X, keep)


def prepare_streamed(model, source, options: Dict, ordered, item_types, buffer: int,
                     seed: int, comm=None):
    """:func:`prepare` for a Parquet source read in one streamed pass
    (:func:`torchfit.iwave.stream.scan`): the table from every row's categories
    (every rank's with ``comm``), and as the coded data the rows of ``buffer``
    seeded row groups, which give the start values and the encoder input's
    standardization; (Prepared, the :class:`~torchfit.iwave.stream.Scan`)."""
    lay = layout(model, ordered, item_types)
    check_columns(source.column_names, lay.names.ov)
    check_latent_names(source, lay.names.lv)
    found = stream.scan(source, lay.indicators, lay.covariates, lay.types, comm)
    codings = found.codings
    if not sum(found.kept):
        raise DataError("no row of the Parquet data has every covariate observed")
    frame = source.pick(stream.start_groups(found.kept, buffer, seed)).load_frame(
        lay.indicators + lay.covariates)
    coded = {v: item_class(lay.types[v], v).code(frame[v], v, codings[v])
             for v in lay.indicators}
    X, keep = _kept(frame, lay.covariates)
    return Prepared(_table(lay, codings, options), lay.indicators, lay.covariates, lay.types,
                    coded, codings, X, keep), found


def structure_of(prep: Prepared, mod: Model, device: torch.device):
    """The items in model order (grouped by type) and the IWAVE structure."""
    types, codings = prep.types, prep.codings
    order = [v for kind in _type_order(types) for v in prep.indicators if types[v] == kind]
    items = [item_class(kind, "")([mod.ov_names.index(v) for v in order if types[v] == kind],
                                  [codings[v].get("n_categories", 0) for v in order
                                   if types[v] == kind] if kind in CATEGORICAL else None)
             for kind in _type_order(types)]
    return order, Structure(mod, items, order, prep.covariates, device=device)


def tensors_of(prep: Prepared, order: List[str], structure, dtype=torch.float32):
    """The coded responses (kept rows) as the tensors IWAVE trains on (continuous
    ones in ``dtype``)."""
    types, keep, X = prep.types, prep.keep, prep.X
    blocks = [_columns([prep.coded[v] for v in order if types[v] == kind], keep)
              for kind in _type_order(types)]
    return make_data(blocks, structure.items, None if X is None else X[keep], structure.device,
                     dtype)


def new_tensors(frame: pd.DataFrame, structure, order: List[str], prep: Prepared,
                dtype=torch.float32):
    """New data (items and covariates) coded as the fitted data were, as tensors.

    Examples
    --------
    >>> from torchfit.model.matrices import Model
    >>> data = pd.DataFrame({"y1": [0, 1, 1], "y2": [1, 0, 1], "x": [0.5, 1.0, 2.0]})
    >>> prep = prepare("f =~ y1 + y2; f ~ x", data, {}, True, None)
    >>> order, structure = structure_of(prep, Model(prep.pt, mean_structure=True), "cpu")
    >>> new = new_tensors(data.tail(2), structure, order, prep)
    >>> new.n, new.covariates.tolist()
    (2, [[1.0], [2.0]])
    """
    check_columns([str(c) for c in frame.columns], order + prep.covariates)
    blocks = code_blocks(frame, structure.items, order, prep.types, prep.codings)
    X = _covariates(frame, prep.covariates)
    if X is not None and np.isnan(X).any():
        raise DataError("covariates have missing values; drop those rows")
    return make_data(blocks, structure.items, X, structure.device, dtype)


class Coder:
    """A streamed fit's coding of a frame of rows (items, then covariates): the
    kept rows as tensors, standardized as ``reference`` (the start rows); a class,
    not a closure, so that the fit pickles."""

    def __init__(self, structure, order: List[str], prep: Prepared, reference):
        self.structure, self.order, self.prep, self.reference = structure, order, prep, reference

    def __call__(self, frame: pd.DataFrame):
        X, keep = _kept(frame, self.prep.covariates)
        rows = frame if keep.all() else frame[keep]
        items = self.structure.items
        blocks = code_blocks(rows, items, self.order, self.prep.types, self.prep.codings)
        return standardized_as(make_data(blocks, items, None if X is None else X[keep],
                                         self.structure.device), self.reference)


def _stream_source(data, settings: Dict):
    """The Parquet source of ``stream=True``, or an error naming what is wrong."""
    buffer = settings["stream_buffer"]
    if settings["stream"] is not True:
        raise TorchfitError(f"stream = {settings['stream']!r} must be True or False")
    if not isinstance(buffer, (int, np.integer)) or buffer < 1:
        raise TorchfitError(f"stream_buffer = {buffer!r} must be a positive integer (the row "
                            "groups whose rows are shuffled together)")
    if isinstance(data, Shard):  # a data-parallel fit: this rank's row groups
        data = data.part
    if not isinstance(data, ParquetSource):
        raise TorchfitError(f"stream=True reads a Parquet file or directory a few row groups at "
                            f"a time; these data ({type(data).__name__}) are in memory "
                            "already: leave stream out, or write them with "
                            "data.to_parquet(path, row_group_size=...) and give the path")
    return data


def code_blocks(frame: pd.DataFrame, items, order: List[str], types: Dict[str, str],
                codings: Dict[str, Dict]) -> List[np.ndarray]:
    """New data coded as the fitted data were, one block of columns per item type."""
    return [np.column_stack([it.code(frame[v], v, codings[v])
                             for v in order if types[v] == it.name]) for it in items]


def _train(structure, mod: Model, values: np.ndarray, tensors, n_items: int, *, device, seed,
           hidden, cov, batch_size, iw_samples, lr, lr_model, max_epochs, max_iterations,
           n_intervals, quiet, refine, dreg, comm=None):
    """The encoder (seeded) and the training run from the start values; the rows of
    the largest batch.  Data-parallel (``comm``): rank 0's initial weights, rank r's
    draws and shuffles seeded with ``comm.rank_seed(seed)``, gradients averaged."""
    x0 = torch.as_tensor(reduced_start(mod, values), dtype=torch.float32, device=device)
    u0 = structure.unconstrained(x0)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(seed))
        encoder = Encoder(tensors.n_input, len(mod.lv_names), hidden, cov).to(device)
    if comm is not None:  # the same seed, but one source of truth
        comm.broadcast_tensors(list(encoder.parameters()))
    rows_per_step = tensors.largest_batch(batch_size) if isinstance(tensors, stream.Streamed) \
        else int(np.diff(batch_bounds(tensors.n, batch_size)).max())
    with one_thread(rows_per_step * iw_samples * n_items):
        result = train(structure, encoder, u0, tensors, iw_samples=iw_samples,
                       batch_size=batch_size, lr=lr, lr_model=lr_model,
                       max_epochs=max_epochs, iter_max=max_iterations,
                       n_intervals=n_intervals,
                       seed=seed if comm is None else comm.rank_seed(seed),
                       quiet=quiet or (comm is not None and comm.rank > 0), refine=refine,
                       dreg=dreg, comm=comm)
    encoder.eval()
    return encoder, result, rows_per_step


def _final(structure, encoder, result, tensors, n_items: int, final_samples, seed,
           training: int):
    """The final pass at ``final_samples`` draws (more on small data), when asked for
    and affordable against the ``training`` rows x samples it took: its estimates
    replace the trained ones in ``result``; (samples, iterations)."""
    if not isinstance(final_samples, (int, np.integer)) or final_samples < 0:
        raise TorchfitError(f"final_samples = {final_samples!r} must be an integer >= 0 "
                            "(0: no final pass)")
    # small data: more draws, nearly free, keep the fixed draws' noise below the bias
    samples = max(final_samples, min(1000, FINAL_SMALL_ELEMENTS // (tensors.n * n_items)))
    work = tensors.n * samples * result.u.numel() * encoder.m
    if final_samples == 0 or work > FINAL_WORK_RATIO * training:
        return 0, 0
    with one_thread(tensors.n * n_items * samples):
        result.x, iterations = final_pass(structure, encoder, result, tensors, samples, seed)
    return int(samples), iterations


def _info(result, rows_per_step: int, lr_model: float, settings: Dict, types,
          device) -> Dict:
    """What an IWAVE fit adds to its ``info``: the run and its options."""
    s = settings
    return {"epochs": result.epochs, "iw_samples": int(s["iw_samples"]),
            "batch_size": rows_per_step, "lr": s["lr"], "lr_model": lr_model,
            "final_loss": result.final_loss, "refine": bool(s["refine"]),
            "seconds": result.seconds, "se": "opg" if s["se"] == "opg" else "none",
            "se_samples": s["se_samples"], "se_rows": s["se_rows"],
            "logl_samples": s["logl_samples"],
            "item_types": dict(types), "device": str(device), "seed": int(s["seed"])}


def pt_rows_lhs(model, formulas) -> List[str]:
    """Left-hand sides of the regressions of the syntax or table."""
    if formulas is not None:
        return [f.lhs for f in formulas if f.op == "~"]
    ops = model["op"] if isinstance(model, (pd.DataFrame, Mapping)) else []
    return [l for l, o in zip(model["lhs"], ops) if o == "~"]


def _type_order(types: Dict[str, str]) -> List[str]:
    return list(dict.fromkeys(types.values()))


def resolve_item_types(indicators, ordered, item_types) -> Dict[str, str]:
    """Each indicator's item type: ``item_types`` where given, else "graded" for the
    ``ordered`` ones (all with ``ordered=True``) and "normal" for the rest."""
    if ordered is True:
        ordered = list(indicators)
    ordered = list(ordered or [])
    item_types = dict(item_types or {})
    unknown = [v for v in list(ordered) + list(item_types) if v not in indicators]
    if unknown:
        raise ModelError(f"{', '.join(repr(v) for v in unknown)} in ordered=/item_types= "
                         "is not an indicator of the model; use the names of observed "
                         f"indicators ({', '.join(indicators[:10])}...)")
    types = {v: item_types.get(v, "graded" if v in ordered else "normal") for v in indicators}
    for v, kind in types.items():
        item_class(kind, v)
    return types


def _covariates(frame: pd.DataFrame, covariates: List[str]) -> Optional[np.ndarray]:
    if not covariates:
        return None
    cols = []
    for v in covariates:
        s = frame[v]
        check_numeric(v, s.dtype)
        cols.append(s.to_numpy(dtype=np.float64, na_value=np.nan))  # bool as 0/1
    X = np.column_stack(cols)
    check_finite(X, covariates)
    return X


def _kept(frame: pd.DataFrame, covariates: List[str]):
    """The covariates' columns and the rows where all of them are observed."""
    X = _covariates(frame, covariates)
    return X, np.ones(len(frame), dtype=bool) if X is None else ~np.isnan(X).any(axis=1)


def _columns(arrays: List[np.ndarray], keep: np.ndarray) -> np.ndarray:
    """The kept rows of equal-length columns as one column-major matrix
    (filling columns of a column-major matrix is cheap; the item types
    make their own row-major copies in their compact dtypes)."""
    rows = slice(None) if keep.all() else keep
    out = np.empty((int(keep.sum()), len(arrays)), order="F")
    for j, a in enumerate(arrays):
        out[:, j] = a[rows]
    return out


def _check_thresholds(pt, indicators, types, codings) -> None:
    bar = (pt["op"] == "|").to_numpy()
    kind = pt["rhs"].str[:1].to_numpy()
    for v in indicators:
        mine = bar & (pt["lhs"] == v).to_numpy()
        n_thr = int((mine & (kind == "t")).sum())
        want = codings[v]["n_categories"] - 1 if types[v] in CATEGORICAL else 0
        if n_thr != want:
            raise ModelError(
                f"item '{v}' ({types[v]}) has {n_thr} threshold row(s) in the parameter table "
                f"but the data ask for {want}; build the table with ordered = the categorical "
                "columns (lavaan's ordered=) so that it has one threshold per category but "
                "the first")
        scores = sorted(int(r[1:]) for r in pt.loc[mine & (kind == "s"), "rhs"])
        if scores and types[v] != "nominal":
            raise ModelError(f"'{v} | s{scores[0]}' is a category score, which only nominal "
                             f"items have, but '{v}' is {types[v]}; remove the row or give "
                             f"it item type 'nominal'")
        if scores and scores[-1] > want - 1:
            raise ModelError(
                f"'{v} | s{scores[-1]}': item '{v}' has {want + 1} categories, so its free "
                f"scores are s1 .. s{want - 1} (s0 = 0 and s{want} = {want} set the scale); "
                "remove the row")
        has_int = ((pt["lhs"] == v) & (pt["op"] == "~1")).any()
        if not has_int:
            raise ModelError(f"the parameter table has no intercept row '{v} ~1'; build it "
                             "with meanstructure = TRUE")


def _fix_variances(pt: pd.DataFrame, fixed: Dict[str, float]) -> pd.DataFrame:
    """The residual variances of items without a free one are fixed at the value
    ``fixed`` names, and free is renumbered: a logistic item's is its latent
    response's, pi^2 / 3 (as lavaan's theta parameterization fixes a probit
    item's at 1, so that the table's standardization, lavaan's included, reads
    it right); a count item, which has none, keeps lavaan's placeholder 1."""
    rows = (pt["op"] == "~~") & (pt["lhs"] == pt["rhs"]) & pt["lhs"].isin(list(fixed))
    if not rows.any():
        return pt
    pt = pt.copy()
    pt.loc[rows, "free"] = 0
    pt.loc[rows, "ustart"] = pt.loc[rows, "lhs"].map(fixed).to_numpy(dtype=float)
    free = pt["free"].to_numpy()
    pt["free"] = np.where(free > 0, np.cumsum(free > 0), 0)
    return pt


def item_start_values(mod: Model, pt: pd.DataFrame, coded, keep, X, types,
                      covariates, comm=None) -> np.ndarray:
    """Start values: the ML heuristics on a covariance matrix of the coded
    data (categorical items standardized), then intercepts and thresholds
    from the margins of each item (one pass over each column).  With ``comm``
    (a data-parallel fit, every rank coding the items alike) the margins and
    the covariance matrix are those of every rank's rows, their sums reduced."""
    rows = slice(None) if keep.all() else keep
    cols = [X[rows, covariates.index(v)] if v in covariates else coded[v][rows]
            for v in mod.ov_names]
    margins = _margins(mod.ov_names, pt, cols, types, comm)
    D = np.empty((int(keep.sum()), len(mod.ov_names)), order="F")  # columns are contiguous
    for j, (v, col) in enumerate(zip(mod.ov_names, cols)):
        mean, var, _ = margins[v]
        seen, fill = ~np.isnan(col), mean
        if types.get(v) in CATEGORICAL:
            col, fill = (col - mean) / (math.sqrt(var) if var > 0 else 1.0), 0.0
        D[:, j] = np.where(seen, col, fill)
    total, cross, n = _summed(comm, D.sum(0), D.T @ D, np.array([len(D)]))
    centre = total / n[0]
    S = cross / n[0] - np.outer(centre, centre)
    S[np.diag_indices_from(S)] = np.maximum(np.diag(S), 1e-6)
    values = start_values(mod, S, centre)
    latent_var = _to_logistic_scale(mod, pt, values, types)
    for i, (lhs, op, rhs, fr, us) in enumerate(zip(pt["lhs"], pt["op"], pt["rhs"], pt["free"],
                                                   pt["ustart"])):
        if fr == 0 or not np.isnan(us) or lhs not in types:
            continue
        mean, var, shares = margins[lhs]
        kind = types[lhs]
        if op == "~1":
            values[i] = mean if kind in ("normal", "lognormal") else np.log(max(mean, 1e-3))
        elif op == "|" and rhs.startswith("s"):  # nominal: start at the GPCM
            values[i] = float(rhs[1:])
        elif op == "|":
            k = int(rhs[1:])
            if kind in ("gpcm", "nominal"):
                values[i] = float(np.log(max(shares[k - 1], 1e-4) / max(shares[k], 1e-4)))
            else:
                # The margin of a logistic item is flatter than its conditional
                # curve: widen by the sd of the latent response (probit approx.).
                prop = np.clip(shares[k:].sum(), 1e-4, 1 - 1e-4)
                values[i] = -float(np.log(prop / (1 - prop))) * \
                    np.sqrt(1 + latent_var.get(lhs, 0.0) / LOGISTIC_VARIANCE)
        elif op == "~~" and lhs == rhs:
            values[i] = {"negbinom": 0.5, "lognormal": 0.5 * var}.get(kind, values[i])
    return values


def _summed(comm, *arrays: np.ndarray) -> List[np.ndarray]:
    """The arrays summed over the ranks of ``comm`` (None: as they are)."""
    return list(arrays) if comm is None else comm.all_sum(*arrays)


def _margins(names: List[str], pt: pd.DataFrame, cols: List[np.ndarray], types,
             comm) -> Dict[str, tuple]:
    """Each variable's mean and variance over its observed values, and an item's
    category shares (None for other types): (mean, variance, shares)."""
    seen = [~np.isnan(c) for c in cols]
    # every category (a streamed fit's start rows, a rank's shard, may lack one)
    n_cat = [int(((pt["lhs"] == v) & (pt["op"] == "|")).sum()) + 1 for v in names]
    counts = [np.bincount(c[s].astype(int), minlength=k) if types.get(v) in CATEGORICAL
              else np.zeros(0) for v, c, s, k in zip(names, cols, seen, n_cat)]
    n, total, *counts = _summed(comm, np.array([s.sum() for s in seen]),
                                np.array([c[s].sum() for c, s in zip(cols, seen)]), *counts)
    mean = total / n
    squares = _summed(comm, np.array([((c[s] - m) ** 2).sum()
                                      for c, s, m in zip(cols, seen, mean)]))[0]
    return {v: (float(mean[j]), float(squares[j] / n[j]),
                counts[j] / n[j] if types.get(v) in CATEGORICAL else None)
            for j, v in enumerate(names)}


def _to_logistic_scale(mod: Model, pt: pd.DataFrame, values: np.ndarray, types) -> Dict:
    """Move start loadings of categorical items from the standardized scale
    (on which the ML heuristics found them) to the logistic one: lambda* /
    sqrt(1 - h) * 1.7 for communality h.  A factor whose fixed marker is
    categorical takes the marker's factor in its variance instead.  Returns
    the common variance lambda' Psi lambda of each categorical item."""
    lhs, op, rhs = pt["lhs"].to_numpy(), pt["op"].to_numpy(), pt["rhs"].to_numpy()
    free, ustart = pt["free"].to_numpy(), pt["ustart"].to_numpy()
    load = np.flatnonzero(op == "=~")
    var_of = {l: values[i] for i, (l, o, r) in enumerate(zip(lhs, op, rhs))
              if o == "~~" and l == r and l in mod.lv_names}
    common = {}
    for i in load:
        if types.get(rhs[i]) in CATEGORICAL:
            common[rhs[i]] = common.get(rhs[i], 0.0) + values[i] ** 2 * var_of.get(lhs[i], 1.0)
    factor = {v: 1.7 / np.sqrt(1 - min(h, 0.9)) for v, h in common.items()}
    marker = {lhs[i]: factor[rhs[i]] for i in load
              if free[i] == 0 and rhs[i] in factor and lhs[i] in mod.lv_names}
    for i in load:
        if free[i] > 0 and np.isnan(ustart[i]):
            values[i] *= factor.get(rhs[i], 1.0) / marker.get(lhs[i], 1.0)
    for i in np.flatnonzero(op == "~~"):
        if free[i] > 0 and np.isnan(ustart[i]) and (lhs[i] in marker or rhs[i] in marker):
            values[i] *= marker.get(lhs[i], 1.0) * marker.get(rhs[i], 1.0)
    return {v: h * factor[v] ** 2 for v, h in common.items()}


def _information(structure, encoder, x, tensors, settings: Dict, n_total: int, comm):
    """The OPG information of all the rows (of every rank): each rank's share of
    ``se_rows`` rows, scaled to its rows, summed."""
    rows = settings["se_rows"]
    if rows is not None and not (isinstance(rows, (int, np.integer)) and rows >= 1):
        raise TorchfitError(f"se_rows = {rows!r} must be a positive integer (the rows "
                            "sampled for the standard errors) or None (all rows)")
    share = None if rows is None else max(1, -(-int(rows) * tensors.n // n_total))
    seed = settings["seed"] if comm is None else comm.rank_seed(settings["seed"])
    J = information(structure, encoder, x, tensors, n_samples=settings["se_samples"],
                    seed=seed + 1, max_rows=share)
    return J if comm is None else comm.all_sum(J)[0]


def standardized_columns(mod: Model, mats, pt, est, types) -> Dict[str, np.ndarray]:
    """std.lv, std.all and std.nox with lavaan's definitions for categorical
    items (its standardization of a probit model) applied to the logistic
    latent response y* = lambda' eta + e, e standard logistic of variance
    pi^2 / 3: var(y*) = lambda' var(eta) lambda + pi^2 / 3, var(eta) with the
    part the covariates explain. A loading becomes lambda sd(eta) / sd(y*), a
    threshold tau / sd(y*) (the cut on y* in its sd units), a ``~*~`` row 1;
    the item's ``y ~~ y`` row is y*'s residual variance pi^2 / 3 (std.all:
    1 - R^2 of y*). Count items have no standardized solution."""
    theta = mats["theta"].copy()
    values = np.array(est, dtype=float)
    variance = (pt["op"] == "~~").to_numpy() & (pt["lhs"] == pt["rhs"]).to_numpy()
    for v, kind in types.items():
        j = mod.ov_names.index(v)
        if kind in CATEGORICAL:
            theta[j, j] = LOGISTIC_VARIANCE
            values[variance & (pt["lhs"] == v).to_numpy()] = theta[j, j]
        elif kind in ("poisson", "negbinom"):
            theta[j, j] = np.nan
    A = np.linalg.inv(np.eye(mats["beta"].shape[0]) - mats["beta"])
    sigma = mats["lambda"] @ A @ mats["psi"] @ A.T @ mats["lambda"].T + theta
    m = dict(mats)
    m["theta"] = theta
    try:
        std = standardized(mod, m, sigma, pt, values)
    except Exception:  # a standardized solution is a courtesy, never a failure
        return {"std.lv": np.full(len(pt), np.nan), "std.all": np.full(len(pt), np.nan)}
    latent_response_std(pt, mod.ov_names, sigma, values, std)
    return std


class Posterior:
    """IWAVE's tests record: the trained structure and encoder with the coded data,
    which give the importance-sampled log-likelihood (the fit measures), the factor
    scores and the likelihood of new data; an :class:`IWAVEFit` presents it."""

    info: Dict = {}  # lavaan's se/test values: IWAVE has none

    def __init__(self, structure, encoder, result, tensors, prep: Prepared,
                 order: List[str], npar: int, settings: Dict):
        self.structure, self.encoder, self.result = structure, encoder, result
        self.tensors, self.prep, self.order, self.npar = tensors, prep, order, npar
        self.logl_samples, self.seed = int(settings["logl_samples"]), int(settings["seed"])
        self.index = None  # the used rows' labels (set by IWAVE.estimate)
        # a data-parallel fit sets the rows and log-likelihood of all the ranks
        self.n, self.logl = tensors.n, None
        self.training = 0  # the training's rows x samples
        self.deferred = False  # leave the log-likelihood out of the measures

    @property
    def fit_class(self):
        return IWAVEFit

    def measures(self, standard=None) -> Dict[str, float]:
        """The log-likelihood and information criteria (``standard`` unused: IWAVE has
        no moment-based measures)."""
        if self.logl is not None:
            logl = self.logl
        elif self.deferred:
            logl = math.nan
        else:
            logl = float(self.per_row(self.tensors, scores=False)["logl"].sum())
        n, k = self.n, self.npar
        return {"npar": float(k), "logl": logl, "aic": -2 * logl + 2 * k,
                "bic": -2 * logl + k * math.log(n),
                "bic2": -2 * logl + k * math.log((n + 2) / 24), "ntotal": float(n)}

    def per_row(self, tensors, scores: bool, seed_offset: int = 0) -> Dict[str, np.ndarray]:
        return importance(self.structure, self.encoder, self.result.x, tensors,
                          n_samples=self.logl_samples, seed=self.seed + 2 + seed_offset,
                          scores=scores)

    def tensors_for(self, data):
        """The fitted data's tensors, or new data coded and standardized as they were."""
        if data is None:
            return self.tensors
        fitted = self.tensors
        return standardized_as(new_tensors(as_frame(data), self.structure, self.order,
                                           self.prep), fitted)


def standardized_as(new, fitted):
    """``new`` data (tensors) with the encoder input standardized as ``fitted``'s
    (as in training); ``new``."""
    new.center, new.scale = fitted.center, fitted.scale
    new.x_center, new.x_scale, new.any_missing = fitted.x_center, fitted.x_scale, \
        fitted.any_missing
    return new


class IWAVEFit(ItemFit):
    """A model fitted by IWAVE.

    Has the accessors of :class:`torchfit.Fit` (``parameter_estimates``,
    ``coef``, ``vcov``, ``summary``, ``fit_measures``) and: ``loss_history``
    (mean loss per 100 iterations), ``scores()`` / ``predict(data)``
    (importance-weighted posterior means) and ``log_likelihood(data)``.

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs, estimator="IWAVE",
    ...                    max_iterations=200, se="none")
    >>> fit.scores().shape
    (301, 1)
    """

    SE_LABELS = {"opg": "Outer product of gradients"}

    def __init__(self, *args, tests: "Posterior", **kwargs):
        super().__init__(*args, tests=tests, **kwargs)
        self.structure, self.encoder, self.result = tests.structure, tests.encoder, tests.result
        self.item_types = tests.prep.types
        self._scores = None

    @property
    def loss_history(self) -> np.ndarray:
        """Mean loss (negative IW-ELBO per row) of each window of 100 iterations."""
        return np.asarray(self.result.history)

    def log_likelihood(self, data=None) -> float:
        """Approximate marginal log-likelihood (importance sampling with
        ``logl_samples`` draws per row) of the fitted or of new data.

        Examples
        --------
        >>> import torchfit
        >>> hs = torchfit.datasets.holzinger_swineford()
        >>> fit = torchfit.cfa("f =~ x1 + x2 + x3", hs, estimator="IWAVE",
        ...                    max_iterations=200, se="none")
        >>> fit.log_likelihood(hs.head(10)) < 0
        True
        """
        if data is None:
            return float(self._measures["logl"])
        return float(self.tests.per_row(self.tests.tensors_for(data), scores=False)["logl"].sum())

    def log_likelihood_cost(self) -> float:
        """The log-likelihood pass's rows x draws (``logl_samples``) over the
        training's rows x samples: how many trainings' worth of draws
        ``fit_measures()`` costs when it is not yet computed.

        Examples
        --------
        >>> import torchfit
        >>> hs = torchfit.datasets.holzinger_swineford()
        >>> fit = torchfit.cfa("f =~ x1 + x2 + x3", hs, estimator="IWAVE",
        ...                    max_iterations=200, se="none", batch_size=32, iw_samples=5)
        >>> fit.log_likelihood_cost() > 1  # 301 x 1000 draws against <= 200 x 32 x 5
        True
        """
        return self.tests.n * self.tests.logl_samples / max(self.tests.training, 1)

    def defer_log_likelihood(self, defer: bool = True) -> None:
        """Leave the log-likelihood (and AIC, BIC) out of ``fit_measures()`` (NaN)
        until this is called with ``defer=False``: for a caller that builds every
        measure at once (R's lavaan object) on data where the importance pass
        costs more than the training."""
        self.tests.deferred = bool(defer)
        self._measures_cache = None

    def predict(self, data=None) -> pd.DataFrame:
        """Factor scores: importance-weighted posterior means E[eta | y].

        Examples
        --------
        >>> import torchfit
        >>> hs = torchfit.datasets.holzinger_swineford()
        >>> fit = torchfit.cfa("f =~ x1 + x2 + x3", hs, estimator="IWAVE",
        ...                    max_iterations=200, se="none")
        >>> fit.predict(hs.head(5)).shape
        (5, 1)
        """
        if data is None and self._scores is not None:
            return self._scores.copy()
        if data is None and self.tests.n != self.tests.tensors.n:
            raise TorchfitError(SHARD_SCORES)
        out = self.tests.per_row(self.tests.tensors_for(data), scores=True)
        frame = pd.DataFrame(out["scores"], columns=self.model.lv_names,
                             index=self.tests.index if data is None else as_frame(data).index)
        if data is None:
            self._scores = frame
        return frame.copy()

    def scores(self) -> pd.DataFrame:
        """Factor scores of the fitted data (see :meth:`predict`)."""
        return self.predict()

    def _header_lines(self) -> List[str]:
        return report.iwave_header(self.info)
