"""lavaan-style text output: the header, the model test, the fit measures and
the parameter sections, laid out as lavaan 0.6 prints them."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from .info import FitInfo

SECTIONS = (("=~", "Latent Variables"), ("~", "Regressions"), ("~~cov", "Covariances"),
            ("~1", "Intercepts"), ("|", "Thresholds"), ("|s", "Category Scores"),
            ("~~var", "Variances"), ("~*~", "Scales y*"),
            (":=", "Defined Parameters"))


def _line(label: str, value) -> str:
    return f"  {label:<40}{value:>12}"


def _num(value: float, digits: int = 3) -> str:
    return "NA" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _opening(info: FitInfo, method: List[str]) -> List[str]:
    """The first lines of every summary: state, estimator, how it was fitted
    (``method``), parameters, constraints and observations."""
    state = "ended normally" if info.converged else "did NOT end normally"
    lines = [f"torchfit {info.version} {state} after {info.iterations} iterations", "",
             _line("Estimator", info.estimator), *method,
             _line("Number of model parameters", info.npar)]
    if info.neq:
        lines.append(_line("Number of equality constraints", info.neq))
    if info.nin:
        lines.append(_line("Number of inequality constraints", info.nin))
    return lines + [""] + observations(info) + clusters_and_weights(info)


def header(info: FitInfo, measures: Dict) -> List[str]:
    lines = _opening(info, [_line("Optimization method", info.optimizer.upper())])
    lines += ["", "Model Test User Model:", " " * 54,
              _line("Test statistic", _num(measures["chisq"])),
              _line("Degrees of freedom", int(measures["df"])),
              _line("P-value (Chi-square)", _num(measures["pvalue"]))]
    if info.test == "bollen.stine":  # lavaan repeats the test with its p-value
        lines += [" " * 54, _line("Test statistic", _num(measures["chisq"])),
                  _line("Degrees of freedom", int(measures["df"])),
                  _line("P-value (Bollen-Stine bootstrap)", _num(info.bollen_stine_pvalue))]
    if info.group_labels:
        lines.append("  Test statistic for each group:")
        lines += [f"    {label:<38}{_num(x):>12}"
                  for label, x in zip(info.group_labels, info.chisq_group)]
    return lines


def bootstrap_se_lines(info: FitInfo) -> List[Tuple[str, str]]:
    """How bootstrap standard errors were computed, in lavaan's words.

    Examples
    --------
    >>> bootstrap_se_lines(FitInfo.of(bootstrap=1000, bootstrap_successful=998))[2]
    ('Number of successful bootstrap draws', '998')
    """
    return [("Standard errors", "Bootstrap"),
            ("Number of requested bootstrap draws", str(info.bootstrap)),
            ("Number of successful bootstrap draws", str(info.bootstrap_successful))]


def observations(info: FitInfo) -> List[str]:
    """Number of observations: used (and total, when rows were dropped), per
    group for a multiple-group model."""
    patterns = info.npatterns  # FIML: missing-data patterns per group
    if info.group_labels:
        labels, used = info.group_labels, info.nobs_group
        total = used if info.nobs_total_group is None else info.nobs_total_group
        if list(used) != list(total):
            lines = [f"  {'Number of observations per group:':<40}{'Used':>12}{'Total':>12}"] + \
                [f"    {label:<38}{u:>12}{t:>12}" for label, u, t in zip(labels, used, total)]
        else:
            lines = [_line("Number of observations per group:", "")] + \
                [f"    {label:<38}{n:>12}" for label, n in zip(labels, used)]
        if patterns:
            lines += [f"  {'Number of missing patterns per group:':<40}{'':>24}"] + \
                [f"    {label:<38}{k:>12}{'':>12}" for label, k in zip(labels, patterns)]
        return lines
    if info.nobs != info.nobs_total:
        lines = [f"{'':<42}{'Used':>12}{'Total':>12}",
                 f"  {'Number of observations':<40}{info.nobs:>12}{info.nobs_total:>12}"]
        if patterns:
            lines.append(f"  {'Number of missing patterns':<40}{patterns[0]:>12}{'':>12}")
        return lines
    lines = [_line("Number of observations", info.nobs)]
    if patterns:
        lines.append(_line("Number of missing patterns", patterns[0]))
    return lines


def clusters_and_weights(info: FitInfo) -> List[str]:
    """lavaan's lines for the cluster and sampling-weights columns, if any.

    Examples
    --------
    >>> print("\\n".join(clusters_and_weights(FitInfo.of(cluster="c", nclusters=[40],
    ...                                                 sampling_weights="w"))))
      Number of clusters [c]                            40
      Sampling weights variable                          w
    """
    lines = []
    if info.cluster:
        label, counts = f"Number of clusters [{info.cluster}]", info.nclusters
        if info.group_labels:
            lines += [_line(label + ":", "")] + \
                [f"    {g:<38}{k:>12}" for g, k in zip(info.group_labels, counts)]
        else:
            lines.append(_line(label, counts[0]))
    if info.sampling_weights:
        lines.append(_line("Sampling weights variable", info.sampling_weights))
    return lines


def fit_block(m: Dict) -> List[str]:
    return [
        "", "Model Test Baseline Model:", "",
        _line("Test statistic", _num(m["baseline.chisq"])),
        _line("Degrees of freedom", int(m["baseline.df"])),
        _line("P-value", _num(m["baseline.pvalue"])),
        "", "User Model versus Baseline Model:", "",
        _line("Comparative Fit Index (CFI)", _num(m["cfi"])),
        _line("Tucker-Lewis Index (TLI)", _num(m["tli"])),
        *_robust_lines(m, (("Robust Comparative Fit Index (CFI)", "cfi.robust"),
                           ("Robust Tucker-Lewis Index (TLI)", "tli.robust"))),
        # least-squares fits (DWLS, ULS) have no log-likelihood
        *(loglik_block(m, unrestricted=True) if "logl" in m else []),
        "", "Root Mean Square Error of Approximation:", "",
        _line("RMSEA", _num(m["rmsea"])),
        _line("90 Percent confidence interval - lower", _num(m["rmsea.ci.lower"])),
        _line("90 Percent confidence interval - upper", _num(m["rmsea.ci.upper"])),
        _line("P-value H_0: RMSEA <= 0.050", _num(m["rmsea.pvalue"])),
        _line("P-value H_0: RMSEA >= 0.080", _num(m["rmsea.notclose.pvalue"])),
        *_robust_lines(m, (("Robust RMSEA", "rmsea.robust"),
                           ("90 Percent confidence interval - lower", "rmsea.ci.lower.robust"),
                           ("90 Percent confidence interval - upper", "rmsea.ci.upper.robust"),
                           ("P-value H_0: Robust RMSEA <= 0.050", "rmsea.pvalue.robust"),
                           ("P-value H_0: Robust RMSEA >= 0.080",
                            "rmsea.notclose.pvalue.robust"))),
        "", "Standardized Root Mean Square Residual:", "",
        _line("SRMR", _num(m["srmr"])),
    ]


def _robust_lines(m: Dict, rows) -> List[str]:
    """lavaan's "Robust" lines of an unscaled fit that has them (FIML: the
    FIML-corrected CFI, TLI and RMSEA), after a blank line; none otherwise."""
    if rows[0][1] not in m:
        return []
    return [" " * 54] + [_line(label, _num(m[key])) for label, key in rows]


def _section_key(row: Dict) -> str:
    if row["op"] == "~~":
        return "~~var" if row["lhs"] == row["rhs"] else "~~cov"
    if row["op"] == "|" and row["rhs"].startswith("s"):  # of a nominal item
        return "|s"
    return row["op"]


def iwave_header(info: FitInfo) -> List[str]:
    """The header of an IWAVE fit: how the IW-ELBO was maximised."""
    return _opening(info, [
        _line("Optimization method", info.optimizer),
        _line("Importance-weighted samples", info.iw_samples),
        _line("Batch size", info.batch_size),
        _line("Epochs", info.epochs),
        _line("Iterations", info.iterations),
        _line("Final loss (-IW-ELBO per row)", _num(info.final_loss, 4)),
        _line("Converged", "yes" if info.converged else "no")])


def mml_header(info: FitInfo) -> List[str]:
    """The header of a marginal ML fit: the quadrature and the optimiser."""
    return _opening(info, [
        _line("Optimization method", info.optimizer),
        _line("Gauss-Hermite points per factor", info.quad_points
              if info.quadrature != "adaptive" else f"{info.quad_points} (adaptive)"),
        _line("Quadrature nodes", info.quad_nodes),
        _line("Largest gradient (per row)", f"{info.max_gradient:.1e}")])


def loglik_block(m: Dict, unrestricted: bool = False) -> List[str]:
    """Log-likelihood and information criteria (with the H1 model's
    log-likelihood when there is one)."""
    return ["", "Loglikelihood and Information Criteria:", "",
            _line("Loglikelihood user model (H0)", _num(m["logl"])),
            *([_line("Loglikelihood unrestricted model (H1)", _num(m["unrestricted.logl"]))]
              if unrestricted else []),
            " " * 54,
            _line("Akaike (AIC)", _num(m["aic"])),
            _line("Bayesian (BIC)", _num(m["bic"])),
            _line("Sample-size adjusted Bayesian (SABIC)", _num(m["bic2"]))]


def parameter_sections(pt: pd.DataFrame, endogenous: set, standardized: bool,
                       se_lines: Optional[List[Tuple[str, str]]] = None,
                       group_labels: Optional[List[str]] = None,
                       rsquare: Optional[pd.DataFrame] = None) -> List[str]:
    """The parameter sections; ``endogenous`` are the variables whose
    (co)variances are residual ones, printed with a leading dot.  ``se_lines``
    replaces the lines that say how standard errors were computed.  With
    ``group_labels`` each group gets its sections under "Group g [label]:",
    and defined parameters follow the groups; ``rsquare`` (rows op "r2" with
    a group column) adds each group's "R-Square:" section, as lavaan's
    ``summary(rsquare = TRUE)``."""
    # lavaan shows neither constraints nor the fixed moments of covariates
    shown_rows = pt[~pt["op"].isin(["==", "<", ">"]) & (pt["exo"] == 0)]
    if se_lines is None:
        se_lines = [("Standard errors", "Standard"), ("Information", "Expected"),
                    ("Information saturated (h1) model", "Structured")]
    lines = ["", "Parameter Estimates:", ""] + [_line(k, v) for k, v in se_lines]
    if not group_labels:
        lines += _sections(shown_rows, endogenous, standardized, shown_rows)
        lines += rsquare_section(rsquare, 1)
    else:
        for g, label in enumerate(group_labels, start=1):
            lines += ["", "", f"Group {g} [{label}]:"]
            lines += _sections(shown_rows[shown_rows["group"] == g], endogenous, standardized,
                               shown_rows)
            lines += rsquare_section(rsquare, g)
        lines += _sections(shown_rows[shown_rows["block"] == 0], endogenous, standardized,
                           shown_rows)
    return lines + constraints(pt) + [""]


def rsquare_section(rsquare: Optional[pd.DataFrame], group: int) -> List[str]:
    """lavaan's "R-Square:" lines of one group (none without ``rsquare``).

    Examples
    --------
    >>> r2 = pd.DataFrame({"lhs": ["x1"], "est": [0.5963], "group": [1]})
    >>> rsquare_section(r2, 1)[1:]
    ['R-Square:', '                   Estimate', '    x1                0.596']
    """
    if rsquare is None:
        return []
    rows = rsquare[rsquare["group"] == group]
    return ["", "R-Square:", f"{'':<19}Estimate"] + \
        [f"    {v:<14}{x:>9.3f}" for v, x in zip(rows["lhs"], rows["est"])]


def constraints(pt: pd.DataFrame) -> List[str]:
    """The user's constraints with their slack, as lavaan prints them."""
    rows = pt[pt["op"].isin(["==", "<", ">"]) & (pt["user"] == 1)]
    if rows.empty:
        return []
    lines = ["", "Constraints:", f"{'|Slack|':>54}"]
    for lhs, op, rhs, est in zip(rows["lhs"], rows["op"], rows["rhs"], rows["est"]):
        name = f"{rhs} - ({lhs})" if op == "<" else f"{lhs} - ({rhs})"
        lines.append(f"    {name:<41}{_num(abs(est)):>9}")
    return lines


