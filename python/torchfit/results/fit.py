"""The result of a fit: the parameter table with estimates, and what lavaan
users ask of it (parameter estimates, fit measures, summary, coef, vcov,
implied moments, factor scores)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Union

import numpy as np
import pandas as pd

from ..data.frames import group_data
from ..model.matrices import Model
from . import report, robust_report
from .scores import group_scores


@dataclass
class GroupView:
    """One group of a fit: its label (None with one group), model, sample and
    implied moments and model matrices at the estimates."""

    label: Optional[str]
    model: Model
    sample: Dict
    implied: Dict
    matrices: Dict[str, np.ndarray]


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

    def __init__(self, partable: pd.DataFrame, info: Dict,
                 measures: Callable[[], Dict[str, float]], vcov: Optional[np.ndarray],
                 groups: List[GroupView], data=None, columns=None, tests=None):
        self.partable = partable
        self.tests = tests  # the estimator's inference record (robust, FIML, IWAVE's)
        self.data = data  # the caller's object, kept by reference for predict()
        self.columns = columns
        self.info = info
        self._compute_measures = measures
        self._measures_cache: Optional[Dict[str, float]] = None
        self._vcov = vcov
        self._coef_names: Optional[List[str]] = None
        self.groups = groups

    # The first (with one group: the only) group's pieces.
    model = property(lambda self: self.groups[0].model)
    sample = property(lambda self: self.groups[0].sample)
    _implied = property(lambda self: self.groups[0].implied)
    matrices = property(lambda self: self.groups[0].matrices)

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
        return bool(self.info["converged"])

    @property
    def nobs(self) -> int:
        return int(self.info["nobs"])

    def coef_names(self) -> list:
        """lavaan's names of the free parameters: the label, or lhs op rhs
        (with ".g2", ".g3", ... beyond the first group)."""
        if self._coef_names is None:  # the table's rows and labels never change
            free = self.partable[self.partable["free"] > 0].sort_values("free")
            self._coef_names = [lab if lab else f"{l}{o}{r}" + (f".g{g}" if g > 1 else "")
                                for l, o, r, lab, g in zip(free["lhs"], free["op"], free["rhs"],
                                                           free["label"], free["group"])]
        return list(self._coef_names)

    def coef(self) -> pd.Series:
        """Estimates of the free parameters, named as lavaan's coef() names them."""
        free = self.partable[self.partable["free"] > 0].sort_values("free")
        return pd.Series(free["est"].to_numpy(), index=self.coef_names(), name="est")

    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the free parameters (NaN if not identified)."""
        names = self.coef_names()
        values = self._vcov if self._vcov is not None else np.full((len(names),) * 2, np.nan)
        return pd.DataFrame(values, index=names, columns=names)

    def parameter_estimates(self, standardized: bool = False) -> pd.DataFrame:
        """lavaan's parameterEstimates(): lhs op rhs (label) est se z pvalue
        ci.lower ci.upper, plus std.lv std.all when ``standardized``."""
        cols = ["lhs", "op", "rhs"] + (["block", "group"] if len(self.groups) > 1 else [])
        if (self.partable["label"] != "").any():
            cols.append("label")
        cols += ["est", "se", "z", "pvalue", "ci.lower", "ci.upper"]
        if standardized:
            cols += ["std.lv", "std.all"]
        return self.partable[cols].reset_index(drop=True)

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

    # -- factor scores ------------------------------------------------------------
    def predict(self, data=None):
        """Factor scores by the regression method (lavaan's lavPredict default).

        Parameters
        ----------
        data : pandas.DataFrame or 2-D array, optional
            New data with the observed variables (an array has them in model
            order); by default the data the model was fitted to.  Rows with
            missing values are dropped when the fit used ``missing="listwise"``.

        Returns
        -------
        pandas.DataFrame, or a dict of them (one per group label) for a
        multiple-group model, whose data are split by the grouping column.

        Examples
        --------
        >>> import torchfit
        >>> hs = torchfit.datasets.holzinger_swineford()
        >>> fit = torchfit.cfa("visual =~ x1 + x2 + x3", hs)
        >>> fit.predict().shape
        (301, 1)
        """
        columns = self.model.ov_names
        if data is None:
            data, columns = self.data, self.columns or columns
        if len(self.groups) == 1:
            return group_scores(self.groups[0], data, self.info["missing"], columns)
        by_label = dict(zip(*group_data(data, self.info["group"])))
        return {g.label: group_scores(g, by_label[g.label], self.info["missing"], columns)
                for g in self.groups if g.label in by_label}

    # -- printing ---------------------------------------------------------------------
    def _endogenous(self) -> set:
        """Variables whose (co)variances are residual ones (printed with a dot)."""
        pt = self.partable
        exo = set(pt.loc[pt["exo"] == 1, "lhs"])
        lv_x = set(self.model.names.lv_x)
        return {v for v in self.model.ov_names + self.model.lv_names
                if v not in exo and v not in lv_x}

    def _header_lines(self) -> List[str]:
        if robust_report.applies(self.info):  # MLM, MLR or observed information
            return robust_report.header(self.info, self._measures)
        return report.header(self.info, self._measures)

    def _fit_lines(self) -> List[str]:
        if robust_report.applies(self.info):
            return robust_report.fit_block(self.info, self._measures)
        return report.fit_block(self._measures)

    def _se_lines(self):
        return robust_report.se_lines(self.info) if robust_report.applies(self.info) else None

    def summary_parts(self) -> Dict[str, List[str]]:
        """The pieces of the summary text: ``header``, ``fit`` (the fit
        measures block), ``estimates`` and ``estimates_std`` (the parameter
        sections without and with Std.lv/Std.all), which summary() joins;
        R stores them, so its summary() needs no engine."""
        return {"header": self._header_lines(), "fit": self._fit_lines(),
                "estimates": self._sections(False), "estimates_std": self._sections(True)}

    def _sections(self, standardized: bool) -> List[str]:
        return report.parameter_sections(self.partable, self._endogenous(), standardized,
                                         se_lines=self._se_lines(),
                                         group_labels=self.info.get("group_labels"))

    def summary(self, fit_measures: bool = False, standardized: bool = False) -> str:
        """lavaan-style summary text (print it).

        Examples
        --------
        >>> import torchfit
        >>> fit = torchfit.cfa("f =~ x1 + x2 + x3", torchfit.datasets.holzinger_swineford())
        >>> "Latent Variables:" in fit.summary()
        True
        """
        lines = self._header_lines() + (self._fit_lines() if fit_measures else [])
        return "\n".join(lines + self._sections(standardized)) + "\n"

    def __repr__(self) -> str:
        return "\n".join(self._header_lines()) + "\n"
