"""Data-parallel fits on torch.distributed (issue 15): two gloo ranks on
127.0.0.1, started by torch.multiprocessing (torchfit.distributed.local)."""
import numpy as np
import pandas as pd
import pytest
import torch.multiprocessing as mp

import torchfit
from torchfit.datasets import simulate, simulate_grm
from torchfit.distributed.local import run_local
from torchfit.errors import DataError, TorchfitError

ONE_FACTOR = "f =~ a + b + c + d + e"
GRM_ROWS = 20_000
# small settings so that both fits run in make test: one hidden layer of 32,
# 5 draws per row, the same iteration cap for one process and two
IWAVE = dict(std_lv=True, estimator="IWAVE", ordered=True, seed=0, quiet=True, hidden=(32,),
             iw_samples=5, max_iterations=1500, se_samples=20, logl_samples=20)


def likert(n=4001, seed=3):
    """Integer-coded responses (1..7): every float64 sum of them is exact, so
    the ranks' merged sums are the one pass's to the last bit."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    X = np.column_stack([0.5 * f * (1 + j / 5) + rng.normal(size=n) for j in range(5)])
    return pd.DataFrame(np.clip(np.round(X * 1.5 + 4), 1, 7), columns=list("abcde"))


def with_missing():
    frame = likert()
    rng = np.random.default_rng(5)
    return frame.mask(rng.random(frame.shape) < 0.05)  # 5% missing completely at random


def _estimates(fit):
    return fit.parameter_estimates()[["est", "se"]].to_numpy()


def ml_ranks(path):
    """Run on each rank: ML and MLR from a Parquet file, mini-batch ML from a frame."""
    out = {}
    for estimator in ("ML", "MLR"):
        fit = torchfit.cfa(ONE_FACTOR, path, estimator=estimator, distributed=True)
        out[estimator] = None if fit is None else (_estimates(fit), fit.fit_measures()["chisq"],
                                                   fit.info["world_size"], fit.groups[0].sample)
    fit = torchfit.cfa(ONE_FACTOR, with_missing(), missing="ml", distributed=True)
    out["FIML"] = None if fit is None else (_estimates(fit), fit.fit_measures()["chisq"])
    fit = torchfit.cfa(ONE_FACTOR, likert(), batch_size=500, lr=0.05, n_intervals=4,
                       max_epochs=300, seed=1, distributed=True)
    out["minibatch"] = None if fit is None else _estimates(fit)[:, 0]
    return out


def grouped(frame):
    """Three groups whose first appearances are spread over both ranks' rows."""
    return frame.assign(g=np.where(np.arange(len(frame)) < 1500, "a",
                                   np.where(np.arange(len(frame)) % 2 == 0, "b", "c")))


def group_ranks(path):
    """Run on each rank: multiple-group ML, MLR and FIML fits with equal loadings."""
    out = {}
    for estimator, missing in (("ML", "listwise"), ("MLR", "listwise"), ("ML", "ml")):
        fit = torchfit.cfa(ONE_FACTOR, path, estimator=estimator, missing=missing,
                           group="g", group_equal="loadings", distributed=True)
        out[estimator, missing] = None if fit is None else (
            _estimates(fit), fit.fit_measures()["chisq"], fit.group_labels)
    return out


def iwave_ranks(data, syntax, options=None):
    fit = torchfit.cfa(syntax, data, distributed=True, **{**IWAVE, **(options or {})})
    if fit is None:
        return None
    info = dict(fit.info)  # the fit's record, with what scores() said
    try:
        fit.scores()  # rank 0 holds its own shard only: refused, not half the rows
    except TorchfitError as err:
        info["scores_error"] = str(err)
    return fit.parameter_estimates(), info, fit.fit_measures()["logl"]


#: IWAVE streamed from a Parquet file of GRM rows: each rank reads its own row groups
STREAM = dict(stream=True, stream_buffer=2, max_iterations=400, final_samples=0)
STREAM_ROWS, STREAM_GROUP_ROWS = 4000, 250


def streamed_ranks(path, syntax, frame):
    """Run on each rank: the streamed fit twice (the second must repeat the first),
    then a short fit in memory of ``frame``, whose missing responses are all rank 1's."""
    return [iwave_ranks(path, syntax, STREAM) for _ in range(2)] + \
        [iwave_ranks(frame, syntax, dict(max_iterations=100, se="none"))]


def mml_data():
    """Graded items and a covariate (whose regression makes the quadrature untabulated)."""
    data, truth = simulate(400, "graded", n_factors=1, items_per_factor=5, seed=4)
    x = np.random.default_rng(4).normal(size=len(data))
    return data.assign(x=x), truth["syntax"]


