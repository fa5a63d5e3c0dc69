"""The IWAVE pipeline: syntax -> parameter table (with thresholds and
intercepts) -> coded responses per item type -> start values -> IW-ELBO
training -> importance-sampled standard errors, log-likelihood and scores ->
:class:`IWAVEFit`.

It shares the syntax parser, the parameter table, the model matrices, the
start values, the estimate columns and the report with the ML estimator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd
import torch

from ..data.frames import as_frame, check_columns, check_latent_names
from ..data.reader import Reader
from ..errors import DataError, ModelError, TorchfitError
from ..estimate.ml import one_thread
from ..estimate.start import reduced_start, start_values
from ..estimate.training import batch_bounds
from ..inference.vcov import estimate_columns, standardized
from ..model.matrices import Model
from ..model.partable import COLUMNS, add_category_scores, build, from_columns, variable_names
from ..model.syntax import parse_formulas
from ..results import report
from ..results.fit import Fit, GroupView
from ..version import __version__
from .items import CATEGORICAL, FIXED_VARIANCE, item_class
from .networks import Encoder, Structure, importance, make_data, train

IWAVE_OPTIONS = ("ordered", "item_types", "iw_samples", "batch_size", "lr", "lr_model",
                 "hidden", "cov",
                 "max_epochs", "max_iterations", "n_intervals", "seed", "device", "quiet",
                 "se", "se_samples", "logl_samples", "refine")


def fit_iwave(model: Union[str, pd.DataFrame], data, *, model_type: str = "sem",
              std_lv: bool = False, orthogonal: bool = False, fixed_x: bool = True,
              missing: str = "default", ordered: Union[Sequence[str], bool, None] = None,
              item_types: Optional[Mapping[str, str]] = None, iw_samples: int = 10,
              batch_size: Optional[int] = None, lr: float = 0.01,
              lr_model: Optional[float] = None,
              hidden: Sequence[int] = (100,), cov: str = "full",
              max_epochs: int = 100000, max_iterations: Optional[int] = None,
              n_intervals: int = 5, seed: int = 0, device: str = "cpu", quiet: bool = False,
              se: str = "opg", se_samples: int = 100,
              logl_samples: int = 1000, refine: bool = True) -> "IWAVEFit":
    """Fit a latent variable model by importance-weighted amortized variational
    estimation; called by ``torchfit.fit(..., estimator="IWAVE")``.

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
        when n < 1.5 batch_size; ``info["batch_size"]`` says how many).  With
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
        Converged when the best 100-iteration mean loss has not improved for
        this many windows.
    seed : int
        Seeds the encoder's weights, the batches and the draws.
    device : str
        "cpu" or "cuda".
    quiet : bool
        No progress bar (the bar, from tqdm when it is installed, shows the
        mean loss of the last 100 iterations).
    se : {"opg", "none"}
        Standard errors from the outer product of the per-row gradients of
        the importance-sampled log-likelihood (``se_samples`` draws per row).
    logl_samples : int
        Draws per row for the log-likelihood of ``fit_measures()``.
    refine : bool
        Once the loss has not improved for ``n_intervals // 2`` windows, cut
        the step sizes tenfold and run until the convergence rule holds
        (HS: loadings within 0.003 of ML instead of 0.01-0.02, in fewer
        iterations than the rule alone takes at the large steps; see
        :func:`torchfit.estimate.training.train`).

    Returns
    -------
    IWAVEFit

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs, estimator="IWAVE",
    ...                    std_lv=True, max_iterations=300, se="none")
    >>> fit.info["iterations"]
    300
    """
    device = _check_options(iw_samples, batch_size, se, missing, device)
    comm = data.comm if isinstance(data, Reader) else None
    # Parquet, Arrow, a shard: only the model's columns are read
    frame = data.load_frame(_variables(model)[2].ov) if isinstance(data, Reader) \
        else as_frame(data)
    prep = _prepare(model, frame, dict(model_type=model_type, std_lv=std_lv,
                                       orthogonal=orthogonal, fixed_x=fixed_x),
                    ordered, item_types)
    mod, order, structure, tensors, values = _setup_model(prep, device)
    if comm is not None:
        values = _synchronise(comm, prep, tensors, values)
    if batch_size is None:
        batch_size = 256
    lr_model = 10 * lr if lr_model is None else lr_model
    encoder, result, rows_per_step = _train(
        structure, mod, values, tensors, len(order), device=device, seed=seed, hidden=hidden,
        cov=cov, batch_size=batch_size, iw_samples=iw_samples, lr=lr, lr_model=lr_model,
        max_epochs=max_epochs, max_iterations=max_iterations, n_intervals=n_intervals,
        quiet=quiet, refine=refine, comm=comm)
    table, vcov, mats = _estimates(mod, prep.pt, values, structure, encoder, result, tensors,
                                   prep.types, se, se_samples, seed, comm)
    n, n_total = tensors.n, len(frame)
    if comm is not None:
        n, n_total = (int(v) for v in comm.all_sum(n, n_total))
    info = _info(result, mod, prep.pt, n, n_total, iw_samples=iw_samples,
                 rows_per_step=rows_per_step, lr=lr, lr_model=lr_model, refine=refine, se=se,
                 se_samples=se_samples, logl_samples=logl_samples, types=prep.types,
                 missing=missing, device=device, seed=seed)
    fit = IWAVEFit(table, info, None, vcov,
                   [GroupView(None, mod, {"nobs": n}, {}, mats)], data)
    fit._setup(structure, encoder, result, tensors, prep.types, prep.codings, prep.covariates,
               order, int(mod.n_free))
    if comm is not None:  # every rank's rows: summed now, while the ranks are there
        logl = fit._per_row(tensors, scores=False, seed_offset=comm.rank_seed(0))["logl"]
        fit._compute_measures = partial(fit.measures_at, float(comm.all_sum(logl.sum())[0]))
    return fit


def _synchronise(comm, prep: Prepared, tensors, values: np.ndarray) -> np.ndarray:
    """A data-parallel fit: every rank must code the items alike; the start
    values and the encoder input's standardization are rank 0's."""
    codings = comm.gather_results(lambda: prep.codings)
    for rank, other in enumerate(codings[1:], start=1):
        differ = [v for v in prep.indicators if other[v] != codings[0][v]]
        if differ:
            raise DataError(f"item '{differ[0]}' has categories {codings[0][differ[0]]} in rank "
                            f"0's rows but {other[differ[0]]} in rank {rank}'s; every rank's "
                            "shard must show every category: shuffle the rows before "
                            "writing the data, or use fewer processes")
    scaling = list(tensors.center) + list(tensors.scale) + \
        [t for t in (tensors.x_center, tensors.x_scale) if t is not None]
    comm.broadcast_tensors(scaling)
    return comm.gather_results(lambda: values)[0]


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


def _prepare(model, frame: pd.DataFrame, options: Dict, ordered, item_types) -> Prepared:
    """The parameter table, with thresholds for the categorical items, and the coded data."""
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
    check_columns([str(c) for c in frame.columns], names.ov)
    check_latent_names(frame, names.lv)

    coded, codings = {}, {}
    for v in indicators:
        coded[v], codings[v] = item_class(types[v], v).prepare(frame[v], v)
    X = _covariates(frame, covariates)
    keep = np.ones(len(frame), dtype=bool) if X is None else ~np.isnan(X).any(axis=1)
    if isinstance(model, str):
        thresholds = {v: codings[v]["n_categories"] - 1 for v in indicators
                      if types[v] in CATEGORICAL}
        pt = build(formulas, meanstructure=True, ordered=thresholds, **options)
    _check_thresholds(pt, indicators, types, codings)
    pt = add_category_scores(pt, {v: codings[v]["n_categories"] - 2 for v in indicators
                                  if types[v] == "nominal"})
    pt = _fix_variances(pt, [v for v in indicators if types[v] in FIXED_VARIANCE])
    return Prepared(pt, indicators, covariates, types, coded, codings, X, keep)


def _setup_model(prep: Prepared, device: torch.device):
    """The model, the items in model order, the IWAVE structure, the data as tensors
    and the start values (fixed values set in the model and the structure)."""
    pt, types, coded, keep, X = prep.pt, prep.types, prep.coded, prep.keep, prep.X
    indicators, codings = prep.indicators, prep.codings
    mod = Model(pt, mean_structure=True)
    order = [v for kind in _type_order(types) for v in indicators if types[v] == kind]
    items = [item_class(kind, "")([mod.ov_names.index(v) for v in order if types[v] == kind],
                                  [codings[v].get("n_categories", 0) for v in order
                                   if types[v] == kind] if kind in CATEGORICAL else None)
             for kind in _type_order(types)]
    structure = Structure(mod, items, order, prep.covariates, device=device)
    blocks = [_columns([coded[v] for v in order if types[v] == kind], keep)
              for kind in _type_order(types)]
    tensors = make_data(blocks, items, None if X is None else X[keep], device)
    values = _start(mod, pt, coded, keep, X, types, prep.covariates)
    mod.fixed_values(values)
    structure.set_fixed(values)
    return mod, order, structure, tensors, values


def _train(structure, mod: Model, values: np.ndarray, tensors, n_items: int, *, device, seed,
           hidden, cov, batch_size, iw_samples, lr, lr_model, max_epochs, max_iterations,
           n_intervals, quiet, refine, comm=None):
    """The encoder (seeded) and the training run from the start values; the rows of
    the largest batch."""
    x0 = torch.as_tensor(reduced_start(mod, values), dtype=torch.float32, device=device)
    u0 = structure.unconstrained(x0)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(seed))
        encoder = Encoder(tensors.n_input, len(mod.lv_names), hidden, cov).to(device)
    if comm is not None:  # rank 0's weights (the same seed, but one source of truth)
        comm.broadcast_tensors(list(encoder.parameters()))
    rows_per_step = int(np.diff(batch_bounds(tensors.n, batch_size)).max())
    with one_thread(rows_per_step * iw_samples * n_items):
        result = train(structure, encoder, u0, tensors, iw_samples=iw_samples,
                       batch_size=batch_size, lr=lr, lr_model=lr_model,
                       max_epochs=max_epochs, iter_max=max_iterations,
                       n_intervals=n_intervals,
                       seed=seed if comm is None else comm.rank_seed(seed),
                       quiet=quiet or (comm is not None and comm.rank > 0), refine=refine,
                       comm=comm)
    encoder.eval()
    return encoder, result, rows_per_step


def _estimates(mod: Model, pt: pd.DataFrame, values: np.ndarray, structure, encoder, result,
               tensors, types, se: str, se_samples: int, seed: int, comm=None):
    """The parameter table with the estimates, OPG standard errors and standardized
    columns; the vcov and the model matrices at the estimates."""
    free = pt["free"].to_numpy()
    est = values.copy()
    est[free > 0] = mod.expand(result.x)[free[free > 0] - 1]
    vcov = None
    if se == "opg":
        grads = importance(structure, encoder, result.x, tensors, n_samples=se_samples,
                           seed=(seed if comm is None else comm.rank_seed(seed)) + 1,
                           gradients=True)["gradients"]
        J = grads.T @ grads
        vcov = _opg_vcov(mod, J if comm is None else comm.all_sum(J)[0])
    mats = {k: v.cpu().numpy() for k, v in
            mod.matrices(torch.as_tensor(result.x, dtype=torch.float64)).items()}
    columns = {"start": values, **estimate_columns(pt, est, vcov),
               **_standardized(mod, mats, pt, est, types)}
    table = pd.concat([pt, pd.DataFrame(columns, index=pt.index)], axis=1)
    return table, vcov, mats


def _info(result, mod: Model, pt: pd.DataFrame, n: int, n_total: int, *, iw_samples,
          rows_per_step, lr, lr_model, refine, se, se_samples, logl_samples, types, missing,
          device, seed) -> Dict:
    """The fit's ``info``: the run, its options and its warnings."""
    free = pt["free"].to_numpy()
    info = {
        "estimator": "IWAVE", "optimizer": "Adam (AMSGrad)", "iterations": result.iterations,
        "epochs": result.epochs, "converged": result.converged, "nobs": n,
        "nobs_total": n_total, "npar": int(free.max()) if len(free) else 0,
        "neq": int(free.max() - mod.n_free) if len(free) else 0,
        "iw_samples": int(iw_samples), "batch_size": rows_per_step, "lr": lr,
        "lr_model": lr_model,
        "final_loss": result.final_loss, "refine": bool(refine), "seconds": result.seconds,
        "se": "opg" if se == "opg" else "none", "se_samples": se_samples,
        "logl_samples": logl_samples, "item_types": dict(types), "missing": missing,
        "device": str(device), "seed": int(seed), "version": __version__, "warnings": [],
    }
    if not result.converged:
        info["warnings"].append(
            f"IWAVE stopped after {result.iterations} iterations ({result.epochs} epochs) "
            "before the loss stopped improving; raise max_epochs/max_iterations")
    return info


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
        if not (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)):
            raise DataError(f"covariate '{v}' is not numeric (dtype {s.dtype}); convert it, "
                            f"e.g. data['{v}'] = pd.to_numeric(data['{v}'])")
        cols.append(s.to_numpy(dtype=np.float64))
    return np.column_stack(cols)


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


