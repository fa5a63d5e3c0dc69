"""The lavaan parameter table: the one contract between syntax, R and estimators.

``build`` turns parsed formula rows into the table lavaan's ``lavaanify()``
produces for ``sem()``/``cfa()``: user rows first, then the default rows
(residual variances, covariances of exogenous latent variables, covariances of
endogenous variables, the block of exogenous covariates), then equality rows
for labels that are used more than once.  ``variable_names`` classifies the
variables of a table the way lavaan does, for the builder and the estimators.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from ..errors import ModelSyntaxError, TorchfitError
from .syntax import FormulaRow, parse_formulas

COLUMNS = ["id", "lhs", "op", "rhs", "user", "block", "group", "free", "ustart",
           "exo", "label", "plabel"]
CONSTRAINT_OPS = ("==", "<", ">", ":=")


def _unique(items: Iterable[str]) -> List[str]:
    return list(dict.fromkeys(items))


@dataclass(frozen=True)
class VariableNames:
    """lavaan's classification of the variables of one block.

    ``ov`` (observed, in lavaan's order), ``lv`` (latent), ``ov_ind``
    (indicators), ``ov_x`` (exogenous covariates), ``ov_nox``, ``lv_x``
    (exogenous latent), ``ov_y``/``lv_y`` (dependent variables that predict
    nothing, whose residuals covary by default).
    """

    ov: List[str]
    lv: List[str]
    ov_ind: List[str]
    ov_x: List[str]
    ov_nox: List[str]
    lv_x: List[str]
    ov_y: List[str]
    lv_y: List[str]


def variable_names(lhs: Sequence[str], op: Sequence[str], rhs: Sequence[str],
                   user: Optional[Sequence[int]] = None,
                   exo: Optional[Sequence[int]] = None) -> VariableNames:
    """Classify the variables named in parameter-table rows, as lavaan does."""
    rows = list(zip(lhs, op, rhs))
    user = list(user) if user is not None else [1] * len(rows)
    exo = list(exo) if exo is not None else [0] * len(rows)
    lv = _unique(l for l, o, _ in rows if o in ("=~", "<~"))
    eqs_y = _unique(l for l, o, _ in rows if o == "~")
    eqs_x = _unique(r for _, o, r in rows if o in ("~", "<~"))
    v_ind = _unique(r for _, o, r in rows if o == "=~")
    ov_ind = [v for v in v_ind if v not in lv]
    ov_y_all = [v for v in eqs_y if v not in lv and v not in ov_ind]
    ov_x_raw = [v for v in eqs_x if v not in lv and v not in ov_ind and v not in ov_y_all]
    ov_cov = [l for l, o, _ in rows if o == "~~" and l not in lv] + \
             [r for _, o, r in rows if o == "~~" and r not in lv]
    ov_int = [l for l, o, _ in rows if o in ("~1", "|") and l not in lv]
    base = ov_ind + ov_y_all + ov_x_raw
    ov = base + [v for v in _unique(ov_cov + ov_int) if v not in base]
    # A covariate with a user-specified (co)variance or intercept is random,
    # not fixed (lavaan warns and does the same).
    touched = {l for (l, o, r), u in zip(rows, user) if u == 1 and o in ("~~", "~1")} | \
              {r for (l, o, r), u in zip(rows, user) if u == 1 and o == "~~"}
    ov_x = [v for v in ov_x_raw if v not in touched]
    exo_vars = _unique([l for (l, o, r), e in zip(rows, exo) if e == 1 and o in ("~~", "~1")]
                       + [r for (l, o, r), e in zip(rows, exo) if e == 1 and o == "~~"])
    ov_x += [v for v in exo_vars if v not in ov_x]
    lv_x = [v for v in lv if v not in v_ind and v not in eqs_y]
    pure_y = [v for v in eqs_y if v not in v_ind and v not in eqs_x]
    return VariableNames(
        ov=ov, lv=lv, ov_ind=ov_ind, ov_x=ov_x,
        ov_nox=[v for v in ov if v not in ov_x], lv_x=lv_x,
        ov_y=[v for v in ov if v in pure_y and v not in lv],
        lv_y=[v for v in lv if v in pure_y],
    )


GROUP_EQUAL = {
    "loadings": lambda o, l, r, nm: o == "=~",
    "intercepts": lambda o, l, r, nm: o == "~1" and l in nm.ov,
    "means": lambda o, l, r, nm: o == "~1" and l in nm.lv,
    "thresholds": lambda o, l, r, nm: o == "|",
    "regressions": lambda o, l, r, nm: o == "~",
    "residuals": lambda o, l, r, nm: o == "~~" and l == r and l in nm.ov,
    "residual.covariances": lambda o, l, r, nm: o == "~~" and l != r and l in nm.ov,
    "lv.variances": lambda o, l, r, nm: o == "~~" and l == r and l in nm.lv,
    "lv.covariances": lambda o, l, r, nm: o == "~~" and l != r and l in nm.lv,
}


def parse(model: str, **options):
    """Parse lavaan syntax into lavaan's parameter table (lavaan's ``lavaanify``):
    ``syntax.parse_formulas`` then ``build``.

    Parameters
    ----------
    model : str
        lavaan model syntax.
    **options
        lavaan's options in snake case (``model_type``, ``std_lv``,
        ``orthogonal``, ``fixed_x``, ...); see :func:`build`.

    Returns
    -------
    pandas.DataFrame
        Columns ``id lhs op rhs user block group free ustart exo label plabel``.

    Examples
    --------
    >>> pt = parse("visual =~ x1 + x2 + x3")
    >>> pt.loc[0, ["lhs", "op", "rhs", "free", "ustart"]].tolist()
    ['visual', '=~', 'x1', 0, 1.0]
    """
    return build(parse_formulas(model), **options)


def build(formulas: List[FormulaRow], model_type: str = "sem", std_lv: bool = False,
          orthogonal: bool = False, fixed_x: bool = True,
          meanstructure: Optional[bool] = None, int_ov_free: bool = True,
          int_lv_free: bool = False, auto_fix_first: bool = True,
          auto_fix_single: bool = True, auto_var: bool = True,
          auto_cov_lv_x: bool = True, auto_cov_y: bool = True,
          ordered: Optional[Mapping[str, int]] = None, ngroups: int = 1,
          group_equal: Sequence[str] = (), group_partial: Sequence[str] = ()) -> pd.DataFrame:
    """Build lavaan's parameter table from formula rows with sem()/cfa() defaults.

    Parameters
    ----------
    formulas : list of FormulaRow
        From :func:`torchfit.model.syntax.parse_formulas`.
    model_type : {"sem", "cfa", "growth"}
        "sem" and "cfa" use the same defaults, as in lavaan; "growth" adds
        the mean structure with observed intercepts fixed at 0 and latent
        means free.
    std_lv : bool
        Identify latent variables by fixing their (residual) variances to 1
        instead of fixing their first loading.
    orthogonal : bool
        Fix the covariances of exogenous latent variables to zero.
    fixed_x : bool
        Treat exogenous observed covariates as fixed (their moments are
        taken from the sample, ``exo = 1``).
    meanstructure : bool, optional
        Add intercepts; by default only when the syntax has ``~ 1`` or
        ``ordered`` is given.
    ordered : mapping of str to int, optional
        Ordinal observed variables and their number of thresholds (categories
        minus one), as lavaan's ``ordered=``: each gets the rows ``y | t1``,
        ``y | t2``, ... (free), a residual variance and a scaling row
        ``y ~*~ y`` fixed at 1 and an intercept fixed at 0; the mean
        structure is switched on and latent means are fixed at 0.
    ngroups : int
        Number of groups: every group gets its own rows (block = group = g);
        ``c(a, b)*x`` gives per-group modifiers.  Several groups switch the
        mean structure on, as in lavaan.
    group_equal : str or sequence of str
        Parameter types held equal across groups: "loadings", "intercepts",
        "means", "thresholds", "regressions", "residuals",
        "residual.covariances", "lv.variances", "lv.covariances"; one type
        can be a plain string.  With equal intercepts the latent means are
        free in all groups but the first.
    group_partial : str or sequence of str
        Parameters exempt from ``group_equal``, written ``lhs op rhs`` as in
        the table, e.g. ``"visual =~ x2"`` or ``"x3 ~ 1"``; whitespace does
        not matter (lavaan removes it).  An entry that names no parameter of
        the model is an error.

    Returns
    -------
    pandas.DataFrame
        The parameter table with lavaan's columns.

    Examples
    --------
    >>> from torchfit.model.syntax import parse_formulas
    >>> pt = build(parse_formulas("f =~ x1 + x2 + x3"), std_lv=True)
    >>> pt[["lhs", "op", "rhs", "free"]].values.tolist()[-1]
    ['f', '~~', 'f', 0]
    """
    if model_type not in ("sem", "cfa", "growth"):
        raise TorchfitError(f"model_type {model_type!r} is not supported; use 'sem', 'cfa' "
                            "or 'growth'")
    if model_type == "growth":  # lavaan's growth(): latent means, observed intercepts 0
        meanstructure, int_ov_free, int_lv_free = True, False, True
    model_rows = [f for f in formulas if f.op not in CONSTRAINT_OPS]
    ordered = dict(ordered or {})
    if meanstructure is None:
        meanstructure = ngroups > 1 or bool(ordered) or any(f.op == "~1" for f in model_rows)
    group_equal = option_strings(group_equal, "group_equal")
    group_partial = option_strings(group_partial, "group_partial")
    unknown_types = [t for t in group_equal if t not in GROUP_EQUAL]
    if unknown_types:
        raise TorchfitError(f"group_equal {', '.join(map(repr, unknown_types))} is not known; "
                            f"use any of {', '.join(GROUP_EQUAL)}")
    _check_names(model_rows)
    names = variable_names([f.lhs for f in model_rows], [f.op for f in model_rows],
                           [f.rhs for f in model_rows])
    # lavaan writes a covariance with its variables in model order (x1 ~~ y)
    rank = {v: k for k, v in enumerate(names.ov + names.lv)}
    model_rows = [replace(f, lhs=f.rhs, rhs=f.lhs)
                  if f.op == "~~" and rank[f.lhs] > rank[f.rhs] else f for f in model_rows]
    ov_x = names.ov_x
    unknown = [v for v in ordered if v not in names.ov]
    if unknown:
        raise TorchfitError(f"ordered variable(s) {', '.join(unknown)} are not observed "
                            "variables of the model; remove them from ordered=")
    # Default rows, in lavaan's order; a user row of the same element wins.
    default = [(v, "|", f"t{k}") for v in names.ov if v in ordered
               for k in range(1, int(ordered[v]) + 1)]
    default += [(v, "~~", v) for v in names.ov_nox + names.lv]
    if auto_cov_lv_x:
        default += [(a, "~~", b) for a, b in combinations(names.lv_x, 2)]
    if auto_cov_y:
        default += [(a, "~~", b) for a, b in combinations(names.lv_y + names.ov_y, 2)]
    default += [(ov_x[j], "~~", ov_x[i]) for j in range(len(ov_x)) for i in range(j, len(ov_x))]
    # thresholds in the syntax make a variable ordinal too, as in lavaan
    ordinal = set(ordered) | {f.lhs for f in model_rows if f.op == "|"}
    default += [(v, "~*~", v) for v in names.ov if v in ordinal]
    if meanstructure:
        default += [(v, "~1", "") for v in names.ov + names.lv]
    user_keys = set()
    for f in model_rows:
        user_keys.add((f.lhs, f.op, f.rhs))
        if f.op == "~~":
            user_keys.add((f.rhs, f.op, f.lhs))
    default = [d for d in default if d not in user_keys]
    settings = dict(std_lv=std_lv, orthogonal=orthogonal, fixed_x=fixed_x,
                    meanstructure=meanstructure, int_ov_free=int_ov_free,
                    int_lv_free=int_lv_free, auto_fix_first=auto_fix_first,
                    auto_fix_single=auto_fix_single, auto_var=auto_var, ordered=ordered,
                    ordinal=ordinal)
    parts = [_group_rows([f.for_group(g, ngroups) for f in model_rows], default, names,
                         **settings) for g in range(ngroups)]
    # plain arrays until the end: one DataFrame built once is much cheaper
    cols = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    cols["group"] = np.repeat(np.arange(1, ngroups + 1), [len(p["lhs"]) for p in parts])
    if ngroups > 1:
        _equal_across_groups(cols, names, group_equal, group_partial)
    n = len(cols["lhs"])
    free = cols["free"] > 0
    label = cols["label"].astype(object)
    for i in np.flatnonzero(cols["equal_to"] >= 0):
        label[i] = label[i] or f".p{cols['equal_to'][i] + 1}."
    table = pd.DataFrame({
        "id": np.arange(1, n + 1), "lhs": cols["lhs"], "op": cols["op"], "rhs": cols["rhs"],
        "user": cols["user"], "block": cols["group"], "group": cols["group"],
        "free": np.where(free, np.cumsum(free), 0), "ustart": cols["ustart"],
        "exo": cols["exo"], "label": label, "plabel": [f".p{i}." for i in range(1, n + 1)],
    })
    return append_constraints(table, [f for f in formulas if f.op in CONSTRAINT_OPS])


# C901: lavaan's defaults, one rule after another (complexity 31): to split (issue 11)
def _group_rows(model_rows: List[FormulaRow], default: List[Tuple[str, str, str]],
                names: VariableNames, std_lv: bool, orthogonal: bool, fixed_x: bool,
                meanstructure: bool, int_ov_free: bool, int_lv_free: bool,
                auto_fix_first: bool, auto_fix_single: bool, auto_var: bool,
                ordered: Mapping[str, int], ordinal: set) -> dict:
    """The rows of one group: the user's, then the defaults, with free/fixed
    status, start values and labels as lavaan's lavaanify() sets them (in its
    order: scales, default fixings, exogenous covariates, ordinal items, then the
    user's modifiers, which override all)."""
    rows = _Rows(model_rows, default)
    _fix_scales(rows, names, std_lv, auto_var, auto_fix_first, auto_fix_single)
    _fix_defaults(rows, names, orthogonal, meanstructure, int_ov_free, int_lv_free)
    if fixed_x:
        _fix_exogenous(rows, names.ov_x, bool(ordered))
    _fix_ordinal(rows, ordinal)
    _apply_modifiers(rows, model_rows)
    return rows.columns()