#: MML fits on the patterns' table (fixed nodes) and row by row (adaptive nodes, covariate)
MML_FITS = (("", dict(quadrature="fixed")), ("\nF1 ~ x", dict(quadrature="adaptive")))


def mml_ranks():
    """Run on each rank: the MML fits, with what scores() says."""
    data, syntax = mml_data()
    out = []
    for extra, options in MML_FITS:
        fit = torchfit.cfa(syntax + extra, data, estimator="MML", ordered=True, std_lv=True,
                           distributed=True, **options)
        if fit is None:  # every rank runs every fit
            continue
        try:
            fit.scores()
            refused = None
        except TorchfitError as err:
            refused = str(err)
        out.append((_estimates(fit), fit.fit_measures(), dict(fit.info), refused,
                    fit.predict(data.head(5)).to_numpy()))
    return out or None


def failing_rank():
    import torch.distributed as dist
    frame = likert()
    if dist.get_rank() == 1:
        frame = frame.assign(c=frame["c"].astype(str))  # this rank's data are bad
    torchfit.cfa(ONE_FACTOR, frame, distributed=True)


#: the ordinal least-squares fits on two ranks, each with its data (ordinal_frames):
#: complete rows, ordered categoricals, pairwise missing values, groups with equal
#: loadings and thresholds, continuous variables among the ordered items (polyserial)
ORDINAL = {"WLSMV": ("cut", dict()), "ULSMV": ("categorical", dict()),
           "WLS pairwise": ("missing", dict(missing="pairwise")),
           "WLSM groups": ("missing", dict(missing="pairwise", group="g",
                                           group_equal=["loadings", "thresholds"])),
           "WLSMV mixed": ("cut", dict(ordered=["a", "b", "c"])),
           "WLSMV mixed pairwise": ("missing", dict(ordered=["a", "b"], missing="pairwise"))}


def ordinal_frames(frame):
    """The items cut to four categories (lavaan's integer codes; the continuous fits take
    them too), as ordered categoricals, and with 5% missing and three groups."""
    cut = frame.clip(2, 5)
    rng = np.random.default_rng(7)
    levels = ["never", "rarely", "often", "always"]
    categorical = cut.apply(lambda x: pd.Categorical.from_codes(
        x.astype(int) - 2, categories=levels, ordered=True))
    return {"cut": cut, "categorical": categorical,
            "missing": grouped(cut.mask(rng.random(cut.shape) < 0.05))}


def ordinal_fit(frames, name, distributed=False):
    which, options = ORDINAL[name]
    fit = torchfit.cfa(ONE_FACTOR, frames[which], estimator=name.split()[0],
                       distributed=distributed, **{"ordered": True, **options})
    if fit is None:
        return None
    measures = fit.fit_measures()
    return _estimates(fit), np.array([measures.get(k, np.nan) for k in (  # NaN: no such test
        "chisq", "chisq.scaled", "chisq.scaling.factor", "cfi.scaled")], dtype=float)


