"""lavaan model syntax: tokens, statements and formula rows.

``parse_formulas`` turns model text into one :class:`FormulaRow` per
left-hand/right-hand pair, with the modifiers (fixed value, start value,
label, ``NA*``) that lavaan allows.  :func:`torchfit.model.partable.parse` goes on to the lavaan
parameter table, applying lavaan's ``sem()``/``cfa()`` defaults.

Every error is a :class:`~torchfit.errors.ModelSyntaxError` carrying the line
and column of the offending token.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import List, Optional

from ..errors import ModelSyntaxError

# Operators, longest first so that "=~" wins over "=" and "~~" over "~".
_MAIN_OPS = ("~*~", "=~", "~~", "<~", ":=", "==", "~", "<", ">", "|", "%")
_PUNCT = ("*", "+", "-", "/", "^", "(", ")", ",", "?", ";")
_TOKEN_RE = re.compile(
    r"""
    (?P<space>[ \t\r\f\v]+)
  | (?P<newline>\n)
  | (?P<comment>[#!][^\n]*)
  | (?P<string>"[^"\n]*"|'[^'\n]*')
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w.]))
  | (?P<name>(?:[^\W\d]|\.)[\w.]*)
  | (?P<op>~\*~|=~|~~|<~|:=|==|~|<|>|\||%)
  | (?P<punct>[*+\-/^(),?;])
    """,
    re.VERBOSE,
)


@dataclass
class Token:
    kind: str  # "name", "number", "string", "op", "punct"
    text: str
    line: int
    column: int


_BAD_VALUES = {
    "start": "start() takes numbers, e.g. start(0.5) or start(c(0.5, 1))",
    "label": 'label() takes labels, e.g. label("a")',
    "equal": 'equal() takes labels, e.g. equal("a")',
    "c": "c() takes either numbers and NA (fixed values, one per group) or labels "
         "(one per group), not both",
}


def _per_group(values: list):
    """A modifier value, or a tuple of one value per group when several."""
    return values[0] if len(values) == 1 else tuple(values)


@dataclass
class FormulaRow:
    """One lhs-op-rhs element of the model, as the user wrote it.

    ``fixed`` holds a value from ``1*x``; ``start`` one from ``start(1)*x`` or
    ``1?x``; ``free_na`` is True for ``NA*x`` (free a parameter that would be
    fixed by default); ``label`` a label from ``a*x`` or ``label("a")*x``.
    With several groups, ``c(1, NA)*x`` or ``c(a, b)*x`` give a tuple with one
    value per group; :meth:`for_group` picks one.
    """

    lhs: str
    op: str
    rhs: str
    fixed: Optional[float] = None
    start: Optional[float] = None
    label: str = ""
    free_na: bool = False
    line: int = 0
    column: int = 0
    text: str = field(default="", repr=False)

    def for_group(self, g: int, ngroups: int) -> "FormulaRow":
        """The row with the modifiers of group ``g`` (0-based) of ``ngroups``."""
        def pick(value):
            if not isinstance(value, tuple):
                return value
            if len(value) != ngroups:
                raise ModelSyntaxError(
                    f"c() gives {len(value)} values for '{self.lhs} {self.op} {self.rhs}' but "
                    f"the model has {ngroups} group(s); give one value per group",
                    self.line, self.column, self.text)
            return value[g]
        return replace(self, fixed=pick(self.fixed), start=pick(self.start),
                       label=pick(self.label) or "", free_na=pick(self.free_na))


def tokenize(model: str) -> List[Token]:
    """Split model text into tokens, dropping blanks and comments."""
    tokens: List[Token] = []
    line, line_start, pos = 1, 0, 0
    while pos < len(model):
        m = _TOKEN_RE.match(model, pos)
        column = pos - line_start + 1
        if m is None:
            raise ModelSyntaxError(
                f"unexpected character {model[pos]!r}; variable names use letters, "
                "digits, '.' and '_'",
                line, column, _line_text(model, line),
            )
        kind = m.lastgroup
        if kind == "newline":
            tokens.append(Token("newline", "\n", line, column))
            line, line_start = line + 1, m.end()
        elif kind not in ("space", "comment"):
            tokens.append(Token(kind, m.group(), line, column))
        pos = m.end()
    return tokens


def _line_text(model: str, line: int) -> str:
    lines = model.split("\n")
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _statements(tokens: List[Token], model: str) -> List[List[Token]]:
    """Group tokens into statements.

    As in lavaan, a statement ends at ';' or at the end of a line, and a line
    without an operator continues the statement above it (so a long formula
    may be broken before or after a '+').
    """
    pieces: List[List[Token]] = [[]]
    for tok in tokens:
        if tok.kind == "newline" or tok.text == ";":
            pieces.append([])
        else:
            pieces[-1].append(tok)
    statements: List[List[Token]] = []
    for piece in pieces:
        if not piece:
            continue
        if any(t.kind == "op" for t in piece):
            statements.append(piece)
        elif statements and piece[0].line != statements[-1][-1].line:
            statements[-1].extend(piece)
        else:
            t = piece[0]
            raise ModelSyntaxError(
                "this statement has no operator; write formulas such as "
                "'f =~ x1 + x2', 'y ~ x' or 'x1 ~~ x2'",
                t.line, t.column, _line_text(model, t.line),
            )
    return statements


class _Parser:
    """Recursive-descent parser over the tokens of one statement."""

    def __init__(self, tokens: List[Token], model: str):
        self.toks, self.i, self.model = tokens, 0, model

    def error(self, message: str, tok: Optional[Token] = None) -> ModelSyntaxError:
        tok = tok or (self.toks[self.i] if self.i < len(self.toks) else self.toks[-1])
        column = tok.column if self.i < len(self.toks) or tok is not self.toks[-1] \
            else tok.column + len(tok.text)
        return ModelSyntaxError(message, tok.line, column, _line_text(self.model, tok.line))

    def peek(self) -> Optional[Token]:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise self.error("the formula ends too early")
        self.i += 1
        return tok

    def expect(self, text: str) -> Token:
        tok = self.peek()
        if tok is None or tok.text != text:
            found = "the end of the formula" if tok is None else repr(tok.text)
            raise self.error(f"expected {text!r} but found {found}")
        return self.take()

    # -- pieces of a formula ------------------------------------------------
    def number(self) -> float:
        sign = -1.0 if self.peek() is not None and self.peek().text == "-" else 1.0
        if sign < 0:
            self.take()
        tok = self.take()
        if tok.kind != "number":
            raise self.error(f"expected a number but found {tok.text!r}", tok)
        return sign * float(tok.text)

    def item(self):
        """One value inside c() or a call: a number, NA (None) or a label."""
        tok = self.peek()
        if tok is not None and tok.kind == "string":
            return self.take().text[1:-1]
        if tok is not None and tok.kind == "name" and tok.text != "NA":
            return self.take().text
        if tok is not None and tok.text == "NA":
            self.take()
            return None
        return self.number()

    def values(self) -> list:
        """``( item, item, ... )``: one value per group."""
        self.expect("(")
        out = [self.item()]
        while self.peek() is not None and self.peek().text == ",":
            self.take()
            out.append(self.item())
        self.expect(")")
        return out

    def call_argument(self):
        """Argument of start(), equal() or label(): a value or c(...) of values."""
        self.expect("(")
        tok, nxt = self.peek(), self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if tok is not None and tok.text == "c" and nxt is not None and nxt.text == "(":
            self.take()
            value = self.values()
        else:
            value = [self.item()]
        self.expect(")")
        return value

    def modifier(self, row: FormulaRow) -> None:
        tok = self.peek()
        if tok.kind == "number" or tok.text == "-":
            value = self.number()
            kind = self.take().text  # '*' or '?'
            if kind == "?":
                row.start = value
            else:
                row.fixed = value
            return
        if tok.kind == "string":
            row.label = self.take().text[1:-1]
        elif tok.kind == "name" and tok.text == "NA":
            self.take()
            row.free_na = True
        elif (tok.kind == "name" and self.i + 1 < len(self.toks)
              and self.toks[self.i + 1].text == "("):
            fname = self.take().text
            values = self.values() if fname == "c" else \
                self.call_argument() if fname in ("start", "label", "equal") else None
            numbers = all(v is None or isinstance(v, float) for v in values or [])
            labels = all(isinstance(v, str) for v in values or [])
            if fname == "start" and numbers and None not in values:
                row.start = _per_group(values)
            elif fname in ("label", "equal") and labels:
                row.label = _per_group(values)
            elif fname == "c" and labels:
                row.label = _per_group(values)
            elif fname == "c" and numbers:
                row.fixed = _per_group(values)
                row.free_na = _per_group([v is None for v in values])
            elif values is not None:
                raise self.error(_BAD_VALUES[fname], tok)
            else:
                raise self.error(
                    f"unknown modifier {fname}(); use a number, NA, a label, "
                    "start(), label() or equal()", tok)
        elif tok.kind == "name":
            row.label = self.take().text
        else:
            raise self.error(f"expected a variable name but found {tok.text!r}")
        sep = self.take()
        if sep.text == "?" and row.start is None:
            raise self.error("'?' follows a start value, e.g. 0.5?x", sep)
        if sep.text not in ("*", "?"):
            self.spaced(self.toks[self.i - 2], sep)
            raise self.error(f"expected '*' after a modifier but found {sep.text!r}", sep)

    def term(self, op: Token) -> FormulaRow:
        """One right-hand-side term with its modifiers: ``[mod*]... name``."""
        row = FormulaRow("", op.text, "")
        while True:
            tok = self.peek()
            if tok is None:
                raise self.error(f"expected a variable name after {op.text!r}")
            nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
            if nxt is None or nxt.text == "+" or (tok.kind == "name" and nxt.kind == "name"):
                break
            self.modifier(row)
        tok = self.take()
        if tok.kind == "number" and op.text == "~" and float(tok.text) == 1.0:
            row.op, row.rhs = "~1", ""
        elif tok.kind == "number" and op.text == "~" and float(tok.text) == 0.0:
            raise self.error("'~ 0' is not lavaan syntax; fix an intercept with 'y ~ 0*1'", tok)
        elif tok.kind != "name":
            raise self.error(f"expected a variable name but found {tok.text!r}", tok)
        else:
            row.rhs = tok.text
        row.line, row.column, row.text = tok.line, tok.column, _line_text(self.model, tok.line)
        return row

    def names(self, stop: Token) -> List[Token]:
        """Left-hand side: one or more names joined by '+'."""
        out = []
        while True:
            tok = self.take()
            if tok.kind != "name":
                raise self.error(f"expected a variable name on the left of {stop.text!r} "
                                 f"but found {tok.text!r}", tok)
            out.append(tok)
            if self.peek() is stop:
                self.take()
                return out
            self.plus()

    def plus(self) -> None:
        """The '+' between two terms."""
        self.spaced(self.toks[self.i - 1] if self.i else None, self.peek())
        self.expect("+")

    def spaced(self, prev: Optional[Token], tok: Optional[Token]) -> None:
        """A name followed by a name or number is a name with a space."""
        if tok is not None and prev is not None and prev.kind == "name" \
                and tok.kind in ("name", "number"):
            raise self.error(f"expected '+' between terms but found '{prev.text} {tok.text}': a "
                             "variable name cannot contain spaces; rename the column (replace "
                             "each space by '_') and use the new name in the model, or put '+' "
                             "between two variables", tok)

    def expression(self, tokens: List[Token]) -> str:
        if not tokens:
            raise self.error("an expression is missing on one side of the operator")
        return "".join(t.text for t in tokens)

    def statement(self) -> List[FormulaRow]:
        op = next((t for t in self.toks if t.kind == "op"), None)
        ops = [t for t in self.toks if t.kind == "op"]
        if len(ops) > 1:
            raise self.error(f"a second operator {ops[1].text!r} in one statement; "
                             "put each formula on its own line or separate with ';'",
                             ops[1])
        if op.text in (":=", "==", "<", ">"):
            k = self.toks.index(op)
            lhs, rhs = self.toks[:k], self.toks[k + 1:]
            if op.text == ":=" and (len(lhs) != 1 or lhs[0].kind != "name"):
                raise self.error("':=' defines one new parameter: write 'name := expression'",
                                 lhs[0] if lhs else op)
            first = lhs[0] if lhs else op
            return [FormulaRow(self.expression(lhs), op.text, self.expression(rhs),
                               line=first.line, column=first.column,
                               text=_line_text(self.model, first.line))]
        if op.text in ("~*~", "<~", "%"):
            raise self.error(f"the operator {op.text!r} is not supported yet", op)
        lhs = self.names(op)
        terms = [self.term(op)]
        while self.peek() is not None:
            self.plus()
            terms.append(self.term(op))
        # lavaan's order: every right-hand term of the first lhs, then the next
        return [replace(t, lhs=name.text) for name in lhs for t in terms]


def parse_formulas(model: str) -> List[FormulaRow]:
    """Parse lavaan model syntax into formula rows (no defaults added).

    Parameters
    ----------
    model : str
        lavaan model syntax, e.g. ``"visual =~ x1 + x2 + x3"``.

    Returns
    -------
    list of FormulaRow
        One row per lhs/op/rhs element, in the order written.

    Examples
    --------
    >>> [(r.lhs, r.op, r.rhs, r.fixed) for r in parse_formulas("f =~ 1*x1 + x2")]
    [('f', '=~', 'x1', 1.0), ('f', '=~', 'x2', None)]
    """
    if not isinstance(model, str):
        raise TypeError(f"model must be lavaan syntax in a string, not {type(model).__name__}")
    tokens = tokenize(model)
    rows: List[FormulaRow] = []
    seen = {}
    for stmt in _statements(tokens, model):
        for row in _Parser(stmt, model).statement():
            key = (row.lhs, row.op, row.rhs)
            if row.op == "~~" and (row.rhs, row.op, row.lhs) in seen:
                key = (row.rhs, row.op, row.lhs)
            if key in seen and row.op not in ("==", "<", ">"):
                first = seen[key]
                raise ModelSyntaxError(
                    f"'{row.lhs} {row.op} {row.rhs}' is specified twice (first on line "
                    f"{first.line}); give each parameter once", row.line, row.column, row.text)
            seen[key] = row
            rows.append(row)
    if not rows:
        raise ModelSyntaxError("the model is empty; write at least one formula such as "
                               "'f =~ x1 + x2 + x3'", 1, 1, "")
    return rows