def _abbreviate_one(text: str, minlength: int) -> str:
    """R's abbreviate() of one word (no spaces), method "left.kept": drop
    lower-case vowels from the end, then any but the first, then lower-case
    letters likewise, then anything from the right, until short enough."""
    chars = list(text)
    if len(chars) <= minlength:
        return text
    last = lambda i: i == len(chars) - 1
    rules = (lambda i: chars[i] in "aeiou" and last(i), lambda i: chars[i] in "aeiou",
             lambda i: chars[i].islower() and last(i), lambda i: chars[i].islower(),
             lambda i: True)
    for rule in rules:
        for i in range(len(chars) - 1, 0, -1):
            if i < len(chars) and rule(i):
                del chars[i]
                if len(chars) <= minlength:
                    return "".join(chars)
    return "".join(chars)


def abbreviate(labels: List[str], minlength: int = 4) -> List[str]:
    """Labels as lavaan prints them: R's ``abbreviate(labels, 4)``, which
    lengthens the abbreviations of labels that would otherwise coincide.

    Examples
    --------
    >>> abbreviate([".p25.", "lamb1", "lamb2", "a", ""])
    ['.25.', 'lmb1', 'lmb2', 'a', '']
    """
    unique = list(dict.fromkeys(labels))
    out = {u: _abbreviate_one(u, minlength) for u in unique}
    while True:
        counts = pd.Series(list(out.values())).value_counts()
        clash = [u for u in unique if counts[out[u]] > 1]
        if not clash:
            break
        minlength += 1
        out.update({u: _abbreviate_one(u, minlength) for u in clash})
    return [out[label] for label in labels]


