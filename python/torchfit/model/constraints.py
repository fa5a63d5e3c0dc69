"""General constraints of lavaan syntax: ``lhs == rhs`` between expressions,
and the inequalities ``lhs < rhs`` and ``lhs > rhs``.

Equalities of two labels are solved where the table is read (the parameters
share one entry of the reduced vector, see :mod:`torchfit.model.matrices`); every
other constraint is a function of the reduced vector x, evaluated with torch
so its Jacobian comes from autograd.  Equalities are written h(x) = 0,
inequalities g(x) >= 0 (``a > b`` as a - b, ``a < b`` as b - a).
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np
import pandas as pd
import torch

from .defined import Definitions, compile_expression, evaluate_expression
from .matrices import Model


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


class Constraints:
    """The general constraints of a table, as functions of the reduced vector.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> from torchfit.model.matrices import Model
    >>> pt = parse("y ~ a*x1 + b*x2; a == 2*b; b > 0")
    >>> m = Model(pt)
    >>> con = Constraints(pt, m)
    >>> con.n_eq, con.n_in
    (1, 1)
    >>> con.set_values(np.zeros(len(pt)))
    >>> [round(float(v), 6) for v in con.evaluate(torch.tensor([1.0, 0.5, 1.0]))[0]]
    [0.0]
    """

    def __init__(self, pt: pd.DataFrame, model: Model):
        self.pt, self.model = pt, model
        self.definitions = Definitions(pt)
        known = self.definitions.names
        named = model.free_index  # free parameters by label or plabel
        self.equalities: List[Tuple[str, object, object]] = []
        self.inequalities: List[Tuple[str, object, object]] = []
        for lhs, op, rhs in zip(pt["lhs"], pt["op"], pt["rhs"]):
            # two labels tied by '==' are already one entry of x (Model._reduce)
            if op not in ("==", "<", ">") or (op == "==" and lhs in named and rhs in named):
                continue
            text = f"{lhs} {op} {rhs}"
            where = f"the constraint '{text}'"
            left = compile_expression(where, lhs, known)
            right = compile_expression(where, rhs, known)
            if op == "==":
                self.equalities.append((text, left, right))
            else:  # as g(x) >= 0
                self.inequalities.append((text, left, right) if op == ">" else
                                         (text, right, left))
        free = pt["free"].to_numpy()
        reduced = {name: int(model.x_index[i]) for name, i in named.items()}
        # 'v < 0.3' bounds one parameter: at the bound it has no standard error
        self.bounds = [reduced.get(lhs) if _is_number(rhs) else
                       reduced.get(rhs) if _is_number(lhs) else None
                       for lhs, op, rhs in zip(pt["lhs"], pt["op"], pt["rhs"])
                       if op in ("<", ">")]
        self.free_rows = np.flatnonzero(free > 0)
        self.x_of_row = torch.as_tensor(model.x_index[free[self.free_rows] - 1])
        self.base = torch.zeros(len(pt), dtype=torch.float64)

    @property
    def n_eq(self) -> int:
        return len(self.equalities)

    @property
    def n_in(self) -> int:
        return len(self.inequalities)

    def __bool__(self) -> bool:
        return bool(self.equalities or self.inequalities)

    def set_values(self, values: np.ndarray) -> None:
        """The values of the fixed rows (start values of the table)."""
        self.base = torch.as_tensor(np.nan_to_num(values), dtype=torch.float64)

    def _rows(self, x: torch.Tensor) -> torch.Tensor:
        rows = self.base.clone()
        rows[torch.as_tensor(self.free_rows)] = x[self.x_of_row].to(torch.float64)
        return rows

    def evaluate(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """h(x) (equalities, = 0 when met) and g(x) (inequalities, >= 0 when met)."""
        env = self.definitions.environment(self._rows(x))
        side = lambda tree: evaluate_expression(tree, env)
        eq = [side(l) - side(r) for _, l, r in self.equalities]
        ineq = [side(l) - side(r) for _, l, r in self.inequalities]
        stack = lambda v: torch.stack(v) if v else torch.zeros(0, dtype=torch.float64)
        return stack(eq), stack(ineq)

    def jacobians(self, x: torch.Tensor):
        """(h, dh/dx, g, dg/dx) at x."""
        x = x.detach().to(torch.float64)
        h, g = self.evaluate(x)
        J = torch.autograd.functional.jacobian(lambda v: torch.cat(self.evaluate(v)), x)
        J = J.reshape(len(h) + len(g), len(x))
        return h.detach(), J[:len(h)], g.detach(), J[len(h):]

    def violation(self, x: torch.Tensor) -> float:
        """Sum of |h| and of the amounts by which inequalities fail."""
        h, g = self.evaluate(x.detach().to(torch.float64))
        return float(h.abs().sum() + torch.clamp(-g, min=0).sum())
