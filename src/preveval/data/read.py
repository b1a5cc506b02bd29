"""Reading .csv, .xlsx and .parquet files, keeping where each cell came from.

CSV files are read with the standard ``csv`` module so that every row keeps the line it
started on and every cell its character column; Excel rows keep their sheet row and
column; parquet rows are named by their row number. Values stay as read (text for CSV):
the checks convert the columns an analysis uses and report every cell that fails.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, Issue

MISSING = {"", "NA", "N/A", "NaN", "nan", "NULL", "null", "."}
SUFFIXES = (".csv", ".xlsx", ".parquet")


@dataclass
class Dataset:
    """A data file read into a frame, with the position of every row and cell.

    ``frame`` holds the file's columns; after checking, ``period`` (pandas Period) and
    ``t`` (its integer ordinal) are added.
    """

    frame: pd.DataFrame
    file: str
    path: Path
    sha256: str
    lines: np.ndarray | None = None
    cols: dict[str, int] = field(default_factory=dict)
    char_cols: list[list[int]] | None = None
    kind: str = "table"

    def where(self, row: int, column: str | None = None) -> tuple[int | None, int | None, str]:
        """Line, column and a row label for row position ``row`` (0-based)."""
        col_no = self.cols.get(column) if column is not None else None
        if self.lines is None:
            return None, None, f"row {row + 1}"
        line = int(self.lines[row])
        col = None
        if col_no is not None:
            col = col_no + 1
            if self.char_cols is not None and self.char_cols[row]:
                cc = self.char_cols[row]
                col = cc[col_no] if col_no < len(cc) else col
        return line, col, f"line {line}"

    def issue(self, row: int, column: str | None, message: str, hint: str | None = None,
              level: str = "error") -> Issue:
        """An issue at a cell of the file."""
        line, col, _ = self.where(row, column)
        return Issue(message, column or "", self.file, line, col, hint, level)  # type: ignore[arg-type]


def _read_csv(raw: bytes, file: str) -> tuple[pd.DataFrame, np.ndarray, list[list[int]]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:20_000], delimiters=",;\t")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    physical = text.splitlines()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[list[str]] = []
    lines: list[int] = []
    chars: list[list[int]] = []
    header: list[str] | None = None
    start = 1
    try:
        for rec in reader:
            line = start
            start = reader.line_num + 1
            if not rec or all(not c.strip() for c in rec):
                continue
            if header is None:
                header = [h.strip() for h in rec]
                continue
            rows.append(rec)
            lines.append(line)
            raw_line = physical[line - 1] if line - 1 < len(physical) else ""
            if '"' in raw_line or reader.line_num != line:
                chars.append([])
            else:
                pos, cc = 1, []
                for cell in rec:
                    cc.append(pos)
                    pos += len(cell) + 1
                chars.append(cc)
    except csv.Error as exc:
        raise DataError([Issue(f"cannot read the CSV file: {exc}", file=file, line=reader.line_num)]) from None
    if header is None:
        raise DataError([Issue("the file is empty (no header row)", file=file, line=1)])
    _check_header(header, file)
    width = len(header)
    bad = [(i, len(r)) for i, r in enumerate(rows) if len(r) != width]
    if bad:
        raise DataError([
            Issue(f"this row has {n} fields but the header has {width}", file=file, line=lines[i],
                  hint="check for a stray delimiter or a missing value")
            for i, n in bad[:10]
        ])
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame = frame.apply(lambda s: s.map(lambda v: np.nan if v.strip() in MISSING else v.strip()))
    return frame, np.asarray(lines, dtype=np.int64), chars


def _check_header(header: list[str], file: str) -> None:
    issues = []
    seen: set[str] = set()
    for i, h in enumerate(header):
        if not h:
            issues.append(Issue(f"column {i + 1} has no name", file=file, line=1, hint="name every column in the header row"))
        elif h in seen:
            issues.append(Issue(f"the column name '{h}' appears twice", file=file, line=1))
        seen.add(h)
    if issues:
        raise DataError(issues)


def read_dataset(path: Path, display: str, sheet: str | None = None) -> Dataset:
    """Read a data file, or raise :class:`DataError` saying why it cannot be read."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError([Issue(f"files ending in '{suffix or '(nothing)'}' cannot be read",
                               file=display, hint="use .csv, .xlsx or .parquet")])
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError([Issue("data file not found", file=display,
                               hint="data.path is relative to the evaluation file")]) from None
    except OSError as exc:
        raise DataError([Issue(f"cannot read the data file: {exc.strerror}", file=display)]) from None
    digest = hashlib.sha256(raw).hexdigest()
    if suffix == ".csv":
        frame, lines, chars = _read_csv(raw, display)
        return Dataset(frame, display, path, digest, lines, {c: i for i, c in enumerate(frame.columns)}, chars, "csv")
    try:
        if suffix == ".xlsx":
            frame = pd.read_excel(io.BytesIO(raw), sheet_name=sheet or 0, dtype=object)
        else:
            frame = pd.read_parquet(io.BytesIO(raw))
    except ValueError as exc:
        raise DataError([Issue(f"cannot read the file: {exc}", file=display)]) from None
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise DataError([Issue(f"cannot read the file ({type(exc).__name__}): {exc}", file=display)]) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_header(list(frame.columns), display)
    frame = frame.reset_index(drop=True)
    if suffix == ".xlsx":
        frame = frame.astype(object).where(frame.notna(), np.nan)
        lines = np.arange(2, len(frame) + 2, dtype=np.int64)
        return Dataset(frame, display, path, digest, lines, {c: i for i, c in enumerate(frame.columns)}, None, "xlsx")
    return Dataset(frame, display, path, digest, None, {c: i for i, c in enumerate(frame.columns)}, None, "parquet")


def dataset_from_frame(frame: pd.DataFrame, name: str = "<DataFrame>") -> Dataset:
    """Wrap a caller's DataFrame (Python API); the caller's frame is not changed."""
    frame = frame.copy().reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    data = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    digest = hashlib.sha256(data).hexdigest()
    return Dataset(frame, name, Path(name), digest, None, {c: i for i, c in enumerate(frame.columns)}, None, "frame")
