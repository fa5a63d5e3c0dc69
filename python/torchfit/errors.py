"""Exceptions and warnings that torchfit raises.

Every message names the offending thing (a variable, a line and column of the
syntax, a column of the data) and says what to do about it.
"""


class TorchfitError(ValueError):
    """Base class of the errors torchfit raises for bad models or data."""


class ModelSyntaxError(TorchfitError):
    """The lavaan model syntax could not be parsed.

    Attributes
    ----------
    line, column : int
        1-based position of the offending token in the model text.
    """

    def __init__(self, message: str, line: int, column: int, text: str = ""):
        self.line, self.column = line, column
        where = f"line {line}, column {column}"
        pointer = ""
        if text:
            pointer = f"\n  {text}\n  {' ' * (column - 1)}^"
        super().__init__(f"model syntax error at {where}: {message}{pointer}")


class DataError(TorchfitError):
    """The data do not fit the model (missing columns, wrong types, NA...)."""


class ModelError(TorchfitError):
    """The model cannot be estimated as specified (not identified, df < 0...)."""


class ConvergenceWarning(UserWarning):
    """The optimiser stopped before reaching the optimum."""


class HeywoodWarning(UserWarning):
    """The solution is not admissible (a Heywood case): a negative variance,
    or a covariance matrix of the latent variables or of the residuals that
    is not positive definite (lavaan's post-estimation check)."""
