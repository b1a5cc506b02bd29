"""Reading .csv, .xlsx and .parquet files, keeping where each cell came from.

CSV files are read with the standard ``csv`` module so that every row keeps the line it
started on and every cell its line and character column (quoted cells and cells after a
line break inside quotes included); Excel rows keep their sheet row and column; parquet
rows are named by their row number. Values stay as read (text for CSV): the checks convert
the columns an analysis uses and report every cell that fails. Missing values are ``NaN``
whatever the file's types (pandas' ``<NA>`` of nullable columns included).

Only regular files are read: a named pipe, a device or a folder as ``data.path`` is refused
at once instead of blocking. CSV files must be UTF-8 (a byte-order mark is allowed): a file
that is not is refused with the line and column of each line that is not, rather than read
in a guessed encoding, because a guess that is wrong changes unit names and labels without
a word (``Ynys Môn`` becoming ``Ynys MÃ´n``), so that they no longer match the evaluation
file or each other.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, Issue
from ..spec.loader import read_regular_file

MISSING = {"", "NA", "N/A", "NaN", "nan", "NULL", "null", "."}
SUFFIXES = (".csv", ".xlsx", ".parquet")
MAX_ROW_ERRORS = 10
UTF8_HINT = "save the file as UTF-8 (in Excel: Save As, 'CSV UTF-8')"


@dataclass
class Dataset:
    """A data file read into a frame, with the position of every row and cell.

    ``frame`` holds the file's columns; after checking, ``period`` (pandas Period) and
    ``t`` (its integer ordinal) are added. ``lines`` holds the line each row starts on;
    ``cells`` (CSV) the line and character column of each of its cells.
    """

    frame: pd.DataFrame
    file: str
    path: Path
    sha256: str
    lines: np.ndarray | None = None
    cols: dict[str, int] = field(default_factory=dict)
    cells: Sequence[list[tuple[int, int]]] | None = None
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
            if self.cells is not None and col_no < len(self.cells[row]):
                line, col = self.cells[row][col_no]
        return line, col, f"line {line}"

    def issue(self, row: int, column: str | None, message: str, hint: str | None = None,
              level: str = "error") -> Issue:
        """An issue at a cell of the file (a file without lines names the row in the message)."""
        line, col, label = self.where(row, column)
        if line is None:
            message = f"{label if self.kind != 'frame' else f'row {row} (iloc)'}: {message}"
        return Issue(message, column or "", self.file, line, col, hint, level)  # type: ignore[arg-type]


def _decode(raw: bytes, file: str) -> str:
    """The text of a UTF-8 file, or a :class:`DataError` naming every line that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    issues: list[Issue] = []
    bad = 0
    for n, line in enumerate(raw.splitlines(), start=1):
        body = line[3:] if n == 1 and line.startswith(b"\xef\xbb\xbf") else line
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad += 1
            if len(issues) < MAX_ROW_ERRORS:
                col = len(body[:exc.start].decode("utf-8", errors="replace")) + 1
                issues.append(Issue(f"this line is not UTF-8 text (byte 0x{body[exc.start]:02X})", file=file,
                                    line=n, col=col, hint=UTF8_HINT))
    if bad > len(issues):
        issues.append(Issue(f"... and {bad - len(issues)} more lines that are not UTF-8", file=file,
                            count=bad - len(issues)))
    raise DataError(issues)


def _cell_starts(record: str, delim: str, line: int) -> list[tuple[int, int]]:
    """Line and character column where each cell of one CSV record starts.

    Follows the ``csv`` module's reading of the excel dialect: a cell that starts with a
    quote runs to the closing quote (doubled quotes and line breaks inside it are text).
    """
    starts = [(line, 1)]
    col, state = 1, "start"
    for i, c in enumerate(record):
        if state == "quoted":
            if c == '"':
                state = "closed"
        elif state == "start" and c == '"':
            state = "quoted"
        elif state == "closed" and c == '"':
            state = "quoted"
        elif c == delim:
            starts.append((line, col + 1))
            state = "start"
        elif c in "\r\n":
            break
        else:
            state = "field"
        if c == "\n" or (c == "\r" and record[i + 1:i + 2] != "\n"):
            line, col = line + 1, 1
        else:
            col += 1
    return starts


