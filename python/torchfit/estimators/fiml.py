"""Full-information ML (``missing = "ml"``): the missing-data patterns and EM's
unrestricted moments per group, the FIML discrepancy minimised by the ML optimiser
(:mod:`torchfit.estimate.fiml`), and FIML's information and test
(:mod:`torchfit.inference.fiml`)."""
from __future__ import annotations

import warnings
from pathlib import Path

from ..data.cases import incomplete_cases
from ..data.frames import Moments, as_frame, check_moments, group_data, rows_with
from ..data.patterns import EmptyRowsWarning, em_h1, pattern_moments
from ..data.reader import Reader
from ..data.stats import SampleStats
from ..errors import ModelError
from ..estimate.fiml import FimlObjective, group_moments
from ..estimate.ml import fit_ml, one_thread
from ..estimate.record import Estimate
from ..inference.fiml import FimlFit
from ..inference.fiml_robust import RobustFimlFit
from ..inference.measures import count_moments
from ..model.spec import Spec
from ..options import FitOptions
from . import moments


class FIML:
    """ML with ``missing = "ml"`` (also "fiml", "direct"): every row by its observed values.

    Examples
    --------
    >>> from torchfit.options import FitOptions
    >>> FIML().applies(FitOptions("ML", "ml", True, True, "observed", 500, None, None, {}, {}))
    True
    """

    name = "FIML"
    data_parallel = True

    def applies(self, options: FitOptions) -> bool:
        return options.fiml

    def spec(self, model, data, options: FitOptions) -> Spec:
        return moments.build_spec(model, data, options)

    def sample_stats(self, spec: Spec, data, options: FitOptions) -> SampleStats:
        """Patterns and EM moments per group; the model must have a mean structure and
        no more parameters than moments.  With fixed covariates, missing = "ml" drops
        the rows missing one (lavaan's fixed.x), "ml.x" keeps them."""
        if not spec.means:
            raise ModelError("missing = 'ml' needs a mean structure: give a parameter table "
                             "with intercepts (lavaanify(..., meanstructure = TRUE)) or lavaan "
                             "syntax")
        exo = [moments.exo_flags(spec.table, mod) for mod in spec.models]
        covariates = list(dict.fromkeys(v for m, e in zip(spec.models, exo)
                                        for v, x in zip(m.ov_names, e) if x))
        if covariates and options.robust.estimator == "MLR":
            raise ModelError("fixed exogenous covariates (fixed.x) with missing = 'ml' and "
                             "robust standard errors (MLR, cluster=) are not supported yet; "
                             "use fixed_x=False or estimator='ML'")
        totals, cut = None, None
        if covariates and options.missing == "ml":
            if isinstance(data, (Reader, str, Path)):
                raise ModelError("missing = 'ml' with fixed covariates drops the rows missing "
                                 "one, which needs the data in memory (a DataFrame or an "
                                 "array); for a file or distributed data use missing = 'ml.x' "
                                 "(which keeps those rows) or fixed_x=False")
            totals = [len(as_frame(s, options.columns))
                      for s in group_data(data, options.group)[1]]
            data, cut = rows_with(data, covariates, options.columns)
        patterns, h1s, moms = [], [], []
        for g, (mod, subset) in enumerate(zip(spec.models, group_data(data, options.group)[1])):
            pm = pattern_moments(subset, mod.ov_names, columns=options.columns, warn=False)
            with one_thread():
                h1 = em_h1(pm)
            check_moments(h1[1], pm.n, mod.ov_names)
            patterns.append(pm)
            h1s.append(h1)
            moms.append(Moments(pm.n, h1[0], h1[1], pm.n_total if totals is None else totals[g]))
        _warn_dropped(patterns, moms, 0 if cut is None else len(cut))
        moments.check_identified(spec.model, sum(count_moments(len(m.ov_names), sum(e), True)
                                                 for m, e in zip(spec.models, exo)))
        stats = SampleStats(moms, exo, options.missing, data, options.columns, patterns, h1s)
        if cut is not None and len(cut):
            stats.extras["dropped"] = cut
        if options.robust.estimator == "MLR":  # its scores need the rows
            stats.extras["cases"] = incomplete_cases(
                group_data(data, options.group)[1], spec.models[0].ov_names, options.columns,
                options.cluster)
        return stats

    def estimate(self, spec: Spec, stats: SampleStats, options: FitOptions) -> Estimate:
        """The FIML fit, its standard errors and test (the fixed covariates' moments are
        EM's, as lavaan's)."""
        groups = [group_moments(mod, pm, h1)
                  for mod, pm, h1 in zip(spec.models, stats.patterns, stats.h1)]
        values, x0 = moments.start(spec, groups)
        objective = FimlObjective(spec.models, stats.patterns, [h[2] for h in stats.h1])
        with one_thread():
            est = fit_ml(groups, x0, iter_max=options.iter_max, objective=objective,
                         **moments.fallback_starts(groups, values))
            est.start = values
            pieces = (spec.models, stats.patterns, stats.h1, objective, est,
                      options.robust.information)
            if options.robust.estimator == "MLR":
                est.tests = RobustFimlFit(*pieces, stats.extras["cases"], options.robust)
                est.tests.info.update(moments.rows_info(options, stats))
            else:
                est.tests = FimlFit(*pieces, stats.exo, options.missing)
            est.vcov = est.tests.vcov
        return est


def _warn_dropped(patterns, moms, n_cut: int) -> None:
    """lavaan's warnings for the rows FIML leaves out: those missing a fixed covariate
    (missing = "ml"), and those missing on every model variable."""
    n_total = sum(m.n_total for m in moms)
    if n_cut:
        warnings.warn(f"{n_cut} of {n_total} rows are missing a fixed covariate and were "
                      "dropped (lavaan's missing = 'ml' with fixed.x); missing = 'ml.x' keeps "
                      "them", EmptyRowsWarning, stacklevel=5)
    n_empty = sum(pm.n_empty for pm in patterns)
    if n_empty:
        warnings.warn(f"{n_empty} of {n_total} rows are missing on every model variable and "
                      "were dropped (lavaan drops such empty cases too)", EmptyRowsWarning,
                      stacklevel=5)
