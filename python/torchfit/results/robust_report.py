"""lavaan-style summary of robust fits (MLM, MLR) and of ML with the observed
information: the model test with a "Standard" and a "Scaled" column, the
scaling correction factors, the robust CFI/TLI/RMSEA lines and the lines that
say how standard errors were computed, as lavaan 0.6 prints them.

The header and the parameter sections are those of :mod:`torchfit.results.report`;
only the parts that differ are laid out here.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from ..inference.robust_options import LABELS
from . import report
from .info import FitInfo

WIDTH = 66  # lavaan pads the two-column blocks' empty lines to this width
_num = report._num


def applies(info: FitInfo) -> bool:
    """True when the fit is not plain ML with expected-information SEs (a scaled
    test, or the observed information; the Bollen-Stine bootstrap is ML's
    report with its p-value)."""
    return (info.test or "standard") not in ("standard", "bollen.stine") or \
        info.information == "observed"


def _two(label: str, standard, scaled="") -> str:
    return f"  {label:<40}{standard:>12}{scaled:>12}"


def _scaled(info: FitInfo) -> bool:
    return (info.test or "standard") != "standard"


def header(info: FitInfo, m: Dict) -> List[str]:
    """The header with lavaan's two-column model test of a scaled test."""
    lines = report.header(info, m)
    if not _scaled(info):
        return lines
    lines = lines[:lines.index("Model Test User Model:") + 1] + [
        f"{'':<46}{'Standard':>8}{'Scaled':>12}",
        _two("Test Statistic", _num(m["chisq"]), _num(m["chisq.scaled"])),
        _two("Degrees of freedom", int(m["df"]), int(m["df.scaled"]))]
    if m["df"] > 0:  # lavaan prints no p-value nor scaling for a saturated model
        lines += [
            _two("P-value (Chi-square)", _num(m["pvalue"]), _num(m["pvalue.scaled"])),
            _two("Scaling correction factor", "", _num(m["chisq.scaling.factor"])),
            f"    {LABELS[info.test]:<{WIDTH - 4}}"]
    if info.group_labels:  # each group's statistic, scaled by the common factor
        c = m["chisq.scaling.factor"]
        lines.append("  Test statistic for each group:")
        lines += [f"    {label:<38}{_num(x):>12}{_num(x / c):>12}"
                  for label, x in zip(info.group_labels, info.chisq_group)]
    return lines


def fit_block(info: FitInfo, m: Dict) -> List[str]:
    """Baseline test, CFI/TLI, log-likelihood, RMSEA and SRMR in two columns."""
    if not _scaled(info):
        return report.fit_block(m)
    blank = " " * WIDTH
    lines = [
        "", "Model Test Baseline Model:", "",
        _two("Test statistic", _num(m["baseline.chisq"]), _num(m["baseline.chisq.scaled"])),
        _two("Degrees of freedom", int(m["baseline.df"]), int(m["baseline.df.scaled"])),
        _two("P-value", _num(m["baseline.pvalue"]), _num(m["baseline.pvalue.scaled"])),
        _two("Scaling correction factor", "", _num(m["baseline.chisq.scaling.factor"])),
        "", "User Model versus Baseline Model:", "",
        _two("Comparative Fit Index (CFI)", _num(m["cfi"]), _num(m["cfi.scaled"])),
        _two("Tucker-Lewis Index (TLI)", _num(m["tli"]), _num(m["tli.scaled"])),
        blank,
        _two("Robust Comparative Fit Index (CFI)", "", _num(m["cfi.robust"])),
        _two("Robust Tucker-Lewis Index (TLI)", "", _num(m["tli.robust"])),
        "", "Loglikelihood and Information Criteria:", "",
        _two("Loglikelihood user model (H0)", _num(m["logl"]), _num(m["logl"])),
    ]
    mlr = "scaling.factor.h0" in m
    if mlr:  # lavaan shows the factors of the two log-likelihoods for MLR
        lines += [_two("Scaling correction factor", "", _num(m["scaling.factor.h0"])),
                  f"      {'for the MLR correction':<{WIDTH - 6}}"]
    lines.append(_two("Loglikelihood unrestricted model (H1)", _num(m["unrestricted.logl"]),
                      _num(m["unrestricted.logl"])))
    if mlr:
        lines += [_two("Scaling correction factor", "", _num(m["scaling.factor.h1"])),
                  f"      {'for the MLR correction':<{WIDTH - 6}}"]
    lines += [
        blank,
        _two("Akaike (AIC)", _num(m["aic"]), _num(m["aic"])),
        _two("Bayesian (BIC)", _num(m["bic"]), _num(m["bic"])),
        _two("Sample-size adjusted Bayesian (SABIC)", _num(m["bic2"]), _num(m["bic2"])),
        "", "Root Mean Square Error of Approximation:", "",
        _two("RMSEA", _num(m["rmsea"]), _num(m["rmsea.scaled"])),
        _two("90 Percent confidence interval - lower", _num(m["rmsea.ci.lower"]),
             _num(m["rmsea.ci.lower.scaled"])),
        _two("90 Percent confidence interval - upper", _num(m["rmsea.ci.upper"]),
             _num(m["rmsea.ci.upper.scaled"])),
        _two("P-value H_0: RMSEA <= 0.050", _num(m["rmsea.pvalue"]),
             _num(m["rmsea.pvalue.scaled"])),
        _two("P-value H_0: RMSEA >= 0.080", _num(m["rmsea.notclose.pvalue"]),
             _num(m["rmsea.notclose.pvalue.scaled"])),
        blank,
        _two("Robust RMSEA", "", _num(m["rmsea.robust"])),
        _two("90 Percent confidence interval - lower", "", _num(m["rmsea.ci.lower.robust"])),
        _two("90 Percent confidence interval - upper", "", _num(m["rmsea.ci.upper.robust"])),
        _two("P-value H_0: Robust RMSEA <= 0.050", "", _num(m["rmsea.pvalue.robust"])),
        _two("P-value H_0: Robust RMSEA >= 0.080", "",
             _num(m["rmsea.notclose.pvalue.robust"])),
        "", "Standardized Root Mean Square Residual:", "",
        _two("SRMR", _num(m["srmr"]), _num(m["srmr"])),
    ]
    return lines


def se_lines(info: FitInfo) -> List[Tuple[str, str]]:
    """How the standard errors were computed, in lavaan's words."""
    observed = info.information == "observed"
    se = (info.se or "standard")
    if se == "robust.huber.white":
        first = [("Standard errors", "Sandwich"),
                 ("Information bread", "Observed" if observed else "Expected")]
    else:
        label = {"robust.sem": "Robust.sem", "robust.cluster": "Robust.cluster"}
        first = [("Standard errors", label.get(se, "Standard")),
                 ("Information", "Observed" if observed else "Expected")]
    last = ("Observed information based on", "Hessian") if observed else \
        ("Information saturated (h1) model", "Structured")
    return first + [last]


def summary(fit, fit_measures: bool = False, standardized: bool = False) -> str:
    """The whole summary text of a robust or observed-information fit.

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("f =~ x1 + x2 + x3 + x4", hs, estimator="MLM")
    >>> "Satorra-Bentler correction" in fit.summary()
    True
    """
    m = fit._measures
    lines = header(fit.info, m)
    if fit_measures:
        lines += fit_block(fit.info, m)
    lines += report.parameter_sections(fit.partable, fit._endogenous(), standardized,
                                       se_lines=se_lines(fit.info))
    return "\n".join(lines) + "\n"
