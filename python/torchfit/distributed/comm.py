"""The ranks of a data-parallel fit and what they say to each other.

torchfit runs on torch.distributed as launched by ``torchrun`` (gloo on CPUs,
NCCL on GPUs).  Every rank runs the same call on its own shard of the rows;
the collectives here are the only places the ranks meet:

- :meth:`Communicator.gather_results`: each rank's float64 sums (moments,
  Gamma, patterns), or its error, to every rank; an error on any rank is
  raised on every rank with that rank's message, so no rank waits for one
  that has failed;
- :meth:`Communicator.all_sum`: float64 sums of arrays (information, OPG, MML's
  log-likelihood, gradient and Hessian);
- :meth:`Communicator.average_gradients`: one all-reduce of the flattened
  gradients of a step (the model and encoder parameters);
- :meth:`Communicator.mean`: the window loss of the convergence rule, so that
  every rank stops at the same iteration.

Every collective is bounded by the process group's timeout (``timeout_s``): a
rank that dies or hangs ends the others' waits with an error instead of a hang.
"""
from __future__ import annotations

import os
import traceback
from datetime import timedelta
from typing import Callable, Iterable, List, Optional

import numpy as np
import torch
import torch.distributed as dist

from ..errors import TorchfitError

#: seconds a collective waits for the other ranks before it fails
DEFAULT_TIMEOUT_S = 300.0


def launched_by_torchrun() -> bool:
    """True inside ``torchrun`` (or any launcher that sets RANK and WORLD_SIZE > 1).

    Examples
    --------
    >>> import os
    >>> launched_by_torchrun() == (int(os.environ.get("WORLD_SIZE", "1")) > 1
    ...                            and "RANK" in os.environ)
    True
    """
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


class Communicator:
    """The default process group of torch.distributed, seen by one rank.

    ``device`` is where collectives run: CPU tensors for gloo, the rank's GPU
    for NCCL.
    """

    def __init__(self, device: Optional[torch.device] = None):
        if not dist.is_initialized():
            raise TorchfitError("torch.distributed is not initialised: launch with torchrun "
                                "or call torch.distributed.init_process_group first")
        self.rank = dist.get_rank()
        self.size = dist.get_world_size()
        nccl = dist.get_backend() == "nccl"
        self.device = torch.device(device) if device is not None else \
            torch.device("cuda", torch.cuda.current_device()) if nccl else torch.device("cpu")

    def rank_seed(self, seed: int) -> int:
        """The seed of this rank's draws and shuffles: ``seed`` on rank 0,
        ``seed + 1000003 * rank`` elsewhere (the ranks' noise must differ; the
        initial weights are rank 0's, see :meth:`broadcast_tensors`)."""
        return int(seed) + 1000003 * self.rank

    def gather_results(self, fn: Callable[[], object]) -> List[object]:
        """``fn()`` on this rank, gathered from every rank in rank order; if
        any rank raised, every rank raises a TorchfitError with that message."""
        try:
            mine = ("ok", fn())
        except Exception as err:  # sent to the other ranks, then raised here too
            mine = ("error", f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}")
        out: List[object] = [None] * self.size
        dist.all_gather_object(out, mine)
        failed = [(r, text) for r, (kind, text) in enumerate(out) if kind == "error"]
        if failed:
            rank, text = failed[0]
            raise TorchfitError(f"rank {rank} of {self.size} failed: {text}")
        return [value for _, value in out]

    def all_sum(self, *arrays: np.ndarray) -> List[np.ndarray]:
        """Element-wise float64 sums over the ranks, in one all-reduce."""
        flat = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
        buf = torch.as_tensor(np.concatenate(flat), dtype=torch.float64, device=self.device)
        dist.all_reduce(buf)
        out, at = [], 0
        for a, f in zip(arrays, flat):
            out.append(buf[at:at + f.size].cpu().numpy().reshape(np.shape(a)))
            at += f.size
        return out

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the ranks."""
        return float(self.all_sum(np.array([value]))[0][0]) / self.size

    def min_int(self, value: int) -> int:
        """The smallest of the ranks' ``value``."""
        t = torch.tensor([int(value)], dtype=torch.int64, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return int(t.item())

    def broadcast_tensors(self, tensors: Iterable[torch.Tensor]) -> None:
        """Overwrite the tensors with rank 0's values (in place, one collective)."""
        tensors = list(tensors)
        buf = torch.cat([t.detach().reshape(-1).to(self.device, torch.float64)
                         for t in tensors])
        dist.broadcast(buf, src=0)
        at = 0
        with torch.no_grad():
            for t in tensors:
                t.copy_(buf[at:at + t.numel()].view_as(t).to(t.device, t.dtype))
                at += t.numel()

    def average_gradients(self, params: Iterable[torch.Tensor]) -> None:
        """Replace each parameter's gradient by its mean over the ranks (one
        all-reduce of the flattened gradients; a missing gradient counts as 0)."""
        params = [p for p in params if p.requires_grad]
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        buf = torch.cat([g.reshape(-1).to(self.device) for g in grads])
        dist.all_reduce(buf)
        buf /= self.size
        at = 0
        for p, g in zip(params, grads):
            p.grad = buf[at:at + g.numel()].view_as(g).to(g.device)
            at += g.numel()


def communicator(distributed: Optional[bool], device: str = "cpu",
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> Optional[Communicator]:
    """The communicator of a fit: None unless ``distributed`` is True, or None
    (the default) inside ``torchrun``; the process group is started from the
    launcher's environment when it is not already (gloo, or NCCL for CUDA).

    Examples
    --------
    >>> communicator(False) is None
    True
    """
    if distributed is None:
        distributed = launched_by_torchrun() or dist.is_initialized()
    if not distributed:
        return None
    if not dist.is_initialized():
        missing = [v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
                   if v not in os.environ]
        if missing:
            raise TorchfitError("distributed=True needs the ranks' environment "
                                f"({', '.join(missing)} unset): launch the script with "
                                "torchrun --nproc-per-node=N, or call "
                                "torch.distributed.init_process_group yourself")
        cuda = torch.device(device).type == "cuda"
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo",
                                timeout=timedelta(seconds=float(timeout_s)))
    return Communicator()
