"""IWAVE on a CUDA GPU gives the fit it gives on the CPU (the random streams
differ, so the estimates agree to sampling noise, not to the digit).  Runs
where torch sees a GPU (on a GPU machine: ``pytest tests/python/test_iwave_device.py``);
the CPU-only error for device="cuda" is tested in test_iwave_items.py."""
import numpy as np
import pytest
import torch

import torchfit
from torchfit.datasets import simulate

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA GPU; run on a GPU machine")


def _data():
    graded, truth = simulate(2000, "graded", n_factors=2, items_per_factor=4, seed=3)
    data = graded.copy()
    rng = np.random.default_rng(1)
    data = data.mask(rng.uniform(size=data.shape) < 0.05)  # missing responses
    data["x"] = rng.normal(size=len(data))  # a covariate of F1 (no true effect)
    model = truth["syntax"] + "\nF1 ~ x"
    types = {"y1": "nominal", "y2": "gpcm", **{f"y{j}": "graded" for j in range(3, 9)}}
    return model, data, types, truth


def test_cuda_fit_agrees_with_cpu():
    model, data, types, truth = _data()
    fits = {dev: torchfit.sem(model, data, std_lv=True, estimator="IWAVE", item_types=types,
                              seed=0, device=dev, quiet=True, se_samples=50,
                              logl_samples=200)
            for dev in ("cpu", "cuda")}
    cpu, gpu = (fits[d].parameter_estimates() for d in ("cpu", "cuda"))
    assert fits["cuda"].info["device"].startswith("cuda")
    assert fits["cuda"].info["converged"]
    load = cpu["op"] == "=~"
    assert np.abs(cpu.loc[load, "est"] - gpu.loc[load, "est"]).max() < 0.15
    graded = load & cpu["rhs"].isin([f"y{j}" for j in range(3, 9)])
    assert np.sqrt(np.mean((gpu.loc[graded, "est"].to_numpy()
                            - truth["loadings"].sum(1)[2:]) ** 2)) < 0.15
    free = fits["cuda"].partable["free"].to_numpy() > 0
    assert np.isfinite(fits["cuda"].partable.loc[free, "se"]).all()
    ll = {d: fits[d].fit_measures()["logl"] for d in fits}
    assert abs(ll["cuda"] - ll["cpu"]) < 0.005 * abs(ll["cpu"])
    scores = fits["cuda"].scores()
    assert scores.shape == (len(data), 2) and np.isfinite(scores.to_numpy()).all()
    assert np.isfinite(fits["cuda"].log_likelihood(data.iloc[:100]))
