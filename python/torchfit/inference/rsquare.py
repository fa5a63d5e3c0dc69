"""R-square of the endogenous variables (lavaan's ``lavInspect(fit, "r2")``
and the ``op = "r2"`` rows of ``parameterEstimates(rsquare = TRUE)``).

For every indicator and every variable regressed on others, R-square is 1
less its standardized (std.all) residual variance; a value above 1 (a
negative residual variance) is NA, as in lavaan.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def rsquare_rows(pt: pd.DataFrame) -> pd.DataFrame:
    """One row (lhs = rhs = the variable, op "r2", est = R-square) per
    endogenous variable of each block, in the order of their variance rows.

    Examples
    --------
    >>> pt = pd.DataFrame({"lhs": ["f", "x1", "f"], "op": ["=~", "~~", "~~"],
    ...                    "rhs": ["x1", "x1", "f"], "block": [1, 1, 1], "group": [1, 1, 1],
    ...                    "std.all": [0.8, 0.36, 1.0]})
    >>> rsquare_rows(pt)[["lhs", "op", "est"]].values.tolist()
    [['x1', 'r2', 0.64]]
    """
    rows = []
    for b in sorted(set(pt.loc[pt["block"] > 0, "block"])):
        sub = pt[pt["block"] == b]
        y = set(sub.loc[sub["op"] == "=~", "rhs"]) | set(sub.loc[sub["op"] == "~", "lhs"])
        var = sub[(sub["op"] == "~~") & (sub["lhs"] == sub["rhs"]) & sub["lhs"].isin(y)]
        r2 = 1.0 - var["std.all"].to_numpy(dtype=float)
        r2[r2 > 1] = np.nan
        rows.append(pd.DataFrame({"lhs": var["lhs"], "op": "r2", "rhs": var["lhs"],
                                  "block": b, "group": var["group"], "est": r2}))
    return pd.concat(rows, ignore_index=True)
