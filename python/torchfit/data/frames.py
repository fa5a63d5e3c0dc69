"""From the user's data to the numbers the estimators need.

``select`` checks and extracts the model's observed variables (never touching
the caller's object); ``sample_moments`` forms the mean and the N-normalised
sample covariance matrix, the sufficient statistics of the ML estimator for
complete data, in one bounded-memory pass.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from .reader import Reader, Rows, comm_of, reduced

MISSING_OPTIONS = ("default", "listwise")


@dataclass
class Selected:
    """The model's columns of the data, complete rows only."""

    X: np.ndarray  # (n_used, p) float64
    names: List[str]
    n_total: int
    n_dropped: int
    index: pd.Index  # the used rows' labels (a frame's index, else positions)


def native(data):
    """``data`` as torchfit reads it: a DataFrame from another library (polars,
    pyarrow, ...) through its ``to_pandas()`` or the dataframe interchange
    protocol; anything else as given.

    Examples
    --------
    >>> class Other:  # a frame of another library
    ...     def to_pandas(self):
    ...         return pd.DataFrame({"x": [1.0, 2.0]})
    >>> native(Other()).shape
    (2, 1)
    """
    if isinstance(data, (pd.DataFrame, np.ndarray, dict, str, Path)) or data is None:
        return data
    if hasattr(data, "to_pandas"):
        return data.to_pandas()
    if hasattr(data, "__dataframe__"):
        return pd.api.interchange.from_dataframe(data)
    return data


def as_frame(data, columns: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """The data as a DataFrame (a dict of columns, or a 2-D array with
    ``columns``, is wrapped, never copied into the caller's object); empty
    data are an error."""
    data = native(data)
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, Reader):
        frame = data.load_frame()
    elif isinstance(data, dict):
        frame = pd.DataFrame(data)
    elif isinstance(data, np.ndarray) and columns is not None:
        _check_array(data, columns)
        frame = pd.DataFrame(data, columns=[str(c) for c in columns], copy=False)
    else:
        raise DataError(f"data must be a pandas DataFrame (or a dict of columns, a 2-D array "
                        f"with columns=, or a frame with to_pandas()), not "
                        f"{type(data).__name__}; e.g. pandas.read_csv('file.csv')")
    _check_not_empty(*frame.shape)
    return frame


def _check_array(data: np.ndarray, columns) -> None:
    """A data array is 2-D with one name per column."""
    if data.ndim != 2 or columns is None or len(columns) != data.shape[1]:
        raise DataError("a data array must be 2-D and come with `columns`, one name per "
                        "column, e.g. fit(model, array, columns=['x1', 'x2', ...])")


def _check_not_empty(n_rows: int, n_columns: int) -> None:
    """Data without rows (or without columns) cannot be fitted."""
    if n_rows == 0 or n_columns == 0:
        raise DataError(f"the data are empty ({n_rows} rows, {n_columns} columns); pass one "
                        "row per observation and one column per observed variable")


def _column_names(data, columns: Optional[Sequence[str]] = None) -> List[str]:
    """The column names of ``data`` as ``chunks`` reads it (a CSV file's
    header as written in the file, duplicates included)."""
    if isinstance(data, Reader):
        return data.column_names
    if isinstance(data, (str, Path)):
        path = Path(data)
        if path.suffix == ".npy" or not path.exists():
            return [str(c) for c in columns or []]
        sep = "\t" if path.suffix in (".tsv", ".tab") else ","
        header = pd.read_csv(path, sep=sep, nrows=1, header=None, dtype=str)
        return [str(c) for c in header.iloc[0]] if len(header) else []
    if data is None or isinstance(data, np.ndarray):  # names given apart (R sends them)
        return [str(c) for c in columns or []]
    return [str(c) for c in as_frame(data).columns]


def check_latent_names(data, latent: Sequence[str],
                       columns: Optional[Sequence[str]] = None) -> None:
    """A latent variable may not share its name with a column of the data
    (lavaan: "some latent variable names collide with observed variable
    names"), whether or not the model uses that column.

    Examples
    --------
    >>> check_latent_names(pd.DataFrame({"x1": [1.0], "f": [2.0]}), ["f"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    torchfit.errors.DataError: some latent variable names collide with observed variable ...
    """
    names = set(_column_names(data, columns))
    clash = [v for v in latent if v in names]
    if clash:
        raise DataError("some latent variable names collide with observed variable names: "
                        f"{', '.join(clash)}; rename the latent variable(s) in the model or "
                        "the column(s) of the data")