class _Rows:
    """One group's rows being built: the user's (the first ``n_user``), then the
    defaults."""

    def __init__(self, model_rows: List[FormulaRow], default: List[Tuple[str, str, str]]):
        self.n_user = len(model_rows)
        self.lhs = [f.lhs for f in model_rows] + [d[0] for d in default]
        self.op = [f.op for f in model_rows] + [d[1] for d in default]
        self.rhs = [f.rhs for f in model_rows] + [d[2] for d in default]
        n = len(self.lhs)
        self.user = [1] * self.n_user + [0] * len(default)
        self.free = np.ones(n, dtype=int)
        self.ustart = np.full(n, np.nan)
        self.exo = np.zeros(n, dtype=int)
        self.label = [""] * n
        self.is_var = [o == "~~" and l == r for l, o, r in zip(self.lhs, self.op, self.rhs)]

    def fix(self, i: int, value: float) -> None:
        self.free[i], self.ustart[i] = 0, value

    @property
    def defaults(self) -> range:
        return range(self.n_user, len(self.lhs))

    def columns(self) -> dict:
        return {"lhs": self.lhs, "op": self.op, "rhs": self.rhs, "user": self.user,
                "free": self.free, "ustart": self.ustart, "exo": self.exo,
                "label": self.label, "equal_to": np.full(len(self.lhs), -1)}