class CellStarts(Sequence[list[tuple[int, int]]]):
    """The cell positions of every data row, worked out for a row when a message needs them
    (the character scan is most of the time a valid file takes to read)."""

    def __init__(self, physical: list[str], spans: list[tuple[int, int]], delim: str) -> None:
        self._physical, self._spans, self._delim = physical, spans, delim
        self._done: dict[int, list[tuple[int, int]]] = {}

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, row: int) -> list[tuple[int, int]]:  # type: ignore[override]
        if row not in self._done:
            first, last = self._spans[row]
            self._done[row] = _cell_starts("".join(self._physical[first - 1:last]), self._delim, first)
        return self._done[row]


def _read_csv(raw: bytes, file: str) -> tuple[pd.DataFrame, np.ndarray, CellStarts]:
    text = _decode(raw, file)
    try:
        dialect = csv.Sniffer().sniff(text[:20_000], delimiters=",;\t")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    physical = io.StringIO(text, newline="").readlines()  # the lines as the reader sees them
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[list[str]] = []
    lines: list[int] = []
    spans: list[tuple[int, int]] = []
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
            spans.append((line, reader.line_num))
    except csv.Error as exc:
        raise DataError([Issue(f"cannot read the CSV file: {exc}", file=file, line=reader.line_num)]) from None
    if header is None:
        raise DataError([Issue("the file is empty (no header row)", file=file, line=1)])
    _check_header(header, file)
    width = len(header)
    bad = [(i, len(r)) for i, r in enumerate(rows) if len(r) != width]
    if bad:
        issues = [
            Issue(f"this row has {n} fields but the header has {width}", file=file, line=lines[i],
                  hint="check for a stray delimiter or a missing value")
            for i, n in bad[:MAX_ROW_ERRORS]
        ]
        if len(bad) > MAX_ROW_ERRORS:
            issues.append(Issue(f"... and {len(bad) - MAX_ROW_ERRORS} more rows with the wrong number of fields",
                                file=file, count=len(bad) - MAX_ROW_ERRORS))
        raise DataError(issues)
    nan = np.nan  # cells stripped, and the usual spellings of a missing value read as missing
    cleaned = [[nan if (v := c.strip()) in MISSING else v for c in r] for r in rows]
    frame = pd.DataFrame(cleaned, columns=header, dtype=object)
    return frame, np.asarray(lines, dtype=np.int64), CellStarts(physical, spans, delim)


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
        raw = read_regular_file(path)
    except FileNotFoundError:
        raise DataError([Issue("data file not found", file=display,
                               hint="data.path is relative to the evaluation file")]) from None
    except ValueError as exc:  # a NUL byte in the name (the Python API)
        raise DataError([Issue(f"cannot read the data file: {exc}", file=display)]) from None
    except OSError as exc:
        raise DataError([Issue(f"cannot read the data file: {exc.strerror or exc}", file=display)]) from None
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
    frame = plain_missing(frame.reset_index(drop=True))
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
    frame = plain_missing(frame)
    return Dataset(frame, name, Path(name), digest, None, {c: i for i, c in enumerate(frame.columns)}, None, "frame")


def plain_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns whose missing value is pandas' ``<NA>`` (nullable ``Int64``, ``boolean``,
    ``string``, Arrow types) as objects with ``NaN`` for missing, as every other reader gives.

    ``<NA>`` cannot be compared (``bool(pd.NA)`` raises), so the checks would trip on it.
    Other columns are left as they are (dates keep their type; ``NaT`` is missing).
    """
    out = frame
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if getattr(s.dtype, "na_value", None) is pd.NA:
            if out is frame:
                out = frame.copy()
            out.isetitem(i, s.astype(object).where(s.notna(), np.nan).to_numpy())
    return out
