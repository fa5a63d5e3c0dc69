"""The mini-batch training loop shared by the stochastic estimators (IWAVE and
mini-batch ML): shuffled mini-batches, one optimiser step each, and a
convergence rule after DeepIRTools'.

The rule: the mean loss over each window of 100 iterations is kept; the fit
has converged when the best window mean has not improved, by more than the
windows' own noise, for ``n_intervals`` windows (see :class:`ConvergenceChecker`).
The estimates returned are the average of the tracked parameters over the last
``n_intervals`` windows, which removes most of the mini-batch noise that a
constant step size leaves.  The loss is summed on the device and read once per
window, so the loop does not wait on the device every step.
"""
from __future__ import annotations

import itertools
import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, List, Optional

import torch

from ..errors import TorchfitError

WINDOW = 100  # iterations per loss window of the convergence rule


@dataclass
class Trained:
    params: torch.Tensor  # the tracked parameters, averaged over the last windows
    iterations: int
    epochs: int
    converged: bool
    history: List[float] = field(default_factory=list)  # mean loss per window
    seconds: float = 0.0

    @property
    def final_loss(self) -> float:
        return self.history[-1] if self.history else float("nan")


#: 1 / the median of |e1 - 2 e2 + e3| for independent N(0, 1) e's (0.6745 sqrt(6))
_SECOND_DIFFERENCE_MAD = 1.0 / 1.6522


def window_noise(means: List[float]) -> float:
    """The standard deviation of one window's mean loss, from the windows' own
    scatter: the median absolute second difference (scaled to a standard
    deviation), which a linear trend leaves out and a stray window hardly moves;
    0 with fewer than three windows.

    Examples
    --------
    >>> window_noise([5.0, 4.0]), window_noise([5.0, 4.0, 3.0, 2.0])
    (0.0, 0.0)
    >>> round(window_noise([1.0, 1.2, 1.0, 1.2, 1.0]), 3)
    0.242
    """
    if len(means) < 3:
        return 0.0
    second = [abs(a - 2.0 * b + c) for a, b, c in zip(means, means[1:], means[2:])]
    return statistics.median(second) * _SECOND_DIFFERENCE_MAD


