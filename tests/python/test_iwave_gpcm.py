"""The GPCM log-likelihood's normalizer as a polynomial in exp(lp) (iwave/items.py,
GPCM._log_total) against the categories' softmax written out per item: values,
gradients and second derivatives, per-item and per-row steps, items with fewer
categories, responses far from the items (where it falls back to the
log-sum-exp); and IWAVE's OPG standard errors of a GPCM fit, which it made
three times cheaper, unchanged."""
import warnings

import numpy as np
import pytest
import torch

import torchfit
from torchfit.iwave.items import GPCM
from torchfit.iwave.opg import information

CATEGORIES = np.array([5, 5, 3, 2, 4])


def reference(lp, y, tau):
    """log Pr(y | lp) of each response, item by item: the log-softmax of the
    logits k lp - sum_{j <= k} tau_j over the item's own categories."""
    out = []
    for i, c in enumerate(CATEGORIES):
        steps = tau[..., i, : c - 1]
        cum = torch.cat([torch.zeros_like(steps[..., :1]), torch.cumsum(steps, -1)], -1)
        k = torch.arange(c, dtype=lp.dtype)
        logp = torch.log_softmax(lp[..., i, None] * k - cum, -1)
        pick = y[:, i].long().expand(lp.shape[:-1]).unsqueeze(-1)
        out.append(logp.gather(-1, pick).squeeze(-1))
    return torch.stack(out, -1)


def error(ours, want, lp):
    """|ours - want| relative to the logits' size, T |lp| (T = 4 steps): both are
    differences of terms that large, rounded in the precision at hand."""
    return (ours - want).abs() / (1 + want.abs() + 4 * lp.abs())


def case(dtype, spread, per_row, seed=0):
    """Linear predictors (K = 6 draws, 40 rows), responses and steps."""
    gen = torch.Generator().manual_seed(seed)
    n, rows = len(CATEGORIES), 40
    lp = spread * torch.randn(6, rows, n, generator=gen, dtype=dtype)
    tau = 1.5 * torch.randn(n, CATEGORIES.max() - 1, generator=gen, dtype=dtype)
    if per_row:  # one parameter vector per row, as the standard errors' pass has
        tau = tau + 0.1 * torch.randn(rows, *tau.shape, generator=gen, dtype=dtype)
    y = torch.stack([torch.randint(0, c, (rows,), generator=gen) for c in CATEGORIES], 1)
    return lp.requires_grad_(True), y.to(torch.int16), tau.requires_grad_(True)


def model():
    return GPCM(np.arange(len(CATEGORIES)), CATEGORIES).to("cpu")


# spread 1: every response on the polynomial; 40: many beyond its reach (T |lp - x0| > 60
# in float32), which take the log-sum-exp
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
@pytest.mark.parametrize("spread", [1.0, 40.0])
@pytest.mark.parametrize("per_row", [False, True])
def test_values_and_gradients_match_the_softmax(dtype, tol, spread, per_row):
    lp, y, tau = case(dtype, spread, per_row)
    ours = model().log_prob_items(lp, y, {"tau": tau})
    want = reference(lp, y, tau)
    assert (error(ours, want, lp) < tol).all()
    weights = torch.rand(ours.shape, generator=torch.Generator().manual_seed(1), dtype=dtype)
    g_ours = torch.autograd.grad((weights * ours).sum(), (lp, tau))
    g_want = torch.autograd.grad((weights * want).sum(), (lp, tau))
    for a, b in zip(g_ours, g_want):
        assert ((a - b).abs() / (1 + b.abs())).max() < tol


def test_the_far_responses_take_the_log_sum_exp_exactly():
    """float32 responses 30 logits off (T |lp - x0| = 120 > 60): computed as the
    log-sum-exp, finite, with their gradients."""
    lp, y, tau = case(torch.float32, 1.0, False)
    far = lp.detach().clone()
    far[0, :5] += 30.0
    far.requires_grad_(True)
    ours = model().log_prob_items(far, y, {"tau": tau})
    want = reference(far, y, tau)
    assert torch.isfinite(ours).all()
    assert (error(ours, want, far) < 2e-5).all()
    grad = torch.autograd.grad(ours.sum(), far)[0]
    assert torch.isfinite(grad).all()
    assert torch.allclose(grad, torch.autograd.grad(want.sum(), far)[0], atol=1e-4)


def test_no_rows():
    lp, y, tau = case(torch.float32, 1.0, False)
    assert model().log_prob_items(lp[:, :0], y[:0], {"tau": tau}).shape == (6, 0, 5)


def test_second_derivatives_match_the_softmax():
    """Marginal ML's Hessians differentiate the normalizer twice (float64)."""
    lp, y, tau = case(torch.float64, 2.0, False)
    lp = lp.detach()[:2, :6]
    y = y[:6]

    def f(fn):
        return lambda t: fn(lp, y, t).sum()
    ours = torch.autograd.functional.hessian(
        f(lambda a, b, t: model().log_prob_items(a, b, {"tau": t})), tau.detach())
    want = torch.autograd.functional.hessian(f(reference), tau.detach())
    assert torch.allclose(ours, want, atol=1e-10, rtol=0)


def log_sum_exp(self, lp, scores, cum):
    """The categories' log-sum-exp, as GPCM computed its normalizer before."""
    logits = (lp.unsqueeze(-1) * scores - cum).masked_fill(~self._valid, -1e4)
    return lp.new_zeros(()), torch.logsumexp(logits, -1)


def test_standard_errors_as_with_the_log_sum_exp(monkeypatch):
    """The OPG standard errors of a GPCM fit (computed in float32) are those of the
    log-sum-exp normalizer to float32 rounding (6e-8 here)."""
    data, truth = torchfit.datasets.simulate(500, "gpcm", n_factors=1, items_per_factor=4,
                                             seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the iteration limit
        fit = torchfit.cfa(truth["syntax"], data, std_lv=True, estimator="IWAVE", seed=1,
                           item_types={c: "gpcm" for c in data}, max_iterations=300,
                           se="none", quiet=True)
    t = fit.tests

    def standard_errors():
        J = information(t.structure, t.encoder, t.result.x, t.tensors, n_samples=40, seed=2)
        return np.sqrt(np.diag(np.linalg.inv(J)))
    ours = standard_errors()
    monkeypatch.setattr(GPCM, "_log_total", log_sum_exp)
    before = standard_errors()
    assert np.allclose(ours, before, rtol=1e-6, atol=0)
    assert not np.array_equal(ours, before)  # the two normalizers did run
