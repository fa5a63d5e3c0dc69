"""torchfit: structural equation and item response models in PyTorch, from lavaan syntax.

Examples
--------
>>> import torchfit
>>> hs = torchfit.datasets.holzinger_swineford()
>>> fit = torchfit.cfa("visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; "
...                    "speed =~ x7 + x8 + x9", hs)
>>> print(fit.summary(fit_measures=True, standardized=True))  # doctest: +ELLIPSIS
torchfit ... ended normally after ... iterations
...
Model Test User Model:
...
  Test statistic                                85.306
  Degrees of freedom                                24
...
"""
from . import datasets
from .api import __version__, cfa, fit, growth, sem
from .efa.exploratory import EFA, efa, scree
from .errors import ConvergenceWarning, DataError, ModelError, ModelSyntaxError, TorchfitError
from .inference.lrt import lrt
from .results.fit import Fit

__all__ = ["sem", "cfa", "growth", "fit", "Fit", "datasets", "TorchfitError", "ModelSyntaxError",
           "DataError", "ModelError", "ConvergenceWarning", "efa", "scree", "EFA", "plots", "lrt",
           "__version__"]


def __getattr__(name):
    # torchfit.plots on first use: matplotlib stays unimported until a plot is drawn
    if name == "plots":
        import importlib

        return importlib.import_module(".results.plots", __name__)
    raise AttributeError(f"module 'torchfit' has no attribute {name!r}")
