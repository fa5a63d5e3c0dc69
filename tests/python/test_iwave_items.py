"""IWAVE with every item type (recovery of a simulated truth), bad input,
missing responses, covariates, and the ordered parameter table vs lavaan."""
import numpy as np
import pandas as pd
import pytest

import torchfit
from conftest import REFERENCE
from torchfit.datasets import simulate
from torchfit.errors import DataError, ModelError, TorchfitError
from torchfit.model.partable import parse

# item type -> (rows, loading RMSE bound); binary items carry the least information
RECOVERY = {"normal": (2000, 0.1), "graded": (2000, 0.15), "binary": (2000, 0.25),
            "gpcm": (2000, 0.15), "nominal": (2000, 0.15), "lognormal": (2000, 0.1),
            "poisson": (2000, 0.1), "negbinom": (2000, 0.15)}


def _rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _by_item(pt, op, names, lhs_col="lhs"):
    rows = pt[pt["op"] == op].set_index(lhs_col)["est"]
    return rows[names].to_numpy()


@pytest.mark.parametrize("kind", list(RECOVERY))
def test_recovery(kind):
    n, bound = RECOVERY[kind]
    data, truth = simulate(n, kind, n_factors=2, items_per_factor=4, seed=3)
    names = list(data.columns)
    fit = torchfit.cfa(truth["syntax"], data, std_lv=True, estimator="IWAVE", se="none",
                       item_types={c: kind for c in names}, seed=0, refine=False)
    pt = fit.partable
    assert fit.info["item_types"] == {c: kind for c in names}
    lam = _by_item(pt, "=~", names, "rhs")
    assert _rmse(lam, truth["loadings"].sum(1)) < bound
    r = pt[(pt["op"] == "~~") & (pt["lhs"] == "F1") & (pt["rhs"] == "F2")]["est"].iloc[0]
    assert abs(r - truth["corr"][0, 1]) < 0.1
    if "intercepts" in truth:
        assert _rmse(_by_item(pt, "~1", names), truth["intercepts"]) < 0.1
    if "variances" in truth:
        var = pt[(pt["op"] == "~~") & pt["lhs"].isin(names)].set_index("lhs")["est"][names]
        assert _rmse(var, truth["variances"]) < 0.12
    if "thresholds" in truth:
        thr = pt[(pt["op"] == "|") & pt["rhs"].str.startswith("t")]
        want = [truth["thresholds"][int(l[1:]) - 1, int(t[1:]) - 1]
                for l, t in zip(thr["lhs"], thr["rhs"])]
        assert _rmse(thr["est"], want) < 0.25
    if "category_scores" in truth:  # nominal: y | s1 .. s{K-2}, after the thresholds
        sc = pt[(pt["op"] == "|") & pt["rhs"].str.startswith("s")]
        want = [truth["category_scores"][int(l[1:]) - 1, int(s[1:]) - 1]
                for l, s in zip(sc["lhs"], sc["rhs"])]
        assert len(sc) == truth["category_scores"].size
        assert _rmse(sc["est"], want) < 0.25
    assert np.isfinite(fit.fit_measures()["logl"])


def test_mixed_item_types_and_missing_responses():
    normal, t1 = simulate(1500, "normal", n_factors=1, items_per_factor=4, seed=5)
    graded, _ = simulate(1500, "graded", n_factors=1, items_per_factor=4, seed=6)
    data = normal.copy()
    for j, c in enumerate(graded.columns):  # a second, independent factor
        data[f"g{j + 1}"] = graded[c]
    rng = np.random.default_rng(0)
    holes = data.mask(rng.uniform(size=data.shape) < 0.1)
    model = "F1 =~ y1 + y2 + y3 + y4\nF2 =~ g1 + g2 + g3 + g4"
    fit = torchfit.cfa(model, holes, std_lv=True, estimator="IWAVE", se="none",
                       ordered=["g1", "g2", "g3", "g4"], seed=0, refine=False)
    assert fit.nobs == 1500
    assert fit.info["item_types"]["g1"] == "graded" and fit.info["item_types"]["y1"] == "normal"
    lam = _by_item(fit.partable, "=~", ["y1", "y2", "y3", "y4"], "rhs")
    assert _rmse(lam, t1["loadings"].sum(1)) < 0.1
    assert (fit.partable["op"] == "|").sum() == 16
    scores = fit.scores()
    assert scores.shape == (1500, 2) and np.isfinite(scores.to_numpy()).all()


def test_covariates_and_marker_identification():
    rng = np.random.default_rng(2)
    n = 2000
    x = rng.normal(size=n)
    f = 0.5 * x + rng.normal(size=n) * np.sqrt(0.75)
    lam = np.array([1.0, 0.8, 1.2])
    y = f[:, None] * lam + rng.normal(size=(n, 3)) * 0.6
    data = pd.DataFrame(np.column_stack([y, x]), columns=["y1", "y2", "y3", "x"])
    fit = torchfit.sem("f =~ y1 + y2 + y3\nf ~ x", data, estimator="IWAVE", seed=0)
    pe = fit.parameter_estimates()
    ml = torchfit.sem("f =~ y1 + y2 + y3\nf ~ x", data).parameter_estimates()
    merged = ml.merge(pe, on=["lhs", "op", "rhs"], suffixes=("_ml", ""))
    assert np.abs(merged["est"] - merged["est_ml"]).max() < 0.05
    assert pe.loc[(pe["op"] == "=~") & (pe["rhs"] == "y1"), "se"].iloc[0] == 0  # the marker


