"""Plots users expect: the loss curve of a stochastic fit, a heat map of the
loadings, and a scree plot of held-out log-likelihoods.

matplotlib is optional (``pip install "torchfit[plots]"``): it is imported
inside each function, so ``import torchfit`` never needs it.  Each function
draws on ``ax`` (a new figure when None) and returns the Axes.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from ..errors import TorchfitError


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("torchfit's plots need matplotlib: pip install matplotlib "
                          "(or pip install \"torchfit[plots]\")") from e
    return plt


def _axes(ax, figsize):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize)
    return ax


def loss_history(fit) -> np.ndarray:
    """The loss history of a stochastic fit: IWAVE's mean negative IW-ELBO per
    window of 100 iterations, or mini-batch ML's ``info.loss_history``."""
    history = getattr(fit, "loss_history", None)
    if history is None:
        history = getattr(getattr(fit, "info", None), "loss_history", None)
    if history is None or len(np.asarray(history)) == 0:
        raise TorchfitError("this fit has no loss history: only stochastic fits keep one "
                            "(estimator='IWAVE', or ML with batch_size=); ML on the sample "
                            "moments converges in a few Fisher scoring steps")
    return np.asarray(history, dtype=float)


def loss_curve(fit, ax=None, log_scale: Optional[bool] = None):
    """Loss of a stochastic fit against iterations.

    Parameters
    ----------
    fit : Fit
        An IWAVE fit, or an ML fit with ``batch_size=`` (mini-batch).
    ax : matplotlib Axes, optional
    log_scale : bool, optional
        Log scale of the loss axis; by default when the loss is positive and
        spans more than a factor 10.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> fit = torchfit.cfa("f =~ x1 + x2 + x3", hs, estimator="IWAVE",
    ...                    max_iterations=200, se="none", quiet=True)
    >>> ax = torchfit.plots.loss_curve(fit)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('iteration', 'loss (-IW-ELBO per row)')
    """
    history = loss_history(fit)
    ax = _axes(ax, (6, 4))
    info = getattr(fit, "info", None)
    estimator = getattr(info, "estimator", "")
    if estimator == "IWAVE" or hasattr(fit, "encoder"):
        x, xlabel, ylabel = np.arange(1, len(history) + 1) * 100, "iteration", \
            "loss (-IW-ELBO per row)"
    else:
        x, xlabel = np.arange(1, len(history) + 1), "window"
        ylabel = "mean loss (-log-likelihood per row)"
    ax.plot(x, history, color="C0", lw=1.5)
    best = int(np.argmin(history))
    ax.scatter([x[best]], [history[best]], color="C3", zorder=3,
               label=f"best {history[best]:.4f}")
    if log_scale is None:
        log_scale = history.min() > 0 and history.max() / history.min() > 10
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"Loss curve ({estimator or 'fit'})"
                 + ("" if getattr(info, "converged", True) else ", not converged"))
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax


def loadings_matrix(obj, standardized: bool = True) -> pd.DataFrame:
    """Items x factors loadings of an EFA result (rotated) or of a Fit (from
    the parameter table: ``std.all`` when standardized, else ``est``)."""
    if hasattr(obj, "loadings") and isinstance(obj.loadings, pd.DataFrame):
        return obj.loadings if standardized else obj.loadings_unstd
    pt = getattr(obj, "partable", None)
    if pt is None:
        raise TorchfitError(f"cannot find loadings in a {type(obj).__name__}; give a Fit "
                            "(torchfit.cfa/sem/fit) or an EFA result (torchfit.efa)")
    rows = pt[pt["op"] == "=~"]
    if rows.empty:
        raise TorchfitError("the model has no loadings (no '=~' rows) to plot")
    col = "std.all" if standardized and "std.all" in rows else "est"
    items = list(dict.fromkeys(rows["rhs"]))
    factors = list(dict.fromkeys(rows["lhs"]))
    out = pd.DataFrame(0.0, index=items, columns=factors)
    for f, v, val in zip(rows["lhs"], rows["rhs"], rows[col]):
        out.loc[v, f] = val
    return out


