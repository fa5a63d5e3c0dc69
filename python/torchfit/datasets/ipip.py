"""The IPIP-FFM Big-Five data of openpsychometrics.org (``data-final.csv``).

The file is not shipped (users download it themselves; nothing is fetched at
run time).  ``load_ipip_ffm`` applies the pre-processing of the DeepIRTools
Big-Five tutorial, so results compare with published analyses.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

from ..errors import DataError

FACTORS = ("EXT", "EST", "AGR", "CSN", "OPN")
ITEMS = [f"{f}{k}" for f in FACTORS for k in range(1, 11)]
REVERSED = ["EXT2", "EXT4", "EXT6", "EXT8", "EXT10", "AGR1", "AGR3", "AGR5", "AGR7",
            "CSN2", "CSN4", "CSN6", "CSN8", "EST2", "EST4", "OPN2", "OPN4", "OPN6"]


def load_ipip_ffm(path: Union[str, Path], response_times: bool = False,
                  country: bool = False) -> pd.DataFrame:
    """Read and pre-process the IPIP-FFM file.

    Steps: keep the first submission from an IP address (``IPC == 1``); code
    0 (no answer) as missing; drop people who answered no item or whose
    country is missing or ``NONE``; reverse-code the negatively keyed items
    (6 - x for EXT2 EXT4 EXT6 EXT8 EXT10 AGR1 AGR3 AGR5 AGR7 CSN2 CSN4 CSN6
    CSN8 EST2 EST4 OPN2 OPN4 OPN6).

    Parameters
    ----------
    path : str or Path
        The tab-separated ``data-final.csv`` from openpsychometrics.org.
    response_times : bool
        Also return the 50 response-time columns (``EXT1_E`` ..., in ms).
    country : bool
        Also return the ``country`` column.

    Returns
    -------
    pandas.DataFrame
        The 50 items EXT1 ... OPN10 as floats 1-5 with NaN for missing
        answers (about 621K rows for the 2018 release), then the requested
        extra columns.

    Examples
    --------
    >>> load_ipip_ffm("data-final.csv").shape  # doctest: +SKIP
    (621307, 50)
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"no IPIP-FFM file at {str(path)!r}; download data-final.csv from "
                        "openpsychometrics.org/_rawdata/ (IPIP-FFM-data-8Nov2018.zip) and pass "
                        "its path")
    times = [f"{item}_E" for item in ITEMS]
    wanted = ITEMS + ["IPC", "country"] + (times if response_times else [])
    header = pd.read_csv(path, sep="\t", nrows=0).columns
    absent = [c for c in wanted if c not in header]
    if absent:
        raise DataError(f"{str(path)!r} lacks the column(s) {', '.join(absent[:10])}; is it the "
                        "tab-separated data-final.csv of the IPIP-FFM release?")
    raw = pd.read_csv(path, sep="\t", usecols=wanted, na_values=["NULL"],
                      keep_default_na=False, low_memory=False)
    raw = raw[pd.to_numeric(raw["IPC"], errors="coerce") == 1]
    items = raw[ITEMS].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    items = items.where((items >= 1) & (items <= 5))
    answered = items.notna().any(axis=1)
    has_country = raw["country"].notna() & ~raw["country"].astype(str).str.strip().isin(
        ["", "NONE"])
    keep = (answered & has_country).to_numpy()
    items = items[keep]
    items[REVERSED] = 6.0 - items[REVERSED]
    out = [items]
    if response_times:
        out.append(raw.loc[keep, times].apply(pd.to_numeric, errors="coerce"))
    if country:
        out.append(raw.loc[keep, ["country"]])
    return pd.concat(out, axis=1).reset_index(drop=True)