def _sections(rows: pd.DataFrame, endogenous: set, standardized: bool,
              all_rows: pd.DataFrame) -> List[str]:
    """Latent Variables, Regressions, ... for ``rows``, with the name column
    as wide as ``all_rows`` need."""
    short = dict(zip(all_rows["label"], abbreviate(list(all_rows["label"]))))
    shown = [(l if o in (":=", "~1") or (o == "~~" and l == r) else r,
              "" if o == ":=" else short[lab])
             for l, o, r, lab in zip(all_rows["lhs"], all_rows["op"], all_rows["rhs"],
                                     all_rows["label"])]
    width = max([18] + [len(name) + 6 + (len(lab) + 3 if lab else 0) for name, lab in shown])
    cols = ["Estimate", "Std.Err", "z-value", "P(>|z|)"] \
        + (["Std.lv", "Std.all"] if standardized else [])
    head = f"{'':<{width}}" + "".join(f"{c:>9}" for c in cols)
    records = rows.to_dict("records")
    lines = []
    for key, title in SECTIONS:
        part = [r for r in records if _section_key(r) == key]
        if not part:
            continue
        lines += ["", f"{title}:", head]
        last_lhs = None
        for r in part:
            if key in ("=~", "~", "~~cov"):
                if r["lhs"] != last_lhs:
                    dot = "." if key == "~~cov" and r["lhs"] in endogenous else ""
                    name = f" {dot}{r['lhs']} {r['op']}" if dot else f"  {r['lhs']} {r['op']}"
                    lines.append(f"{name:<{len(head)}}")
                    last_lhs = r["lhs"]
                var = r["rhs"]
                dotted = key == "~~cov" and var in endogenous
            elif key in ("|", "|s"):  # lavaan names thresholds y|t1, y|t2, ...
                var, dotted = f"{r['lhs']}|{r['rhs']}", False
            else:  # the scale factors of ordered items are no residual parameters
                var = r["lhs"]
                dotted = var in endogenous and key != "~*~"
            name = f"   .{var}" if dotted else f"    {var}"
            label = short.get(r["label"], r["label"])
            if label and r["op"] != ":=":
                name = f"{name:<{width - len(label) - 2}}({label})"
            fixed = r["free"] == 0 and r["op"] != ":="
            values = [_num(r["est"])] + ([""] * 3 if fixed else
                                         [_num(r["se"]), _num(r["z"]), _num(r["pvalue"])])
            if standardized:
                values += [_num(r["std.lv"]), _num(r["std.all"])]
            lines.append(f"{name:<{width}}" + "".join(f"{v:>9}" for v in values))
    return lines
