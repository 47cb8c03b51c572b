"""Loading a regression problem from a file for ``fastgd compare --data``."""
import csv
import os

import numpy as np


def _column(spec, names, width):
    """The index of column ``spec`` (a header name or an integer, negative from the end)."""
    if spec is None:
        return width - 1
    if names is not None and spec in names:
        return names.index(spec)
    try:
        index = int(spec)
    except ValueError:
        known = f"; columns are {', '.join(names)}" if names else ""
        raise ValueError(f"--target {spec!r} is not a column of the data{known}") from None
    if not -width <= index < width:
        raise ValueError(f"--target {index} is out of range for {width} columns")
    return index % width


def _split(table, target, names=None):
    if table.ndim != 2 or table.shape[1] < 2:
        raise ValueError(f"the data must be a 2-D table of at least 2 columns, got shape {table.shape}")
    j = _column(target, names, table.shape[1])
    return np.delete(table, j, axis=1), table[:, j]


def _parquet(path):
    """A Parquet file's numeric columns as a float64 table, with their names."""
    try:
        import pyarrow.parquet
    except ImportError:
        raise ImportError('reading .parquet needs pyarrow: pip install "fastgd[parquet]"') from None
    table = pyarrow.parquet.read_table(path)
    columns = []
    for name, column in zip(table.column_names, table.columns):
        if not (pyarrow.types.is_integer(column.type) or pyarrow.types.is_floating(column.type)
                or pyarrow.types.is_boolean(column.type)):
            raise ValueError(f"column {name!r} of {path} holds {column.type}, not numbers")
        if column.null_count:
            raise ValueError(f"column {name!r} of {path} has {column.null_count} missing values")
        columns.append(column.to_numpy().astype(np.float64))
    return np.column_stack(columns) if columns else np.empty((0, 0)), list(table.column_names)


def load_problem(path, target=None):
    """``(X, y)`` from ``.npy`` (a 2-D table), ``.npz`` (arrays ``X`` and ``y``, or one table),
    ``.csv`` (numbers, with an optional header row) or ``.parquet`` (numeric columns; needs
    pyarrow). ``target`` names y's column in a table: a header name or an index; the last
    column by default.
    """
    extension = os.path.splitext(path)[1].lower()
    if extension == ".npy":
        return _split(np.load(path, allow_pickle=False), target)
    if extension == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            if {"X", "y"} <= set(archive.files):
                if target is not None:
                    raise ValueError("--target is for tables; this .npz holds X and y already")
                return archive["X"], archive["y"]
            if len(archive.files) != 1:
                raise ValueError(f"the .npz must hold arrays X and y, or one table; it holds {archive.files}")
            return _split(archive[archive.files[0]], target)
    if extension == ".csv":
        with open(path, newline="") as handle:
            first = next(csv.reader(handle), None)
        if first is None:
            raise ValueError(f"{path} is empty")
        try:
            [float(cell) for cell in first]
            names, skip = None, 0
        except ValueError:
            names, skip = [cell.strip() for cell in first], 1
        table = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
        return _split(table, target, names)
    if extension == ".parquet":
        table, names = _parquet(path)
        return _split(table, target, names)
    raise ValueError(f"--data must be a .npy, .npz, .csv or .parquet file, got {path!r}")