def _fix_scales(rows: _Rows, names: VariableNames, std_lv: bool, auto_var: bool,
                auto_fix_first: bool, auto_fix_single: bool) -> None:
    """The latent variables' scales (unit variance or first loading) and the
    variances lavaan fixes."""
    if not auto_var:
        for i in rows.defaults:
            if rows.is_var[i]:
                rows.fix(i, 0.0)
    if std_lv:
        for i, lhs in enumerate(rows.lhs):
            if rows.is_var[i] and lhs in names.lv:
                rows.fix(i, 1.0)
    if auto_fix_first and not std_lv:
        seen = set()
        for i, (lhs, op) in enumerate(zip(rows.lhs, rows.op)):
            if op == "=~" and lhs not in seen:
                seen.add(lhs)
                rows.fix(i, 1.0)
    if auto_var and auto_fix_single:
        _fix_single_indicators(rows.lhs, rows.op, rows.rhs, rows.user, rows.is_var, rows.fix)


def _fix_defaults(rows: _Rows, names: VariableNames, orthogonal: bool, meanstructure: bool,
                  int_ov_free: bool, int_lv_free: bool) -> None:
    """Default rows fixed to 0: latent covariances (``orthogonal``) and the
    intercepts lavaan does not free."""
    for i in rows.defaults:
        lhs, op, rhs = rows.lhs[i], rows.op[i], rows.rhs[i]
        if orthogonal and op == "~~" and lhs != rhs and lhs in names.lv and rhs in names.lv:
            rows.fix(i, 0.0)
        if meanstructure and op == "~1" and ((lhs in names.ov and not int_ov_free) or
                                             (lhs in names.lv and not int_lv_free)):
            rows.fix(i, 0.0)


