"""Defined parameters (lavaan's ``name := expression``).

An expression is arithmetic (``+ - * / ^``, parentheses, numbers) over the
labels of parameters, earlier defined parameters and a few functions; it is
evaluated with torch so that the delta-method standard errors come from
autograd: var(f(theta)) = J V J^T with J the Jacobian at the estimates.
"""
from __future__ import annotations

import ast
import difflib
import re
from typing import Callable, Dict, List

import numpy as np
import pandas as pd
import torch
from scipy import special

from ..errors import ModelError

FUNCTIONS: Dict[str, Callable] = {
    "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs,
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "asin": torch.asin,
    "acos": torch.acos, "atan": torch.atan, "tanh": torch.tanh,
    "pnorm": lambda z: 0.5 * (1 + torch.erf(z / np.sqrt(2.0))),
}
_BINARY = {ast.Add: torch.add, ast.Sub: torch.sub, ast.Mult: torch.mul, ast.Div: torch.div,
           ast.Pow: torch.pow}


_TOKEN = re.compile(r"(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)|((?:[^\W\d]|\.)[\w.]*)")


def _mangle(name: str) -> str:
    """A Python identifier for an R name (lavaan's labels may hold dots, as
    in the automatic ".p12.")."""
    return name if name.isidentifier() else "_m_" + name.replace(".", "_d_")


def compile_expression(where: str, text: str, known: List[str]) -> ast.Expression:
    """Parse ``text`` (R syntax) and check that it only uses known names;
    ``where`` says what is being read, for the messages."""
    source = _TOKEN.sub(lambda m: m.group(1) or _mangle(m.group(2)), text)
    try:
        tree = ast.parse(source.replace("^", "**"), mode="eval")
    except SyntaxError as err:
        raise ModelError(f"{where} is not an arithmetic expression ({err.msg}); use "
                         "+ - * / ^, parentheses and labels")
    original = {_mangle(k): k for k in known}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in original and node.id not in FUNCTIONS:
            name = next((m.group(2) for m in _TOKEN.finditer(text)
                         if m.group(2) and _mangle(m.group(2)) == node.id), node.id)
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ModelError(f"{where} uses '{name}', which is not the label of a "
                             f"parameter{hint}; label a parameter in the model, e.g. "
                             f"'y ~ {name}*x'")
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Call, ast.Name,
                   ast.Load, ast.Constant) + tuple(_BINARY)
        if not isinstance(node, allowed) or (isinstance(node, ast.Call) and (
                not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS)):
            raise ModelError(f"{where} uses something other than arithmetic, labels and the "
                             f"functions {', '.join(FUNCTIONS)}")
    return tree


def evaluate_expression(node, env: Dict[str, torch.Tensor]) -> torch.Tensor:
    """Evaluate a tree of ``compile_expression`` with tensors ``env`` for its names,
    so that the value is differentiable in them."""
    if isinstance(node, ast.Expression):
        return evaluate_expression(node.body, env)
    if isinstance(node, ast.Constant):
        return torch.tensor(float(node.value), dtype=torch.float64)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        value = evaluate_expression(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](evaluate_expression(node.left, env),
                                      evaluate_expression(node.right, env))
    return FUNCTIONS[node.func.id](*(evaluate_expression(a, env) for a in node.args))


class Definitions:
    """The ``:=`` rows of a parameter table, compiled once.

    Examples
    --------
    >>> from torchfit.model.partable import parse
    >>> pt = parse("y ~ a*x + b*z; ab := a*b")
    >>> [float(v) for v in Definitions(pt).values([2.0, 3.0, 1.0, 1.0, 0.0, 1.0, 0.0])]
    [6.0]
    """

    def __init__(self, pt: pd.DataFrame):
        ops = pt["op"].to_numpy()
        self.rows = np.flatnonzero(ops == ":=")
        self.sources: Dict[str, int] = {}
        for i, (lab, plab, op) in enumerate(zip(pt["label"], pt["plabel"], ops)):
            if op in ("=~", "~", "~~", "~1", "|"):
                for name in (lab, plab):
                    if name:
                        self.sources.setdefault(name, i)
        known = list(self.sources)
        self.trees = []
        for i in self.rows:
            name, text = pt["lhs"].iat[i], pt["rhs"].iat[i]
            self.trees.append((name, compile_expression(f"the definition '{name} := {text}'", text,
                                              known)))
            known.append(name)

    @property
    def names(self) -> List[str]:
        """Everything an expression may use: labels, plabels, defined names."""
        return list(self.sources) + [name for name, _ in self.trees]

    def environment(self, row_values) -> Dict[str, torch.Tensor]:
        """Every name's value for one value per table row (a tensor keeps
        gradients): the labelled parameters, then the defined ones in order."""
        row_values = torch.as_tensor(row_values, dtype=torch.float64)
        env = {_mangle(name): row_values[i] for name, i in self.sources.items()}
        for name, tree in self.trees:
            env[_mangle(name)] = evaluate_expression(tree, env)
        return env

    def values(self, row_values) -> List[torch.Tensor]:
        """The defined parameters for one value per table row (a tensor keeps gradients)."""
        env = self.environment(row_values)
        return [env[_mangle(name)] for name, _ in self.trees]

    def constraint_values(self, pt: pd.DataFrame, row_values: np.ndarray) -> None:
        """Give each ``==``, ``<`` and ``>`` row its slack at ``row_values``
        (in place): lhs - rhs, rhs - lhs for ``<``, as lavaan reports them."""
        rows = np.flatnonzero(np.isin(pt["op"].to_numpy(), ("==", "<", ">")))
        if not len(rows):
            return
        env = self.environment(np.nan_to_num(np.asarray(row_values, dtype=float)))
        for i in rows:
            where = f"the constraint '{pt['lhs'].iat[i]} {pt['op'].iat[i]} {pt['rhs'].iat[i]}'"
            sides = [evaluate_expression(compile_expression(where, side, self.names), env)
                     for side in (pt["lhs"].iat[i], pt["rhs"].iat[i])]
            # the slack: lhs - rhs, or rhs - lhs for '<' (>= 0 when met)
            sign = -1.0 if pt["op"].iat[i] == "<" else 1.0
            row_values[i] = sign * float(sides[0] - sides[1])

    def fill(self, pt: pd.DataFrame, columns: Dict[str, np.ndarray], vcov, level: float = 0.95):
        """Write est, se, z, pvalue, CI and std.lv/std.all/std.nox of the ``:=`` rows into
        ``columns`` (one array per column, one value per table row)."""
        if not len(self.rows):
            return
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
        crit = special.ndtri(0.5 + level / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = values / se
        updates = {"est": values, "se": se, "z": z,
                   "pvalue": special.erfc(np.abs(z) / np.sqrt(2.0)),
                   "ci.lower": values - crit * se, "ci.upper": values + crit * se}
        for col in ("std.lv", "std.all", "std.nox"):
            if col in columns:
                updates[col] = torch.stack(self.values(columns[col])).numpy()
        for col, vals in updates.items():
            columns[col][self.rows] = vals
