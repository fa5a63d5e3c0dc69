"""simulate_big5: the shape of the IPIP-FFM data, with a truth that a fit recovers."""
import numpy as np
import pytest

import torchfit
from torchfit.datasets import simulate_big5
from torchfit.datasets.ipip import ITEMS


def test_shape_names_and_categories_match_the_ipip_loader():
    data, truth = simulate_big5(3000, seed=1)
    assert list(data.columns) == ITEMS == truth["items"]
    assert data.shape == (3000, 50) and data.dtypes.eq(np.float64).all()
    assert set(np.unique(data.to_numpy())) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert truth["loadings"].shape == (50, 5) and truth["thresholds"].shape == (50, 4)
    nonzero = truth["loadings"][truth["loadings"] > 0]
    assert len(nonzero) == 50 and nonzero.min() == pytest.approx(0.7)
    assert nonzero.max() == pytest.approx(2.6)
    assert (np.diff(truth["thresholds"], axis=1) > 0).all()
    assert np.allclose(np.diag(truth["corr"]), 1) and np.linalg.eigvalsh(truth["corr"]).min() > 0
    assert truth["syntax"].splitlines()[1].startswith("EST =~ EST1 + EST2")


def test_seeded_chunking_and_small_integer_dtype():
    a, _ = simulate_big5(500, seed=7)
    b, _ = simulate_big5(500, seed=7, dtype=np.int8)
    c, _ = simulate_big5(500, seed=8)
    assert b.dtypes.eq(np.int8).all() and np.array_equal(a.to_numpy(), b.to_numpy())
    assert not np.array_equal(a.to_numpy(), c.to_numpy())
    # The parameters are fixed; only the draw depends on the seed.
    assert np.array_equal(simulate_big5(10, seed=1)[1]["loadings"],
                          simulate_big5(10, seed=2)[1]["loadings"])


def test_the_truth_syntax_fits_and_orders_the_loadings():
    data, truth = simulate_big5(4000, seed=3)
    fit = torchfit.cfa(truth["syntax"], data, std_lv=True)
    pe = fit.parameter_estimates(standardized=True)
    load = pe[pe["op"] == "=~"]
    true = truth["loadings"][[ITEMS.index(v) for v in load["rhs"]],
                             [truth["factors"].index(f) for f in load["lhs"]]]
    # Linear loadings on the coarse categories are not the logistic ones, but
    # the standardized ones rise with the latent responses' correlations.
    latent = true / np.sqrt(true ** 2 + np.pi ** 2 / 3)
    assert np.corrcoef(load["std.all"], latent)[0, 1] > 0.95
    lv = pe[(pe["op"] == "~~") & (pe["lhs"] == "EXT") & (pe["rhs"] == "EST")]["est"].iloc[0]
    assert -0.35 < lv < -0.15  # truth -0.25, attenuated a little by the coarse categories