def _fix_exogenous(rows: _Rows, ov_x, conditional: bool) -> None:
    """fixed.x: the covariates' (co)variances and means are fixed at their sample
    values (exo); with ordered items (lavaan's conditional.x) the regressions on
    them are exo too."""
    for i in rows.defaults:
        lhs, op, rhs = rows.lhs[i], rows.op[i], rows.rhs[i]
        if (op == "~~" and lhs in ov_x and rhs in ov_x) or (op == "~1" and lhs in ov_x):
            rows.free[i], rows.ustart[i], rows.exo[i] = 0, np.nan, 1
    if conditional:
        for i, (op, rhs) in enumerate(zip(rows.op, rows.rhs)):
            if op == "~" and rhs in ov_x:
                rows.exo[i] = 1


def _fix_ordinal(rows: _Rows, ordinal: set) -> None:
    """Ordinal variables: the scale of the latent response is fixed (delta
    parameterization), and thresholds take the place of the intercept."""
    for i in rows.defaults:
        lhs, op, rhs = rows.lhs[i], rows.op[i], rows.rhs[i]
        if lhs in ordinal and ((op == "~~" and rhs == lhs) or op == "~*~"):
            rows.fix(i, 1.0)
        elif lhs in ordinal and op == "~1":
            rows.fix(i, 0.0)


