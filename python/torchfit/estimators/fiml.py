"""Full-information ML (``missing = "ml"``): the missing-data patterns and EM's
unrestricted moments per group, the FIML discrepancy minimised by the ML optimiser
(:mod:`torchfit.estimate.fiml`), and FIML's information and test
(:mod:`torchfit.inference.fiml`)."""
from __future__ import annotations

import warnings

from ..data.cases import incomplete_cases
from ..data.frames import Moments, check_moments, group_data
from ..data.patterns import EmptyRowsWarning, em_h1, pattern_moments
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

    def applies(self, options: FitOptions) -> bool:
        return options.fiml

    def spec(self, model, data, options: FitOptions) -> Spec:
        return moments.build_spec(model, data, options)

    def sample_stats(self, spec: Spec, data, options: FitOptions) -> SampleStats:
        """Patterns and EM moments per group; the model must have a mean structure, no
        fixed covariates and no more parameters than moments."""
        if not spec.means:
            raise ModelError("missing = 'ml' needs a mean structure: give a parameter table "
                             "with intercepts (lavaanify(..., meanstructure = TRUE)) or lavaan "
                             "syntax")
        exo = [moments.exo_flags(spec.table, mod) for mod in spec.models]
        if any(any(e) for e in exo):
            raise ModelError("fixed exogenous covariates (fixed.x) with missing = 'ml' are not "
                             "supported yet; use fixed_x=False to model the covariates' "
                             "(co)variances and means")
        patterns, h1s, moms = [], [], []
        for mod, subset in zip(spec.models, group_data(data, options.group)[1]):
            pm = pattern_moments(subset, mod.ov_names, columns=options.columns, warn=False)
            with one_thread():
                h1 = em_h1(pm)
            check_moments(h1[1], pm.n, mod.ov_names)
            patterns.append(pm)
            h1s.append(h1)
            moms.append(Moments(pm.n, h1[0], h1[1], pm.n_total))
        n_empty = sum(pm.n_empty for pm in patterns)
        if n_empty:
            warnings.warn(f"{n_empty} of {sum(pm.n_total for pm in patterns)} rows are missing "
                          "on every model variable and were dropped (lavaan drops such empty "
                          "cases too)", EmptyRowsWarning, stacklevel=4)
        moments.check_identified(spec.model, sum(count_moments(len(m.ov_names), 0, True)
                                                 for m in spec.models))
        stats = SampleStats(moms, exo, "ml", data, options.columns, patterns, h1s)
        if options.robust.estimator == "MLR":  # its scores need the rows
            if getattr(data, "comm", None) is not None:
                raise ModelError("estimator='MLR' with missing='ml' needs every row's scores "
                                 "in one process; fit it without distributed=True")
            stats.extras["cases"] = incomplete_cases(
                group_data(data, options.group)[1], spec.models[0].ov_names, options.columns,
                options.cluster)
        return stats

    def estimate(self, spec: Spec, stats: SampleStats, options: FitOptions) -> Estimate:
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
                est.tests = FimlFit(*pieces)
            est.vcov = est.tests.vcov
        return est
