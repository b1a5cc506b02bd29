"""Every frequency, end to end: periods written as users write them, an ITS, a complete pack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import preveval as pv
from support import SHARED

CASES = [("day", 730, 7.0), ("week", 156, 52.18), ("month", 60, 12.0), ("quarter", 40, 4.0), ("year", 20, None)]
CODES = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q-DEC", "year": "Y-DEC"}


def _labels(periods: pd.PeriodIndex, freq: str) -> list[str]:
    if freq == "week":  # ISO weeks, as 2018-W05
        return [f"{p.start_time.isocalendar()[0]}-W{p.start_time.isocalendar()[1]:02d}" for p in periods]
    return [str(p) for p in periods]


@pytest.mark.parametrize(("freq", "n", "season"), CASES, ids=[c[0] for c in CASES])
def test_its_pack_for_every_frequency(freq: str, n: int, season: float | None, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    periods = pd.period_range("2001-01-01", periods=n, freq=CODES[freq])
    y = rng.poisson(30 * np.exp(-0.2 * (np.arange(n) >= n // 2)))
    labels = _labels(periods, freq)
    analysis: dict[str, object] = {"id": "a", "method": "its", "indicator": "y", "intervention": labels[n // 2],
                                   "sensitivity": freq in ("month", "quarter")}
    if season:
        analysis["seasonality"] = {"type": "fourier", "period": season, "harmonics": 1}
    spec = {"schema_version": 1, "initiative": {"id": "x", "name": "X"},
            "indicators": [{"id": "y", "label": "Events", "column": "y"}],
            "data": {"time": "time", "frequency": freq}, "analyses": [analysis]}
    res = pv.from_dict(spec, pd.DataFrame({"time": labels, "y": y})).run()
    pack = res.write_pack(tmp_path / "pack")
    proc = subprocess.run([sys.executable, str(SHARED / "tools" / "check-pack"), str(pack)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
    e = res.analyses["a"].effect
    assert res.analyses["a"].n_obs == n
    assert e.term == "level_change" and e.estimate < 0
    assert e.ci_low is not None and e.ci_high is not None and e.ci_low < e.estimate < e.ci_high
    assert len(res.analyses["a"].series) == n
