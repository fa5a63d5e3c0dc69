"""The Wald test of constraints on labelled parameters (lavaan's ``lavTestWald``).

With r(theta) the constraints (lhs - rhs of each equality) at the estimates,
J = dr/dtheta (autograd) and V the covariance matrix of the free
parameters (robust for MLM and MLR), W = r' (J V J')^-1 r on as many degrees
of freedom as there are constraints.
"""
from __future__ import annotations

import re
from typing import Callable, Dict, Sequence, Tuple

import numpy as np
import pandas as pd
import torch
from scipy import special

from ..errors import ModelError
from ..model.defined import Definitions, compile_expression, evaluate_expression


def _equalities(constraints: str):
    """(text, lhs, rhs) of each equality in ``constraints`` (lines or ';')."""
    parts = [c.strip() for c in re.split(r"[;\n]", constraints or "") if c.strip()]
    if not parts:
        raise ModelError("constraints are empty; give one or more equalities such as "
                         "'a == b' over labels of the model")
    out = []
    for text in parts:
        sides = text.split("==")
        if len(sides) != 2:
            raise ModelError(f"'{text}' is not an equality; write it as 'lhs == rhs' (the Wald "
                             "test takes equality constraints only)")
        out.append((text, sides[0].strip(), sides[1].strip()))
    return out


def restriction_function(pt: pd.DataFrame, sides: Sequence[Tuple[str, str, str]]
                         ) -> Tuple[Callable, torch.Tensor]:
    """r(theta): lhs - rhs of each (text, lhs, rhs) in ``sides``, a
    differentiable function of the free parameters of ``pt`` (in ``free``
    order, labels and plabels as names), and theta at the table's ``est``."""
    pt = pt[pt["op"] != "=="].reset_index(drop=True)
    definitions = Definitions(pt)
    trees = [(compile_expression(f"the constraint '{text}'", lhs, definitions.names),
              compile_expression(f"the constraint '{text}'", rhs, definitions.names))
             for text, lhs, rhs in sides]
    free = pt["free"].to_numpy()
    rows = np.flatnonzero(free > 0)
    order = torch.as_tensor(rows[np.argsort(free[rows])])
    base = torch.as_tensor(np.nan_to_num(pt["est"].to_numpy(dtype=float)), dtype=torch.float64)

    def restrictions(theta):
        values = base.clone()
        values[order] = theta
        env = definitions.environment(values)
        return torch.stack([evaluate_expression(l, env) - evaluate_expression(r, env)
                            for l, r in trees])

    return restrictions, base[order].clone()


def wald_test(pt: pd.DataFrame, vcov: np.ndarray, constraints: str) -> Dict[str, float]:
    """``{"stat", "df", "p.value"}`` of the equalities in ``constraints`` at
    the table's estimates, with ``vcov`` the free parameters' covariance.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> pt = parse("y ~ a*x + b*z")
    >>> pt["est"] = [1.0, 0.5, 1.0, 0.0, 0.0, 0.0]
    >>> wald_test(pt, np.eye(3) * 0.01, "a == b")["stat"]
    12.5
    """
    restrictions, theta = restriction_function(pt, _equalities(constraints))
    r = restrictions(theta).detach().numpy()
    J = torch.autograd.functional.jacobian(restrictions, theta).numpy()
    stat = float(r @ np.linalg.solve(J @ vcov @ J.T, r))
    return {"stat": stat, "df": len(r), "p.value": float(special.chdtrc(len(r), stat))}