def with_rows_options(frame):
    """Sampling weights, and clusters that a split of the rows into two blocks cuts:
    37 clusters recur all through the rows (every third row), the other rows are
    in blocks of 21 consecutive rows, one of which straddles the ranks' boundary
    (row 2500: the first five row groups of 500 are rank 0's); group "x" is
    rank 0's alone, "y" on both ranks."""
    n = len(frame)
    rng = np.random.default_rng(11)
    i = np.arange(n)
    cluster = np.where(i % 3 == 0, i % 37, 1000 + (i + 10) // 21)
    return frame.assign(w=rng.uniform(0.2, 3.0, n), school=cluster,
                        g=np.where(i < 1500, "x", "y"))


#: one process's fits with clusters and sampling weights, and with the bootstrap
ROWS_FITS = {"weights MLR": dict(estimator="MLR", sampling_weights="w"),
             "weights ML groups": dict(sampling_weights="w", group="g"),
             "cluster ML": dict(cluster="school"),
             "cluster MLR groups": dict(estimator="MLR", cluster="school", group="g"),
             "cluster and weights": dict(estimator="MLR", cluster="school",
                                         sampling_weights="w")}
BOOT_FITS = {"se": dict(se="bootstrap", bootstrap=20, seed=4),
             "bollen.stine groups": dict(test="bollen.stine", bootstrap=20, seed=5, group="g")}


def _rows_fit(fit):
    m = fit.fit_measures()
    return (_estimates(fit), m["chisq"], m.get("chisq.scaled", np.nan),
            fit.info.get("nclusters"), fit.info.get("bollen_stine_pvalue"))


def options_ranks(path, fits):
    """Run on each rank: the fits ``fits`` names, from a Parquet file; with the
    bootstrap also one without a seed, whose resamples every rank must draw alike."""
    out = {}
    for name, options in fits.items():
        fit = torchfit.cfa(ONE_FACTOR, path, distributed=True, **options)
        out[name] = None if fit is None else _rows_fit(fit)
    if any("bootstrap" in options for options in fits.values()):
        out["seedless"] = seedless_draws(path)
    return out


def seedless_draws(path):
    """Whether both ranks drew the same resamples of a bootstrap without a seed."""
    import torch.distributed as dist

    from torchfit.inference import bootstrap
    drawn, draw = [], bootstrap.resample_counts

    def recorded(n, replicates, rng):
        drawn.append(draw(n, replicates, rng))
        return drawn[-1]

    bootstrap.resample_counts = recorded  # (this rank's process only)
    torchfit.cfa(ONE_FACTOR, path, se="bootstrap", bootstrap=5, distributed=True)
    both = [None, None]
    dist.all_gather_object(both, np.concatenate(drawn))
    return bool(np.array_equal(*both)), len(drawn)


def _same_as_one_process(tmp_path, fits, rtol, frame=None):
    frame = with_rows_options(likert() if frame is None else frame)
    frame.to_parquet(tmp_path / "rows.parquet", row_group_size=500)
    two = run_local(options_ranks, 2, str(tmp_path / "rows.parquet"), fits, timeout_s=300)
    assert two.pop("seedless", (True, 1)) == (True, 1)  # rank 0's seed on both ranks
    for name, options in fits.items():
        one = _rows_fit(torchfit.cfa(ONE_FACTOR, frame, **options))
        np.testing.assert_allclose(two[name][0], one[0], rtol=rtol, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(two[name][1:3], one[1:3], rtol=rtol, err_msg=name)
        assert two[name][3:] == one[3:], name  # the clusters counted, the p-value
    return frame


def least_squares(frames):
    """Run on each rank: ULS and WLS on continuous data, then the fits of ORDINAL (the
    cut items from a Parquet file)."""
    out = {}
    for estimator in ("ULS", "WLS"):
        fit = torchfit.cfa(ONE_FACTOR, frames["cut"], estimator=estimator, distributed=True)
        out[estimator] = None if fit is None else _estimates(fit)
    for name in ORDINAL:
        out[name] = ordinal_fit(frames, name, distributed=True)
    return out


@pytest.fixture(scope="module")
def frame():
    return likert()


@pytest.fixture(scope="module")
def least_squares_two(frame, tmp_path_factory):
    """One run on two ranks (spawning them costs more than the fits): the least-squares
    fits."""
    frames = ordinal_frames(frame)
    path = tmp_path_factory.mktemp("cut") / "cut.parquet"
    frames["cut"].to_parquet(path, row_group_size=500)
    return run_local(least_squares, 2, dict(frames, cut=str(path)), timeout_s=240)


def test_ml_mlr_and_fiml_on_two_ranks_equal_one_process(frame, tmp_path):
    frame.to_parquet(tmp_path / "likert.parquet", row_group_size=500)
    two = run_local(ml_ranks, 2, str(tmp_path / "likert.parquet"), timeout_s=240)
    for estimator in ("ML", "MLR"):
        one = torchfit.cfa(ONE_FACTOR, frame, estimator=estimator)
        est, chisq, size, sample = two[estimator]
        assert size == 2
        for k in ("cov", "mean", "nobs"):  # the moments: to the last bit
            np.testing.assert_array_equal(sample[k], one.groups[0].sample[k])
        if estimator == "ML":  # hence the same ML fit
            np.testing.assert_array_equal(est, _estimates(one))
            assert chisq == one.fit_measures()["chisq"]
        else:  # Gamma's sums (centred by the non-integer mean) are added in rank order
            np.testing.assert_allclose(est, _estimates(one), rtol=1e-12, atol=1e-15)
    one = torchfit.cfa(ONE_FACTOR, with_missing(), missing="ml")  # patterns merged over ranks
    np.testing.assert_allclose(two["FIML"][0], _estimates(one), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(two["FIML"][1], one.fit_measures()["chisq"], rtol=1e-12)
    ml = _estimates(torchfit.cfa(ONE_FACTOR, frame))[:, 0]
    assert np.abs(two["minibatch"] - ml).max() < 0.02


def test_groups_on_two_ranks_equal_one_process(tmp_path):
    frame = grouped(likert())
    frame.loc[frame.index[::17], "b"] = np.nan  # FIML's patterns, per group over ranks
    frame.to_parquet(tmp_path / "groups.parquet", row_group_size=500)
    two = run_local(group_ranks, 2, str(tmp_path / "groups.parquet"), timeout_s=300)
    for (estimator, missing), (est, chisq, labels) in two.items():
        one = torchfit.cfa(ONE_FACTOR, frame, estimator=estimator, missing=missing, group="g",
                           group_equal="loadings")
        assert labels == one.group_labels == ["a", "b", "c"]
        np.testing.assert_allclose(est, _estimates(one), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(chisq, one.fit_measures()["chisq"], rtol=1e-10)


def test_iwave_on_two_ranks_within_monte_carlo_error_of_one():
    data, truth = simulate_grm(GRM_ROWS, n_factors=2, items_per_factor=5, seed=1)
    two, info, logl = run_local(iwave_ranks, 2, data, truth["syntax"], timeout_s=400)
    one = torchfit.cfa(truth["syntax"], data, **IWAVE)

    def loadings(pt):
        lam = pt[pt["op"] == "=~"]
        return np.array([lam.loc[lam["rhs"] == f"y{j + 1}", "est"].iloc[0] for j in range(10)])

    true = truth["loadings"].sum(1)
    rmse_two = np.sqrt(np.mean((loadings(two) - true) ** 2))
    rmse_one = np.sqrt(np.mean((loadings(one.parameter_estimates()) - true) ** 2))
    assert rmse_two < 0.1 and rmse_one < 0.1, (rmse_two, rmse_one)
    assert abs(rmse_two - rmse_one) < 0.05
    assert info["nobs"] == GRM_ROWS and info["world_size"] == 2
    assert "only rank 0's shard" in info["scores_error"]
    se = two.loc[two["op"] == "=~", "se"].to_numpy()
    se_one = one.parameter_estimates().loc[lambda t: t["op"] == "=~", "se"].to_numpy()
    np.testing.assert_allclose(se, se_one, rtol=0.3)  # the OPG from both ranks' rows
    assert abs(logl - one.fit_measures()["logl"]) < 1e-3 * abs(logl)


def test_a_failing_rank_ends_the_job_with_its_message():
    with pytest.raises((mp.ProcessRaisedException, TorchfitError, DataError),
                       match="rank 1 of 2 failed.*column 'c' is not numeric"):
        run_local(failing_rank, 2, timeout_s=120)


def test_distributed_without_a_launcher_says_how(frame, monkeypatch):
    for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(v, raising=False)
    with pytest.raises(TorchfitError, match="torchrun --nproc-per-node"):
        torchfit.cfa(ONE_FACTOR, frame, distributed=True)


def test_least_squares_on_two_ranks_equal_one_process(frame, least_squares_two):
    two, cut = least_squares_two, ordinal_frames(frame)["cut"]
    for estimator in ("ULS", "WLS"):  # moments and Gamma reduced over the ranks
        one = torchfit.cfa(ONE_FACTOR, cut, estimator=estimator)
        np.testing.assert_allclose(two[estimator], _estimates(one), rtol=1e-9, atol=1e-12)


def test_mml_on_two_ranks_equals_one_process():
    # each rank's likelihood, gradient and Hessian summed: the same steps from the
    # same start, so the one-process fit to rounding
    data, syntax = mml_data()
    two = run_local(mml_ranks, 2, timeout_s=300)
    for (extra, options), (est, measures, info, refused, scores) in zip(MML_FITS, two):
        one = torchfit.cfa(syntax + extra, data, estimator="MML", ordered=True, std_lv=True,
                           **options)
        np.testing.assert_allclose(est, _estimates(one), rtol=1e-8, atol=1e-10)
        for k in ("logl", "aic", "bic", "ntotal"):
            np.testing.assert_allclose(measures[k], one.fit_measures()[k], rtol=1e-10)
        assert info["world_size"] == 2 and info["nobs"] == len(data) and info["converged"]
        assert "only rank 0's shard" in refused  # not rank 0's rows as if they were all
        np.testing.assert_allclose(scores, one.predict(data.head(5)).to_numpy(), rtol=1e-7)


def test_streamed_iwave_on_two_ranks_within_monte_carlo_error_of_one(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    data, truth = simulate_grm(STREAM_ROWS, n_factors=1, items_per_factor=6, seed=2)
    first = np.arange(len(data)) < len(data) // 2
    top = data["y1"].max()
    data.loc[~first & (np.arange(len(data)) % 9 == 0), "y2"] = np.nan  # rank 1's miss some
    in_memory = data.copy()  # the encoder's input must have the same columns on both ranks
    data.loc[first & (data["y1"] == top), "y1"] = top - 1  # rank 0's rows lack a category
    path = tmp_path / "grm.parquet"
    pq.write_table(pa.Table.from_pandas(data, preserve_index=False), path,
                   row_group_size=STREAM_GROUP_ROWS)
    (two, info, logl), again, (short, short_info, _) = run_local(
        streamed_ranks, 2, str(path), truth["syntax"], in_memory, timeout_s=400)
    one = torchfit.cfa(truth["syntax"], str(path), **{**IWAVE, **STREAM})
    pd.testing.assert_frame_equal(two, again[0])  # reproducible
    lam, lam_one = (pt.loc[pt["op"] == "=~", "est"].to_numpy()
                    for pt in (two, one.parameter_estimates()))
    true = truth["loadings"].ravel()
    rmse_two, rmse_one = (np.sqrt(np.mean((v - true) ** 2)) for v in (lam, lam_one))
    assert rmse_two < 0.12 and rmse_one < 0.12, (rmse_two, rmse_one)
    assert abs(rmse_two - rmse_one) < 0.05
    assert info["nobs"] == STREAM_ROWS and info["world_size"] == 2
    assert info["rows_in_memory"] <= 2 * STREAM_GROUP_ROWS  # a buffer of its row groups
    assert "only rank 0's shard" in info["scores_error"]
    se = two.loc[two["op"] == "=~", "se"].to_numpy()
    se_one = one.parameter_estimates().loc[lambda t: t["op"] == "=~", "se"].to_numpy()
    np.testing.assert_allclose(se, se_one, rtol=0.3)  # the OPG from both ranks' rows
    assert abs(logl - one.fit_measures()["logl"]) < 2e-3 * abs(logl)
    assert short_info["nobs"] == STREAM_ROWS and np.isfinite(short["est"]).all()


def test_wlsmv_family_on_two_ranks_equals_one_process(frame, least_squares_two):
    # thresholds and polychorics from the ranks' summed tables, Gamma's sums added; the
    # continuous variables' moments and each polyserial step's scores summed over the
    # ranks (one shard's fit differed from one process's by 0.05-0.1)
    two, frames = least_squares_two, ordinal_frames(frame)
    for name in ORDINAL:
        est, tests = ordinal_fit(frames, name)
        np.testing.assert_allclose(two[name][0], est, rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(two[name][1], tests, rtol=1e-10, err_msg=name)


def test_weights_and_clusters_on_two_ranks_equal_one_process(tmp_path):
    frame = _same_as_one_process(tmp_path, ROWS_FITS, 1e-10)
    school = frame["school"].to_numpy()  # the ranks' blocks do cut clusters
    assert len(set(school[:2500]) & set(school[2500:])) == 38


def test_the_bootstrap_on_two_ranks_equals_one_process(tmp_path):
    # the same seed: every rank draws one process's resamples of all the rows
    _same_as_one_process(tmp_path, BOOT_FITS, 1e-8)


def test_robust_fiml_on_two_ranks_equals_one_process(tmp_path):
    # MLR's casewise scores of the incomplete rows summed over the ranks (with clusters
    # cut by the ranks' blocks, and a group on rank 0 alone)
    fits = {"FIML MLR": dict(estimator="MLR", missing="ml"),
            "FIML cluster": dict(missing="ml", cluster="school"),
            "FIML MLR groups": dict(estimator="MLR", missing="ml", group="g")}
    _same_as_one_process(tmp_path, fits, 1e-9, frame=with_missing())


def test_an_estimator_that_does_not_reduce_is_refused_on_ranks(frame):
    # every registered estimator reduces its statistics over the ranks; one that did
    # not would fit a rank's shard alone, silently: the guard refuses it by name
    from torchfit.api import _check_data_parallel
    from torchfit.estimators.registry import REGISTRY
    from torchfit.options import FitOptions
    assert all(e.data_parallel for e in REGISTRY)

    class OneShard:
        name, data_parallel = "NEW", False

    class Shard:
        comm = object()

    options = FitOptions("ML", "default", False, None, None, 500, None, None, {}, {})
    _check_data_parallel(OneShard(), options, frame)  # one process: any estimator
    with pytest.raises(torchfit.errors.ModelError, match="not supported by the NEW estimator"):
        _check_data_parallel(OneShard(), options, Shard())
