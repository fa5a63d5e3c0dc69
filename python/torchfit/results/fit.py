"""The result of a fit: the parameter table with estimates, and what lavaan
users ask of it (parameter estimates, fit measures, summary, coef, vcov,
implied moments, factor scores)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Union

import numpy as np
import pandas as pd

from ..data.frames import group_data
from ..data.gamma import gamma_adf
from ..data.standardize import rows_for, standardize
from ..errors import ConvergenceWarning, DataError, ModelError, TorchfitError
from ..inference import bootstrap, modification, residuals, wald
from ..inference.extended import Sample, constraint_jacobian
from ..inference.rsquare import rsquare_rows
from ..inference.vcov import STD_COLUMNS, confidence_interval
from ..model.matrices import Model
from ..model.partable import parse
from . import report, robust_report, wls_report
from .info import FitInfo
from .scores import group_scores
from .summary import Summary


@dataclass
class GroupView:
    """One group of a fit: its label (None with one group), model, sample and
    implied moments and model matrices at the estimates."""

    label: Optional[str]
    model: Model
    sample: Dict
    implied: Dict
    matrices: Dict[str, np.ndarray]


@dataclass
class DeferredTable:
    """A parameter table built when first read: the model's columns and every
    row's estimate are at hand, the standardized columns, intervals and
    tests are made by ``build`` (a fit from R never reads them: R takes
    lavaan's own table)."""

    columns: pd.DataFrame  # the model's columns (lhs, op, rhs, free, label, group, ...)
    est: np.ndarray  # every row's estimate
    start: np.ndarray  # every row's start value
    build: Callable[[], pd.DataFrame]


class Fit:
    """A fitted model.

    Built by :func:`torchfit.results.assemble.assemble` for :func:`torchfit.sem`,
    :func:`torchfit.cfa` or :func:`torchfit.fit`; not meant to be constructed by hand.

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs)
    >>> round(fit.fit_measures()["chisq"], 6)
    0.0
    """

    def __init__(self, table: DeferredTable, info: FitInfo,
                 measures: Callable[[], Dict[str, float]], vcov: Optional[np.ndarray],
                 groups: List[GroupView], data: Optional[pd.DataFrame] = None,
                 dropped: Optional[pd.Series] = None, tests=None):
        self._table = table
        self._partable: Optional[pd.DataFrame] = None  # built on first read
        self.tests = tests  # the estimator's inference record (robust, FIML, IWAVE's)
        # the fit's own copy of the model's columns (None: predict() needs the data)
        self.data = data
        #: the rows left out of the fit, indexed by their labels, with the reason
        self.dropped = pd.Series([], dtype=object, name="reason") if dropped is None \
            else dropped
        self.info = info
        self._compute_measures = measures
        self._measures_cache: Optional[Dict[str, float]] = None
        self._vcov = vcov
        self._coef_names: Optional[List[str]] = None
        self._free_order: Optional[np.ndarray] = None
        self.groups = groups
        #: the bootstrap's draws (se="bootstrap" or test="bootstrap"), else None
        self.boot = None

    # The first (with one group: the only) group's pieces.
    model = property(lambda self: self.groups[0].model)
    sample = property(lambda self: self.groups[0].sample)
    _implied = property(lambda self: self.groups[0].implied)
    matrices = property(lambda self: self.groups[0].matrices)

    @property
    def partable(self) -> pd.DataFrame:
        """lavaan's parameter table with the estimates, standard errors,
        intervals and standardized columns."""
        if self._partable is None:
            self._partable = self._table.build()
        return self._partable

    def start_values(self) -> np.ndarray:
        """Every table row's start value (lavaan's ``start`` column), without
        building the table.

        Examples
        --------
        >>> import torchfit
        >>> hs = torchfit.datasets.holzinger_swineford()
        >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs)
        >>> fit.start_values().round(3).tolist()  # fabin3 loadings, half the variances
        [1.0, 0.778, 1.107, 0.679, 0.691, 0.637, 0.05]
        """
        return self._table.start

    @property
    def group_labels(self) -> List[Optional[str]]:
        return [g.label for g in self.groups]

    @property
    def _measures(self) -> Dict[str, float]:
        # Computed on first use: the RMSEA interval alone costs more than the fit.
        if self._measures_cache is None:
            self._measures_cache = self._compute_measures()
        return self._measures_cache

    # -- lavaan's accessors -----------------------------------------------------
    @property
    def converged(self) -> bool:
        return bool(self.info.converged)

    @property
    def nobs(self) -> int:
        return int(self.info.nobs)

    def coef_names(self) -> list:
        """lavaan's names of the free parameters: the label, or lhs op rhs
        (with ".g2", ".g3", ... beyond the first group)."""
        if self._coef_names is None:  # the table's rows and labels never change
            table, rows = self._table.columns, self._free_rows()
            columns = (table[c].to_numpy()[rows] for c in ("lhs", "op", "rhs", "label", "group"))
            self._coef_names = [lab if lab else f"{l}{o}{r}" + (f".g{g}" if g > 1 else "")
                                for l, o, r, lab, g in zip(*columns)]
        return list(self._coef_names)

    def _free_rows(self) -> np.ndarray:
        """The table positions of the free parameters, in their order (cached: a
        fit from R asks for them once per fit, and pandas' filter and sort cost
        more than the rest of coef())."""
        if self._free_order is None:
            free = self._table.columns["free"].to_numpy()
            rows = np.flatnonzero(free > 0)
            self._free_order = rows[np.argsort(free[rows], kind="stable")]
        return self._free_order

    def coef(self) -> pd.Series:
        """Estimates of the free parameters, named as lavaan's coef() names them."""
        est = self._table.est[self._free_rows()]
        return pd.Series(est, index=self.coef_names(), name="est")

    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the free parameters (NaN if not identified)."""
        names = self.coef_names()
        values = self._vcov if self._vcov is not None else np.full((len(names),) * 2, np.nan)
        return pd.DataFrame(values, index=names, columns=names)

    def parameter_estimates(self, standardized: bool = False, rsquare: bool = False,
                            level: float = 0.95, boot_ci_type: str = "perc") -> pd.DataFrame:
        """lavaan's parameterEstimates(): lhs op rhs (label) est se z pvalue
        ci.lower ci.upper.

        Parameters
        ----------
        standardized : bool
            Add the standardized solutions std.lv, std.all and std.nox.
        rsquare : bool
            Append one row per endogenous variable with op "r2" and its
            R-square in ``est`` (lavaan's ``rsquare = TRUE``).
        level : float
            Confidence level of ci.lower and ci.upper (est -+ z * se).
        boot_ci_type : {"perc", "bca.simple"}
            After ``se="bootstrap"``: the bootstrap intervals, as lavaan's.

        Examples
        --------
        >>> import torchfit
        >>> fit = torchfit.cfa("f =~ x1 + x2 + x3", torchfit.datasets.holzinger_swineford())
        >>> pe = fit.parameter_estimates(rsquare=True, level=0.9)
        >>> pe[pe["op"] == "r2"]["lhs"].tolist()
        ['x1', 'x2', 'x3']
        """
        if not 0 < level < 1:
            raise TorchfitError(f"level must lie between 0 and 1 (e.g. 0.9), not {level}")
        cols = ["lhs", "op", "rhs"] + (["block", "group"] if len(self.groups) > 1 else [])
        if (self.partable["label"] != "").any():
            cols.append("label")
        cols += ["est", "se", "z", "pvalue", "ci.lower", "ci.upper"]
        if standardized:
            cols += [c for c in STD_COLUMNS if c in self.partable]
        out = self.partable[cols].reset_index(drop=True)
        if self.boot is not None and self.info.se == "bootstrap":
            if (level, boot_ci_type) != (0.95, "perc"):  # the table holds those already
                out["ci.lower"], out["ci.upper"] = bootstrap.table_intervals(
                    self.partable, self.partable["est"].to_numpy(), self.boot, level,
                    boot_ci_type)
        elif level != 0.95:
            out["ci.lower"], out["ci.upper"] = confidence_interval(out["est"], out["se"], level)
        if rsquare:
            r2 = rsquare_rows(self.partable)[[c for c in cols if c in ("lhs", "op", "rhs", "block",
                                                                     "group", "est")]]
            out = pd.concat([out, r2], ignore_index=True)
            if "label" in out:
                out["label"] = out["label"].fillna("")
        return out

    def set_bootstrap(self, draws, se: bool, bollen_stine: bool) -> None:
        """Take the bootstrap's draws (:class:`torchfit.inference.bootstrap.Draws`):
        with ``se``, its vcov, standard errors and percentile intervals replace
        the table's; with ``bollen_stine``, the Bollen-Stine p-value."""
        self.boot = draws
        successful = int(draws.ok.sum())
        self.info.update(bootstrap=len(draws.coef), bootstrap_successful=successful,
                         bootstrap_seed=draws.seed)
        if successful < len(draws.coef):
            message = (f"{len(draws.coef) - successful} of {len(draws.coef)} bootstrap runs "
                       "failed or did not converge; the standard errors and intervals use "
                       f"the {successful} others, as lavaan's")
            self.info.warnings.append(message)
            warnings.warn(message, ConvergenceWarning, stacklevel=5)
        if se:
            pt = self.partable
            pt.update(pd.DataFrame(bootstrap.boot_columns(pt, pt["est"].to_numpy(), draws),
                                   index=pt.index))
            self._vcov = draws.vcov()
            self.info.update(se="bootstrap")
        if bollen_stine:
            chisq = self._measures["chisq"]
            self.info.update(test="bollen.stine",
                             bollen_stine_pvalue=bootstrap.bollen_stine_pvalue(draws, chisq))

    def fit_measures(self, names: Optional[Union[str, Iterable[str]]] = None) -> Dict[str, float]:
        """Fit measures keyed by lavaan's names; all of them, or those asked for."""
        if names is None:
            return dict(self._measures)
        names = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in self._measures]
        if unknown:
            raise KeyError(f"unknown fit measure(s) {', '.join(unknown)}; available: "
                           f"{', '.join(self._measures)}")
        return {n: self._measures[n] for n in names}

    def implied(self) -> Dict:
        """Model-implied moments: ``{"cov": DataFrame, "mean": Series}`` (the
        mean with a mean structure); with several groups, one such dict per
        group label."""
        out = {}
        for g in self.groups:
            names = g.model.ov_names
            moments = {"cov": pd.DataFrame(g.implied["cov"], index=names, columns=names)}
            if g.model.mean_structure:
                moments["mean"] = pd.Series(g.implied["mean"], index=names)
            out[g.label] = moments
        return out[None] if len(self.groups) == 1 else out

    def loglik(self) -> float:
        return float(self._measures["logl"])

    # -- after the fit (lavaan's post-estimation) -------------------------------------
    def _raw_data(self, what: str) -> pd.DataFrame:
        """The fit's own copy of its data, which ``what`` needs, or the error
        saying how to get it."""
        if self.info.data == "sample_cov":
            raise DataError(f"this fit was made from sample_cov=, which has no rows for {what}: "
                            "pass the data, e.g. fit.predict(data)")
        if self.data is None:
            raise DataError(f"this fit keeps no copy of its data (a file, a memory map or "
                            f"more than 2,000,000 cells), which {what} needs: pass them, "
                            "e.g. fit.predict(data), or refit from a data frame")
        return self.data

    def _sample(self) -> Sample:
        fiml = self.info.missing in ("ml", "ml.x")
        return Sample([g.sample for g in self.groups],
                      self._raw_data("FIML's post-estimation") if fiml else None,
                      self.info.group)

    def modindices(self, sort: bool = False, minimum_value: float = 0.0) -> pd.DataFrame:
        """Modification indices, lavaan's ``modindices()``: for every parameter
        the model fixes or leaves out, the drop in chi-square (``mi``) and the
        expected change (``epc``, standardized as ``sepc.lv``, ``sepc.all``,
        ``sepc.nox``) were it freed; from the expected information, as lavaan.

        Parameters
        ----------
        sort : bool
            Largest ``mi`` first (lavaan's ``sort.``).
        minimum_value : float
            Only rows with ``mi`` above it (lavaan's ``minimum.value``).

        Examples
        --------
        >>> import torchfit
        >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; "
        ...                    "speed =~ x7 + x8 + x9", torchfit.datasets.holzinger_swineford())
        >>> mi = fit.modindices(sort=True)
        >>> mi.iloc[0][["lhs", "op", "rhs"]].tolist(), round(mi.iloc[0]["mi"], 3)
        (['visual', '=~', 'x9'], 36.411)
        """
        self._require_ml("modification indices")
        self._require_no_fiml_covariates("modification indices")
        out = modification.modification_indices(self.partable, self._sample(),
                                                self.model.mean_structure, self.groups,
                                                len(self.groups) > 1)
        if sort:
            out = out.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
        if minimum_value > 0:
            out = out[out["mi"] > minimum_value].reset_index(drop=True)
        return out

    def score_test(self, add: Optional[str] = None) -> Dict[str, pd.DataFrame]:
        """Score (Lagrange multiplier) test, lavaan's ``lavTestScore()``.

        Parameters
        ----------
        add : str, optional
            Parameters to add, in lavaan syntax (``"visual =~ x9; x7 ~~ x8"``):
            the test of freeing them (the model fixes them at 0).  Without it,
            the test of releasing the model's equality constraints (shared
            labels, ``group_equal``).

        Returns
        -------
        dict
            ``"test"``: the joint test (X2, df, p.value); ``"uni"``: one test
            per added parameter or released constraint.  As lavaan, from the
            expected information and the ordinary (not robust) statistic.

        Examples
        --------
        >>> import torchfit
        >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; "
        ...                    "speed =~ x7 + x8 + x9", torchfit.datasets.holzinger_swineford())
        >>> out = fit.score_test(add="visual =~ x9")
        >>> round(float(out["test"]["X2"].iloc[0]), 2)
        36.41
        """
        self._require_ml("score tests")
        self._require_no_fiml_covariates("score tests")
        if (self.info.se or "standard") != "standard":
            warnings.warn(f"se is {self.info.se!r}: this is the ordinary (not robust) score "
                          "test, as lavaan's lavTestScore() gives", UserWarning, stacklevel=2)
        rows = None
        if add is not None:
            table = parse(add, ngroups=len(self.groups))
            table = table[table["user"] == 1]
            known = set(self.model.ov_names) | set(self.model.lv_names)
            unknown = sorted((set(table["lhs"]) | set(table["rhs"])) - known - {""})
            if unknown:
                raise ModelError(f"score_test(add=...) names {', '.join(unknown)}, not a "
                                 "variable of the model; a score test frees parameters among "
                                 f"its variables ({', '.join(sorted(known))}): refit with the "
                                 "new variable instead")
            rows = list(zip(table["lhs"], table["op"], table["rhs"], table["block"],
                            table["group"]))
        return modification.score_test(self.partable, self._sample(),
                                       self.model.mean_structure, rows)

    def wald_test(self, constraints: str) -> Dict[str, float]:
        """Wald test of constraints on labelled parameters, lavaan's
        ``lavTestWald()``: ``stat``, ``df``, ``p.value`` (and ``se``, the kind
        of standard errors used: robust ones for MLM and MLR).

        Parameters
        ----------
        constraints : str
            One equality per line or ``;``-separated, over labels:
            ``"a == b; c - 2*d == 0"``.

        Examples
        --------
        >>> import torchfit
        >>> fit = torchfit.cfa("f =~ x1 + a*x2 + b*x3", torchfit.datasets.holzinger_swineford())
        >>> round(fit.wald_test("a == b")["stat"], 3)  # lavaan: 2.893
        2.893
        """
        self._require_ml("Wald tests")
        out = wald.wald_test(self.partable, self.vcov().to_numpy(), constraints)
        return {**out, "se": (self.info.se or "standard")}

    def residuals(self, type: str = "raw") -> Dict:
        """Residuals of the sample moments, lavaan's ``residuals()``.

        Parameters
        ----------
        type : {"raw", "cor", "cor.bollen", "cor.bentler", "standardized"}
            Sample less implied moments; as correlations ("cor", Bollen's
            definition, lavaan's default for "cor"; "cor.bentler" scales both by
            the sample standard deviations); or raw residuals divided by their
            standard errors ("standardized"; robust ones for MLM and MLR; not yet
            for missing="ml").

        Returns
        -------
        dict
            ``{"cov": DataFrame, "mean": Series}`` (the mean with a mean
            structure); with several groups, one such dict per group label.

        Examples
        --------
        >>> import torchfit
        >>> fit = torchfit.cfa("f =~ x1 + x2 + x3 + x4", torchfit.datasets.holzinger_swineford())
        >>> round(float(fit.residuals("cor")["cov"].loc["x4", "x1"]), 3)  # lavaan: 0.041
        0.041
        """
        self._require_ml("residuals")
        kind = residuals.check_type(type, self.info)
        means = self.model.mean_structure
        if kind == "standardized":
            self._require_no_fiml_covariates("standardized residuals")
            exo = [[bool(v) for v in self._exogenous(g.model)] for g in self.groups]
            robust = (self.info.se or "standard") != "standard"
            if robust and self.info.missing in ("ml", "ml.x"):
                raise TorchfitError("standardized residuals of a robust fit with missing = "
                                    f"{self.info.missing!r} are not available yet; use "
                                    "type='raw' or 'cor', or refit with estimator='ML'")
            res = residuals.standardized(self.groups, self._reduced_estimates(), exo, means,
                                         (self.info.information or "expected"),
                                         self._gammas() if robust else None,
                                         self._sample().patterns([g.model for g in self.groups]),
                                         constraint_jacobian(self.partable, general_only=True)
                                         @ self.model.reduce_matrix())
        else:
            res = [residuals.raw_or_cor(g.sample, g.implied, kind, means) for g in self.groups]
        out = {}
        for g, r in zip(self.groups, res):
            names = g.model.ov_names
            out[g.label] = {"cov": pd.DataFrame(r["cov"], index=names, columns=names)}
            if r["mean"] is not None:
                out[g.label]["mean"] = pd.Series(r["mean"], index=names)
        return out[None] if len(self.groups) == 1 else out

    def _gammas(self) -> List[np.ndarray]:
        """Each group's Gamma from the raw data, less what fixed covariates
        explain (lavaan's NACOV)."""
        _, subsets = group_data(self._raw_data("the robust residuals"), self.info.group)
        return [gamma_adf(subset, g.model.ov_names, g.sample["mean"], g.sample["cov"],
                          self.info.missing,
                          meanstructure=g.model.mean_structure,
                          fixed=self._exogenous(g.model))
                for g, subset in zip(self.groups, subsets)]

    def _exogenous(self, model: Model) -> List[bool]:
        pt = self.partable
        exo = set(pt.loc[(pt["exo"] == 1) & (pt["block"] == model.block), "lhs"])
        return [v in exo for v in model.ov_names]

    def _reduced_estimates(self) -> np.ndarray:
        """The estimator's parameter vector (one entry per set of equal parameters)."""
        x = np.zeros(self.model.n_free)
        x[self.model.x_index] = self.coef().to_numpy()
        return x

    def _require_no_fiml_covariates(self, what: str) -> None:
        """Not yet: lavaan's score-based statistics of a FIML fit with fixed covariates
        (it treats the covariates' moments apart in the h1 information)."""
        if self.info.missing in ("ml", "ml.x") and (self.partable["exo"] == 1).any():
            raise TorchfitError(f"{what} of a missing='{self.info.missing}' fit with fixed "
                                "covariates are not available yet; fit with fixed_x=False for "
                                "them (raw and cor residuals work)")

    def _require_ml(self, what: str) -> None:
        if self.info.estimator != "ML":
            raise TorchfitError(f"{what} need a maximum likelihood fit (estimator 'ML', 'MLM' "
                                f"or 'MLR'), not {self.info.estimator!r}")

    # -- factor scores ------------------------------------------------------------
    def predict(self, data=None, group: Optional[str] = None):
        """Factor scores by lavaan's lavPredict default: the regression method,
        or for ordered items (WLS family) the empirical Bayes modal scores.

        Parameters
        ----------
        data : pandas.DataFrame or 2-D array, optional
            New data with the observed variables (an array has them in model
            order); by default the data the model was fitted to.  Rows with
            missing values are dropped when the fit used ``missing="listwise"``.
        group : str, optional
            The column of ``data`` holding the group labels, for a
            multiple-group fit made from ``sample_cov=`` (one fitted to data
            splits new data by its own ``group=`` column).

        Returns
        -------
        pandas.DataFrame indexed as the data's rows (rows the fit dropped
        are absent: see ``fit.dropped``), or a dict of them (one per group
        label) for a multiple-group model, whose data are split by the
        grouping column.

        Examples
        --------
        >>> import torchfit
        >>> hs = torchfit.datasets.holzinger_swineford()
        >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs[hs["school"] == "Pasteur"])
        >>> scores = fit.predict()
        >>> scores.shape, scores.index.equals(hs.index[hs["school"] == "Pasteur"])
        ((156, 1), True)
        """
        columns = self.model.ov_names
        if data is None:
            data, columns = self._raw_data("predict()"), None
        else:
            data = self._standardized_as_fitted(data, group)
        if len(self.groups) == 1:
            return self.score_group(self.groups[0], data, columns)
        column = group if group is not None else self.info.group
        if column is None:
            raise DataError("this multiple-group fit was made from sample_cov=: name the "
                            "column of data that holds the group labels, "
                            "fit.predict(data, group=...)")
        by_label = dict(zip(*group_data(data, column)))
        return {g.label: self.score_group(g, by_label[g.label], columns)
                for g in self.groups if g.label in by_label}

    def _standardized_as_fitted(self, data, group: Optional[str]):
        """New data of a ``std_ov=True`` fit standardized as lavaan's lavPredict
        standardizes them: each group's variables by their own mean and sd."""
        if not self.info.std_ov:
            return data
        column = None if len(self.groups) == 1 else \
            (group if group is not None else self.info.group)
        return standardize(data, [g.model.ov_names for g in self.groups],
                           [self._exogenous(g.model) for g in self.groups], column,
                           rows_for(self.info.missing))

    def score_group(self, group: GroupView, data, columns) -> pd.DataFrame:
        """One group's factor scores (``predict`` per group): by the
        regression method; a fit of ordered items gives lavaan's EBM scores
        (:class:`torchfit.ordinal.scores.OrdinalFit`)."""
        return group_scores(group, data, self.info.missing, columns)

    # -- printing ---------------------------------------------------------------------
    def _endogenous(self) -> set:
        """Variables whose (co)variances are residual ones (printed with a dot)."""
        pt = self.partable
        exo = set(pt.loc[pt["exo"] == 1, "lhs"])
        lv_x = set(self.model.names.lv_x)
        return {v for v in self.model.ov_names + self.model.lv_names
                if v not in exo and v not in lv_x}

    def _header_lines(self) -> List[str]:
        if wls_report.applies(self.info):
            return wls_report.header(self.info, self._measures)
        if robust_report.applies(self.info):  # MLM, MLR or observed information
            return robust_report.header(self.info, self._measures)
        return report.header(self.info, self._measures)

    def _fit_lines(self) -> List[str]:
        if wls_report.applies(self.info):
            return wls_report.fit_block(self.info, self._measures)
        if robust_report.applies(self.info):
            return robust_report.fit_block(self.info, self._measures)
        return report.fit_block(self._measures)

    def _se_lines(self):
        if self.info.se == "bootstrap":
            return report.bootstrap_se_lines(self.info)
        if wls_report.applies(self.info):
            return wls_report.se_lines(self.info)
        return robust_report.se_lines(self.info) if robust_report.applies(self.info) else None

    def summary_parts(self) -> Dict[str, List[str]]:
        """The pieces of the summary text: ``header``, ``fit`` (the fit
        measures block), ``estimates`` and ``estimates_std`` (the parameter
        sections without and with Std.lv/Std.all), which summary() joins;
        R stores them, so its summary() needs no engine."""
        return {"header": self._header_lines(), "fit": self._fit_lines(),
                "estimates": self._sections(False), "estimates_std": self._sections(True)}

    def _without_scales(self, table: pd.DataFrame) -> pd.DataFrame:
        """The table as the summary shows it: the scale factors of ordered
        items (lavaan's "Scales y*") only for a fit of the WLS family."""
        return table if wls_report.applies(self.info) else table[table["op"] != "~*~"]

    def _sections(self, standardized: bool, rsquare: bool = False) -> List[str]:
        return report.parameter_sections(self._without_scales(self.partable),
                                         self._endogenous(), standardized,
                                         se_lines=self._se_lines(),
                                         group_labels=self.info.group_labels,
                                         rsquare=rsquare_rows(self.partable) if rsquare else None)

    def summary(self, fit_measures: bool = False, standardized: bool = False,
                rsquare: bool = False) -> Summary:
        """lavaan-style summary: the text (a ``str``; print it), which
        Jupyter shows as HTML tables; ``rsquare`` adds lavaan's "R-Square:"
        sections (the R-square of every endogenous variable, per group).

        Examples
        --------
        >>> import torchfit
        >>> fit = torchfit.cfa("f =~ x1 + x2 + x3", torchfit.datasets.holzinger_swineford())
        >>> "Latent Variables:" in fit.summary()
        True
        """
        head = self._header_lines() + (self._fit_lines() if fit_measures else [])
        text = "\n".join(head + self._sections(standardized, rsquare)) + "\n"
        return Summary(text, head,
                       self._without_scales(self.parameter_estimates(standardized=standardized)),
                       self.info.group_labels)

    def _repr_html_(self) -> str:
        """The summary with the fit measures, as HTML (Jupyter)."""
        return self.summary(fit_measures=True)._repr_html_()

    def __repr__(self) -> str:
        return "\n".join(self._header_lines()) + "\n"
