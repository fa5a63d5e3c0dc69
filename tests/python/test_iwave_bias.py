"""IWAVE's default against exact marginal ML (issue 17): 1 factor x 10 five-category
graded items, N = 5000, exact ML from the independent quadrature script
(tests/reference/exact_irt.py).  The IW-ELBO at K = 10 alone puts every slope
about 0.3-0.5 % low; the DReG gradient and the final pass at 50 draws bring the
mean slope bias within 0.2 %."""
import numpy as np
import pandas as pd

import torchfit
from conftest import REFERENCE

CASE = REFERENCE / "irt" / "graded_1f_n5000"


def test_default_iwave_slopes_within_0_2_percent_of_exact_ml():
    data = pd.read_csv(f"{CASE}.csv")
    ref = pd.read_csv(f"{CASE}_exact.csv")
    fit = torchfit.fit("f1 =~ " + " + ".join(data.columns), data, estimator="IWAVE",
                       ordered=True, std_lv=True, quiet=True, se="none")
    m = ref.merge(fit.parameter_estimates(), on=["lhs", "op", "rhs"], suffixes=("_ref", ""))
    slopes = m[m["op"] == "=~"]
    bias = np.mean(slopes["est"] / slopes["est_ref"] - 1)
    assert abs(bias) <= 0.002, bias
    thresholds = m[m["op"] == "|"]
    # well inside one standard error (about 0.04) of every threshold
    assert (thresholds["est"] - thresholds["est_ref"]).abs().max() < 0.01
    assert fit.info["dreg"] and fit.info["final_samples"] == 50  # 5000 x 10 x 50 > 1e6
