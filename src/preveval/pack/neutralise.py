"""Make text from the evaluation file and its data harmless in every output.

Text that comes from the user (names, labels, descriptions, claims, unit names, cost items)
reaches four kinds of output, and each needs its own treatment:

* **everywhere**: control characters (C0 except tab and newline, DEL, C1) and the Unicode
  bidirectional overrides are shown as visible escapes (``\\x1b``, ``\\u202e``), so that
  no terminal escape sequence, carriage return or "Trojan Source" reordering survives
  (:func:`escape_controls`);
* **the terminal** (what the CLI prints): tab and newline are escaped too, so one message
  stays one line (:func:`terminal_text`);
* **Markdown** (report.md): the characters that make links, images, emphasis, raw HTML,
  tables and code are backslash-escaped, line breaks become spaces (as they do in the
  HTML page) and a leading block marker (``#``, ``>``, ``-``, ``+``, ``1.``) is escaped,
  so user text can neither add a heading nor a link (:func:`md_inline`, :func:`md_block`).
  HTML entities are never used: Markdown is plain text, ``<`` is written ``\\<``;
* **CSV** (tables/*.csv): a text cell that a spreadsheet would read as a formula (it
  starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return, or their full-width
  forms) gets a leading single quote, as OWASP recommends; cells that are numbers, and text
  that is just a number such as ``-0.5``, are left alone (:func:`csv_cell`,
  :func:`neutralise_frame`). Quoting of separators and embedded quotes is left to the CSV
  writer (pandas, ``csv.QUOTE_MINIMAL``).

HTML needs no function here: jinja2 autoescapes every value and the environment's
``finalize`` hook passes each one through :func:`escape_controls` (see ``render.py``).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["csv_cell", "escape_controls", "md_block", "md_inline", "neutralise_frame", "terminal_text"]

# C0 controls except tab and newline, DEL, C1 controls; Unicode bidi marks and overrides
# (U+061C, U+200E/F, U+202A-E, U+2066-9) and the line/paragraph separators U+2028/9.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_CONTROL_RE = re.compile(f"[{_CONTROLS}]")
_CONTROL_OR_WS_RE = re.compile(f"[{_CONTROLS}\t\n]")


def _visible(ch: str) -> str:
    code = ord(ch)
    return {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(ch) or (
        f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_controls(text: str) -> str:
    """Show control and bidi-override characters as escapes; keep tab and newline."""
    return _CONTROL_RE.sub(lambda m: _visible(m.group()), str(text))


def terminal_text(text: str) -> str:
    """Text safe to print on a terminal on one line: every control character escaped."""
    return _CONTROL_OR_WS_RE.sub(lambda m: _visible(m.group()), str(text))


# Markdown: backslash before what opens code, emphasis, strikethrough, links and images,
# raw HTML and autolinks, tables; "\" itself. An underscore is escaped only where it could
# open or close emphasis (not inside a word: snake_case stays readable).
_MD_INLINE_RE = re.compile(r"[\\`*\[\]<>|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|&(?=#?[0-9A-Za-z]+;)")
_MD_SPACE_RE = re.compile(r"[ \t]*\n[ \t\n]*")
_MD_BLOCK_RE = re.compile(r"^(#|[-+](?=[\s\-+]|$)|=+\s*$|\d{1,9}(?=[.)](\s|$)))")


def md_inline(text: str) -> str:
    """User text inside a Markdown line (table cell, emphasis, alt text)."""
    one_line = _MD_SPACE_RE.sub(" ", escape_controls(text))
    return _MD_INLINE_RE.sub(lambda m: "\\" + m.group(), one_line.replace("\t", " "))


def md_block(text: str) -> str:
    """User text that starts a Markdown line (paragraph, list item, heading)."""
    out = md_inline(text).lstrip(" ")
    m = _MD_BLOCK_RE.match(out)
    if m is None:
        return out
    if m.group().isdigit():  # "1." or "1)" would start an ordered list
        n = m.end()
        return out[:n] + "\\" + out[n:]
    return "\\" + out


# CSV: OWASP's formula triggers, with the full-width forms some spreadsheets also accept.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """A cell as it may go into a CSV file: formula-like text made inert, numbers untouched."""
    if not isinstance(value, str):
        return value
    text = escape_controls(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER_RE.fullmatch(text):
        return "'" + text
    return text


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names pass :func:`csv_cell`.

    Numeric and boolean columns are returned as they are, so a negative number is written
    as a number; only object and string columns are looked at, cell by cell.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(csv_cell).astype(object)
    out.columns = [csv_cell(str(c)) for c in out.columns]
    return out