def check_columns(columns: Sequence[str], names: Sequence[str]) -> None:
    """Every model variable must be a column, once; suggest close names if
    it is not there (the same column in another case first).  R sends the
    names of its data frame's columns here too (``bridge.fit_from_r``), so
    the message is the same from both languages.

    Examples
    --------
    >>> check_columns(["x1", "x2", "x3"], ["x1", "X2"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    torchfit.errors.DataError: the model uses variable(s) missing from the data: 'X2' (did ...
    """
    counts = {}
    for c in columns:
        counts[c] = counts.get(c, 0) + 1
    twice = [v for v in dict.fromkeys(names) if counts.get(v, 0) > 1]
    if twice:
        which = " and ".join(f"{counts[v]} columns named {v!r}" for v in twice)
        raise DataError(f"the data have {which}; each variable must be one column: rename or "
                        "drop the duplicates")
    absent = [v for v in names if v not in counts]
    if not absent:
        return
    hints = []
    for v in absent:
        close = _close_names(v, columns)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        hints.append(f"'{v}'{hint}")
    raise DataError(f"the model uses variable(s) missing from the data: {'; '.join(hints)}. "
                    f"The data have columns: {', '.join(columns[:30])}"
                    f"{' ...' if len(columns) > 30 else ''}. Fix the model syntax or rename "
                    "the column")


def check_option_column(columns: Sequence[str], name: str, role: str) -> None:
    """The column an option names (``role``: "grouping", "cluster", "sampling
    weight") is in the data, once; else close names are suggested.

    Examples
    --------
    >>> check_option_column(["id", "school"], "shool", "cluster")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    torchfit.errors.DataError: the cluster column 'shool' is not in the data (did you mean ...
    """
    if name not in columns:
        close = _close_names(name, columns)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise DataError(f"the {role} column '{name}' is not in the data{hint}; the data have "
                        f"columns: {', '.join(columns[:30])}{' ...' if len(columns) > 30 else ''}")
    check_columns(columns, [name])


def check_group_column(group: Optional[str], variables: Sequence[str]) -> None:
    """The grouping column may not be a variable of the model.

    Examples
    --------
    >>> check_group_column("grade", ["x1", "grade"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    torchfit.errors.DataError: 'grade' is both the grouping variable and a variable of the ...
    """
    if group is not None and group in variables:
        raise DataError(f"'{group}' is both the grouping variable and a variable of "
                        "the model; group by another column or take it out of the model")


def _close_names(name: str, columns: Sequence[str]) -> List[str]:
    """Columns ``name`` may have meant: the same name in another case, else up to
    three close spellings."""
    same = [c for c in columns if c.lower() == name.lower()]
    return same[:1] or difflib.get_close_matches(name, columns, n=3, cutoff=0.5)


def check_numeric(name: str, dtype) -> None:
    """Raise a DataError naming column ``name`` unless ``dtype`` is numeric
    (bool counts, as 0/1).

    Examples
    --------
    >>> check_numeric("x", pd.CategoricalDtype(["a", "b"]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    torchfit.errors.DataError: column 'x' is an unordered pandas Categorical; ...
    """
    if isinstance(dtype, pd.CategoricalDtype):
        check_ordered(name, dtype)
        raise DataError(f"column '{name}' is an ordered Categorical; the ML estimator treats "
                        f"variables as continuous: use its codes (data['{name}'] = "
                        f"data['{name}'].cat.codes) or fit it as ordinal with "
                        f"estimator='IWAVE', ordered=['{name}']")
    if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
        raise DataError(
            f"column '{name}' is not numeric (dtype {dtype}); the ML estimator treats "
            f"variables as continuous: convert it, e.g. data['{name}'] = "
            f"pd.to_numeric(data['{name}'])")


def check_ordered(name: str, dtype) -> None:
    """A pandas Categorical has an order only when declared ``ordered=True``;
    taking its categories' alphabetical order would be a silent guess."""
    if isinstance(dtype, pd.CategoricalDtype) and not dtype.ordered:
        raise DataError(f"column '{name}' is an unordered pandas Categorical; ordinal items "
                        f"need the order of their categories: make it ordered "
                        f"(data['{name}'] = pd.Categorical(data['{name}'], "
                        f"categories=[...lowest to highest...], ordered=True)) or, for "
                        f"numbers, data['{name}'] = data['{name}'].astype(float)")