class ConvergenceChecker:
    """The stopping rule of the stochastic estimators (mini-batch ML and IWAVE, by
    :func:`train`), fed one window of ``WINDOW`` iterations at a time: converged when
    no window has beaten the best mean loss by more than the noise of a window's
    mean for ``n_intervals`` windows; the estimates are the parameters averaged
    over the last ``n_intervals`` windows. With ``refine``, after ``n_intervals // 2``
    windows (at least one) without such an improvement it asks once for ten times
    smaller steps and starts over.

    Why a margin: DeepIRTools' rule (any new best resets the count) makes the
    stopping time a record statistic of the noise. Once the loss is flat within
    the noise, a new record still comes by chance (after k flat windows the next
    beats them all with probability 1 / (k + 1)), and so does a creep far below
    the noise, so the same fit ran 1,000 to 2,700 iterations by the seed alone,
    for one accuracy. A window now counts as an improvement only when it beats
    the best by more than the noise of a window mean: the rule stops once the
    loss falls by less than about that noise per ``n_intervals`` windows.
    The noise is estimated from the window means of the current phase (see
    :func:`window_noise`), not from the per-iteration losses: a window spans
    several passes over small data, which cancel most of the mini-batch noise
    (5,000 rows: per-iteration losses put a window mean's noise at 0.012, its
    scatter is 0.0004). The first window of a phase is left out of it, as it
    holds the transient (the encoder's start, or the fall after a step cut).
    The margin is a deterministic function of the window means, which data-
    parallel ranks share, so a fit stays reproducible and every rank stops together.

    Examples
    --------
    >>> rule = ConvergenceChecker(2)
    >>> [rule.update(loss, torch.tensor([loss])) for loss in (3.0, 2.0, 2.5, 2.4)]
    [False, False, False, False]
    >>> rule.converged, rule.history, round(float(rule.average(torch.zeros(1))), 4)
    (True, [3.0, 2.0, 2.5, 2.4], 2.45)
    """

    def __init__(self, n_intervals: int, refine: bool = False):
        self.n_intervals, self.refine = n_intervals, refine
        self.patience = max(1, n_intervals // 2)  # windows before the refinement
        self.history: List[float] = []  # mean loss per window
        self.phase: List[float] = []  # mean loss per window since the start or the cut
        self.windows: List[torch.Tensor] = []  # mean parameters of the last windows
        self.best, self.since_best = float("inf"), 0
        self.converged = self.refined = self.restart = False

    def update(self, mean: float, params: torch.Tensor) -> bool:
        """Take one window's mean loss and mean parameters; True when the step sizes
        are to be cut now (``refine``)."""
        self.history.append(mean)
        self.phase.append(mean)
        # the last phase's windows stay the estimates until this phase has one
        self.windows = (([] if self.restart else self.windows) + [params])[-self.n_intervals:]
        self.restart = False
        if mean < self.best - window_noise(self.phase[1:]):
            self.best, self.since_best = mean, 0
            return False
        self.since_best += 1
        if self.since_best >= self.patience and self.refine and not self.refined:
            # settled at this step size: start over at the smaller one
            self.refined, self.best, self.since_best = True, float("inf"), 0
            self.phase, self.restart = [], True
            return True
        self.converged = self.since_best >= self.n_intervals
        return False

    def average(self, current: torch.Tensor) -> torch.Tensor:
        """The parameters averaged over the kept windows (``current`` when none)."""
        with torch.no_grad():
            return torch.stack(self.windows).mean(0) if self.windows else \
                current.detach().clone()


class Progress:
    """A tqdm bar with the current loss when tqdm is installed and not quiet."""

    def __init__(self, quiet: bool, name: str):
        self.bar = None
        if not quiet:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(unit="it", desc=name, leave=False)
            except ImportError:  # the loss history is still kept on the fit
                self.bar = None

    def update(self, n: int, loss: float, epoch: int) -> None:
        if self.bar is not None:
            self.bar.update(n)
            self.bar.set_postfix(loss=f"{loss:.4f}", epoch=epoch, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def batch_bounds(n: int, batch_size: int) -> List[int]:
    """Where the mini-batches of an epoch start and stop: round(n / batch_size)
    batches (at least one) whose sizes differ by at most one, so that no
    epoch ends with a small, noisy remainder batch (301 rows at 256 make one
    batch of 301, not 256 + 45).

    Examples
    --------
    >>> batch_bounds(301, 256), batch_bounds(1000, 300)
    ([0, 301], [0, 333, 667, 1000])
    """
    k = max(1, round(n / max(1, int(batch_size))))
    return [round(i * n / k) for i in range(k + 1)]


def in_steps(epochs: Callable[[torch.Generator], Iterable], k: int
             ) -> Callable[[torch.Generator], Iterable]:
    """Epochs of exactly ``k`` batches from a source's own epochs, whose
    lengths vary (a streamed source cuts each buffer of row groups into
    batches): its epochs run on one into the next, and each epoch here takes
    the next ``k`` batches.  Data-parallel ranks take the same number of
    steps so, and still visit all their rows in turn.

    Examples
    --------
    >>> three = in_steps(lambda gen: iter("abcde"), 3)
    >>> ["".join(three(None)) for _ in range(4)]
    ['abc', 'dea', 'bcd', 'eab']
    """
    running: List[Iterator] = []

    def epoch(generator):
        if not running:  # one endless stream of the source's epochs
            running.append(itertools.chain.from_iterable(
                epochs(generator) for _ in itertools.count()))
        return itertools.islice(running[0], k)
    return epoch


def train(batch_loss: Callable[[Optional[torch.Tensor]], torch.Tensor], tracked: torch.Tensor,
          optimizer: torch.optim.Optimizer, n: int, batch_size: int, *,
          max_epochs: int = 100000, iter_max: Optional[int] = None, n_intervals: int = 10,
          seed: int = 0, quiet: bool = True, name: str = "fit", refine: bool = False,
          generator: Optional[torch.Generator] = None, comm=None,
          epochs: Optional[Callable[[torch.Generator], Iterable]] = None) -> Trained:
    """Minimise ``batch_loss`` over shuffled mini-batches of ``n`` rows.

    Parameters
    ----------
    batch_loss : callable
        Loss of the rows ``idx`` (a tensor of row indices, or None for all
        rows when one batch holds them all); differentiable in the
        optimiser's parameters.
    tracked : torch.Tensor
        The parameters whose window averages are returned.
    optimizer : torch.optim.Optimizer
        Steps the parameters (``tracked`` among them).
    n, batch_size : int
        Rows of the data, rows per step (see :func:`batch_bounds`).
    max_epochs, iter_max : int
        Limits on passes over the data and on steps.
    n_intervals : int
        Windows without a new best mean loss (by more than a window's noise)
        before stopping.
    seed : int
        Seeds the shuffling.
    quiet : bool
        No progress bar.
    name : str
        Name shown on the progress bar and in errors.
    refine : bool
        Once the loss has not improved for ``n_intervals // 2`` windows (at
        least one), cut every step size tenfold and run until the rule holds,
        averaging over that second phase only.  The large steps only have to
        bring the parameters near the optimum; waiting for the full rule at
        that step size spends most of the iterations on creeping
        improvements that the small steps make at once.
    generator : torch.Generator, optional
        Shuffles the rows (seeded with ``seed`` when not given).
    comm : torchfit.distributed.comm.Communicator, optional
        Data-parallel training: ``n`` is this rank's rows; every rank takes
        the same number of steps per epoch (the smallest rank's), the
        gradients of the optimiser's parameters are averaged over the ranks
        after each backward pass, and the window mean loss of the
        convergence rule is the ranks' mean, so every rank stops together.
    epochs : callable, optional
        One epoch's batches from the generator: each is handed to ``batch_loss``
        as it is (a source that streams its rows from disk, e.g.
        :class:`torchfit.iwave.stream.Streamed`); by default the shuffled row
        indices of ``n`` rows in :func:`batch_bounds` batches.  With ``comm``
        the source's batches run on from one epoch into the next, cut into
        epochs of the same number of steps on every rank (see :func:`in_steps`).

    Examples
    --------
    >>> import torch
    >>> w = torch.zeros(1, requires_grad=True)
    >>> y = torch.linspace(0, 2, 100)
    >>> out = train(lambda idx: ((y[idx] - w) ** 2).mean(), w,
    ...             torch.optim.Adam([w], lr=0.05), 100, 10, n_intervals=3, max_epochs=500)
    >>> out.converged, round(float(out.params), 1)
    (True, 1.0)
    """
    device = tracked.device
    gen = generator
    if gen is None:
        gen = torch.Generator(device=device)
        gen.manual_seed(int(seed))
    bounds = batch_bounds(n, batch_size)
    if comm is not None:  # the same number of steps on every rank
        k = comm.min_int(len(bounds) - 1)
        bounds = [round(i * n / k) for i in range(k + 1)]
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if epochs is not None:
            epochs = in_steps(epochs, k)

    def _shuffled(generator):
        perm = torch.randperm(n, generator=generator, device=device) if len(bounds) > 2 \
            else None
        for start, stop in zip(bounds[:-1], bounds[1:]):
            yield None if perm is None else perm[start:stop]

    rule = ConvergenceChecker(n_intervals, refine)
    total = torch.zeros((), dtype=tracked.dtype, device=device)
    running = torch.zeros_like(tracked)
    it = epoch = 0
    progress = Progress(quiet, name)
    started = time.perf_counter()
    try:
        while epoch < max_epochs and not rule.converged and \
                (iter_max is None or it < iter_max):
            epoch += 1
            for batch in (epochs or _shuffled)(gen):
                loss = batch_loss(batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if comm is not None:
                    comm.average_gradients(params)
                optimizer.step()
                with torch.no_grad():
                    total += loss.detach()
                    running += tracked.detach()
                it += 1
                if it % WINDOW == 0:
                    mean = float(total) / WINDOW  # the one host sync per window
                    if comm is not None:
                        mean = comm.mean(mean)
                    if not math.isfinite(mean):
                        raise TorchfitError(
                            f"the {name} loss became infinite or NaN after {it} iterations; "
                            "lower lr, check for a variable with (nearly) no variance, or "
                            "give start values")
                    total.zero_()
                    if rule.update(mean, running / WINDOW):
                        for group in optimizer.param_groups:  # ten times smaller steps
                            group["lr"] *= 0.1
                    running = torch.zeros_like(tracked)
                    progress.update(WINDOW, mean, epoch)
                if rule.converged or (iter_max is not None and it >= iter_max):
                    break
    finally:
        progress.close()
    return Trained(rule.average(tracked), it, epoch, rule.converged, rule.history,
                   time.perf_counter() - started)