def _fix_variances(pt: pd.DataFrame, names: List[str]) -> pd.DataFrame:
    """Residual variances of items without one (logistic, Poisson) are fixed
    at 1 (lavaan's convention for ordinal items), and free is renumbered."""
    rows = (pt["op"] == "~~") & (pt["lhs"] == pt["rhs"]) & pt["lhs"].isin(names) & (pt["free"] > 0)
    if not rows.any():
        return pt
    pt = pt.copy()
    pt.loc[rows, "free"] = 0
    pt.loc[rows, "ustart"] = 1.0
    free = pt["free"].to_numpy()
    pt["free"] = np.where(free > 0, np.cumsum(free > 0), 0)
    return pt


def _start(mod: Model, pt: pd.DataFrame, coded, keep, X, types, covariates) -> np.ndarray:
    """Start values: the ML heuristics on a covariance matrix of the coded
    data (categorical items standardized), then intercepts and thresholds
    from the margins of each item (one pass over each column)."""
    rows = slice(None) if keep.all() else keep
    D = np.empty((int(keep.sum()), len(mod.ov_names)), order="F")  # columns are contiguous
    margins = {}  # item -> (mean, variance, category shares)
    for j, v in enumerate(mod.ov_names):
        col = X[rows, covariates.index(v)] if v in covariates else coded[v][rows]
        seen = ~np.isnan(col)
        y = col[seen]
        mean, var = float(y.mean()), float(y.var())
        fill = mean
        if v not in covariates:
            shares = np.bincount(y.astype(int)) / len(y) if types[v] in CATEGORICAL else None
            margins[v] = (mean, var, shares)
            if types[v] in CATEGORICAL:
                col, fill = (col - mean) / (math.sqrt(var) if var > 0 else 1.0), 0.0
        D[:, j] = np.where(seen, col, fill)
    centre = D.mean(0)
    S = (D.T @ D) / len(D) - np.outer(centre, centre)
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
                    np.sqrt(1 + latent_var.get(lhs, 0.0) * 3 / math.pi ** 2)
        elif op == "~~" and lhs == rhs:
            values[i] = {"negbinom": 0.5, "lognormal": 0.5 * var}.get(kind, values[i])
    return values


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


