"""What a data source must do for the readers of :mod:`torchfit.data.frames`.

A :class:`Reader` hands out the model's columns in float64 blocks without
holding every row (a Parquet data set, an Arrow table, one rank's shard of any
data); ``frames.chunks``, ``frames.as_frame`` and the column checks accept one
wherever they accept a DataFrame.  The implementations live in
:mod:`torchfit.data.sources`; this module is the interface only, so that
``frames`` needs no import of them.
"""
from __future__ import annotations

from typing import Callable, Iterator, List, Optional, Sequence, TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")


class Reader:
    """A source of rows read in blocks.

    ``comm`` is None for a whole data set; for one rank's shard it is the
    :class:`torchfit.distributed.comm.Communicator` whose ranks hold the other
    shards, and the readers of moments reduce their sums over it.
    """

    comm = None

    @property
    def column_names(self) -> List[str]:
        raise NotImplementedError

    def read_chunks(self, names: Sequence[str], chunk_rows: int) -> Iterator[np.ndarray]:
        """The columns ``names`` (checked: present once, numeric) as float64 blocks."""
        raise NotImplementedError

    def load_frame(self, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
        """All rows as a DataFrame, only the columns ``names`` when given (for
        the estimators that need the rows in memory)."""
        raise NotImplementedError

    @property
    def frame_in_memory(self) -> Optional[pd.DataFrame]:
        """The rows when they are a DataFrame in memory (a shard of one), with
        its column types (ordered categoricals); None for a file's rows."""
        return None


class Rows(Reader):
    """The rows of ``source`` where ``mask`` is true (one group of a rank's shard),
    read as the source's blocks are; the source's ``comm`` reduces their sums.

    Examples
    --------
    >>> class Two(Reader):
    ...     column_names = ["a"]
    ...     def read_chunks(self, names, chunk_rows):
    ...         yield np.array([[1.0], [2.0]])
    ...         yield np.array([[3.0]])
    >>> rows = Rows(Two(), np.array([True, False, True]))
    >>> [x.ravel().tolist() for x in rows.read_chunks(["a"], 2)]
    [[1.0], [3.0]]
    """

    def __init__(self, source: Reader, mask: np.ndarray):
        self.source, self.mask, self.comm = source, np.asarray(mask, dtype=bool), source.comm

    @property
    def column_names(self) -> List[str]:
        return self.source.column_names

    def read_chunks(self, names: Sequence[str], chunk_rows: int) -> Iterator[np.ndarray]:
        start = 0
        for X in self.source.read_chunks(names, chunk_rows):
            keep = self.mask[start:start + len(X)]
            start += len(X)
            yield X[keep]

    def load_frame(self, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
        return self.source.load_frame(names)[self.mask]

    @property
    def frame_in_memory(self) -> Optional[pd.DataFrame]:
        frame = self.source.frame_in_memory
        return None if frame is None else frame[self.mask]


def comm_of(data):
    """The communicator of a rank's shard (a Reader with a ``comm``); None for a
    whole data set.

    Examples
    --------
    >>> comm_of(pd.DataFrame({"a": [1.0]})) is None
    True
    """
    return data.comm if isinstance(data, Reader) else None


def reduced(data, read: Callable[[], T], merge: Callable[[List[T]], T]) -> T:
    """``read()`` on ``data``; on one rank's shard (a Reader with a ``comm``),
    ``merge`` of every rank's ``read()`` in rank order (the same on every rank;
    an error on one rank is raised on all of them).

    Examples
    --------
    >>> reduced([1.0, 2.0], lambda: 3.0, sum)  # a whole data set: read once
    3.0
    """
    comm = comm_of(data)
    return read() if comm is None else merge(comm.gather_results(read))


def summed(data) -> Callable[..., object]:
    """A function of arrays of sums over ``data``'s rows: on one rank's shard
    (a Reader with a ``comm``), their sums over every rank's rows (one
    all-reduce, the same on every rank); on a whole data set, themselves.  One
    array in, one out; several in, a list out.

    Examples
    --------
    >>> total = summed(np.ones((3, 2)))  # a whole data set: the sums as they are
    >>> total(np.array([3.0])), total(np.array(1.0), np.array(2.0))
    (array([3.]), [array(1.), array(2.)])
    """
    comm = comm_of(data)

    def total(*arrays):
        out = list(arrays) if comm is None else comm.all_sum(*arrays)
        return out[0] if len(out) == 1 else out
    return total


def in_memory_frame(data) -> Optional[pd.DataFrame]:
    """``data`` when it is a DataFrame, the DataFrame behind a Reader's rows when
    they are one in memory, else None.

    Examples
    --------
    >>> in_memory_frame(pd.DataFrame({"a": [1.0]})).shape, in_memory_frame(np.ones((1, 1)))
    ((1, 1), None)
    """
    if isinstance(data, pd.DataFrame):
        return data
    return data.frame_in_memory if isinstance(data, Reader) else None