def chunks(data, names: Sequence[str], columns: Optional[Sequence[str]],
           chunk_rows: int) -> Iterator[np.ndarray]:
    """The model's columns of ``data``, as float64 blocks of ``chunk_rows`` rows
    (NaN where a value is missing; the readers of the estimators refuse infinite
    values with :func:`check_finite`).

    ``data`` is a DataFrame (or dict), a 2-D array (a ``np.load(...,
    mmap_mode="r")`` memory map reads only the block at hand) with ``columns``
    naming its columns, or the path of a .npy file (with ``columns``) or of a
    CSV file (comma- or tab-separated, with a header), read in chunks, or a
    :class:`torchfit.data.reader.Reader` (Parquet, Arrow, one rank's shard).

    Examples
    --------
    >>> [x.tolist() for x in chunks({"a": [1.0, 2.0, 3.0], "b": [4, 5, 6]}, ["b"], None, 2)]
    [[[4.0], [5.0]], [[6.0]]]
    """
    if isinstance(data, Reader):
        yield from data.read_chunks(names, chunk_rows)
        return
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise DataError(f"no data file {str(path)!r}; give an existing .csv/.tsv or .npy path")
        if path.suffix == ".npy":
            yield from chunks(np.load(path, mmap_mode="r"), names, columns, chunk_rows)
            return
        sep = "\t" if path.suffix in (".tsv", ".tab") else ","
        header = _column_names(path)
        check_columns(header, names)
        rows = 0
        for chunk in pd.read_csv(path, sep=sep, usecols=list(names), chunksize=chunk_rows):
            if not len(chunk):
                continue
            for v in names:
                check_numeric(v, chunk[v].dtype)
            rows += len(chunk)
            yield chunk[list(names)].to_numpy(dtype=np.float64, na_value=np.nan)
        _check_not_empty(rows, len(header))
        return
    if isinstance(data, np.ndarray):
        _check_array(data, columns)
        _check_not_empty(*data.shape)
        check_columns([str(c) for c in columns], names)
        check_numeric("array", data.dtype)
        idx = [list(columns).index(v) for v in names]
        for i in range(0, data.shape[0], chunk_rows):
            yield np.asarray(data[i:i + chunk_rows][:, idx], dtype=np.float64)
        return
    frame = as_frame(data)
    check_columns([str(c) for c in frame.columns], names)
    # each column's own array, sliced: selecting the columns as a frame
    # first costs more than a small fit's whole moment pass
    arrays = [frame[v].array for v in names]
    for v, a in zip(names, arrays):
        check_numeric(v, a.dtype)
    for i in range(0, len(frame), chunk_rows):
        yield np.column_stack([a[i:i + chunk_rows].to_numpy(dtype=np.float64, na_value=np.nan)
                               for a in arrays])


def group_data(data, group: Optional[str]):
    """Split the rows by the values of the column ``group``.

    Returns the group labels in order of first appearance (lavaan's order)
    and one data subset per group; without ``group``, ``([None], [data])``.

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["b", "a", "b"], "x": [1.0, 2.0, 3.0]})
    >>> labels, parts = group_data(df, "g")
    >>> labels, [len(p) for p in parts]
    (['b', 'a'], [2, 1])
    """
    if group is None:
        return [None], [data]
    if comm_of(data) is not None:
        return _rank_groups(data, group)
    if not isinstance(data, (pd.DataFrame, dict)):
        raise DataError("group= needs the data as a pandas DataFrame (or a dict of columns) "
                        "holding the grouping column")
    frame = as_frame(data)
    as_text = _group_values(frame, group)
    labels = _enough_groups(list(dict.fromkeys(as_text)), group)
    return labels, [frame[as_text == label] for label in labels]


def _group_values(frame: pd.DataFrame, group: str) -> pd.Series:
    """The grouping column as text, checked."""
    check_option_column([str(c) for c in frame.columns], group, "grouping")
    values = frame[group]
    if values.isna().any():
        raise DataError(f"the grouping column '{group}' is missing in {int(values.isna().sum())} "
                        "rows; drop those rows or give them a group")
    return values.astype(str)


def _enough_groups(labels: List[str], group: str) -> List[str]:
    if len(labels) < 2:
        raise DataError(f"the grouping column '{group}' has a single value ({labels[0]!r}); a "
                        "multiple-group model needs at least two groups: leave the group "
                        "option out")
    return labels