def _opg_vcov(mod: Model, J: np.ndarray) -> Optional[np.ndarray]:
    """J^-1 over the reduced parameters, mapped to the table (J = sum_i g_i g_i',
    the outer products of the rows' scores)."""
    w = np.linalg.eigvalsh(J)
    if w[0] <= 1e-10 * max(w[-1], 1e-300):
        return None
    K = mod.reduce_matrix()
    return K @ np.linalg.inv(J) @ K.T


def _standardized(mod: Model, mats, pt, est, types) -> Dict[str, np.ndarray]:
    """std.lv and std.all; a logistic item's latent response has residual
    variance pi^2 / 3, and count items have no standardized solution."""
    theta = mats["theta"].copy()
    for v, kind in types.items():
        j = mod.ov_names.index(v)
        if kind in CATEGORICAL:
            theta[j, j] = math.pi ** 2 / 3
        elif kind in ("poisson", "negbinom"):
            theta[j, j] = np.nan
    A = np.linalg.inv(np.eye(mats["beta"].shape[0]) - mats["beta"])
    sigma = mats["lambda"] @ A @ mats["psi"] @ A.T @ mats["lambda"].T + theta
    m = dict(mats)
    m["theta"] = theta
    try:
        return standardized(mod, m, sigma, pt, est)
    except Exception:  # a standardized solution is a courtesy, never a failure
        return {"std.lv": np.full(len(pt), np.nan), "std.all": np.full(len(pt), np.nan)}


