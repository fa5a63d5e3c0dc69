"""IWAVE's rows streamed from a Parquet data set (``stream=True``): only a
buffer of a few row groups is in memory at a time.

- :func:`scan`: one pass over the data for what the fit needs of every row
  before training: each item's categories (its coding), the checks of every
  value, whether any response is missing, and the rows kept in each row group
  (rows with a missing covariate are left out, as in memory);
- :func:`start_groups`: the seeded row groups whose rows give the start values
  and the standardization of the encoder's input (a data-parallel fit: each
  rank's start rows give the start values, rank 0's the standardization);
- :class:`Streamed`: the rows for the training loop and the passes after it.
  Each epoch visits the row groups in a seeded random order, ``buffer`` of
  them at a time; the buffer's rows are shuffled and cut into mini-batches.
  The passes after training (OPG information, log-likelihood, scores, each
  evaluation of the final pass) read the row groups in file order, a buffer at
  a time.

In a data-parallel fit (``distributed=True``) each rank streams its own row
groups (its shard, :func:`torchfit.data.sources.shard`): the scan merges the
ranks' categories and missing responses, and
the training cuts each rank's epochs into the same number of steps
(:func:`torchfit.estimate.training.in_steps`).
"""
from __future__ import annotations

from typing import Callable, Dict, Iterator, List, NamedTuple, Sequence, Tuple

import numpy as np
import pandas as pd
import torch

from ..data.frames import check_finite
from ..errors import DataError
from ..estimate.training import batch_bounds
from .items import CATEGORICAL, item_class
from .networks import Data


class Scan(NamedTuple):
    """What :func:`scan` finds in every row."""

    codings: Dict[str, Dict]  # each item's coding
    kept: List[int]  # the kept rows of each row group
    missing: bool  # any missing response in the kept rows
    dropped: np.ndarray  # the positions of the rows left out (a missing covariate)


def scan(source, indicators: Sequence[str], covariates: Sequence[str],
         types: Dict[str, str], comm=None) -> Scan:
    """The :class:`Scan` of one pass over ``source`` (a
    :class:`~torchfit.data.sources.ParquetSource`).

    A categorical item's coding depends only on the set of its values, so the
    sets are gathered and coded once at the end; the other items are checked
    block by block (their coding is empty).  A data-parallel fit (``comm``)
    scans each rank's row groups: the sets and whether a response is missing
    are every rank's, so that all the ranks code the items and build the
    encoder alike; the kept and dropped rows are the rank's own.

    Examples
    --------
    >>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
    >>> from torchfit.data.sources import ParquetSource
    >>> tmp = tempfile.TemporaryDirectory()
    >>> pq.write_table(pa.table({"y": [1, 3, 2, None], "x": [0.5, None, 1.0, 2.0]}),
    ...                tmp.name + "/d.parquet", row_group_size=2)
    >>> source = ParquetSource(tmp.name + "/d.parquet")
    >>> found = scan(source, ["y"], ["x"], {"y": "graded"})
    >>> found.codings["y"]["categories"], found.kept, found.missing, found.dropped.tolist()
    ([1, 2, 3], [1, 2], True, [1])
    >>> tmp.cleanup()
    """
    def one_pass():
        return _pass(source, indicators, covariates, types)

    values, kept, missing, dropped = one_pass() if comm is None else \
        _merged(comm.gather_results(one_pass), comm.rank)
    codings = {v: item_class(types[v], v).prepare(pd.Series(values[v]), v)[1]
               if v in values else {} for v in indicators}
    return Scan(codings, kept, missing, dropped)


def _pass(source, indicators: Sequence[str], covariates: Sequence[str], types: Dict[str, str]):
    """The values of each categorical item, the kept rows of each row group,
    whether a kept response is missing, and the dropped rows' positions."""
    names = list(indicators) + list(covariates)
    values: Dict[str, np.ndarray] = {v: np.empty(0) for v in indicators
                                     if types[v] in CATEGORICAL}
    kept, missing, dropped, first = [], False, [], 0
    for piece in range(len(source.pieces)):
        block = source.read_groups([piece], names)
        Y, X = block[:, :len(indicators)], block[:, len(indicators):]
        check_finite(X, covariates)
        keep = ~np.isnan(X).any(axis=1)
        missing |= bool(np.isnan(Y[keep]).any())
        kept.append(int(keep.sum()))
        dropped.append(first + np.flatnonzero(~keep))
        first += len(block)
        for j, v in enumerate(indicators):  # every row, as the in-memory path codes them
            if v in values:
                values[v] = np.union1d(values[v], Y[~np.isnan(Y[:, j]), j])
            else:  # the checks of every value (a count's sign, a log-normal's)
                item_class(types[v], v).prepare(pd.Series(Y[:, j]), v)
    return values, kept, missing, \
        np.concatenate(dropped) if dropped else np.empty(0, dtype=int)


