r"""Synthetic-control power through the placebo distribution: each donor treated in turn.

A synthetic control's inference rests on the treated area being exchangeable with its donors
when there is no effect. Its power is therefore read from the donors themselves (Abadie,
Diamond & Hainmueller 2010, section 3.3; Abadie 2021, *J Econ Lit* 59(2), section 8): in
simulation :math:`s` donor :math:`j = s` plays the treated area, the real treated area is
left out (its post period may hold the real effect), the effect :math:`d\,m` is added to the
donor's post-period outcome (per ``rate_per`` of the exposure with an offset), and the
declared estimator is fitted with the other donors and its own inference (placebo test or
sdid standard error). Power at :math:`m` is the share of donors whose analysis detects it.

There are as many simulations as donors, no more (the plan says how many), and no extra
post-period years: the post period is the data's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from preveval.results.base import Estimate
from preveval.spec.models import SynthAnalysis

__all__ = ["SynthPlaceboSimulator"]


@dataclass
class SynthPlaceboSimulator:
    """A synthetic-control analysis planned through its donors (picklable)."""

    analysis: SynthAnalysis
    frame: pd.DataFrame = field(repr=False)
    unit: str
    outcome: str
    freq: str
    count: bool
    start: int
    donors: tuple[str, ...]
    max_extra: int = 0

    supports_extra = False

    @property
    def max_simulations(self) -> int:
        """One simulation per donor."""
        return len(self.donors)

    def noise_for(self, sim: int, rng: np.random.Generator, extra: int) -> dict[str, Any]:
        """Nothing random: simulation ``sim`` is donor number ``sim``."""
        return {"donor": self.donors[sim % len(self.donors)]}

    def draw(self, noise: dict[str, Any], effect: float, extra: int) -> tuple[SynthAnalysis, pd.DataFrame]:
        """The analysis with the noise's donor treated and the panel with the effect in its post period."""
        donor = str(noise["donor"])
        keep = self.frame[self.unit].astype(str).isin(self.donors)
        f = self.frame.loc[keep].copy()
        rows = (f[self.unit].astype(str) == donor).to_numpy() & (f["t"].to_numpy() >= self.start)
        add = effect * (f[self.analysis.offset].to_numpy(dtype=float) / self.analysis.rate_per
                        if self.analysis.offset else 1.0)
        y = f[self.outcome].to_numpy(dtype=float)
        f[self.outcome] = np.where(rows, y + add, y)
        others = tuple(d for d in self.donors if d != donor)
        return self.analysis.model_copy(update={"treated": donor, "donors": others}), f

    def fit(self, data: tuple[SynthAnalysis, pd.DataFrame]) -> Estimate:
        """The declared estimator on the panel with the donor treated."""
        from preveval.methods.synth import fit_synthetic_control

        a, f = data
        return fit_synthetic_control(a, f, outcome=self.outcome, unit=self.unit, freq=self.freq,
                                     count=self.count).effect

    def describe(self) -> str:
        """The simulation model in words."""
        return (f"the placebo distribution: each of the {len(self.donors)} donors in turn plays the treated area "
                "(the real one left out) with the effect added to its post period, and is fitted by the declared "
                "estimator with the other donors and its own inference")