def _apply_modifiers(rows: _Rows, model_rows: List[FormulaRow]) -> None:
    """The user's modifiers come last and override the defaults."""
    for i, f in enumerate(model_rows):
        if f.fixed is not None:
            rows.fix(i, f.fixed)
        if f.start is not None:
            rows.ustart[i] = f.start
        if f.free_na:
            rows.free[i], rows.ustart[i] = 1, np.nan
        rows.label[i] = f.label


def option_strings(value, option: str) -> List[str]:
    """An option that takes one or several strings (lavaan's ``group.equal``,
    ``group.partial``) as a list: a plain string is one entry, not a sequence
    of letters; None and empty strings are no entry.

    Examples
    --------
    >>> option_strings("loadings", "group_equal")
    ['loadings']
    >>> option_strings(("loadings", "intercepts"), "group_equal")
    ['loadings', 'intercepts']
    """
    if value is None:
        return []
    values = [value] if isinstance(value, str) else value
    try:
        values = list(values)
    except TypeError:
        raise TorchfitError(f"{option} must be a string or a list of strings, not "
                            f"{type(value).__name__}") from None
    wrong = [v for v in values if not isinstance(v, str)]
    if wrong:
        raise TorchfitError(f"{option} must be a string or a list of strings; {wrong[0]!r} "
                            f"is a {type(wrong[0]).__name__}")
    return [v for v in values if v.strip()]


def _without_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _check_partial(group_partial: Sequence[str], rows: Sequence[Tuple[str, str, str]]) -> None:
    """Every ``group_partial`` entry must name a row of the table (lavaan
    would ignore it silently and fit another model)."""
    shown = {f"{l}{o}{r}": f"{l} ~ 1" if o == "~1" else f"{l} {o} {r}" for l, o, r in rows}
    for entry in group_partial:
        key = _without_space(entry)
        if key in shown:
            continue
        parts = key.split("~~")
        if len(parts) == 2 and f"{parts[1]}~~{parts[0]}" in shown:
            hint = f" (did you mean '{parts[1]} ~~ {parts[0]}'? the table writes this " \
                   "covariance in that order)"
        else:
            close = difflib.get_close_matches(key, sorted(shown), n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(repr(shown[c]) for c in close)}?)" if close else ""
        raise TorchfitError(f"group_partial entry {entry!r} names no parameter of the model"
                            f"{hint}; write each entry as lhs op rhs of a row of the "
                            "parameter table, e.g. 'visual =~ x2' or 'x3 ~ 1', or remove it")


