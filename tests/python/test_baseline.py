"""The baseline (independence) model with observed covariates that are not fixed
(fixed_x=False), against lavaan 0.6.14 (tests/reference/make_baseline_reference.R):
lavaan keeps the covariates' covariances free in the baseline, which changes its df,
chi-square and every index built on it (CFI, TLI, ..., the scaled and robust ones).

Tolerance as test_lavaan_reference: every fit measure within 0.01 %.
"""
import warnings

import pandas as pd
import pytest

import torchfit
from conftest import DATASETS, MIMIC, REFERENCE, assert_measures_match

OUT = REFERENCE / "baseline"


_hs = DATASETS["HolzingerSwineford1939"]
_hs_mcar_x = DATASETS["hs_mcar_x"]


#: each reference case, fitted as make_baseline_reference.R fits it (lavaan drops the
#: row missing grade silently; torchfit asks for missing="listwise")
CASES = {
    "free_x_ml": lambda: torchfit.sem(MIMIC, _hs(), fixed_x=False, missing="listwise"),
    "free_x_mlm": lambda: torchfit.sem(MIMIC, _hs(), fixed_x=False, missing="listwise",
                                       estimator="MLM"),
    "free_x_mlr": lambda: torchfit.sem(MIMIC, _hs(), fixed_x=False, missing="listwise",
                                       estimator="MLR"),
    "free_x_means": lambda: torchfit.sem(MIMIC, _hs(), fixed_x=False, missing="listwise",
                                         meanstructure=True),
    "free_x_groups": lambda: torchfit.sem(MIMIC, _hs(), fixed_x=False, missing="listwise",
                                          group="school"),
    "free_x_fiml": lambda: torchfit.sem(MIMIC, _hs_mcar_x(), fixed_x=False, missing="ml"),
    "free_x_fiml_mlr": lambda: torchfit.sem(MIMIC, _hs_mcar_x(), fixed_x=False, missing="ml",
                                            estimator="MLR"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_baseline_keeps_the_covariates_covariances(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CASES[name]()
    ref = pd.read_csv(OUT / f"{name}_fitmeasures.csv").set_index("name")["value"]
    ours = fit.fit_measures()
    common = [k for k in ours if k in ref.index]
    assert {"baseline.chisq", "baseline.df", "cfi", "tli", "nfi", "logl"} <= set(common)
    if name.endswith(("mlm", "mlr")):
        assert {"baseline.chisq.scaled", "cfi.robust", "tli.robust"} <= set(common)
    assert set(ours) <= set(ref.index)
    assert_measures_match(ours, ref, common)