def loadings_heatmap(fit_or_efa, ax=None, standardized: bool = True,
                     annotate: Optional[bool] = None, cmap: str = "RdBu_r"):
    """Heat map of the loadings (items x factors), diverging around 0.

    Parameters
    ----------
    fit_or_efa : Fit or EFA
        A fitted model (its ``=~`` rows; fixed zeros show as 0) or an
        exploratory analysis (its rotated loadings).
    ax : matplotlib Axes, optional
    standardized : bool
        Standardized loadings (std.all), else raw estimates.
    annotate : bool, optional
        Write each value in its cell; by default when there are at most 400
        cells.
    cmap : str
        A diverging colour map.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> res = torchfit.efa(hs, 3, columns=[f"x{i}" for i in range(1, 10)])
    >>> ax = torchfit.plots.loadings_heatmap(res)
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['f1', 'f2', 'f3']
    """
    L = loadings_matrix(fit_or_efa, standardized)
    p, k = L.shape
    ax = _axes(ax, (1.6 + 0.9 * k, 1.2 + 0.32 * p))
    values = L.to_numpy(dtype=float)
    vmax = max(1.0, float(np.nanmax(np.abs(values)))) if standardized else \
        float(np.nanmax(np.abs(values))) or 1.0
    image = ax.imshow(values, cmap=cmap, vmin=-vmax, vmax=vmax, aspect="auto")
    ax.set_xticks(range(k))
    ax.set_xticklabels(L.columns)
    ax.set_yticks(range(p))
    ax.set_yticklabels(L.index)
    ax.xaxis.tick_top()
    if annotate is None:
        annotate = p * k <= 400
    if annotate:
        for i in range(p):
            for j in range(k):
                v = values[i, j]
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if abs(v) > 0.6 * vmax else "black")
    ax.figure.colorbar(image, ax=ax, fraction=0.08, pad=0.04,
                       label="standardized loading" if standardized else "loading")
    ax.set_title("Loadings", pad=24)
    return ax


def scree_plot(scree_frame: pd.DataFrame, ax=None, per_row: bool = True):
    """Held-out log-likelihood against the number of factors.

    Parameters
    ----------
    scree_frame : pandas.DataFrame
        What :func:`torchfit.scree` returns.
    ax : matplotlib Axes, optional
    per_row : bool
        Plot the mean per held-out row (comparable across data sizes),
        else the sum.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import torchfit
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> s = torchfit.scree(hs, 3, columns=[f"x{i}" for i in range(1, 10)])
    >>> ax = torchfit.plots.scree_plot(s)
    >>> ax.get_xlabel()
    'number of factors'
    """
    if not isinstance(scree_frame, pd.DataFrame) or "n_factors" not in scree_frame \
            or "heldout_logl" not in scree_frame:
        raise TorchfitError("scree_plot() takes the DataFrame torchfit.scree() returns "
                            "(columns n_factors and heldout_logl)")
    col = "heldout_logl_per_row" if per_row and "heldout_logl_per_row" in scree_frame \
        else "heldout_logl"
    ax = _axes(ax, (6, 4))
    k = scree_frame["n_factors"].to_numpy()
    ll = scree_frame[col].to_numpy(dtype=float)
    ax.plot(k, ll, "o-", color="C0", lw=1.5)
    best = int(np.nanargmax(ll))
    ax.scatter([k[best]], [ll[best]], s=120, facecolors="none", edgecolors="C3", lw=2,
               zorder=3, label=f"highest: {k[best]} factor{'s' if k[best] != 1 else ''}")
    ax.set_xticks(k)
    ax.set_xlabel("number of factors")
    ax.set_ylabel("held-out log-likelihood" + (" per row" if col.endswith("per_row") else ""))
    est = scree_frame.attrs.get("estimator", "")
    ax.set_title(f"Scree: held-out log-likelihood{f' ({est})' if est else ''}")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax
