"""The plots render to PNG files that are not blank (matplotlib's Agg
backend; skipped without matplotlib, which is the optional extra "plots")."""
import numpy as np
import pytest

import torchfit
from torchfit.errors import TorchfitError

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from torchfit import plots  # noqa: E402

ITEMS = [f"x{i}" for i in range(1, 10)]
HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def hs():
    return torchfit.datasets.holzinger_swineford()


def saved(ax, path):
    ax.figure.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(ax.figure)
    assert path.exists() and path.stat().st_size > 5000  # a drawing, not an empty canvas
    img = plt.imread(path)
    assert img[..., :3].std() > 0.05  # more than one colour
    return path


def test_loss_curve_iwave(hs, tmp_path):
    fit = torchfit.cfa("f =~ x1 + x2 + x3", hs, estimator="IWAVE", max_iterations=800,
                       se="none", quiet=True, logl_samples=50)
    ax = plots.loss_curve(fit)
    assert len(ax.lines[0].get_xdata()) == len(fit.loss_history) == 8
    saved(ax, tmp_path / "loss_iwave.png")


def test_loss_curve_minibatch_ml(hs, tmp_path):
    fit = torchfit.cfa(HS_MODEL, hs, batch_size=64, max_epochs=30, quiet=True)
    ax = plots.loss_curve(fit)
    assert len(ax.lines[0].get_ydata()) == len(fit.info["loss_history"])
    saved(ax, tmp_path / "loss_ml.png")


def test_loss_curve_needs_a_stochastic_fit(hs):
    fit = torchfit.cfa(HS_MODEL, hs)
    with pytest.raises(TorchfitError, match="no loss history.*batch_size"):
        plots.loss_curve(fit)


def test_loadings_heatmap_efa_and_fit(hs, tmp_path):
    res = torchfit.efa(hs, 3, columns=ITEMS)
    ax = plots.loadings_heatmap(res)
    assert np.allclose(ax.images[0].get_array(), res.loadings.to_numpy())
    saved(ax, tmp_path / "heat_efa.png")
    fit = torchfit.cfa(HS_MODEL, hs)
    ax = plots.loadings_heatmap(fit, standardized=False)
    values = np.asarray(ax.images[0].get_array())
    assert values.shape == (9, 3) and values[0, 0] == 1.0 and values[0, 1] == 0.0
    saved(ax, tmp_path / "heat_fit.png")


def test_scree_plot(hs, tmp_path):
    s = torchfit.scree(hs, 4, columns=ITEMS, seed=2)
    fig, ax = plt.subplots()
    assert plots.scree_plot(s, ax=ax) is ax
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3, 4]
    saved(ax, tmp_path / "scree.png")
    with pytest.raises(TorchfitError, match="torchfit.scree"):
        plots.scree_plot(s.drop(columns="heldout_logl"))