def _equal_across_groups(cols: Dict[str, np.ndarray], names: VariableNames,
                         group_equal: Sequence[str], group_partial: Sequence[str]) -> None:
    """lavaan's group.equal: the free parameters of the chosen types are tied
    to their group-1 twins (``equal_to`` holds the twin's row); with equal
    intercepts (or thresholds) but free means, latent means become free
    beyond group 1, and with equal thresholds so do the scale factors
    (``~*~``) of ordinal variables (lavaan's delta parameterization)."""
    lhs, op, rhs, group, user = (cols[k] for k in ("lhs", "op", "rhs", "group", "user"))
    keys = [f"{l}{o}{r}" for l, o, r in zip(lhs, op, rhs)]
    _check_partial(group_partial, list(zip(lhs, op, rhs)))
    partial = {_without_space(p) for p in group_partial}
    free, equal_to, ustart = cols["free"], cols["equal_to"], cols["ustart"]
    first = {(l, o, r): i for i, (l, o, r, g) in enumerate(zip(lhs, op, rhs, group)) if g == 1}
    types = [GROUP_EQUAL[t] for t in group_equal]
    for i in range(len(lhs)):
        if group[i] == 1:
            continue
        levels = "intercepts" in group_equal or "thresholds" in group_equal
        if levels and "means" not in group_equal and op[i] == "~1" \
                and lhs[i] in names.lv and user[i] == 0:
            free[i], ustart[i] = 1, np.nan
        if "thresholds" in group_equal and op[i] == "~*~" and user[i] == 0:
            free[i], ustart[i] = 1, np.nan
        twin = first.get((lhs[i], op[i], rhs[i]))
        if twin is None or not free[i] or not free[twin] or keys[i] in partial:
            continue
        if any(t(op[i], lhs[i], rhs[i], names) for t in types):
            equal_to[i], equal_to[twin] = twin, twin


def _check_names(rows: List[FormulaRow]) -> None:
    """Refuse names lavaan would refuse, pointing at the formula."""
    lv = {f.lhs for f in rows if f.op == "=~"}
    for f in rows:
        if f.op == "=~" and f.rhs == f.lhs:
            raise ModelSyntaxError(f"latent variable '{f.lhs}' cannot be its own indicator",
                                   f.line, f.column, f.text)
        if f.op == "|" and f.lhs in lv:
            raise ModelSyntaxError(f"thresholds are for observed variables, but '{f.lhs}' is "
                                   "latent", f.line, f.column, f.text)


def _fix_single_indicators(lhs, op, rhs, user, is_var, fix) -> None:
    """Fix to 0 the residual variance of the only indicator of a latent variable."""
    mm = [i for i, o in enumerate(op) if o == "=~"]
    counts = {}
    for i in mm:
        counts[lhs[i]] = counts.get(lhs[i], 0) + 1
    rhs_mm = [rhs[i] for i in mm]
    single = {rhs[i] for i in mm if counts[lhs[i]] == 1 and rhs_mm.count(rhs[i]) == 1}
    for i in range(len(lhs)):
        if is_var[i] and user[i] == 0 and lhs[i] in single:
            fix(i, 0.0)


def append_constraints(table: pd.DataFrame, constraints: List[FormulaRow]) -> pd.DataFrame:
    """Add the user's ``==``/``<``/``>``/``:=`` rows and one ``==`` row for each
    repeated use of a label, as lavaan does (``.p2. == .p5.``)."""
    uses = {}  # label -> plabels of its free parameters, label by label as lavaan
    for lab, plab, fr in zip(table["label"], table["plabel"], table["free"]):
        if lab and fr > 0:
            uses.setdefault(lab, []).append(plab)
    extra = [(plabs[0], "==", other, 2) for plabs in uses.values() for other in plabs[1:]]
    extra += [(f.lhs, f.op, f.rhs, 1) for f in constraints]
    if not extra:
        return table
    start = len(table) + 1
    rows = pd.DataFrame({
        "id": np.arange(start, start + len(extra)),
        "lhs": [e[0] for e in extra], "op": [e[1] for e in extra],
        "rhs": [e[2] for e in extra], "user": [e[3] for e in extra],
        "block": 0, "group": 0, "free": 0, "ustart": np.nan, "exo": 0,
        "label": [e[0] if e[1] == ":=" else "" for e in extra], "plabel": "",
    })
    return pd.concat([table, rows], ignore_index=True)


