"""Parquet and Arrow inputs (issue 15): the same estimates as the frame path,
read by row group with only the model's columns, in bounded memory."""
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import torchfit
from torchfit.data.frames import sample_moments
from torchfit.data.sources import ParquetSource, open_source
from torchfit.errors import DataError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

HS = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def hs():
    return torchfit.datasets.holzinger_swineford()


def _table(fit):
    return fit.parameter_estimates()[["est", "se"]].to_numpy()


@pytest.mark.parametrize("estimator", ["ML", "MLR"])
def test_parquet_file_directory_and_arrow_table_fit_as_the_frame(hs, tmp_path, estimator):
    pq.write_table(pa.Table.from_pandas(hs), tmp_path / "hs.parquet", row_group_size=50)
    (tmp_path / "parts").mkdir()
    for i, start in enumerate(range(0, len(hs), 120)):  # a directory of three files
        pq.write_table(pa.Table.from_pandas(hs.iloc[start:start + 120]),
                       tmp_path / "parts" / f"part{i}.parquet", row_group_size=40)
    want = _table(torchfit.cfa(HS, hs, estimator=estimator))
    for data in (tmp_path / "hs.parquet", str(tmp_path / "parts"), pa.Table.from_pandas(hs)):
        got = _table(torchfit.cfa(HS, data, estimator=estimator))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert len(ParquetSource(tmp_path / "hs.parquet").pieces) == 7  # 301 rows by 50


def test_parquet_moments_in_bounded_memory(tmp_path):
    rng = np.random.default_rng(0)
    n, p = 400_000, 20
    X = rng.normal(size=(n, p))
    names = [f"x{j}" for j in range(p)]
    pq.write_table(pa.table({v: X[:, j] for j, v in enumerate(names)}),
                   tmp_path / "big.parquet", row_group_size=20_000)
    model_vars = names[::2]  # only these columns may be read
    pool, default = pa.proxy_memory_pool(pa.default_memory_pool()), pa.default_memory_pool()
    pa.set_memory_pool(pool)
    tracemalloc.start()
    try:
        m = sample_moments(open_source(tmp_path / "big.parquet"), model_vars, chunk_rows=8192)
        numpy_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        pa.set_memory_pool(default)
    projected = n * len(model_vars) * 8  # 32 MB: the model's columns in memory
    assert numpy_peak + pool.max_memory() < projected / 4  # about 6 MB: a row group
    Y = X[:, ::2]
    np.testing.assert_allclose(m.mean, Y.mean(0), atol=1e-12)
    np.testing.assert_allclose(m.cov, np.cov(Y.T, bias=True), atol=1e-12)


def test_parquet_checks_name_the_column(hs, tmp_path):
    frame = hs.assign(school=hs["school"].astype(str), x3=hs["x3"].astype(str))
    path = tmp_path / "hs.parquet"
    frame.to_parquet(path)
    # a text column the model does not use is never read
    torchfit.cfa("visual =~ x1 + x2 + x4", path)
    with pytest.raises(DataError, match="column 'x3' is not numeric"):
        torchfit.cfa("visual =~ x1 + x2 + x3", path)
    with pytest.raises(DataError, match=r"'x0' \(did you mean"):
        torchfit.cfa("visual =~ x1 + x2 + x0", path)
    with pytest.raises(DataError, match="no Parquet file"):
        torchfit.cfa("visual =~ x1 + x2 + x4", tmp_path / "none.parquet")


def test_parquet_nulls_are_missing_values(hs, tmp_path):
    frame = hs.copy()
    frame.loc[[3, 10], "x2"] = np.nan
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "hs.parquet", row_group_size=64)
    with pytest.raises(DataError, match="2 of 301 rows have missing values"):
        torchfit.cfa("visual =~ x1 + x2 + x3", tmp_path / "hs.parquet")
    got = torchfit.cfa("visual =~ x1 + x2 + x3", tmp_path / "hs.parquet", missing="listwise")
    want = torchfit.cfa("visual =~ x1 + x2 + x3", frame, missing="listwise")
    np.testing.assert_allclose(_table(got), _table(want), rtol=1e-9)
    assert got.nobs == 299


def test_iwave_reads_parquet(hs, tmp_path):
    hs.to_parquet(tmp_path / "hs.parquet")
    kw = dict(estimator="IWAVE", std_lv=True, max_iterations=200, se="none", quiet=True)
    got = torchfit.cfa("visual =~ x1 + x2 + x3", tmp_path / "hs.parquet", **kw)
    want = torchfit.cfa("visual =~ x1 + x2 + x3", hs, **kw)
    np.testing.assert_allclose(got.parameter_estimates()["est"],
                               want.parameter_estimates()["est"], rtol=1e-6)
    assert isinstance(pd.DataFrame(got.scores()), pd.DataFrame)