def _merged(passes: List[tuple], rank: int):
    """The ranks' :func:`_pass` results as one rank sees them: every rank's
    categories and missing responses, its own kept and dropped rows; an error
    on every rank when one has no rows to fit."""
    empty = [r for r, found in enumerate(passes) if not sum(found[1])]
    if empty:
        raise DataError(f"rank {empty[0]} of {len(passes)} has no row with every covariate "
                        "observed in its row groups; write the Parquet data with smaller row "
                        "groups (row_group_size=), shuffle its rows, or use fewer processes")
    values = {v: np.unique(np.concatenate([found[0][v] for found in passes]))
              for v in passes[0][0]}
    mine = passes[rank]
    return values, mine[1], any(found[2] for found in passes), mine[3]


def start_groups(kept: Sequence[int], buffer: int, seed: int) -> List[int]:
    """``buffer`` row groups (with rows), drawn with ``seed``, in file order.

    Examples
    --------
    >>> start_groups([10, 0, 10, 10], 2, 0)  # never the empty row group 1
    [0, 2]
    """
    order = np.random.default_rng(int(seed)).permutation(len(kept))
    return sorted(int(g) for g in order[np.asarray(kept)[order] > 0][:buffer])


class Streamed:
    """The kept rows of a Parquet source as IWAVE reads them: ``code`` turns a
    frame of the columns ``names`` into a :class:`~torchfit.iwave.networks.Data`
    of its kept rows, standardized as ``reference`` (the start rows) is.
    ``rows_held`` is the most rows coded at once so far (one buffer).

    It answers what the post-training passes ask of a ``Data`` (``n``,
    ``pieces``, the standardization), and :meth:`epoch` and :meth:`blocks`."""

    def __init__(self, source, names: Sequence[str], code: Callable[[pd.DataFrame], Data],
                 kept: Sequence[int], buffer: int, reference: Data):
        self.source, self.names, self.code = source, list(names), code
        self.kept, self.buffer, self.reference = [int(k) for k in kept], int(buffer), reference
        self.rows_held = 0

    @property
    def n(self) -> int:
        return sum(self.kept)

    def largest_batch(self, batch_size: int) -> int:
        """The rows of the largest mini-batch of a buffer of the largest row groups."""
        rows = sum(sorted(self.kept)[-self.buffer:])
        return int(np.diff(batch_bounds(rows, batch_size)).max())

    def __getattr__(self, name):  # the standardization of the encoder input
        if name in ("center", "scale", "x_center", "x_scale", "any_missing", "n_input"):
            return getattr(self.reference, name)
        raise AttributeError(name)

    def _read(self, groups: Sequence[int]) -> Data:
        block = self.source.read_groups([g for g in groups if self.kept[g] > 0], self.names)
        data = self.code(pd.DataFrame(block, columns=self.names))
        self.rows_held = max(self.rows_held, data.n)
        return data

    def epoch(self, generator: torch.Generator, batch_size: int) -> Iterator:
        """One epoch's mini-batches, (Data of the buffer, row indices): the row
        groups in a random order, ``buffer`` at a time, each buffer's rows shuffled."""
        device = generator.device
        order = torch.randperm(len(self.kept), generator=generator, device=device).tolist()
        for start in range(0, len(order), self.buffer):
            if not any(self.kept[g] for g in order[start:start + self.buffer]):
                continue
            data = self._read(order[start:start + self.buffer])
            perm = torch.randperm(data.n, generator=generator, device=device)
            bounds = batch_bounds(data.n, batch_size)
            for a, b in zip(bounds[:-1], bounds[1:]):
                yield data, perm[a:b]

    def blocks(self) -> Iterator[Tuple[Data, int]]:
        """The rows in file order, a buffer of row groups at a time: (Data, the
        position of its first row among the kept rows)."""
        first = 0
        for g in range(0, len(self.kept), self.buffer):
            groups = range(g, min(g + self.buffer, len(self.kept)))
            if sum(self.kept[k] for k in groups):
                data = self._read(groups)
                yield data, first
                first += data.n

    def pieces(self, rows_per_chunk: int) -> Iterator:
        """As :meth:`Data.pieces`: (Data, row indices) of at most ``rows_per_chunk``
        rows, in file order."""
        for data, _ in self.blocks():
            yield from data.pieces(rows_per_chunk)
