"""Defined parameters (lavaan's ``name := expression``).

An expression is arithmetic (``+ - * / ^``, parentheses, numbers) over the
labels of parameters, earlier defined parameters and a few functions; it is
evaluated with torch so that the delta-method standard errors come from
autograd: var(f(theta)) = J V J^T with J the Jacobian at the estimates.
"""
from __future__ import annotations

import ast
import difflib
from typing import Callable, Dict, List

import numpy as np
import pandas as pd
import torch

from .errors import ModelError

FUNCTIONS: Dict[str, Callable] = {
    "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs,
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "asin": torch.asin,
    "acos": torch.acos, "atan": torch.atan, "tanh": torch.tanh,
    "pnorm": lambda z: 0.5 * (1 + torch.erf(z / np.sqrt(2.0))),
}
_BINARY = {ast.Add: torch.add, ast.Sub: torch.sub, ast.Mult: torch.mul, ast.Div: torch.div,
           ast.Pow: torch.pow}


def _compile(name: str, text: str, known: List[str]) -> ast.Expression:
    """Parse ``text`` (R syntax) and check that it only uses known names."""
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise ModelError(f"the definition '{name} := {text}' is not an arithmetic "
                         f"expression ({err.msg}); use + - * / ^, parentheses and labels")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in known and node.id not in FUNCTIONS:
            close = difflib.get_close_matches(node.id, known, n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ModelError(f"the definition '{name} := {text}' uses '{node.id}', which is not "
                             f"the label of a parameter{hint}; label a parameter in the model, "
                             f"e.g. 'y ~ {node.id}*x'")
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Call, ast.Name,
                   ast.Load, ast.Constant) + tuple(_BINARY)
        if not isinstance(node, allowed) or (isinstance(node, ast.Call) and (
                not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS)):
            raise ModelError(f"the definition '{name} := {text}' uses something other than "
                             f"arithmetic, labels and the functions {', '.join(FUNCTIONS)}")
    return tree


def _evaluate(node, env: Dict[str, torch.Tensor]) -> torch.Tensor:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, env)
    if isinstance(node, ast.Constant):
        return torch.tensor(float(node.value), dtype=torch.float64)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, env), _evaluate(node.right, env))
    return FUNCTIONS[node.func.id](*(_evaluate(a, env) for a in node.args))


class Definitions:
    """The ``:=`` rows of a parameter table, compiled once.

    Examples
    --------
    >>> from torchfit.syntax import parse
    >>> pt = parse("y ~ a*x + b*z; ab := a*b")
    >>> [float(v) for v in Definitions(pt).values([2.0, 3.0, 1.0, 1.0, 0.0, 1.0, 0.0])]
    [6.0]
    """

    def __init__(self, pt: pd.DataFrame):
        self.rows = np.flatnonzero(pt["op"].to_numpy() == ":=")
        self.sources: Dict[str, int] = {}
        for i, (lab, plab) in enumerate(zip(pt["label"], pt["plabel"])):
            if pt["op"].iat[i] in ("=~", "~", "~~", "~1", "|"):
                for name in (lab, plab):
                    if name:
                        self.sources.setdefault(name, i)
        known = list(self.sources)
        self.trees = []
        for i in self.rows:
            name, text = pt["lhs"].iat[i], pt["rhs"].iat[i]
            self.trees.append((name, _compile(name, text, known)))
            known.append(name)

    def values(self, row_values) -> List[torch.Tensor]:
        """The defined parameters for one value per table row (a tensor keeps gradients)."""
        row_values = torch.as_tensor(row_values, dtype=torch.float64)
        env = {name: row_values[i] for name, i in self.sources.items()}
        out = []
        for name, tree in self.trees:
            env[name] = _evaluate(tree, env)
            out.append(env[name])
        return out

    def fill(self, pt: pd.DataFrame, columns: Dict[str, np.ndarray], vcov, level: float = 0.95):
        """Write est, se, z, pvalue, CI and std.lv/std.all of the ``:=`` rows into
        ``columns`` (one array per column, one value per table row)."""
        if not len(self.rows):
            return
        from scipy import stats

        free = pt["free"].to_numpy()
        est = torch.tensor(np.asarray(columns["est"], dtype=float), dtype=torch.float64)
        free_rows = np.flatnonzero(free > 0)
        order = free_rows[np.argsort(free[free_rows])]

        def as_function(theta):
            full = est.clone()
            full[order] = theta
            return torch.stack(self.values(full))

        theta = est[order].clone()
        values = as_function(theta).detach().numpy()
        if vcov is None:
            se = np.full(len(self.rows), np.nan)
        else:
            J = torch.autograd.functional.jacobian(as_function, theta).numpy()
            se = np.sqrt(np.clip(np.diag(J @ vcov @ J.T), 0, None))
        crit = stats.norm.ppf(0.5 + level / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = values / se
        updates = {"est": values, "se": se, "z": z, "pvalue": 2 * stats.norm.sf(np.abs(z)),
                   "ci.lower": values - crit * se, "ci.upper": values + crit * se}
        for col in ("std.lv", "std.all"):
            if col in columns:
                updates[col] = torch.stack(self.values(columns[col])).numpy()
        for col, vals in updates.items():
            columns[col][self.rows] = vals
