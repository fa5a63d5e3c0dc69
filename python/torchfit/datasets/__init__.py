"""Example data sets shipped with torchfit (exported from lavaan by
tools/export_datasets.R, so they are the very data lavaan users have)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .ipip import load_ipip_ffm
from .simulate import simulate, simulate_big5, simulate_grm

__all__ = ["holzinger_swineford", "political_democracy", "demo_growth", "load_ipip_ffm",
           "simulate", "simulate_big5", "simulate_grm"]
_DATA = Path(__file__).parent / "data"


def holzinger_swineford() -> pd.DataFrame:
    """Holzinger & Swineford (1939): 301 children, nine ability tests x1-x9.

    Examples
    --------
    >>> holzinger_swineford().shape
    (301, 15)
    """
    return pd.read_csv(_DATA / "HolzingerSwineford1939.csv")


def political_democracy() -> pd.DataFrame:
    """Bollen's (1989) industrialisation and political democracy data, 75 countries.

    Examples
    --------
    >>> political_democracy().shape
    (75, 11)
    """
    return pd.read_csv(_DATA / "PoliticalDemocracy.csv")


def demo_growth() -> pd.DataFrame:
    """lavaan's Demo.growth: 400 simulated people, four waves t1-t4, covariates
    x1 x2 and time-varying c1-c4.

    Examples
    --------
    >>> demo_growth().shape
    (400, 10)
    """
    return pd.read_csv(_DATA / "Demo.growth.csv")