def _rank_groups(shard: Reader, group: str):
    """One rank's shard split by group: the labels of all the ranks' rows (in order
    of first appearance, rank by rank: lavaan's order on the whole data) and, per
    label, this rank's rows of it (possibly none), whose sums the ranks reduce."""
    as_text = _group_values(shard.load_frame([group]), group).to_numpy()
    seen = shard.comm.gather_results(lambda: list(dict.fromkeys(as_text)))
    labels = _enough_groups(list(dict.fromkeys(v for rank in seen for v in rank)), group)
    return labels, [Rows(shard, as_text == label) for label in labels]


def check_missing(missing: str) -> None:
    """Raise a DataError unless ``missing`` is one of ``MISSING_OPTIONS`` (FIML is checked by
    the caller)."""
    if missing not in MISSING_OPTIONS:
        raise DataError(f"missing = {missing!r} is not supported; use one of "
                        f"{', '.join(repr(m) for m in MISSING_OPTIONS)}, 'ml' "
                        "(full-information ML, with the ML estimator; also 'fiml', 'direct') "
                        "or 'ml.x' (FIML with the covariates' missing values too)")


def check_finite(X: np.ndarray, names: Sequence[str]) -> None:
    """Infinite values are an error (a missing value is NaN), naming the columns
    (of ``names``) that hold them: the one check of every estimator's reader
    (:func:`complete_rows`, FIML's patterns, the ordinal items' codes, IWAVE's
    items), whether the data came from Python or R.

    Examples
    --------
    >>> check_finite(np.array([[1.0, np.inf], [np.nan, 2.0]]), ["a", "b"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    torchfit.errors.DataError: column 'b' has infinite values; replace them with finite ...
    """
    infinite = np.isinf(X)
    if not infinite.any():
        return
    cols = [str(names[j]) for j in np.flatnonzero(infinite.reshape(len(X), -1).any(axis=0))]
    which = (f"column {cols[0]!r} has" if len(cols) == 1 else
             f"columns {', '.join(repr(c) for c in cols)} have")
    raise DataError(f"{which} infinite values; replace them with finite values, or mark them "
                    "missing (NA in R, NaN in Python) and drop those rows with "
                    "missing = 'listwise'")


