"""Maximum likelihood on the raw data in mini-batches, the approach of
tensorsem: the Gaussian log-likelihood of a random batch of rows, minimised
with Adam by the shared training loop (:mod:`torchfit.estimate.training`).

It reaches the same optimum as ML on the sample moments, only more slowly;
it is here for comparison, and as a template for data that arrive in
batches.  Inference and fit measures are then computed at the estimates
exactly as for ML (expected information, F_ML on the sample moments).
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import TorchfitError
from ..options import names
from .ml import GroupMoments, one_thread, result_at
from .optim import Adam
from .training import train

MINIBATCH_OPTIONS = names("ML", role="mini-batch")
BATCH_SIZE = 1024  # rows per step by default


def fit_minibatch(group: GroupMoments, X: np.ndarray, x0: np.ndarray, batch_size: int = BATCH_SIZE,
                  lr: float = 0.01, max_epochs: int = 10000, n_intervals: int = 20,
                  seed: int = 0, quiet: bool = True, comm=None):
    """Minimise the average negative log-likelihood of mini-batches of rows.

    Parameters
    ----------
    group : GroupMoments
        The model (fixed values set) and the sample moments of ``X``.
    X : ndarray
        Complete rows of the observed variables, in ``model.ov_names`` order.
    x0 : ndarray
        Start of the reduced parameter vector.
    batch_size, lr, max_epochs, n_intervals, seed, quiet
        Rows per step, Adam's step size, passes over the data, the
        convergence rule's patience (see :mod:`torchfit.estimate.training`), the
        shuffling seed, and no progress bar.
    comm : torchfit.distributed.comm.Communicator, optional
        Data-parallel: ``X`` is this rank's shard; the gradients are averaged
        over the ranks every step (see :func:`torchfit.estimate.training.train`),
        rank r shuffles with ``comm.rank_seed(seed)``.

    Returns
    -------
    (MLResult, Trained)
        The fit statistics at the averaged estimates, and the training record.

    Examples
    --------
    >>> import torchfit
    >>> from torchfit.model.partable import parse
    >>> from torchfit.model.matrices import Model
    >>> from torchfit.estimate.start import reduced_start, start_values
    >>> hs = torchfit.datasets.holzinger_swineford()
    >>> m = Model(parse("f =~ x1 + x2 + x3"))
    >>> X = hs[m.ov_names].to_numpy()
    >>> S = np.cov(X.T, bias=True)
    >>> v = start_values(m, S); m.fixed_values(v)
    >>> result, trained = fit_minibatch(GroupMoments(m, S, None, len(X)), X,
    ...                                 reduced_start(m, v), batch_size=128, lr=0.02,
    ...                                 n_intervals=5, seed=1)
    >>> trained.converged
    True
    """
    model = group.model
    data = torch.as_tensor(X, dtype=model.dtype, device=model.device)
    # the mean of all the rows (all the ranks' rows), the centre without a mean structure
    mean = X.mean(axis=0) if comm is None else np.divide(*comm.all_sum(X.sum(0), len(X)))
    centre = torch.as_tensor(mean, dtype=model.dtype, device=model.device)
    x = torch.as_tensor(x0, dtype=model.dtype, device=model.device).clone().requires_grad_(True)

    def batch_loss(idx):
        rows = data if idx is None else data[idx]
        mats = model.matrices(x)
        sigma, A = model.implied(mats)
        L, info = torch.linalg.cholesky_ex(sigma)
        if int(info) != 0:
            raise TorchfitError("a mini-batch step left the implied covariance matrix not "
                                "positive definite; lower lr or raise batch_size")
        mu = model.implied_mean(mats, A) if model.mean_structure else centre
        z = torch.linalg.solve_triangular(L, (rows - mu).T, upper=False)
        # -2 log-likelihood per row, less the constant
        return 2.0 * torch.log(torch.diagonal(L)).sum() + (z * z).sum(0).mean()

    with one_thread(min(batch_size, data.shape[0]) * data.shape[1]):
        trained = train(batch_loss, x, Adam([x], lr=lr), data.shape[0],
                        batch_size, max_epochs=max_epochs, n_intervals=n_intervals,
                        seed=seed if comm is None else comm.rank_seed(seed),
                        quiet=quiet or (comm is not None and comm.rank > 0),
                        name="mini-batch ML", comm=comm)
    result = result_at([group], trained.params.cpu().numpy(), trained.iterations,
                       trained.converged)
    return result, trained
