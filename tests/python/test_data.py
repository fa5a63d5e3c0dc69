"""Sample moments in one bounded-memory pass, from frames, arrays, .npy and CSV."""
import numpy as np
import pytest

import torchfit
from torchfit.data.frames import DataError, sample_moments

HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
NAMES = [f"x{i}" for i in range(1, 10)]


def _reference(hs):
    X = hs[NAMES].to_numpy()
    Xc = X - X.mean(axis=0)
    return X.mean(axis=0), Xc.T @ Xc / len(X)


@pytest.mark.parametrize("chunk_rows", [1, 7, 300, 301, 1 << 16])
def test_chunked_moments_equal_the_direct_ones(hs, chunk_rows):
    mean, cov = _reference(hs)
    m = sample_moments(hs, NAMES, chunk_rows=chunk_rows)
    assert m.n == 301 and np.allclose(m.mean, mean, atol=1e-12)
    assert np.allclose(m.cov, cov, atol=1e-12)


def test_listwise_across_chunks_and_counting_all_bad_rows(hs):
    data = hs.copy()
    data.loc[[0, 150, 300], "x4"] = np.nan
    with pytest.raises(DataError, match="3 of 301 rows"):
        sample_moments(data, NAMES, chunk_rows=100)
    m = sample_moments(data, NAMES, missing="listwise", chunk_rows=100)
    direct = data[NAMES].dropna().to_numpy()
    assert (m.n, m.n_total) == (298, 301)
    assert np.allclose(m.cov, np.cov(direct.T, bias=True), atol=1e-12)


def test_npy_memory_map_and_csv_give_the_same_fit(hs, tmp_path):
    ref = torchfit.cfa(HS_MODEL, hs)
    npy = tmp_path / "hs.npy"
    np.save(npy, hs[NAMES].to_numpy())
    from_npy = torchfit.cfa(HS_MODEL, str(npy), columns=NAMES)
    mmap = torchfit.cfa(HS_MODEL, np.load(npy, mmap_mode="r"), columns=NAMES)
    csv = tmp_path / "hs.tsv"
    hs.to_csv(csv, sep="\t", index=False)
    from_csv = torchfit.cfa(HS_MODEL, str(csv))
    for other in (from_npy, mmap, from_csv):
        assert np.allclose(other.coef(), ref.coef(), atol=1e-10)
        assert other.nobs == 301


def test_array_without_column_names_is_refused(hs):
    with pytest.raises(DataError, match="come with `columns`"):
        torchfit.cfa(HS_MODEL, hs[NAMES].to_numpy())


def test_missing_file_is_named():
    with pytest.raises(DataError, match="no data file 'nowhere.csv'"):
        torchfit.cfa(HS_MODEL, "nowhere.csv")


def test_csv_with_a_duplicated_header_is_refused(hs, tmp_path):
    # pandas would rename the second 'x1' to 'x1.1'; the file's own header counts
    path = tmp_path / "dup.csv"
    hs[NAMES + ["x1"]].to_csv(path, index=False)
    with pytest.raises(DataError, match="the data have 2 columns named 'x1'"):
        torchfit.cfa(HS_MODEL, str(path))


def test_csv_and_array_without_rows_say_they_are_empty(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text(",".join(NAMES) + "\n")
    with pytest.raises(DataError, match=r"the data are empty \(0 rows, 9 columns\)"):
        torchfit.cfa(HS_MODEL, str(path))
    with pytest.raises(DataError, match=r"the data are empty \(0 rows, 9 columns\)"):
        torchfit.cfa(HS_MODEL, np.empty((0, 9)), columns=NAMES)


def test_latent_names_are_checked_against_array_and_csv_columns(hs, tmp_path):
    data = hs[NAMES].assign(speed=hs["x9"])
    path = tmp_path / "clash.csv"
    data.to_csv(path, index=False)
    for d, cols in ((str(path), None), (data.to_numpy(), list(data.columns))):
        with pytest.raises(DataError, match="collide with observed variable names: speed"):
            torchfit.cfa(HS_MODEL, d, columns=cols)