def complete_rows(X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Row mask of complete rows; infinite values are an error."""
    keep = np.isfinite(X).all(axis=1)
    if not keep.all():  # (complete data cost no second pass)
        check_finite(X, names)
    return keep


def _missing_error(n_bad: int, n_total: int, cols: Sequence[str]) -> DataError:
    return DataError(f"{n_bad} of {n_total} rows have missing values (in {', '.join(cols)}); "
                     "use missing = 'listwise' to drop them")


def select(data, names: Sequence[str], missing: str = "default",
           columns: Optional[Sequence[str]] = None) -> Selected:
    """The columns ``names`` of ``data`` as a float64 matrix, checked.

    Parameters
    ----------
    data : pandas.DataFrame, dict, 2-D array or path
        Extra columns are ignored; the caller's object is not modified.
    names : sequence of str
        Observed variables of the model, in model order.
    missing : {"default", "listwise"}
        ``"listwise"`` drops rows with a missing value in a model variable;
        by default such rows are an error.
    columns : sequence of str, optional
        Column names of a 2-D array.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [1.0, 0.0, 2.0], "c": ["u", "v", "w"]})
    >>> select(df, ["b", "a"]).X[:, 0].tolist()
    [1.0, 0.0, 2.0]
    """
    check_missing(missing)
    X = np.concatenate(list(chunks(data, names, columns, 1 << 30)) or
                       [np.empty((0, len(names)))])
    keep = complete_rows(X, names)
    n_total, n_bad = X.shape[0], int((~keep).sum())
    if n_bad and missing != "listwise":
        raise _missing_error(n_bad, n_total,
                             [v for j, v in enumerate(names) if not keep.all() and
                              (~np.isfinite(X[:, j])).any()])
    labels = row_labels(data, n_total)
    return Selected(X[keep] if n_bad else X, list(names), n_total, n_bad,
                    labels[keep] if n_bad else labels)


def rows_with(data, names: Sequence[str], columns: Optional[Sequence[str]] = None):
    """The rows of ``data`` observed on every one of ``names`` (a frame), and the
    others' reasons, indexed by their labels.

    Examples
    --------
    >>> kept, cut = rows_with(pd.DataFrame({"a": [1.0, None], "b": [1.0, 2.0]}), ["a"])
    >>> len(kept), cut.to_dict()
    (1, {1: 'missing covariate a'})
    """
    frame = as_frame(data, columns)
    X = np.concatenate(list(chunks(frame, names, None, 1 << 30)))
    seen = np.isfinite(X)
    rows = np.flatnonzero(~seen.all(axis=1))
    reasons = ["missing covariate " + ", ".join(names[j] for j in np.flatnonzero(~seen[i]))
               for i in rows]
    return frame[seen.all(axis=1)], pd.Series(reasons, index=frame.index[rows], dtype=object,
                                              name="reason")


def row_labels(data, n_rows: int) -> pd.Index:
    """The rows' labels: a frame's index, else their positions 0, 1, ..."""
    data = native(data)
    if isinstance(data, (pd.DataFrame, dict)):
        return as_frame(data).index
    return pd.RangeIndex(n_rows)


#: the most cells (rows x model variables) a fit copies for predict(); above
#: it (and for files and memory maps) predict() needs the data passed again
KEEP_CELLS = 2_000_000


def kept_copy(data, names: Sequence[str], group: Optional[str] = None,
              columns: Optional[Sequence[str]] = None) -> Optional[pd.DataFrame]:
    """The fit's own copy of the model's columns (and the grouping column) of
    in-memory data, so that editing the caller's frame changes nothing and a
    pickle holds no more than the model needs; None for a file, a memory map
    or more than ``KEEP_CELLS`` cells.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "c": ["u", "v"]})
    >>> kept = kept_copy(df, ["a"])
    >>> df.loc[0, "a"] = 9.0
    >>> kept["a"].tolist()
    [1.0, 2.0]
    """
    data = native(data)
    if isinstance(data, (str, Path, np.memmap)) or data is None:
        return None
    wanted = list(dict.fromkeys(list(names) + ([group] if group is not None else [])))
    if isinstance(data, Reader):  # Parquet, Arrow: the size is known before reading
        rows = getattr(data, "n_rows", None)
        small = rows is not None and rows * len(wanted) <= KEEP_CELLS
        return data.load_frame(wanted) if small else None
    frame = as_frame(data, columns)
    if len(frame) * len(wanted) > KEEP_CELLS:
        return None
    at = frame.columns.get_indexer(wanted) if frame.columns.is_unique else None
    if at is not None and (at >= 0).all():  # take() copies at a third of frame[wanted]'s cost
        return frame.take(at, axis=1)
    return frame[wanted].copy()


def dropped_rows(data, names: Sequence[str], columns: Optional[Sequence[str]] = None,
                 empty_only: bool = False) -> pd.Series:
    """The rows a fit left out and why, indexed by their labels: rows with a
    missing value in a model variable (listwise deletion) or, with
    ``empty_only`` (FIML), rows missing on every model variable.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1.0, None, 3.0], "b": [1.0, 2.0, None]}, index=[10, 11, 12])
    >>> dropped_rows(df, ["a", "b"]).to_dict()
    {11: 'missing a', 12: 'missing b'}
    """
    X = np.concatenate(list(chunks(data, names, columns, 1 << 16)) or
                       [np.empty((0, len(names)))])
    bad = ~np.isfinite(X)
    rows = np.flatnonzero(bad.all(axis=1) if empty_only else bad.any(axis=1))
    reasons = ["missing on every model variable" if empty_only else
               "missing " + ", ".join(names[j] for j in np.flatnonzero(bad[i])) for i in rows]
    return pd.Series(reasons, index=row_labels(data, X.shape[0])[rows], dtype=object,
                     name="reason")



@dataclass
class Moments:
    """Sufficient statistics of complete data for ML."""

    n: int
    mean: np.ndarray
    cov: np.ndarray  # N-normalised
    n_total: int


@dataclass
class MomentSums:
    """The float64 sums of one pass over some rows: rows kept and read, the
    shift (the first kept row), the sum of x - shift and of its cross-products,
    and which columns had missing values."""

    n: int
    n_total: int
    shift: Optional[np.ndarray]
    total: np.ndarray
    cross: np.ndarray
    bad_cols: np.ndarray

    @staticmethod
    def merged(parts: Sequence["MomentSums"]) -> "MomentSums":
        """The sums of the union of the parts' rows, re-centred on the first
        shift (sums over x - s = sums over x - t + n (t - s)): the shards of
        ranks, merged in rank order, give every rank the same numbers, equal
        to one pass's to rounding (to the last bit for integer-coded data).

        Examples
        --------
        >>> X = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 4.0]])
        >>> parts = [moment_sums(X[:1], ["a", "b"], ["a", "b"], 8),
        ...          moment_sums(X[1:], ["a", "b"], ["a", "b"], 8)]
        >>> whole = moment_sums(X, ["a", "b"], ["a", "b"], 8)
        >>> bool((MomentSums.merged(parts).cross == whole.cross).all())
        True
        """
        live = [m for m in parts if m.n]
        p = len(parts[0].total)
        out = MomentSums(0, 0, live[0].shift.copy() if live else None, np.zeros(p),
                         np.zeros((p, p)), np.zeros(p, dtype=bool))
        for m in parts:
            out.n_total += m.n_total
            out.bad_cols |= m.bad_cols
            if not m.n:
                continue
            d = m.shift - out.shift
            out.total += m.total + m.n * d
            out.cross += m.cross + np.outer(d, m.total) + np.outer(m.total, d) \
                + m.n * np.outer(d, d)
            out.n += m.n
        return out


def moment_sums(data, names: Sequence[str], columns: Optional[Sequence[str]],
                chunk_rows: int) -> MomentSums:
    """The shifted sums of the complete rows of ``data``, block by block.

    Each block is shifted by the first complete row before its cross-products
    are accumulated in float64, which keeps the one-pass formula
    S = X'X/N - m m' free of cancellation.
    """
    p = len(names)
    sums = MomentSums(0, 0, None, np.zeros(p), np.zeros((p, p)), np.zeros(p, dtype=bool))
    for X in chunks(data, names, columns, chunk_rows):
        keep = complete_rows(X, names)
        sums.n_total += X.shape[0]
        if not keep.all():
            sums.bad_cols |= ~np.isfinite(X).all(axis=0)
            X = X[keep]
        if sums.shift is None and len(X):
            sums.shift = X[0].copy()
        if len(X):
            Xs = X - sums.shift
            sums.total += Xs.sum(axis=0)
            sums.cross += Xs.T @ Xs
            sums.n += X.shape[0]
    return sums


def sample_moments(data, names: Sequence[str], missing: str = "default",
                   columns: Optional[Sequence[str]] = None,
                   chunk_rows: int = 1 << 16) -> Moments:
    """Mean and N-normalised covariance matrix in one pass over the data.

    Works block by block (:func:`moment_sums`), so memory stays bounded for a
    memory-mapped array, a CSV or Parquet file larger than RAM.  For one
    rank's shard (a :class:`~torchfit.data.reader.Reader` with a ``comm``) the
    ranks' sums are gathered and merged (:meth:`MomentSums.merged`), so every
    rank gets the moments of all the rows.

    Examples
    --------
    >>> m = sample_moments(pd.DataFrame({"a": [0.0, 2.0], "b": [1.0, 3.0]}), ["a", "b"])
    >>> m.n, m.mean.tolist(), m.cov.tolist()
    (2, [1.0, 2.0], [[1.0, 1.0], [1.0, 1.0]])
    """
    check_missing(missing)
    read = partial(moment_sums, data, names, columns, chunk_rows)
    sums = reduced(data, read, MomentSums.merged)
    n, n_total = sums.n, sums.n_total
    if n_total > n and missing != "listwise":
        raise _missing_error(n_total - n, n_total,
                             [v for v, b in zip(names, sums.bad_cols) if b])
    if n == 0:
        raise DataError("the data have no complete rows for the model's variables")
    centred = sums.total / n
    cov = sums.cross / n - np.outer(centred, centred)
    return Moments(n, centred + sums.shift, (cov + cov.T) / 2, n_total)


def check_moments(S: np.ndarray, n: int, names: Sequence[str]) -> None:
    """Refuse samples whose covariance matrix cannot be fitted by ML."""
    p = len(names)
    if n <= p:
        raise DataError(f"the data have {n} complete rows for {p} observed variables; ML "
                        f"needs more rows than variables (at least {p + 1})")
    sd = np.sqrt(np.diag(S))
    constant = [v for v, s in zip(names, sd) if s <= 1e-12 * max(1.0, sd.max())]
    if constant:
        raise DataError(f"variable(s) {', '.join(constant)} have no variance in the data; "
                        "remove them from the model")
    R = S / np.outer(sd, sd)
    w, vecs = np.linalg.eigh(R)
    if w[0] <= 1e-10:
        involved = [names[j] for j in np.flatnonzero(np.abs(vecs[:, 0]) > 0.1)]
        raise DataError("the sample covariance matrix is not positive definite: the variables "
                        f"{', '.join(involved)} are (nearly) linearly dependent; "
                        "remove one of them")