class IWAVEFit(Fit):
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

    def _setup(self, structure, encoder, result, tensors, types, codings, covariates, order,
               npar):
        self.structure, self.encoder, self.result = structure, encoder, result
        self._tensors, self.item_types = tensors, types
        self._codings, self._covariates, self._order = codings, covariates, order
        self._npar = npar
        self._compute_measures = self._iwave_measures
        self._scores = None
        self._logl_rows = None

    @property
    def loss_history(self) -> np.ndarray:
        """Mean loss (negative IW-ELBO per row) of each window of 100 iterations."""
        return np.asarray(self.result.history)

    def _iwave_measures(self) -> Dict[str, float]:
        return self.measures_at(float(self._per_row(self._tensors, scores=False)["logl"].sum()))

    def measures_at(self, logl: float) -> Dict[str, float]:
        """The fit measures of log-likelihood ``logl``."""
        n, k = self.nobs, self._npar
        return {"npar": float(k), "logl": logl, "aic": -2 * logl + 2 * k,
                "bic": -2 * logl + k * math.log(n),
                "bic2": -2 * logl + k * math.log((n + 2) / 24), "ntotal": float(n)}

    def _per_row(self, tensors, scores: bool, seed_offset: int = 0) -> Dict[str, np.ndarray]:
        return importance(self.structure, self.encoder, self.result.x, tensors,
                          n_samples=int(self.info["logl_samples"]),
                          seed=int(self.info.get("seed", 0)) + 2 + seed_offset, scores=scores)

    def _tensors_for(self, data):
        if data is None:
            return self._tensors
        frame = as_frame(data)
        check_columns([str(c) for c in frame.columns], self._order + self._covariates)
        blocks = [np.column_stack([it.code(frame[v], v, self._codings[v])
                                   for v in self._order if self.item_types[v] == it.name])
                  for it in self.structure.items]
        X = _covariates(frame, self._covariates)
        if X is not None and np.isnan(X).any():
            raise DataError("covariates have missing values; drop those rows")
        fitted = self._tensors
        new = make_data(blocks, self.structure.items, X, self.structure.device)
        # Encoder inputs must be standardized as in training.
        new.center, new.scale = fitted.center, fitted.scale
        new.x_center, new.x_scale, new.any_missing = fitted.x_center, fitted.x_scale, \
            fitted.any_missing
        return new

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
        return float(self._per_row(self._tensors_for(data), scores=False)["logl"].sum())

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
        out = self._per_row(self._tensors_for(data), scores=True)
        frame = pd.DataFrame(out["scores"], columns=self.model.lv_names)
        if data is None:
            self._scores = frame
        return frame.copy()

    def scores(self) -> pd.DataFrame:
        """Factor scores of the fitted data (see :meth:`predict`)."""
        return self.predict()

    def implied(self):
        raise TorchfitError("model-implied moments are not defined for IWAVE fits with "
                            "non-normal items; use predict() or log_likelihood()")

    def _header_lines(self) -> List[str]:
        return report.iwave_header(self.info)

    def _fit_lines(self) -> List[str]:
        return report.loglik_block(self._measures)

    def _se_lines(self):
        return [("Standard errors",
                 "Outer product of gradients" if self.info["se"] == "opg" else "None")]
