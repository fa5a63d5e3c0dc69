"""Mini-batch ML (the tensorsem way) reaches ML's optimum on the moments."""
import numpy as np
import pytest

import torchfit
from torchfit.errors import ModelError

HS_MODEL = "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"


def test_minibatch_ml_agrees_with_ml_on_the_moments(hs):
    exact = torchfit.cfa(HS_MODEL, hs)
    batched = torchfit.cfa(HS_MODEL, hs, batch_size=128, lr=0.02, n_intervals=5, seed=3)
    assert batched.info["optimizer"] == "Adam (mini-batch)"
    assert batched.converged and len(batched.info["loss_history"]) >= 5
    assert np.abs(batched.coef() - exact.coef()).max() < 0.05
    # the chi-square is minimal at ML's optimum: close above it
    chisq, chisq_ml = batched.fit_measures()["chisq"], exact.fit_measures()["chisq"]
    assert chisq_ml <= chisq < chisq_ml * 1.01


def test_minibatch_ml_refuses_groups(hs):
    with pytest.raises(ModelError, match="one group"):
        torchfit.cfa(HS_MODEL, hs, group="school", batch_size=64)
