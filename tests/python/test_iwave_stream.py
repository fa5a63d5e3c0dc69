"""IWAVE streamed from Parquet (issue 15, ``stream=True``): the row groups in a
seeded random order, a buffer of them in memory at a time; the fit within
Monte-Carlo error of the in-memory one, which keeps its own path."""
import pickle

import numpy as np
import pandas as pd
import pytest

import torchfit
from torchfit.data.sources import ParquetSource, Shard
from torchfit.datasets import simulate_grm
from torchfit.errors import TorchfitError
from torchfit.iwave.fit import IWAVE
from torchfit.iwave.networks import final_pass
from torchfit.options import FitOptions

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROWS, GROUP_ROWS, BUFFER = 3000, 100, 4
# small settings so that both fits run in make test (as test_distributed's); no final
# pass in either (its streamed form has its own test)
KW = dict(estimator="IWAVE", std_lv=True, ordered=True, quiet=True, seed=0, hidden=(32,),
          iw_samples=5, max_iterations=400, se_samples=20, logl_samples=20, final_samples=0)


@pytest.fixture(scope="module")
def grm(tmp_path_factory):
    data, truth = simulate_grm(ROWS, n_factors=1, items_per_factor=6, seed=2)
    path = tmp_path_factory.mktemp("stream") / "grm.parquet"
    pq.write_table(pa.Table.from_pandas(data, preserve_index=False), path,
                   row_group_size=GROUP_ROWS)
    return data, truth, str(path)


def _loadings(fit):
    pt = fit.parameter_estimates()
    return pt.loc[pt["op"] == "=~", "est"].to_numpy(), pt.loc[pt["op"] == "=~", "se"].to_numpy()


def test_streamed_fit_matches_the_in_memory_one_holding_a_buffer(grm, monkeypatch):
    data, truth, path = grm
    held = []  # rows read from the file at once, by whatever reads them

    def counted(method):
        def read(self, *args, **kwargs):
            out = method(self, *args, **kwargs)
            held.append(len(out))
            return out
        return read

    for name in ("read_groups", "load_frame"):
        monkeypatch.setattr(ParquetSource, name, counted(getattr(ParquetSource, name)))
    streamed = torchfit.cfa(truth["syntax"], path, stream=True, **KW)
    in_memory = torchfit.cfa(truth["syntax"], data, **KW)
    assert max(held) <= BUFFER * GROUP_ROWS and sum(held) > 10 * ROWS  # epochs, not one load
    assert streamed.info["rows_in_memory"] == BUFFER * GROUP_ROWS
    assert streamed.info["final_samples"] == 0 and streamed.nobs == ROWS
    assert streamed.data is None  # the fit keeps no copy of the rows
    true = truth["loadings"].sum(1)
    (lam_s, se_s), (lam_m, se_m) = _loadings(streamed), _loadings(in_memory)
    rmse_s, rmse_m = (np.sqrt(np.mean((lam - true) ** 2)) for lam in (lam_s, lam_m))
    assert rmse_s < 0.1 and rmse_m < 0.1, (rmse_s, rmse_m)
    assert abs(rmse_s - rmse_m) < 0.05
    np.testing.assert_allclose(se_s, se_m, rtol=0.3)  # the OPG over every row, streamed
    logl_s, logl_m = streamed.fit_measures()["logl"], in_memory.fit_measures()["logl"]
    assert abs(logl_s - logl_m) < 1e-3 * abs(logl_m)
    scores = streamed.scores()  # a buffer at a time, in file order
    assert scores.index.equals(pd.RangeIndex(ROWS))
    # each from 20 draws per row: their noise alone keeps the correlation near 0.99
    assert np.corrcoef(scores.iloc[:, 0], in_memory.scores().iloc[:, 0])[0, 1] > 0.97


def test_streamed_fit_is_reproducible_and_drops_rows_as_in_memory(tmp_path):
    data, truth = simulate_grm(600, n_factors=1, items_per_factor=4, seed=3)
    data["x"] = np.random.default_rng(0).normal(size=len(data))
    data.loc[[5, 250], "x"] = np.nan  # rows without the covariate are left out
    data["y2"] = data["y2"].astype(float)
    data.loc[[400, 590], "y2"] = np.nan  # missing responses in two row groups only
    path = tmp_path / "x.parquet"
    pq.write_table(pa.Table.from_pandas(data, preserve_index=False), path, row_group_size=50)
    syntax = truth["syntax"] + "\nF1 ~ x"
    kw = dict(KW, max_iterations=60, se="none", stream=True, stream_buffer=3)
    first, again = (torchfit.cfa(syntax, path, **kw) for _ in range(2))
    other = torchfit.cfa(syntax, path, **dict(kw, seed=1))
    np.testing.assert_array_equal(first.coef(), again.coef())
    assert np.abs(first.coef() - other.coef()).max() > 1e-4  # the seed orders the batches
    assert first.nobs == 598 and first.info["rows_in_memory"] <= 150
    # every buffer's encoder input has the missingness masks (4 items x 2 + the covariate)
    assert first.tests.tensors.n_input == 9
    assert list(first.scores().index[4:6]) == [4, 6] and 250 not in first.scores().index
    copy = pickle.loads(pickle.dumps(first))  # it reopens the file to score the rows
    np.testing.assert_array_equal(copy.scores().to_numpy(), first.scores().to_numpy())


def test_stream_asks_for_a_parquet_source(grm):
    data, truth, path = grm
    with pytest.raises(TorchfitError, match="in memory already: leave stream out"):
        torchfit.cfa(truth["syntax"], data, stream=True, **KW)
    with pytest.raises(TorchfitError, match="stream_buffer = 0 must be a positive integer"):
        torchfit.cfa(truth["syntax"], path, stream=True, stream_buffer=0, **KW)
    with pytest.raises(TorchfitError, match="stream = 'yes' must be True or False"):
        torchfit.cfa(truth["syntax"], path, stream="yes", **KW)

    class Rank:  # a rank's shard of rows in memory: refused before any collective
        rank, size = 0, 2
    options = FitOptions("IWAVE", "default", False, None, None, 0, None, None, {},
                         dict(stream=True, ordered=True))
    with pytest.raises(TorchfitError, match=r"these data \(DataFrame\) are in memory already"):
        IWAVE().spec(truth["syntax"], Shard(data.head(10), Rank()), options)


def test_streamed_final_pass_is_the_in_memory_one_read_by_buffer(grm):
    data, truth, path = grm
    kw = dict(KW, max_iterations=100, se="none", final_samples=0, stream=True)
    fit = torchfit.cfa(truth["syntax"], path, stream_buffer=ROWS // GROUP_ROWS, **kw)
    t = fit.tests
    block, _ = next(t.tensors.blocks())  # one buffer holds every row
    assert block.n == ROWS
    trained = (t.structure, t.encoder, t.result)
    in_memory, _ = final_pass(*trained, block, 50, 0, iter_max=5)
    np.testing.assert_allclose(final_pass(*trained, t.tensors, 50, 0, iter_max=5)[0],
                               in_memory, rtol=1e-6, atol=1e-9)  # the same draws
    t.tensors.buffer = BUFFER  # several buffers: other draws, the same optimum
    by_buffer, _ = final_pass(*trained, t.tensors, 50, 0, iter_max=5)
    assert np.abs(by_buffer - in_memory).max() < 0.05
    assert 0 < np.abs(by_buffer - in_memory).max() and t.tensors.rows_held == ROWS
