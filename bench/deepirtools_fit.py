"""Fit a confirmatory simple-structure factor model with DeepIRTools 0.2.1
in DeepIRTools' own environment (bench/.venv-deepirtools): the five-factor
GRM of bench/big5.py (``--model-type grm``, responses coded 0..K-1), the
graded and generalized partial credit models of bench/irt_deepirtools.py
(``--model-type grm`` / ``gpcm``) or the
three-factor normal model of bench/hs_compare.py (``--model-type normal``).

Reads the responses from a .npy file, fits IWAVE with the given settings,
and writes a JSON with the fit time, iterations, epochs, the loss per 100
iterations, the loadings (factor signs aligned so that loadings sum
positive, as DeepIRTools' own invert_factors does), the factor correlations
and the approximate held-out log-likelihood.

    bench/.venv-deepirtools/bin/python bench/deepirtools_fit.py \
        --train train.npy --holdout hold.npy --items-per-factor 10 --out dit.json
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", required=True)
    ap.add_argument("--model-type", choices=["grm", "gpcm", "normal"], default="grm")
    ap.add_argument("--holdout")
    ap.add_argument("--items-per-factor", type=int, default=10)
    ap.add_argument("--n-factors", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--iw-samples", type=int, default=10)
    ap.add_argument("--hidden", type=int, nargs="+", default=[100])
    ap.add_argument("--n-intervals", type=int, default=100)
    ap.add_argument("--max-epochs", type=int, default=100000)
    ap.add_argument("--max-iterations", type=int, default=0,
                    help="stop after this many iterations (0: DeepIRTools' own rule only)")
    ap.add_argument("--ll-samples", type=int, default=1000)
    ap.add_argument("--ll-batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import deepirtools
    from deepirtools import IWAVE
    from deepirtools.utils import invert_cov, invert_factors, tensor_dataset

    deepirtools.manual_seed(args.seed)
    y = torch.from_numpy(np.load(args.train).astype(np.float32))
    n, p = y.shape
    size = ({"n_cats": [int(y[:, j].max().item()) + 1 for j in range(p)]}
            if args.model_type in ("grm", "gpcm") else {"n_items": p})
    Q = torch.block_diag(*[torch.ones([args.items_per_factor, 1])] * args.n_factors)
    started = time.perf_counter()
    model = IWAVE(model_type=args.model_type, learning_rate=args.lr, latent_size=args.n_factors,
                  **size, Q=Q, correlated_factors=list(range(args.n_factors)),
                  inference_net_sizes=list(args.hidden), verbose=False,
                  log_interval=10 ** 12, n_intervals=args.n_intervals)
    init_s = time.perf_counter() - started

    # Keep the mean loss of every 100 iterations (DeepIRTools keeps only the
    # last 100 losses); optionally stop at a fixed number of iterations.
    checker = model.checker
    history, window = [], []
    original = checker.check_convergence

    def recording(epoch, step, loss):
        window.append(loss)
        if len(window) == 100:
            history.append(float(np.mean(window)))
            window.clear()
        original(epoch, step, loss)
        if args.max_iterations and step >= args.max_iterations:
            checker.converged = True

    checker.check_convergence = recording
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = time.perf_counter()
        model.fit(y, batch_size=args.batch_size, iw_samples=args.iw_samples,
                  max_epochs=args.max_epochs)
        fit_s = time.perf_counter() - t
    stopped_by_rule = checker.loss_improvement_counter >= args.n_intervals

    loadings = model.loadings.detach()
    cov = model.cov.detach()
    cov = invert_cov(cov, loadings)
    loadings = invert_factors(loadings)
    d = cov.diag().sqrt()
    corr = cov / torch.outer(d, d)

    out = {
        "fit_s": fit_s, "init_s": init_s, "iterations": int(model.global_iter),
        "epochs": int(np.ceil(model.global_iter * args.batch_size / n)),
        "converged": bool(stopped_by_rule), "loss_history": history,
        "loadings": loadings.numpy().tolist(), "corr": corr.numpy().tolist(),
        "intercepts": model.intercepts.detach().numpy().tolist(),
        "batch_size": args.batch_size, "lr": args.lr, "iw_samples": args.iw_samples,
        "hidden": list(args.hidden), "n_intervals": args.n_intervals,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "deepirtools": getattr(deepirtools, "__version__", "0.2.1"),
        "warnings": [str(w.message) for w in caught],
    }
    if args.holdout:
        # As IWAVE.log_likelihood, with a larger evaluation batch than its
        # fixed 32 (the value does not depend on the batch size).
        hold = torch.from_numpy(np.load(args.holdout).astype(np.float32))
        loader = torch.utils.data.DataLoader(tensor_dataset(data=hold), batch_size=args.ll_batch,
                                             shuffle=False)
        model.grad_estimator = "iwae"
        t = time.perf_counter()
        ll = -model.test(loader, mc_samples=1, iw_samples=args.ll_samples)
        out.update(holdout_ll=float(ll), holdout_n=int(hold.shape[0]),
                   holdout_ll_s=time.perf_counter() - t, ll_samples=args.ll_samples)
    with open(args.out, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
