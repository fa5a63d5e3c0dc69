"""Data that never has to fit in memory: Parquet files and directories, Arrow
tables, and one rank's shard of any data.

- :class:`ParquetSource`: a Parquet file or a directory of them (a
  ``pyarrow.dataset``), read one row group at a time in blocks of
  ``chunk_rows`` rows, only the model's columns (column projection);
- :class:`ArrowSource`: an in-memory ``pyarrow.Table`` (or RecordBatch), read
  in zero-copy slices;
- :class:`Shard`: the rows of one rank of a data-parallel fit (a contiguous
  block of rows or of row groups), which carries the rank's communicator so
  that the moment readers reduce their sums over the ranks.

All are :class:`~torchfit.data.reader.Reader` objects, which the readers of
:mod:`torchfit.data.frames` (moments, Gamma, missing-data patterns) accept
like a DataFrame.  pyarrow is optional: ``pip install torchfit[parquet]``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, List, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from .frames import as_frame, check_columns, chunks
from .reader import Reader

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


def _pyarrow():
    try:
        import pyarrow  # lazy: optional dependency (torchfit[parquet])
        import pyarrow.dataset  # noqa: F401  # lazy: optional dependency
        import pyarrow.parquet  # noqa: F401  # lazy: optional dependency
    except ImportError as err:
        raise DataError("reading Parquet or Arrow data needs pyarrow: pip install "
                        "'torchfit[parquet]' (or pip install pyarrow)") from err
    return pyarrow


def _is_arrow(data) -> bool:
    module = type(data).__module__ or ""
    return module.startswith("pyarrow") and type(data).__name__ in ("Table", "RecordBatch")


def is_parquet_path(data) -> bool:
    """A path of a Parquet file, or of a directory holding Parquet files.

    Examples
    --------
    >>> is_parquet_path("scores.parquet"), is_parquet_path("scores.csv")
    (True, False)
    """
    if not isinstance(data, (str, Path)):
        return False
    path = Path(data)
    if path.suffix in PARQUET_SUFFIXES:
        return True
    return path.is_dir() and any(p.suffix in PARQUET_SUFFIXES for p in path.rglob("*"))


def _numeric_columns(schema, names: Sequence[str]) -> None:
    pa = _pyarrow()
    for v in names:
        kind = schema.field(v).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                or pa.types.is_decimal(kind)):
            raise DataError(f"column '{v}' is not numeric (Arrow type {kind}); the ML estimator "
                            "treats variables as continuous: write it as a number (e.g. "
                            "category codes) or leave it out of the model")


def _block(batch, names: Sequence[str]) -> np.ndarray:
    """An Arrow record batch's columns as one float64 matrix (nulls as NaN)."""
    out = np.empty((batch.num_rows, len(names)))
    for j, v in enumerate(names):
        col = batch.column(v)
        out[:, j] = col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False) \
            if col.null_count == 0 else \
            col.cast("float64").fill_null(float("nan")).to_numpy(zero_copy_only=False)
    return out


