"""load_ipip_ffm on a small synthetic file in the exact format of data-final.csv."""
import numpy as np
import pandas as pd
import pytest

from torchfit.datasets import load_ipip_ffm
from torchfit.datasets.ipip import ITEMS, REVERSED
from torchfit.errors import DataError

EXTRA = ["dateload", "screenw", "screenh", "introelapse", "testelapse", "endelapse", "IPC",
         "country", "lat_appx_lots_of_err", "long_appx_lots_of_err"]


@pytest.fixture
def ipip_file(tmp_path):
    rng = np.random.default_rng(7)
    n = 12
    answers = rng.integers(1, 6, size=(n, 50))
    answers[1, 3] = 0                      # one unanswered item: missing, person kept
    answers[2, :] = 0                      # answered nothing: dropped
    frame = pd.DataFrame(answers, columns=ITEMS)
    for item in ITEMS:
        frame[f"{item}_E"] = rng.integers(500, 9000, size=n)
    frame["dateload"] = "2016-03-03 02:01:01"
    frame[["screenw", "screenh"]] = 1920, 1080
    frame[["introelapse", "testelapse", "endelapse"]] = 5, 200, 10
    frame["IPC"] = 1
    frame.loc[3, "IPC"] = 2                # a repeat submission: dropped
    frame["country"] = "GB"
    frame.loc[4, "country"] = "NONE"       # no country: dropped
    frame.loc[5, "country"] = None         # no country: dropped
    frame["lat_appx_lots_of_err"] = "51.5"
    frame["long_appx_lots_of_err"] = "-0.12"
    path = tmp_path / "data-final.csv"
    frame[ITEMS + [f"{i}_E" for i in ITEMS] + EXTRA].to_csv(path, sep="\t", index=False,
                                                            na_rep="NULL")
    return path, frame


def test_preprocessing_as_the_tutorial(ipip_file):
    path, raw = ipip_file
    data = load_ipip_ffm(path)
    kept = raw.drop(index=[2, 3, 4, 5]).reset_index(drop=True)
    assert list(data.columns) == ITEMS and len(data) == len(kept) == 8
    assert np.isnan(data.loc[1, ITEMS[3]])
    for item in ITEMS:
        want = kept[item].replace(0, np.nan).astype(float)
        if item in REVERSED:
            want = 6 - want
        assert np.allclose(data[item], want, equal_nan=True), item


def test_extra_columns_on_request(ipip_file):
    path, raw = ipip_file
    data = load_ipip_ffm(path, response_times=True, country=True)
    assert data.shape == (8, 101)
    assert (data["country"] == "GB").all()
    assert data["EXT1_E"].iloc[0] == raw["EXT1_E"].iloc[0]


def test_missing_file_and_wrong_file(tmp_path):
    with pytest.raises(DataError, match="download data-final.csv"):
        load_ipip_ffm(tmp_path / "nope.csv")
    other = tmp_path / "other.csv"
    pd.DataFrame({"a": [1]}).to_csv(other, sep="\t", index=False)
    with pytest.raises(DataError, match="lacks the column"):
        load_ipip_ffm(other)