def add_category_scores(table: pd.DataFrame, scores: Mapping[str, int]) -> pd.DataFrame:
    """Append the category-score rows ``y | s1``, ``y | s2``, ... (free) of
    nominal items that the table lacks, after all other rows so that no
    existing row changes its id, plabel or free number.

    ``scores`` maps an item to its number of free scores (categories - 2).
    Rows the user wrote (e.g. ``y | 1*s1``) are kept as they are.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> pt = add_category_scores(parse("f =~ y1 + y2 + y3"), {"y1": 2})
    >>> pt[["lhs", "op", "rhs", "free"]].tail(2).values.tolist()
    [['y1', '|', 's1', 7], ['y1', '|', 's2', 8]]
    """
    have = set(zip(table["lhs"], table["op"], table["rhs"], table["block"]))
    blocks = [b for b in dict.fromkeys(table["block"]) if b > 0]
    new = [(v, f"s{k}", b, g) for b in blocks
           for g in [int(table.loc[table["block"] == b, "group"].iloc[0])]
           for v, n in scores.items() for k in range(1, int(n) + 1)
           if (v, "|", f"s{k}", b) not in have]
    if not new:
        return table
    start, free0 = int(table["id"].max()) + 1, int(table["free"].max())
    plabels = [p for p in table["plabel"] if isinstance(p, str) and p.startswith(".p")]
    p0 = max([int(p[2:-1]) for p in plabels if p[2:-1].isdigit()] or [len(table)]) + 1
    rows = pd.DataFrame({
        "id": np.arange(start, start + len(new)), "lhs": [r[0] for r in new], "op": "|",
        "rhs": [r[1] for r in new], "user": 0, "block": [r[2] for r in new],
        "group": [r[3] for r in new], "free": np.arange(free0 + 1, free0 + 1 + len(new)),
        "ustart": np.nan, "exo": 0, "label": "",
        "plabel": [f".p{p0 + i}." for i in range(len(new))],
    })
    return pd.concat([table, rows], ignore_index=True)


def _numbers(values: list, errors: str = "raise") -> np.ndarray:
    """A column as float64: numbers (and None) directly, text through pandas."""
    try:
        return np.asarray(values, dtype=float)  # None -> nan
    except (TypeError, ValueError):
        return pd.to_numeric(np.asarray(values, dtype=object), errors=errors).astype(float)


def from_columns(columns: Mapping[str, Sequence]) -> pd.DataFrame:
    """A parameter table from a mapping of columns (e.g. sent from R).

    Checks that lavaan's required columns are there and gives them the
    expected types; extra columns are kept.

    Examples
    --------
    >>> pt = from_columns({"id": [1], "lhs": ["f"], "op": ["=~"], "rhs": ["x1"],
    ...     "user": [1], "block": [1], "group": [1], "free": [0], "ustart": [1.0],
    ...     "exo": [0], "label": [""], "plabel": [".p1."]})
    >>> int(pt.loc[0, "free"])
    0
    """
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise TorchfitError(f"the parameter table lacks the column(s) {', '.join(missing)}; "
                            "pass the table lavaan::lavaanify() returns")
    cols = {k: list(v) if np.ndim(v) else [v] for k, v in columns.items()}
    # typed column by column in NumPy and made a DataFrame once: pandas'
    # per-column assignment costs more than a small model's whole fit
    for c in ("id", "user", "block", "group", "free", "exo"):
        cols[c] = np.nan_to_num(_numbers(cols[c]), nan=0.0).astype(int)
    cols["ustart"] = _numbers(cols["ustart"], errors="coerce")
    for c in ("lhs", "op", "rhs", "label", "plabel"):
        cols[c] = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                   for v in cols[c]]
    return pd.DataFrame(cols)
