"""Error messages are a product feature: their full text is held in a snapshot
(tests/python/snapshots/error_messages.txt), so a change of wording is a
reviewed change of that file.  Rewrite it after an intended change with
``TORCHFIT_UPDATE_SNAPSHOTS=1 pytest test_error_messages.py``."""
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import torchfit

SNAPSHOT = Path(__file__).parent / "snapshots" / "error_messages.txt"
HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"


def _cases(hs):
    """(name, call) pairs, each a bad call a user makes."""
    with_na = hs.copy()
    with_na.loc[[3, 7], "x2"] = np.nan
    clash = hs.assign(visual=1.0)
    twice = pd.concat([hs, hs[["x4"]]], axis=1)
    text = hs.assign(x5=hs["x5"].astype(str))
    cut = hs.assign(**{v: (hs[v] > hs[v].median()).astype(int) for v in ("x1", "x2", "x3")})
    grades = hs.assign(x1=pd.Categorical(hs["x1"].round().astype(int).astype(str)))
    spaced = hs.rename(columns={"x1": "x 1"})
    xs = [f"x{i}" for i in range(1, 10)]
    S = hs[xs].cov()
    asym = S.copy()
    asym.iloc[0, 1] += 0.1
    singular = S.copy()
    singular.loc["x2", :], singular.loc[:, "x2"] = singular.loc["x1", :], singular.loc[:, "x1"]
    return [
        ("missing variable", lambda: torchfit.cfa(HS_MODEL.replace("x9", "x99"), hs)),
        ("syntax error", lambda: torchfit.cfa("visual =~ x1 + + x2", hs)),
        ("non-numeric column", lambda: torchfit.cfa(HS_MODEL, text)),
        ("missing values", lambda: torchfit.cfa(HS_MODEL, with_na)),
        ("infinite values",
         lambda: torchfit.cfa(HS_MODEL, hs.assign(x2=hs["x2"].where(hs.index != 3, np.inf)))),
        ("unknown missing option", lambda: torchfit.cfa(HS_MODEL, hs, missing="pairwise")),
        ("fewer rows than variables", lambda: torchfit.cfa(HS_MODEL, hs.head(5))),
        ("unknown estimator", lambda: torchfit.cfa(HS_MODEL, hs, estimator="PML")),
        ("more parameters than moments",
         lambda: torchfit.sem("f =~ x1 + x2; x1 ~~ x2", hs)),
        ("latent name is a column", lambda: torchfit.cfa(HS_MODEL, clash)),
        ("duplicate column", lambda: torchfit.cfa(HS_MODEL, twice)),
        ("empty data", lambda: torchfit.cfa(HS_MODEL, hs.head(0))),
        ("group with one level",
         lambda: torchfit.cfa(HS_MODEL, hs.assign(g="a"), group="g")),
        ("group_partial names no parameter",
         lambda: torchfit.cfa(HS_MODEL, hs, group="school", group_equal="intercepts",
                              group_partial="x99 ~ 1")),
        ("thresholds without IWAVE", lambda: torchfit.cfa("f =~ x1 + x2 + x3; x1 | t1", hs)),
        ("ordered item with one category",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3", cut.assign(x1=1), ordered=True)),
        ("ordered item with too many categories",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3", hs, ordered=True)),
        ("ordered and continuous items, pairwise, a pair never observed together",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3",
                              cut.assign(x1=cut["x1"].mask(cut.index < 150),
                                         x3=cut["x3"].where(cut.index < 150)),
                              ordered=["x1", "x2"], missing="pairwise")),
        ("ML with ordered items",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3", cut, ordered=True, estimator="MLR")),
        ("WLSMV without ordered items",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3", cut, estimator="WLSMV")),
        ("unordered Categorical, IWAVE",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3", grades, estimator="IWAVE", ordered=["x1"])),
        ("unordered Categorical, ML", lambda: torchfit.cfa("f =~ x1 + x2 + x3", grades)),
        ("score test of a variable not in the model",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3", hs).score_test(add="x3 ~~ y8")),
        ("standardized residuals of MLR with FIML",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3", hs.assign(x1=hs["x1"].mask(hs.index % 7 == 0)),
                              estimator="MLR", missing="ml").residuals("standardized")),
        ("unordered Categorical, WLSMV",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3", grades, ordered=True)),
        ("ordered Categorical, ML",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3",
                              grades.assign(x1=grades["x1"].cat.as_ordered()))),
        ("name with a space", lambda: torchfit.cfa("f =~ x 1 + x2 + x3", spaced)),
        ("data of another type", lambda: torchfit.cfa(HS_MODEL, [[1.0, 2.0]])),
        ("bootstrap= without se='bootstrap'",
         lambda: torchfit.cfa(HS_MODEL, hs, bootstrap=100)),
        ("unknown se", lambda: torchfit.cfa(HS_MODEL, hs, se="robust")),
        ("bootstrap with MLR", lambda: torchfit.cfa(HS_MODEL, hs, estimator="MLR", se="bootstrap")),
        ("bootstrap with FIML", lambda: torchfit.cfa(HS_MODEL, hs, missing="ml", se="bootstrap")),
        ("too few bootstrap draws",
         lambda: torchfit.cfa(HS_MODEL, hs, se="bootstrap", bootstrap=1)),
        ("unknown boot_ci_type",
         lambda: torchfit.cfa(HS_MODEL, hs, se="bootstrap", bootstrap=5, seed=1)
         .parameter_estimates(boot_ci_type="bca")),
        ("unknown IWAVE option",
         lambda: torchfit.cfa(HS_MODEL, hs, estimator="IWAVE", iw_sample=5)),
        ("unknown ML option", lambda: torchfit.cfa(HS_MODEL, hs, iter_maxx=5)),
        ("IWAVE option with ML", lambda: torchfit.cfa(HS_MODEL, hs, iw_samples=5)),
        ("MLM with FIML", lambda: torchfit.cfa(HS_MODEL, hs, estimator="MLM", missing="ml")),
        ("unknown grouping column", lambda: torchfit.cfa(HS_MODEL, hs, group="sex2")),
        ("unknown cluster column", lambda: torchfit.cfa(HS_MODEL, hs, cluster="shool")),
        ("missing values in the cluster column",
         lambda: torchfit.cfa(HS_MODEL, hs.assign(c=np.where(hs.index < 3, np.nan, 1.0)),
                              cluster="c")),
        ("cluster is a model variable", lambda: torchfit.cfa(HS_MODEL, hs, cluster="x1")),
        ("cluster with MLM", lambda: torchfit.cfa(HS_MODEL, hs, cluster="school",
                                                  estimator="MLM")),
        ("cluster with IWAVE",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3", cut, cluster="school", estimator="IWAVE")),
        ("sampling weights with FIML",
         lambda: torchfit.cfa(HS_MODEL, hs.assign(w=1.0), sampling_weights="w", missing="ml")),
        ("cluster with expected information",
         lambda: torchfit.cfa(HS_MODEL, hs, cluster="school", information="expected")),
        ("two cluster columns",
         lambda: torchfit.cfa(HS_MODEL, hs, cluster=["school", "grade"])),
        ("negative sampling weights",
         lambda: torchfit.cfa(HS_MODEL, hs.assign(w=hs["x1"] - 3), sampling_weights="w")),
        ("missing sampling weights",
         lambda: torchfit.cfa(HS_MODEL, hs.assign(w=np.where(hs.index < 2, np.nan, 1.0)),
                              sampling_weights="w")),
        ("non-numeric sampling weights",
         lambda: torchfit.cfa(HS_MODEL, hs.assign(w="a"), sampling_weights="w")),
        ("zero sampling weights",
         lambda: torchfit.cfa(HS_MODEL, hs.assign(w=0.0), sampling_weights="w")),
        ("sampling weights with mini-batches",
         lambda: torchfit.cfa(HS_MODEL, hs.assign(w=1.0), sampling_weights="w",
                              batch_size=64)),
        ("sample_cov without sample_nobs", lambda: torchfit.cfa(HS_MODEL, sample_cov=S)),
        ("sample_cov not symmetric", lambda: torchfit.cfa(HS_MODEL, sample_cov=asym,
                                                          sample_nobs=301)),
        ("sample_cov names rows and columns apart",
         lambda: torchfit.cfa(HS_MODEL, sample_cov=S.rename(index={"x1": "y1"}),
                              sample_nobs=301)),
        ("sample_cov without a model variable",
         lambda: torchfit.cfa(HS_MODEL, sample_cov=S.iloc[:8, :8], sample_nobs=301)),
        ("sample_cov not positive definite",
         lambda: torchfit.cfa(HS_MODEL, sample_cov=singular, sample_nobs=301)),
        ("sample_cov array without names",
         lambda: torchfit.cfa(HS_MODEL, sample_cov=S.to_numpy(), sample_nobs=301)),
        ("sample_mean named otherwise",
         lambda: torchfit.cfa(HS_MODEL, sample_cov=S, sample_mean=hs[xs[:8]].mean(),
                              sample_nobs=301)),
        ("sample_nobs not a count", lambda: torchfit.cfa(HS_MODEL, sample_cov=S,
                                                         sample_nobs=30.5)),
        ("sample_nobs of other groups",
         lambda: torchfit.cfa(HS_MODEL, sample_cov={"a": S, "b": S},
                              sample_nobs={"a": 100, "c": 201})),
        ("sample_cov with data", lambda: torchfit.cfa(HS_MODEL, hs, sample_cov=S,
                                                      sample_nobs=301)),
        ("sample_nobs without sample_cov", lambda: torchfit.cfa(HS_MODEL, hs, sample_nobs=301)),
        ("no data", lambda: torchfit.cfa(HS_MODEL)),
        ("sample_cov with MLR", lambda: torchfit.cfa(HS_MODEL, sample_cov=S, sample_nobs=301,
                                                     estimator="MLR")),
        ("sample_cov with FIML", lambda: torchfit.cfa(HS_MODEL, sample_cov=S, sample_nobs=301,
                                                      missing="ml")),
        ("sample_cov with the bootstrap",
         lambda: torchfit.cfa(HS_MODEL, sample_cov=S, sample_nobs=301, se="bootstrap")),
        ("sample_cov with std_ov",
         lambda: torchfit.cfa(HS_MODEL, sample_cov=S, sample_nobs=301, std_ov=True)),
        ("sample_cov with group=",
         lambda: torchfit.cfa(HS_MODEL, sample_cov=S, sample_nobs=301, group="school")),
        ("sample_cov with IWAVE",
         lambda: torchfit.cfa(HS_MODEL, sample_cov=S, sample_nobs=301, estimator="IWAVE")),
        ("predict() of a fit from sample_cov",
         lambda: torchfit.cfa(HS_MODEL, sample_cov=S, sample_nobs=301).predict()),
        ("std_ov with WLSMV", lambda: torchfit.cfa("f =~ x1 + x2 + x3", cut, ordered=True,
                                                   std_ov=True)),
        ("std_ov on a file", lambda: torchfit.cfa(HS_MODEL, "hs.csv", std_ov=True)),
        ("unknown MML quadrature rule",
         lambda: torchfit.cfa("f =~ x1 + x2 + x3", cut, ordered=True, estimator="MML",
                              quadrature="gauss")),
    ]


def _message(call) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except Exception as e:  # noqa: BLE001 - every error a user sees is snapshot
            return f"{type(e).__name__}: {e}"
    return "no error"


def _render(hs) -> str:
    return "".join(f"## {name}\n{_message(call)}\n\n" for name, call in _cases(hs))


def test_error_messages_match_the_snapshot(hs):
    text = _render(hs)
    if os.environ.get("TORCHFIT_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)
    assert SNAPSHOT.exists(), "no snapshot: run with TORCHFIT_UPDATE_SNAPSHOTS=1"
    assert text == SNAPSHOT.read_text()


def test_every_bad_call_fails(hs):
    for name, call in _cases(hs):
        assert _message(call) != "no error", name
