"""Shared fixtures: the lavaan reference cases and the example data."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import torchfit

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
DATASETS = {
    "HolzingerSwineford1939": torchfit.datasets.holzinger_swineford,
    "PoliticalDemocracy": torchfit.datasets.political_democracy,
    "mediation": lambda: pd.read_csv(REFERENCE / "data" / "mediation.csv"),
    "Demo.growth": torchfit.datasets.demo_growth,
    "constraints": lambda: pd.read_csv(REFERENCE / "data" / "constraints.csv"),
    # HS with values missing completely at random, written by make_reference.R
    "hs_mcar": lambda: pd.read_csv(REFERENCE / "data" / "hs_mcar.csv"),
    # and ageyr missing in every 13th row, written by make_data_options_reference.R
    "hs_mcar_x": lambda: pd.read_csv(REFERENCE / "data" / "hs_mcar_x.csv"),
}
#: a MIMIC model of HS with two observed covariates (the reference scripts' ``mimic``)
MIMIC = ("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ ageyr + grade\n"
         "textual ~ ageyr")


def load_cases():
    cases = pd.read_csv(REFERENCE / "cases.csv")
    return [row._asdict() for row in cases.itertuples(index=False)]


def model_text(case) -> str:
    return (REFERENCE / "models" / case["model_file"]).read_text()


def fit_case(case):
    fun = getattr(torchfit, case["fun"])
    return fun(model_text(case), DATASETS[case["dataset"]](), std_lv=bool(case["std_lv"]),
               orthogonal=bool(case["orthogonal"]), missing=case["missing"],
               meanstructure=bool(case["meanstructure"]), **_robust_options(case),
               **_group_options(case))


def _group_options(case) -> dict:
    """group, group_equal and group_partial of a case (";"-separated lists)."""
    group = case.get("group")
    if not isinstance(group, str) or group == "":
        return {}
    split = lambda v: [x for x in str(v).split(";") if x] if isinstance(v, str) else []
    return {"group": group, "group_equal": split(case.get("group_equal")),
            "group_partial": split(case.get("group_partial"))}


def _robust_options(case) -> dict:
    """estimator and information of a case; blank (an older row) means ML with
    lavaan's default information."""
    opts = {}
    estimator, information = case.get("estimator"), case.get("information")
    if isinstance(estimator, str) and estimator not in ("", "ML"):
        opts["estimator"] = estimator
    if isinstance(information, str) and information not in ("", "default"):
        opts["information"] = information
    return opts


def lavaan_csv(case, what) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "lavaan" / f"{case['name']}_{what}.csv",
                       keep_default_na=False, na_values=["NA"])


def assert_estimates_match(m) -> None:
    """Estimates (``est``) within 1e-3 of lavaan's standard error (``se_ref``) of a
    merged table of ours and lavaan's (``est_ref``)."""
    scale = np.where(m["se_ref"] > 0, m["se_ref"], 1.0)
    err = np.abs(m["est"] - m["est_ref"]) / scale
    assert err.max() < 1e-3, m.loc[err.idxmax(), ["lhs", "op", "rhs", "est", "est_ref"]]


def assert_measures_match(ours, ref, names) -> None:
    """Each of ``names`` in ``ours`` (fit_measures()) within 0.01 % of lavaan's ``ref``
    (NaN where lavaan has NaN)."""
    for name in names:
        want, got = ref[name], ours[name]
        if np.isnan(want):
            assert np.isnan(got), name
            continue
        assert abs(got - want) <= max(1e-4 * abs(want), 1e-8), (name, got, want)


@pytest.fixture
def hs():
    return torchfit.datasets.holzinger_swineford()
