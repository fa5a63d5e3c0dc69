"""Several ranks on this machine without ``torchrun``: for tests, benchmarks
and trying a distributed script out (torch.multiprocessing, gloo on 127.0.0.1).
"""
from __future__ import annotations

import os
import socket
import time
from datetime import timedelta
from typing import Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ..errors import TorchfitError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, size: int, port: int, threads: int, timeout_s: float, fn, args,
               queue) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(threads)
    dist.init_process_group("gloo", rank=rank, world_size=size,
                            timeout=timedelta(seconds=timeout_s))
    try:
        out = fn(*args)
        if rank == 0:
            queue.put(out)
    finally:
        dist.destroy_process_group()


def run_local(fn: Callable, size: int = 2, *args, threads: int = 1,
              timeout_s: float = 120.0):
    """``fn(*args)`` on ``size`` gloo ranks on this machine (``threads`` torch
    threads each); rank 0's return value.  A rank that raises ends the run with
    its traceback (``torch.multiprocessing.ProcessRaisedException``); a run
    longer than ``timeout_s`` is stopped with a TorchfitError.  ``fn`` must be
    importable by name (a module-level function), as for any spawned process.
    """
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    context = mp.start_processes(_rank_main, args=(size, free_port(), threads, timeout_s, fn,
                                                   args, queue),
                                 nprocs=size, join=False, start_method="spawn")
    deadline = time.monotonic() + timeout_s
    while not context.join(timeout=0.5):
        if time.monotonic() > deadline:
            for p in context.processes:
                if p.is_alive():
                    p.terminate()
            raise TorchfitError(f"the {size} ranks did not finish within {timeout_s:g} s")
    return queue.get() if not queue.empty() else None
