"""lavaan-style summary of the WLS family on ordered items (WLSMV, WLSM,
ULSMV, ULSM, WLS, DWLS, ULS): the model test (with a "Scaled" column and the
shift parameter of the scaled-shifted test), the baseline test, CFI/TLI,
RMSEA with their robust versions and SRMR, as lavaan 0.6 prints them; no
log-likelihood (there is none).
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from . import report
from .info import FitInfo

_num = report._num
WIDTH = 66
TEST_LABELS = {"scaled.shifted": "simple second-order correction",
               "satorra.bentler": "Satorra-Bentler correction"}


def applies(info: FitInfo) -> bool:
    """True for a fit of ordered items by the WLS family."""
    return info.estimator in ("DWLS", "WLS", "ULS")


def _two(label: str, standard, scaled="") -> str:
    return f"  {label:<40}{standard:>12}{scaled:>12}"


def header(info: FitInfo, m: Dict) -> List[str]:
    """The opening lines and the model test."""
    lines = report._opening(info, [report._line("Optimization method",
                                                info.optimizer.upper())])
    lines += ["", "Model Test User Model:"]
    if info.test == "standard":
        return lines + [" " * 54, report._line("Test statistic", _num(m["chisq"])),
                        report._line("Degrees of freedom", int(m["df"])),
                        report._line("P-value (Chi-square)", _num(m["pvalue"]))]
    lines += [f"{'':<46}{'Standard':>8}{'Scaled':>12}",
              _two("Test Statistic", _num(m["chisq"]), _num(m["chisq.scaled"])),
              _two("Degrees of freedom", int(m["df"]), int(m["df.scaled"])),
              _two("P-value (Chi-square)", _num(m["pvalue"]), _num(m["pvalue.scaled"])),
              _two("Scaling correction factor", "", _num(m["chisq.scaling.factor"]))]
    if info.test == "scaled.shifted":
        shift = m["chisq.scaled"] - m["chisq"] / m["chisq.scaling.factor"]  # T a + shift
        lines.append(_two("Shift parameter", "", _num(shift)))
    return lines + [f"    {TEST_LABELS[info.test]:<{WIDTH - 4}}"]


def fit_block(info: FitInfo, m: Dict) -> List[str]:
    """Baseline test, CFI/TLI, RMSEA and SRMR."""
    if info.test == "standard":
        return report.fit_block(m)
    return _scaled_block(m)


def _pair(m: Dict, label: str, key: str, scaled_key: str) -> str:
    return _two(label, _num(m[key]), _num(m[scaled_key]))


def _scaled_block(m: Dict) -> List[str]:
    blank = " " * WIDTH
    ci = "90 Percent confidence interval - "
    return [
        "", "Model Test Baseline Model:", "",
        _pair(m, "Test statistic", "baseline.chisq", "baseline.chisq.scaled"),
        _two("Degrees of freedom", int(m["baseline.df"]), int(m["baseline.df.scaled"])),
        _pair(m, "P-value", "baseline.pvalue", "baseline.pvalue.scaled"),
        _two("Scaling correction factor", "", _num(m["baseline.chisq.scaling.factor"])),
        "", "User Model versus Baseline Model:", "",
        _pair(m, "Comparative Fit Index (CFI)", "cfi", "cfi.scaled"),
        _pair(m, "Tucker-Lewis Index (TLI)", "tli", "tli.scaled"), blank,
        _two("Robust Comparative Fit Index (CFI)", "", _num(m["cfi.robust"])),
        _two("Robust Tucker-Lewis Index (TLI)", "", _num(m["tli.robust"])),
        "", "Root Mean Square Error of Approximation:", "",
        _pair(m, "RMSEA", "rmsea", "rmsea.scaled"),
        _pair(m, ci + "lower", "rmsea.ci.lower", "rmsea.ci.lower.scaled"),
        _pair(m, ci + "upper", "rmsea.ci.upper", "rmsea.ci.upper.scaled"),
        _pair(m, "P-value H_0: RMSEA <= 0.050", "rmsea.pvalue", "rmsea.pvalue.scaled"),
        _pair(m, "P-value H_0: RMSEA >= 0.080", "rmsea.notclose.pvalue",
              "rmsea.notclose.pvalue.scaled"), blank,
        _two("Robust RMSEA", "", _num(m["rmsea.robust"])),
        _two(ci + "lower", "", _num(m["rmsea.ci.lower.robust"])),
        _two(ci + "upper", "", _num(m["rmsea.ci.upper.robust"])),
        _two("P-value H_0: Robust RMSEA <= 0.050", "", _num(m["rmsea.pvalue.robust"])),
        _two("P-value H_0: Robust RMSEA >= 0.080", "", _num(m["rmsea.notclose.pvalue.robust"])),
        "", "Standardized Root Mean Square Residual:", "",
        _pair(m, "SRMR", "srmr", "srmr"),
    ]


def se_lines(info: FitInfo) -> List[Tuple[str, str]]:
    """How the standard errors were computed, in lavaan's words."""
    return [("Standard errors", "Robust.sem" if info.se == "robust.sem" else "Standard"),
            ("Information", "Expected"), ("Information saturated (h1) model", "Unstructured")]
