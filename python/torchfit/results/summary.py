"""The summary of a fit: lavaan's text, and the same as HTML for Jupyter.

``Summary`` is the text itself (a ``str``: print it, search it), shown as
text rather than as a quoted string, with ``_repr_html_``: the header and the
fit measures as preformatted text, each parameter section as an HTML table.
"""
from __future__ import annotations

import html
from typing import List, Optional

import pandas as pd

#: lavaan's sections of the parameter estimates, in its order
SECTIONS = (
    ("Latent Variables", lambda pe: pe["op"] == "=~"),
    ("Regressions", lambda pe: pe["op"] == "~"),
    ("Covariances", lambda pe: (pe["op"] == "~~") & (pe["lhs"] != pe["rhs"])),
    ("Intercepts", lambda pe: pe["op"] == "~1"),
    ("Thresholds", lambda pe: pe["op"] == "|"),
    ("Variances", lambda pe: (pe["op"] == "~~") & (pe["lhs"] == pe["rhs"])),
    ("Scales y*", lambda pe: pe["op"] == "~*~"),
    ("R-Square", lambda pe: pe["op"] == "r2"),
    ("Defined Parameters", lambda pe: pe["op"] == ":="),
    ("Constraints", lambda pe: pe["op"].isin(["==", "<", ">"])),
)


class Summary(str):
    """lavaan-style summary text that Jupyter shows as HTML tables.

    Examples
    --------
    >>> s = Summary("text\\n", ["header"], pd.DataFrame({"lhs": ["f"], "op": ["=~"],
    ...             "rhs": ["x1"], "est": [1.0]}))
    >>> str(s), "<table" in s._repr_html_()
    ('text\\n', True)
    """

    def __new__(cls, text: str, preamble: List[str], estimates: pd.DataFrame,
                group_labels: Optional[List[str]] = None):
        self = super().__new__(cls, text)
        self.preamble = preamble
        self.estimates = estimates
        self.group_labels = group_labels
        return self

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        parts = [f"<pre>{html.escape(chr(10).join(self.preamble))}</pre>"]
        pe = self.estimates
        several = "group" in pe and self.group_labels is not None
        groups = [(label, pe[pe["group"] == g]) for g, label in enumerate(self.group_labels, 1)] \
            if several else [(None, pe)]
        if several:  # the constraints and definitions across groups
            groups.append(("", pe[pe["group"] == 0]))
        for label, rows in groups:
            if label:
                parts.append(f"<h4>Group {html.escape(str(label))}</h4>")
            for title, select in SECTIONS:
                section = rows[select(rows)].drop(columns=["block", "group"], errors="ignore")
                if len(section):
                    parts.append(f"<h4>{title}</h4>")
                    parts.append(section.to_html(index=False, na_rep="",
                                                 float_format=lambda v: f"{v:.3f}"))
        return "\n".join(parts)
