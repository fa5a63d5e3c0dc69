"""Every option of a fit in one table: its engine name, lavaan's name, type, default and
the estimators that accept it. Python's ``fit()`` checks its options against it, the
bridge hands it to R (``torchfit.bridge.ENGINE_OPTIONS`` and ``option_table()``), and
the messages for an unknown or misplaced option are written from it.

An estimator's own options are the rows that name it in ``estimators``; a new
estimator adds its rows here (and, when it accepts a shared option, its name to
that option's row).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

from .errors import TorchfitError

#: lavaan's estimator names that torchfit fits (``estimator=``)
ML_FAMILY = ("ML", "MLM", "MLR")
#: the least-squares family on thresholds and polychorics (ordered items, as lavaan)
ORDINAL = ("WLSMV", "WLSM", "ULSMV", "ULSM", "WLS", "DWLS", "ULS")
#: the estimators of IRT models (item types, thresholds): IWAVE and marginal ML
IRT = ("IWAVE", "MML")
#: least squares that only continuous data take (the others of the family take both)
CONTINUOUS_ONLY = ("GLS",)
#: lavaan's least squares on the covariances of continuous data (without ordered=)
CONTINUOUS_LS = ("ULS", "GLS", "WLS", "DWLS")
ESTIMATORS = ML_FAMILY + IRT + ORDINAL + CONTINUOUS_ONLY


@dataclass(frozen=True)
class Option:
    """One option: ``name`` (the engine's, snake case), ``lavaan`` (lavaan's name, None
    when lavaan has none), ``type`` (its Python type, as a word), ``default``, the
    ``estimators`` that accept it, and ``role``: "fit" (an argument of ``fit()``),
    "mini-batch" (selects or steers mini-batch ML), "ordered" (the ordered items, of
    IWAVE and the WLS family), or the name of the estimator(s) whose own option it
    is ("WLS": the WLS family's)."""

    name: str
    lavaan: Optional[str]
    type: str
    default: object
    estimators: Tuple[str, ...]
    role: str = "fit"


def _rows(role: str, estimators: Tuple[str, ...], specs) -> Tuple[Option, ...]:
    return tuple(Option(name, lavaan, kind, default, estimators, role)
                 for name, lavaan, kind, default in specs)


#: The table: fit()'s arguments, then the estimators' own options in the order of
#: ``fit_iwave``'s signature (which the messages list); the mini-batch options steer
#: IWAVE's training too. Defaults of None are the estimator's (see its function).
OPTIONS: Tuple[Option, ...] = (
    _rows("fit", ESTIMATORS, [
        ("estimator", "estimator", "str", "default"),
        ("model_type", "model.type", "str", "sem"),
        ("std_lv", "std.lv", "bool", False),
        ("orthogonal", "orthogonal", "bool", False),
        ("fixed_x", "fixed.x", "bool", True),
        ("missing", "missing", "str", "default"),
        ("distributed", None, "bool", None)])
    + _rows("fit", ML_FAMILY + ORDINAL + CONTINUOUS_ONLY + ("MML",), [
        ("iter_max", "iter.max", "int", 10000)])
    + _rows("fit", ESTIMATORS, [
        ("columns", None, "list", None)])
    + _rows("fit", ML_FAMILY + ORDINAL + CONTINUOUS_ONLY, [
        ("meanstructure", "meanstructure", "bool", None),
        ("information", "information", "str", None),
        ("group", "group", "str", None),
        ("group_equal", "group.equal", "list", ()),
        ("group_partial", "group.partial", "list", ())])
    # a fit from sample moments (lavaan's sample.cov, sample.mean, sample.nobs): ML only,
    # the others need the raw data
    + _rows("fit", ("ML",), [
        ("sample_cov", "sample.cov", "matrix", None),
        ("sample_mean", "sample.mean", "vector", None),
        ("sample_nobs", "sample.nobs", "count(s)", None)])
    + _rows("fit", ML_FAMILY, [
        ("std_ov", "std.ov", "bool", False)])
    # the rows one by one (robust SEs and test from their scores): ML and MLR
    + _rows("fit", ("ML", "MLR"), [
        ("cluster", "cluster", "str", None),
        ("sampling_weights", "sampling.weights", "str", None)])
    + _rows("ordered", IRT + ORDINAL, [
        ("ordered", "ordered", "list", None)])
    + _rows("WLS", ORDINAL, [
        ("parameterization", "parameterization", "str", "delta")])
    + _rows("IWAVE", IRT, [
        ("item_types", None, "dict", None)])
    + _rows("IWAVE", ("IWAVE",), [
        ("iw_samples", None, "int", 10)])
    + _rows("mini-batch", ML_FAMILY + ("IWAVE",), [
        ("batch_size", None, "int", None),
        ("lr", None, "float", 0.01)])
    + _rows("IWAVE", ("IWAVE",), [
        ("lr_model", None, "float", None),
        ("hidden", None, "list", (100,)),
        ("cov", None, "str", "full")])
    + _rows("mini-batch", ML_FAMILY + ("IWAVE",), [
        ("max_epochs", None, "int", None)])
    + _rows("IWAVE", ("IWAVE",), [
        ("max_iterations", None, "int", None)])
    + _rows("mini-batch", ML_FAMILY + ("IWAVE",), [
        ("n_intervals", None, "int", None),
        ("seed", None, "int", 0)])
    + _rows("IWAVE", IRT, [
        ("device", None, "str", "cpu")])
    + _rows("mini-batch", ML_FAMILY + IRT, [
        ("quiet", None, "bool", None)])
    + _rows("bootstrap", ML_FAMILY, [
        ("test", "test", "str", "standard"),
        ("bootstrap", "bootstrap", "int", 1000)])
    # the ML family's "standard" or "bootstrap" (bootstrap_options), IWAVE's "opg",
    # MML's "observed"
    + _rows("IWAVE", ML_FAMILY + IRT, [
        ("se", "se", "str", None)])
    + _rows("IWAVE", ("IWAVE",), [
        ("se_samples", None, "int", 40),
        ("se_rows", None, "int", 50_000),
        ("logl_samples", None, "int", 1000),
        ("refine", None, "bool", True),
        ("dreg", None, "bool", True),
        ("final_samples", None, "int", 50),
        ("stream", None, "bool", False),
        ("stream_buffer", None, "int", 4)])
    + _rows("MML", ("MML",), [
        ("quad_points", None, "int", None),
        ("quadrature", None, "str", "fixed"),
        ("max_factors", None, "int", 3)])
)

BY_NAME: Dict[str, Option] = {o.name: o for o in OPTIONS}


def names(estimator: Optional[str] = None, role: Optional[str] = None) -> Tuple[str, ...]:
    """The options' names, in the table's order: all of them, those ``estimator``
    accepts, and/or those of one ``role``.

    Examples
    --------
    >>> names("ML", role="mini-batch")
    ('batch_size', 'lr', 'max_epochs', 'n_intervals', 'seed', 'quiet')
    >>> "iter_max" in names("IWAVE")
    False
    """
    estimator = None if estimator is None else estimator.upper()
    return tuple(o.name for o in OPTIONS
                 if (estimator is None or estimator in o.estimators)
                 and (role is None or o.role == role))


def own_names(estimator: str) -> Tuple[str, ...]:
    """The options ``estimator`` accepts beyond ``fit()``'s named arguments (its
    ``**options``).

    Examples
    --------
    >>> own_names("ML")
    ('batch_size', 'lr', 'max_epochs', 'n_intervals', 'seed', 'quiet', 'test', 'bootstrap', 'se')
    """
    return tuple(n for n in names(estimator) if BY_NAME[n].role != "fit")


def integer_names() -> Tuple[str, ...]:
    """The options that are counts (R sends every number as a double).

    Examples
    --------
    >>> integer_names()[:3]
    ('iter_max', 'iw_samples', 'batch_size')
    """
    return tuple(o.name for o in OPTIONS if o.type == "int")


def check_estimator(estimator: str) -> str:
    """``estimator`` in upper case, if torchfit fits it.

    Examples
    --------
    >>> check_estimator("mlr")
    'MLR'
    >>> try:
    ...     check_estimator("PML")
    ... except TorchfitError as e:
    ...     print(str(e)[:60])
    estimator 'PML' is not available; use one of ML, MLM, MLR, I
    """
    if str(estimator).upper() not in ESTIMATORS:
        raise TorchfitError(f"estimator {estimator!r} is not available; use one of "
                            f"{', '.join(ESTIMATORS)}")
    return str(estimator).upper()


def r_name(name: str) -> str:
    """An option's name as R's ``torchfit()`` takes it: lavaan's name where it has one,
    else the engine's with "." for "_".

    Examples
    --------
    >>> r_name("iter_max"), r_name("iw_samples"), r_name("no_such")
    ('iter.max', 'iw.samples', 'no.such')
    """
    option = BY_NAME.get(name)
    return option.lavaan if option is not None and option.lavaan else name.replace("_", ".")


def check_extra(estimator: str, given: Sequence[str]) -> None:
    """Refuse the options in ``given`` (the keyword options beyond ``fit()``'s named
    arguments) that ``estimator`` does not accept: a misplaced one (another
    estimator's) is named as such, an unknown one with every option the estimator
    takes (``fit()``'s named ones too: a mistyped ``missing`` is as likely as a
    mistyped ``bootstrap``).

    Examples
    --------
    >>> check_extra("ML", ["batch_size"])
    >>> check_extra("ML", ["hidden"])
    Traceback (most recent call last):
    ...
    TypeError: option(s) hidden are for estimator 'IWAVE', not 'ML'
    """
    message = extra_message(estimator, given)
    if message:
        raise TypeError(message)


def extra_message(estimator: str, given: Sequence[str], spell=str,
                  known: Optional[Sequence[str]] = None, also: Sequence[str] = (),
                  note: str = "") -> Optional[str]:
    """What is wrong with the options ``given`` (engine names, or names the table does
    not have) for ``estimator``, or None: :func:`check_extra`'s message, the options
    written by ``spell`` (R's caller: :func:`r_name`). An unknown option is listed
    with ``known`` (the estimator's options by default), then ``note``; the close
    names are sought among them and ``also`` (names the caller takes beside the
    table's, e.g. lavaan's options).

    Examples
    --------
    >>> extra_message("ML", ["iw_samples"], spell=r_name)
    "option(s) iw.samples are for estimator 'IWAVE', not 'ML'"
    >>> extra_message("MML", ["quad_pints"], spell=r_name, known=["quad_points"])
    "unknown option(s) quad.pints for estimator 'MML'; known: quad.points; did you mean \
quad.points?"
    """
    estimator = estimator.upper()
    own = own_names(estimator)
    wrong = [k for k in given if k not in own]
    if not wrong:
        return None
    misplaced = [k for k in wrong if k in BY_NAME]
    if misplaced:
        return _misplaced(misplaced, estimator, spell)
    listed = [spell(k) for k in (names(estimator) if known is None else known)]
    close = [m for k in wrong for m in difflib.get_close_matches(spell(k), listed + list(also), 1)]
    return (f"unknown option(s) {', '.join(spell(k) for k in wrong)} for estimator "
            f"{estimator!r}; known: {', '.join(listed)}{note}"
            + (f"; did you mean {', '.join(close)}?" if close else ""))


def _misplaced(given: Sequence[str], estimator: str, spell=str) -> str:
    where = sorted({e for k in given for e in BY_NAME[k].estimators})
    return (f"option(s) {', '.join(spell(k) for k in given)} are for estimator "
            f"{' or '.join(repr(e) for e in where)}, not {estimator!r}")


def check_named(estimator: str, values: Dict[str, object]) -> None:
    """Refuse ``fit()``'s named arguments in ``values`` that are set (not None, not
    empty, not the table's default) for an estimator that does not use them, so
    that none is silently ignored.

    Examples
    --------
    >>> check_named("ML", {"iter_max": 50, "group": "school"})
    >>> check_named("IWAVE", {"iter_max": 10000, "information": None})
    >>> check_named("IWAVE", {"iter_max": 50})
    Traceback (most recent call last):
    ...
    TypeError: option(s) iter_max are for estimator 'DWLS' or 'GLS' or 'ML' or 'MLM' or 'MLR' \
or 'MML' or 'ULS' or 'ULSM' or 'ULSMV' or 'WLS' or 'WLSM' or 'WLSMV', not 'IWAVE'
    """
    estimator = estimator.upper()
    unused = [k for k, v in values.items()
              if estimator not in BY_NAME[k].estimators and v is not None
              and not (isinstance(v, (list, tuple, str)) and len(v) == 0)
              and not (v is BY_NAME[k].default or v == BY_NAME[k].default)]
    if unused:
        raise TypeError(_misplaced(unused, estimator))


def option_table() -> Dict[str, list]:
    """The table as columns (name, lavaan, r: the name R's torchfit() takes, type,
    default, estimators, role), for R.

    Examples
    --------
    >>> table = option_table()
    >>> table["lavaan"][table["name"].index("std_lv")], table["r"][table["name"].index("lr")]
    ('std.lv', 'lr')
    """
    return {"name": [o.name for o in OPTIONS], "lavaan": [o.lavaan for o in OPTIONS],
            "r": [r_name(o.name) for o in OPTIONS],
            "type": [o.type for o in OPTIONS], "default": [o.default for o in OPTIONS],
            "estimators": [list(o.estimators) for o in OPTIONS],
            "role": [o.role for o in OPTIONS]}


@dataclass
class FitOptions:
    """The options of one fit, resolved once (by ``torchfit.api.fit``'s first step)
    and read by every later stage: the estimator, how missing values are treated
    (``fiml``: full-information ML), the mean structure, lavaan's ``se``/``test``/
    ``information`` (``robust``, a :class:`torchfit.inference.robust_options.Options`),
    the model-building options, and the estimator's own options (``own``)."""

    estimator: str
    missing: str
    fiml: bool
    meanstructure: Optional[bool]
    information: Optional[str]
    iter_max: int
    group: Optional[str]
    columns: Optional[Sequence[str]]
    model: Dict  # model_type, std_lv, orthogonal, fixed_x, group_equal, group_partial
    own: Dict  # the estimator's own options (mini-batch ML's, IWAVE's)
    robust: object = None
    bootstrap: Optional[Dict] = None  # se/test = "bootstrap": see bootstrap_options()
    cluster: Optional[str] = None  # lavaan's single-level cluster= column
    sampling_weights: Optional[str] = None  # lavaan's sampling.weights= column
    std_ov: bool = False  # standardize the observed variables first (lavaan's std.ov)

    @property
    def minibatch(self) -> bool:
        """ML by Adam on mini-batches of rows (``batch_size=`` with estimator ML)."""
        return self.estimator in ML_FAMILY and bool(self.own)


def bootstrap_options(estimator: str, own: Dict) -> Optional[Dict]:
    """lavaan's ``se = "bootstrap"``, ``bootstrap = R`` and ``test = "bootstrap"``
    (Bollen-Stine), with ``seed``, taken out of ``own`` (an ML-family fit's extra
    options); None without a bootstrap.

    Examples
    --------
    >>> own = {"se": "bootstrap", "bootstrap": 200, "seed": 1}
    >>> bootstrap_options("ML", own), own
    ({'replicates': 200, 'seed': 1, 'se': True, 'bollen_stine': False}, {})
    """
    se, test = own.pop("se", "standard"), own.pop("test", "standard")
    if se not in ("standard", "bootstrap"):
        raise TorchfitError(f"se = {se!r} is not available with estimator={estimator!r}; use "
                            "'standard' or 'bootstrap' (robust standard errors: "
                            "estimator='MLM' or 'MLR')")
    if test not in ("standard", "bootstrap", "bollen.stine"):
        raise TorchfitError(f"test = {test!r} is not available; use 'standard' or 'bootstrap' "
                            "(Bollen-Stine; scaled tests: estimator='MLM' or 'MLR')")
    if se == "standard" and test == "standard":
        if "bootstrap" in own:
            raise TorchfitError("bootstrap = R sets the number of draws of se='bootstrap' or "
                                "test='bootstrap'; give one of them too")
        return None
    if estimator.upper() != "ML":
        raise TorchfitError(f"se/test = 'bootstrap' works with estimator='ML', not "
                            f"{estimator!r}")
    replicates = own.pop("bootstrap", 1000)
    if not isinstance(replicates, int) or replicates < 2:
        raise TorchfitError(f"bootstrap = {replicates!r}: the number of bootstrap draws must "
                            "be an integer >= 2 (lavaan's default is 1000)")
    return {"replicates": replicates, "seed": own.pop("seed", None), "se": se == "bootstrap",
            "bollen_stine": test != "standard"}
