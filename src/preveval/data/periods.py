"""Parsing periods for every frequency.

Accepted forms (case-insensitive, surrounding spaces ignored):

========  ===============================================================
day       2005-01-31, 2005/01/31, 31/01/2005, dates and timestamps
week      2005-W03, 2005W03 (ISO weeks, Monday to Sunday), or any date in the week
month     2005-01, 2005-1, 2005/01, 2005M01, 2005m1, Jan 2005, or any date in the month
quarter   2005Q1, 2005-Q1, 2005 Q1, Q1 2005, or any date or month in the quarter
year      2005, 2005.0, or any date in the year
========  ===============================================================

Values become :class:`pandas.Period` objects; their integer ``ordinal`` is the time index
used by the methods (consecutive periods differ by one).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd

FREQUENCIES: dict[str, str] = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q-DEC", "year": "Y-DEC"}

EXAMPLES = {
    "day": "2005-01-31",
    "week": "2005-W03",
    "month": "2005-01",
    "quarter": "2005Q1",
    "year": "2005",
}

_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})(?:-?(\d))?$", re.I)
_YEAR_MONTH = re.compile(r"^(\d{4})(?:[-/.]|M)(\d{1,2})$", re.I)
_MONTH_YEAR = re.compile(r"^(\d{1,2})[-/.](\d{4})$")
_QUARTER = re.compile(r"^(\d{4})[- ]?Q([1-4])$|^Q([1-4])[- ]?(\d{4})$", re.I)
_YEAR = re.compile(r"^(\d{4})(?:\.0+)?$")
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _from_date(d: dt.date, freq: str) -> pd.Period:
    return pd.Period(d, freq=FREQUENCIES[freq])


def parse_period(value: Any, freq: str) -> pd.Period | None:
    """Parse one value as a period of frequency ``freq``; ``None`` when it cannot be read.

    Missing values (``None``, ``NaN``, ``NaT``, ``<NA>``) give ``None``.
    """
    code = FREQUENCIES[freq]
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Period):
        try:
            return value.asfreq(code, how="start") if value.freqstr != code else value
        except (ValueError, TypeError):
            return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        try:
            p = _from_date(value, freq)
        except (ValueError, TypeError, OverflowError):
            return None
        return None if p is pd.NaT else p
    if isinstance(value, float):
        if not value.is_integer():  # NaN and inf too
            return None
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return _parse_text(text, freq)
    except (ValueError, OverflowError):
        return None


def _parse_text(text: str, freq: str) -> pd.Period | None:
    if m := _DATE.match(text):
        return _from_date(dt.date(int(m[1]), int(m[2]), int(m[3])), freq)
    if m := _DMY.match(text):
        return _from_date(dt.date(int(m[3]), int(m[2]), int(m[1])), freq)
    if freq == "day":
        return None
    if m := _ISO_WEEK.match(text):
        if freq != "week":
            return None
        return _from_date(dt.date.fromisocalendar(int(m[1]), int(m[2]), int(m[3] or 1)), freq)
    if freq == "week":
        return None
    if m := _QUARTER.match(text):
        if freq not in ("quarter", "year"):
            return None
        year, q = (m[1], m[2]) if m[1] else (m[4], m[3])
        return pd.Period(f"{year}Q{q}", freq="Q-DEC").asfreq(FREQUENCIES[freq])
    if (m := _YEAR_MONTH.match(text)) or (m := _MONTH_YEAR.match(text)):
        year, month = (m[1], m[2]) if len(m[1]) == 4 else (m[2], m[1])
        return _from_date(dt.date(int(year), int(month), 1), freq)
    if m := _YEAR.match(text):
        return pd.Period(year=int(m[1]), freq=FREQUENCIES["year"]).asfreq(FREQUENCIES[freq], how="start") if freq == "year" else None
    if freq == "month" and re.match(r"^[A-Za-z]{3,9}[ -]\d{4}$", text):
        name, year = text.replace("-", " ").split()
        month = dt.datetime.strptime(name[:3].title(), "%b").month
        return _from_date(dt.date(int(year), month, 1), freq)
    return None


def parse_periods(values: pd.Series, freq: str) -> tuple[pd.Series, list[int], np.ndarray]:
    """Parse a column: the periods (object Series, None where a cell failed), the positions
    that failed, and the periods' ordinals (float, NaN where a cell failed).

    Each distinct value is parsed once: the column is factorised (missing values are failures)
    when its cells are all of one type; a column of mixed types (``2019`` beside ``"2019"``,
    which factorising would merge) goes cell by cell with the same cache.
    """
    if values.dtype != object or len({type(v) for v in values.tolist()}) <= 1:
        try:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        except TypeError:  # cells that cannot be hashed (lists): cell by cell
            pass
        else:
            parsed = np.empty(len(uniques) + 1, dtype=object)  # the last slot: missing (code -1)
            parsed[:-1] = [parse_period(u, freq) for u in uniques.tolist()]
            return _parsed(parsed[codes], _ordinals(parsed)[codes], values.index)
    return _parse_cells(values, freq)


def _ordinals(periods: np.ndarray) -> np.ndarray:
    return np.array([np.nan if p is None else p.ordinal for p in periods], dtype=np.float64)


def _parsed(out: np.ndarray, ordinals: np.ndarray, index: pd.Index) -> tuple[pd.Series, list[int], np.ndarray]:
    return pd.Series(out, index=index, dtype=object), np.flatnonzero(np.isnan(ordinals)).tolist(), ordinals


def _parse_cells(values: pd.Series, freq: str) -> tuple[pd.Series, list[int], np.ndarray]:
    cache: dict[Any, pd.Period | None] = {}
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist()):
        missing = v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and v != v)
        key = ("nan", None) if missing else (type(v).__name__, v)
        try:
            if key not in cache:
                cache[key] = None if missing else parse_period(v, freq)
            out[i] = cache[key]
        except TypeError:  # a cell that cannot be hashed (a list): not a period
            out[i] = None
    return _parsed(out, _ordinals(out), values.index)


_PER_YEAR = {"D": 365.25, "W": 52.1775, "M": 12.0, "Q": 4.0, "Y": 1.0, "A": 1.0}


def periods_per_year(periods: pd.Series) -> float:
    """Number of periods in a year for a column of pandas Periods (12 for months)."""
    first = periods.iloc[0]
    code = str(getattr(first, "freqstr", "M")).upper()
    code = code.split("-")[0].lstrip("0123456789")
    for key in ("ME", "QE", "YE"):
        if code.startswith(key):
            code = key[0]
    return _PER_YEAR.get(code[:1], 12.0)


_WORDS = {365.25: "day", 52.1775: "week", 12.0: "month", 4.0: "quarter", 1.0: "year"}


def period_word(ppy: float) -> str:
    """The period as a word (month for 12 periods a year)."""
    return _WORDS.get(ppy, "period")