def test_graded_items_regressed_on_a_covariate():
    """Ordinal items with a covariate: lavaan's table marks the regression
    exo (conditional.x), yet it is a parameter to estimate."""
    rng = np.random.default_rng(4)
    n = 3000
    x = rng.normal(size=n)
    eta = 0.6 * x + rng.normal(size=n)  # std.lv: residual variance 1
    lam, tau = np.array([1.5, 1.0, 2.0, 1.2]), np.array([-1.0, 0.0, 1.0])
    logit_u = np.log(rng.uniform(size=(n, 4)))
    logit_u -= np.log1p(-np.exp(logit_u))
    y = ((eta[:, None] * lam - logit_u)[..., None] > tau).sum(-1)
    data = pd.DataFrame(np.column_stack([y, x]), columns=["y1", "y2", "y3", "y4", "x"])
    fit = torchfit.sem("f =~ y1 + y2 + y3 + y4\nf ~ x", data, std_lv=True, estimator="IWAVE",
                       ordered=["y1", "y2", "y3", "y4"], seed=0, se="none", quiet=True)
    pe = fit.parameter_estimates().set_index(["lhs", "op", "rhs"])["est"]
    assert abs(pe[("f", "~", "x")] - 0.6) < 0.1
    assert _rmse(pe[[("f", "=~", f"y{j}") for j in range(1, 5)]], lam) < 0.2


def test_equal_loadings_by_label():
    data, truth = simulate(1500, "normal", n_factors=1, items_per_factor=4, seed=8)
    fit = torchfit.cfa("F1 =~ a*y1 + a*y2 + y3 + y4", data, std_lv=True, estimator="IWAVE",
                       se="none", seed=0)
    pe = fit.parameter_estimates()
    lam = pe[pe["op"] == "=~"].set_index("rhs")["est"]
    assert lam["y1"] == lam["y2"]
    assert fit.info["neq"] == 1


def test_ordered_table_matches_lavaan():
    ref = pd.read_csv(REFERENCE / "lavaan" / "iwave_ordered_partable.csv",
                      keep_default_na=False, na_values=["NA"])
    pt = parse("f =~ x1 + x2 + x3 + x4\n g =~ x5 + x6\n f ~ ageyr + grade\n x2 | t1",
               ordered={"x1": 2, "x2": 2, "x3": 2})
    ours = pt[["lhs", "op", "rhs", "user", "free", "ustart", "exo"]]
    assert ours["lhs"].tolist() == ref["lhs"].tolist()
    assert ours["op"].tolist() == ref["op"].tolist()
    assert ours["rhs"].tolist() == ref["rhs"].fillna("").astype(str).tolist()
    for c in ("user", "free", "exo"):
        assert ours[c].tolist() == ref[c].tolist(), c
    assert np.allclose(ours["ustart"], ref["ustart"], equal_nan=True)


def test_nominal_with_gpcm_scores_is_the_gpcm():
    """Fixing every category score at k (y | 1*s1 + 2*s2 + 3*s3) turns the
    nominal model into the GPCM: the same likelihood, so the same fit."""
    data, truth = simulate(600, "gpcm", n_factors=1, items_per_factor=4, seed=4)
    options = dict(std_lv=True, estimator="IWAVE", se="none", seed=0, refine=False,
                   max_iterations=400)
    gpcm = torchfit.cfa(truth["syntax"], data, item_types={c: "gpcm" for c in data}, **options)
    fixed = "\n".join(f"{c} | 1*s1 + 2*s2 + 3*s3" for c in data)
    nominal = torchfit.cfa(truth["syntax"] + "\n" + fixed, data,
                           item_types={c: "nominal" for c in data}, **options)
    a = gpcm.parameter_estimates().set_index(["lhs", "op", "rhs"])["est"]
    b = nominal.parameter_estimates().set_index(["lhs", "op", "rhs"])["est"]
    assert np.allclose(a, b[a.index], atol=1e-4)
    scores = b[[(c, "|", f"s{k}") for c in data for k in (1, 2, 3)]]
    assert scores.tolist() == [1.0, 2.0, 3.0] * 4
    assert nominal.info["npar"] == gpcm.info["npar"]


def test_nominal_rows_and_summary():
    data, truth = simulate(300, "nominal", n_factors=1, items_per_factor=4, n_categories=3,
                           seed=2)
    fit = torchfit.cfa(truth["syntax"], data, std_lv=True, estimator="IWAVE", se="none",
                       item_types={"y1": "nominal", "y2": "nominal"}, ordered=["y3", "y4"],
                       max_iterations=50)
    pt = fit.partable
    bars = pt[pt["op"] == "|"]
    assert sorted(bars.loc[bars["rhs"].str.startswith("s"), "lhs"]) == ["y1", "y2"]
    assert (bars.loc[bars["rhs"].str.startswith("s"), "free"] > 0).all()
    assert "Category Scores:" in fit.summary() and "y1|s1" in fit.summary()