class ArrowSource(Reader):
    """An Arrow table (or record batch), read in slices of ``chunk_rows`` rows.

    Examples
    --------
    >>> import pyarrow as pa
    >>> src = ArrowSource(pa.table({"a": [1.0, 2.0, 4.0], "b": [0, 1, 1]}))
    >>> [x.tolist() for x in src.read_chunks(["b", "a"], 2)]
    [[[0.0, 1.0], [1.0, 2.0]], [[1.0, 4.0]]]
    """

    def __init__(self, table):
        pa = _pyarrow()
        self.table = pa.Table.from_batches([table]) if isinstance(table, pa.RecordBatch) \
            else table

    @property
    def column_names(self) -> List[str]:
        return [str(c) for c in self.table.column_names]

    @property
    def n_rows(self) -> int:
        return self.table.num_rows

    def read_chunks(self, names: Sequence[str], chunk_rows: int) -> Iterator[np.ndarray]:
        check_columns(self.column_names, names)
        _numeric_columns(self.table.schema, names)
        projected = self.table.select(list(names))
        for batch in projected.to_batches(max_chunksize=int(chunk_rows)):
            if batch.num_rows:
                yield _block(batch, names)

    def load_frame(self, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
        return (self.table if names is None else self._project(names)).to_pandas()

    def _project(self, names: Sequence[str]):
        check_columns(self.column_names, names)
        return self.table.select(list(names))

    def rows(self, start: int, stop: int) -> "ArrowSource":
        return ArrowSource(self.table.slice(start, stop - start))


class ParquetSource(Reader):
    """A Parquet file or directory, one row group at a time.

    Memory is one block of ``chunk_rows`` rows of the model's columns (plus
    Arrow's decoding buffer of a row group's pages), whatever the file's size.

    Examples
    --------
    >>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = tmp.name + "/x.parquet"
    >>> pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "b": [4, 5, 7]}), path,
    ...                row_group_size=2)
    >>> src = ParquetSource(path)
    >>> src.n_rows, len(src.pieces), [len(x) for x in src.read_chunks(["a"], 10)]
    (3, 2, [2, 1])
    >>> tmp.cleanup()
    """

    def __init__(self, path, pieces=None):
        _pyarrow()
        import pyarrow.dataset as ds  # lazy: optional dependency
        self.path = path
        self.dataset = ds.dataset(str(path), format="parquet") if pieces is None else None
        if pieces is None:
            pieces = [(rg, rg.row_groups[0].num_rows)
                      for fragment in self.dataset.get_fragments()
                      for rg in fragment.split_by_row_group()]
            self.schema = self.dataset.schema
        self.pieces = pieces  # (one-row-group fragment, its rows)

    @property
    def column_names(self) -> List[str]:
        return [str(c) for c in self.schema.names]

    @property
    def n_rows(self) -> int:
        return sum(n for _, n in self.pieces)

    def read_chunks(self, names: Sequence[str], chunk_rows: int) -> Iterator[np.ndarray]:
        check_columns(self.column_names, names)
        _numeric_columns(self.schema, names)
        for piece, _ in self.pieces:
            for batch in piece.to_batches(schema=self.schema, columns=list(names),
                                          batch_size=int(chunk_rows)):
                if batch.num_rows:
                    yield _block(batch, names)

    def load_frame(self, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
        pa = _pyarrow()
        if names is not None:
            check_columns(self.column_names, names)
        tables = [piece.to_table(schema=self.schema, columns=None if names is None
                                 else list(names)) for piece, _ in self.pieces]
        return pa.concat_tables(tables).to_pandas() if tables else \
            self.schema.empty_table().to_pandas()[list(names or self.column_names)]

    def _with(self, pieces) -> "ParquetSource":
        out = ParquetSource(self.path, pieces)
        out.schema = self.schema
        return out

    def row_groups(self, start: int, stop: int) -> "ParquetSource":
        return self._with(self.pieces[start:stop])

    def read_groups(self, groups: Sequence[int], names: Sequence[str]) -> np.ndarray:
        """The columns ``names`` of the row groups numbered ``groups``, in that order,
        as one float64 matrix: read through each file's ``ParquetFile``, which costs
        a tenth of a dataset scan of one row group (for many small reads).

        Examples
        --------
        >>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
        >>> tmp = tempfile.TemporaryDirectory()
        >>> pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "b": [4, None, 6]}),
        ...                tmp.name + "/x.parquet", row_group_size=1)
        >>> ParquetSource(tmp.name + "/x.parquet").read_groups([2, 1], ["b", "a"]).tolist()
        [[6.0, 3.0], [nan, 2.0]]
        >>> tmp.cleanup()
        """
        check_columns(self.column_names, names)
        _numeric_columns(self.schema, names)
        pq = self._files()
        blocks = [np.empty((0, len(names)))]
        for g in groups:
            fragment = self.pieces[g][0]
            if fragment.path not in pq:
                pq[fragment.path] = _pyarrow().parquet.ParquetFile(
                    fragment.filesystem.open_input_file(fragment.path))
            # Arrow's thread pool would wake for each small read, beside torch's threads
            table = pq[fragment.path].read_row_group(fragment.row_groups[0].id,
                                                     columns=list(names), use_threads=False)
            blocks += [_block(batch, names) for batch in table.to_batches()]
        return np.concatenate(blocks)

    def _files(self) -> dict:
        """The open ParquetFile of each path read so far (kept for the next reads)."""
        if not hasattr(self, "open_files"):
            self.open_files = {}
        return self.open_files

    def __getstate__(self):  # open files do not pickle: a copy reopens them
        return {k: v for k, v in self.__dict__.items() if k != "open_files"}

    def pick(self, groups: Sequence[int]) -> "ParquetSource":
        """The row groups numbered ``groups`` (in that order), as a source.

        Examples
        --------
        >>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
        >>> tmp = tempfile.TemporaryDirectory()
        >>> pq.write_table(pa.table({"a": [1.0, 2.0, 3.0]}), tmp.name + "/x.parquet",
        ...                row_group_size=1)
        >>> [x.item() for x in ParquetSource(tmp.name + "/x.parquet").pick([2, 0])
        ...  .read_chunks(["a"], 10)]
        [3.0, 1.0]
        >>> tmp.cleanup()
        """
        return self._with([self.pieces[g] for g in groups])


def open_source(data):
    """``data`` as a Reader when it is Parquet (a path) or Arrow; anything else
    as it is (the readers of :mod:`torchfit.data.frames` take it).

    Examples
    --------
    >>> import pyarrow as pa
    >>> type(open_source(pa.table({"a": [1.0]}))).__name__
    'ArrowSource'
    >>> open_source("data.csv")
    'data.csv'
    """
    if is_parquet_path(data):
        if not Path(data).exists():
            raise DataError(f"no Parquet file or directory {str(data)!r}; give an existing path")
        return ParquetSource(data)
    if _is_arrow(data):
        return ArrowSource(data)
    return data


class Shard(Reader):
    """The rows of one rank: ``part`` is the rank's piece of the data (a
    DataFrame, an array, a Reader) and ``comm`` the ranks' communicator."""

    def __init__(self, part, comm, columns: Optional[Sequence[str]] = None,
                 n_total_rows: int = 0):
        self.part, self.comm, self.columns = part, comm, columns
        self.n_total_rows = n_total_rows

    @property
    def column_names(self) -> List[str]:
        if isinstance(self.part, Reader):
            return self.part.column_names
        if isinstance(self.part, np.ndarray):
            return [str(c) for c in self.columns or []]
        return [str(c) for c in as_frame(self.part).columns]

    def read_chunks(self, names: Sequence[str], chunk_rows: int) -> Iterator[np.ndarray]:
        yield from chunks(self.part, names, self.columns, chunk_rows)

    def load_frame(self, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
        if isinstance(self.part, Reader):
            return self.part.load_frame(names)
        if isinstance(self.part, np.ndarray):
            frame = pd.DataFrame(np.asarray(self.part), columns=list(self.columns or []))
        else:
            frame = as_frame(self.part)
        if names is not None:
            check_columns([str(c) for c in frame.columns], names)
        return frame if names is None else frame[list(names)]

    @property
    def frame_in_memory(self) -> Optional[pd.DataFrame]:
        if isinstance(self.part, Reader):
            return self.part.frame_in_memory
        return None if isinstance(self.part, np.ndarray) else as_frame(self.part)


def _bounds(n: int, rank: int, size: int):
    return round(rank * n / size), round((rank + 1) * n / size)


def _csv_rows(path: Path) -> int:
    with open(path, "rb") as f:
        return max(0, sum(1 for _ in f) - 1)


def _part(data, columns, rank: int, size: int):
    """This rank's contiguous block of rows (of row groups for Parquet) and the
    number of rows of the whole data."""
    if isinstance(data, ParquetSource):
        starts = np.cumsum([0] + [n for _, n in data.pieces])
        owner = np.minimum((starts[:-1] * size) // max(1, starts[-1]), size - 1)
        mine = np.flatnonzero(owner == rank)
        return (data.row_groups(int(mine[0]), int(mine[-1]) + 1) if len(mine)
                else data.row_groups(0, 0)), int(starts[-1])
    if isinstance(data, ArrowSource):
        return data.rows(*_bounds(data.n_rows, rank, size)), data.n_rows
    if isinstance(data, (str, Path)) and Path(data).suffix == ".npy":
        data = np.load(data, mmap_mode="r")
    if isinstance(data, np.ndarray):
        return data[slice(*_bounds(data.shape[0], rank, size))], data.shape[0]
    if isinstance(data, (str, Path)):
        raise DataError("a CSV file is read whole by every rank; for a distributed fit write "
                        "it as Parquet (e.g. pandas.read_csv(path).to_parquet('data.parquet', "
                        "row_group_size=100_000)) or pass a DataFrame, array or .npy file")
    frame = as_frame(data)
    return frame.iloc[slice(*_bounds(len(frame), rank, size))], len(frame)


def shard(data, comm, columns: Optional[Sequence[str]] = None) -> Shard:
    """Rank ``comm.rank``'s share of ``data``: a contiguous block of about
    1/``comm.size`` of the rows (whole row groups of a Parquet data set, so
    each rank reads only its own row groups); every rank must have rows.

    Examples
    --------
    >>> class Two:  # the second of two ranks
    ...     rank, size = 1, 2
    >>> s = shard(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}), Two())
    >>> s.load_frame()["a"].tolist(), s.n_total_rows
    ([3.0, 4.0], 4)
    """
    source = open_source(data)
    part, n = _part(source, columns, comm.rank, comm.size)
    if (part.n_rows if isinstance(part, Reader) else len(part)) == 0:
        advice = "; use fewer processes"
        if isinstance(source, ParquetSource):
            advice = (f" in {len(source.pieces)} row group(s); write the Parquet data with "
                      "smaller row groups (row_group_size=) or use fewer processes")
        raise DataError(f"rank {comm.rank} of {comm.size} has no rows: the data have {n} "
                        f"rows{advice}")
    return Shard(part, comm, columns, n)