def test_ml_still_refuses_thresholds():
    with pytest.raises(ModelError):
        torchfit.cfa("f =~ x1 + x2 + x3\nx1 | t1", torchfit.datasets.holzinger_swineford())


# -- bad input -----------------------------------------------------------------------
MODEL = "F1 =~ y1 + y2 + y3 + y4"


@pytest.fixture
def counts():
    return simulate(300, "poisson", n_factors=1, items_per_factor=4, seed=1)[0]


@pytest.fixture
def ordinal():
    return simulate(300, "graded", n_factors=1, items_per_factor=4, seed=1)[0]


def _fit(data, **options):
    options.setdefault("max_iterations", 1)
    return torchfit.cfa(MODEL, data, std_lv=True, estimator="IWAVE", se="none", **options)


def test_non_integer_ordinal_column(ordinal):
    bad = ordinal.copy()
    bad.loc[3, "y2"] = 1.5
    with pytest.raises(DataError, match=r"'y2'.*non-integer value 1.5.*recode"):
        _fit(bad, ordered=["y1", "y2", "y3", "y4"])


def test_unused_ordinal_category(ordinal):
    bad = ordinal.copy()
    bad["y3"] = np.where(bad["y3"] == 1, 2, bad["y3"])
    with pytest.raises(DataError, match=r"'y3' has no responses in category 1.*merge"):
        _fit(bad, ordered=["y1", "y2", "y3", "y4"])
    cat = ordinal.copy()
    cat["y1"] = pd.Categorical(np.minimum(cat["y1"], 2), categories=[0, 1, 2, 3], ordered=True)
    with pytest.raises(DataError, match=r"'y1' has no responses in category 3"):
        _fit(cat, ordered=["y1"])


def test_negative_counts(counts):
    bad = counts.copy()
    bad.loc[0, "y4"] = -1
    with pytest.raises(DataError, match=r"'y4'.*-1.*counts"):
        _fit(bad, item_types={"y4": "poisson"})


def test_non_positive_lognormal(counts):
    with pytest.raises(DataError, match=r"'y1'.*<= 0.*lognormal"):
        _fit(counts, item_types={"y1": "lognormal"})


def test_unknown_item_type(counts):
    with pytest.raises(ModelError, match=r"unknown item type 'ordinal' for column 'y2'.*'graded'"):
        _fit(counts, item_types={"y2": "ordinal"})


def test_item_type_for_a_column_not_in_the_model(counts):
    with pytest.raises(ModelError, match=r"'z9'"):
        _fit(counts, item_types={"z9": "poisson"})


@pytest.mark.parametrize("k", [0, -3, 2.5])
def test_iw_samples_below_one(counts, k):
    with pytest.raises(TorchfitError, match=r"iw_samples.*>= 1"):
        _fit(counts, iw_samples=k)


def test_unknown_option(counts):
    with pytest.raises(TypeError, match="iw_sample"):
        _fit(counts, iw_sample=5)


def test_category_scores_only_for_nominal_items(ordinal):
    with pytest.raises(ModelError, match=r"'y1 \| s1' is a category score.*'nominal'"):
        torchfit.cfa(MODEL + "\ny1 | s1", ordinal, std_lv=True, estimator="IWAVE",
                     ordered=["y1"], max_iterations=1)
    with pytest.raises(ModelError, match=r"'y1 \| s4'.*5 categories.*s1 .. s3"):
        torchfit.cfa(MODEL + "\ny1 | s4", ordinal, std_lv=True, estimator="IWAVE",
                     item_types={"y1": "nominal"}, max_iterations=1)


def test_binary_needs_two_categories(counts):
    with pytest.raises(DataError, match=r"'y1'.*exactly two"):
        _fit(counts, item_types={"y1": "binary"})


def test_cuda_without_gpu_is_a_clear_error(counts):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(TorchfitError, match="cuda"):
        _fit(counts, device="cuda")


def test_lavaan_table_with_thresholds_fits_like_the_syntax():
    table = pd.read_csv(REFERENCE / "lavaan" / "iwave_hs_ordered_partable.csv",
                        keep_default_na=False, na_values=["NA"])
    data = pd.read_csv(REFERENCE / "data" / "iwave_hs_ordered.csv")
    options = dict(estimator="IWAVE", se="none", seed=0, refine=False, max_iterations=300)
    from_table = torchfit.cfa(table, data, **options)
    from_syntax = torchfit.cfa("visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6", data,
                               std_lv=True, ordered=["x1", "x2", "x3"], **options)
    a, b = from_table.parameter_estimates(), from_syntax.parameter_estimates()
    assert a[["lhs", "op", "rhs"]].equals(b[["lhs", "op", "rhs"]])
    assert np.allclose(a["est"], b["est"])
    assert from_table.info["item_types"]["x1"] == "graded"
