r"""Simulated panels from the pre-period's own residual paths (DiD, event study, staggered).

Burlig, Preonas & Woerman (2020, *J Dev Econ* 144:102458) show that power formulas which
assume independent errors mislead with panel data, and that power is better simulated from
the data's own residuals. Here the periods before anyone is treated are decomposed, on the
outcome's scale (a rate per unit of exposure when the analysis has an offset),

.. math::

    r_{is} = \alpha_i + \gamma_s + e_{is},

and each simulated panel rebuilds every period :math:`t` of the data (and any extra
post-period periods) from whole **blocks** of a unit's residual path: blocks of one year
(``periods per year`` periods, aligned to the season) when the pre-period holds two years or
more, else single periods. Every unit draws its own blocks (clusters stay independent,
serial correlation within a block is kept, as in the cluster block bootstrap); with
``common_blocks`` all units draw the same blocks instead (a block bootstrap over time), keeping
their co-movement: shocks that the treated areas share and the comparison areas do not, which
the period effects do not absorb and which make the DiD estimate noisier than independent
areas would (synthetic controls are planned from their placebo distribution instead,
:mod:`preveval.plan.synth_sim`).

Which of the two is used (``shocks: auto``) is read off the pre-period: with :math:`\bar e_{Tb}`
and :math:`\bar e_{Cb}` the treated and comparison units' mean residual in block :math:`b`,
the variance of :math:`D_b = \bar e_{Tb} - \bar e_{Cb}` over the :math:`J` blocks is compared
with what independent units imply, :math:`V_0 = \overline{s^2_T}/n_T + \overline{s^2_C}/n_C`
(:math:`s^2_i` the variance of unit :math:`i`'s block means). Under independence
:math:`(J-1)\,\widehat{\mathrm{Var}}(D)/V_0` is about :math:`\chi^2_{J-1}`; shared shocks are
used when the ratio exceeds its 95% point and :math:`J \ge 5` (fewer blocks give too few
distinct simulated panels for a bootstrap over time):

.. math::

    r^*_{it} = \alpha_i + \bar\gamma_{\phi(t)} + c\, e_{i, b_i(t)}, \qquad
    y^*_{it} = r^*_{it} E_{it}

(:math:`\bar\gamma_\phi` the mean period effect of the season, or the drawn period's own
:math:`\gamma` under common blocks; the block means of the residuals are scaled by
:math:`c = \sqrt{J/(J-1)}`, which undoes the shrinkage of resampling :math:`J` blocks whose
means sum to zero, and the deviations within a block are kept as they are). The effect is added to the treated cells of the declared design
on the analysis' scale: a rate ratio :math:`e^{dm}` for Poisson models, otherwise
:math:`d m` in the outcome's units (per ``rate_per`` of the exposure with an offset).
Simulated counts are not whole numbers; the estimators do not need them to be.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from preveval.results.base import Estimate

__all__ = ["PanelSimulator", "extend_panel"]


def extend_panel(frame: pd.DataFrame, unit: str, time_col: str, extra: int) -> pd.DataFrame:
    """The panel with ``extra`` more periods per unit, each a copy of the unit's last row."""
    if extra <= 0:
        return frame
    f = frame.sort_values([unit, "t"], kind="stable")
    last = f.groupby(unit, sort=False).tail(1)
    rows = []
    for k in range(1, extra + 1):
        r = last.copy()
        r["t"] = r["t"] + k
        r["period"] = [p + k for p in r["period"]]
        r[time_col] = [str(p) for p in r["period"]]
        rows.append(r)
    return pd.concat([f, *rows], ignore_index=True)


@dataclass
class PanelSimulator:
    """A panel analysis made ready for simulation (picklable)."""

    frame: pd.DataFrame = field(repr=False)
    unit: str
    time_col: str
    outcome: str
    offset: str | None
    rate_per: float | None
    log_effect: bool
    treated: Callable[[pd.DataFrame], np.ndarray]
    fitter: Callable[[pd.DataFrame], Estimate]
    t_first: int
    ppy: int
    common_blocks: bool
    nonnegative: bool
    units: list[str] = field(default_factory=list)
    alpha: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    gamma: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    resid: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    t_min: int = 0
    block: int = 1
    n_blocks: int = 1
    #: the longest extra post period simulated (the draws are made for it)
    max_extra: int = 0
    #: the last period with data, when placeholder rows follow it (before any post-period data)
    observed_last: int | None = None
    _learn_to: int = 0
    _cache: dict[int, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        f = self.frame
        self._learn_to = self.t_first if self.observed_last is None else min(self.t_first, self.observed_last + 1)
        pre = f[f["t"] < self._learn_to]
        rate = self._rate(pre)
        wide = pd.DataFrame({"u": pre[self.unit].astype(str).to_numpy(), "t": pre["t"].to_numpy(), "r": rate})
        wide = wide.pivot_table(index="u", columns="t", values="r", aggfunc="mean", sort=True)
        self.units = [str(u) for u in wide.index]
        self.t_min = int(wide.columns.min())
        n_pre = int(self._learn_to - self.t_min)
        wide = wide.reindex(columns=range(self.t_min, self._learn_to))
        R = wide.to_numpy(dtype=float)
        if np.isnan(R).all(axis=1).any():
            raise ValueError("a unit has no pre-period values")
        # two-way decomposition with missing cells (alternating means)
        a = np.nanmean(R, axis=1)
        g = np.zeros(n_pre)
        for _ in range(50):
            g_new = np.nanmean(R - a[:, None], axis=0)
            g_new = np.where(np.isnan(g_new), 0.0, g_new)
            g_new -= g_new.mean()
            a_new = np.nanmean(R - g_new[None, :], axis=1)
            done = np.allclose(g_new, g) and np.allclose(a_new, a)
            a, g = a_new, g_new
            if done:
                break
        self.alpha, self.gamma = a, g
        self.block = self.ppy if n_pre >= 2 * self.ppy else 1
        self.n_blocks = max(n_pre // self.block, 1)
        E = R - a[:, None] - g[None, :]
        E = E[:, : self.n_blocks * self.block]
        E = np.where(np.isnan(E), 0.0, E)
        c = np.sqrt(self.n_blocks / (self.n_blocks - 1)) if self.n_blocks > 1 else 1.0
        blocks = E.reshape(len(a), self.n_blocks, self.block)
        means = blocks.mean(axis=2, keepdims=True)
        # only the block means are shrunk by resampling J of them: scale them, not the
        # deviations within a block
        self.resid = (blocks - means + c * means).reshape(len(a), -1)

    def comovement(self, treated_units: set[str]) -> tuple[float | None, bool]:
        r"""The pre-period's variance ratio of treated-minus-comparison shocks, and whether it is beyond chance.

        ``(ratio, significant)``: ``ratio`` is :math:`\widehat{\mathrm{Var}}(D)/V_0` (module
        docstring), None when it cannot be computed (fewer than 3 blocks, or no treated or no
        comparison unit); ``significant`` is True when it exceeds the 95% point of
        :math:`\chi^2_{J-1}/(J-1)` and there are at least 5 blocks.
        """
        from scipy import special

        J = self.n_blocks
        is_t = np.array([u in treated_units for u in self.units])
        if J < 3 or is_t.all() or not is_t.any():
            return None, False
        means = self.resid.reshape(len(self.units), J, self.block).mean(axis=2)
        d = means[is_t].mean(axis=0) - means[~is_t].mean(axis=0)
        s2 = means.var(axis=1, ddof=1)
        v0 = float(s2[is_t].mean() / is_t.sum() + s2[~is_t].mean() / (~is_t).sum())
        if not v0 > 0:
            return None, False
        ratio = float(d.var(ddof=1) / v0)
        crit = float(special.chdtri(J - 1, 0.05)) / (J - 1)
        return ratio, bool(J >= 5 and ratio > crit)

    def _rate(self, rows: pd.DataFrame) -> np.ndarray:
        y = rows[self.outcome].to_numpy(dtype=float)
        return y / rows[self.offset].to_numpy(dtype=float) if self.offset else y

    @property
    def n_pre(self) -> int:
        """Periods learnt from: before the first treated period and with data."""
        return int(self._learn_to - self.t_min)

    def _horizon(self, extra: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if extra not in self._cache:
            f = extend_panel(self.frame, self.unit, self.time_col, extra).reset_index(drop=True)
            ui = pd.Index(self.units).get_indexer(pd.Index(f[self.unit].astype(str)))
            pos = f["t"].to_numpy(dtype=np.int64) - self.t_min
            exposure = f[self.offset].to_numpy(dtype=float) if self.offset else np.ones(len(f))
            dose = np.asarray(self.treated(f), dtype=float)
            self._cache[extra] = (f, ui, pos, exposure, dose)
        return self._cache[extra]

    def noise(self, rng: np.random.Generator, extra: int) -> dict[str, np.ndarray]:
        """The block draws of one simulation (common to every effect size)."""
        f, ui, pos, _, _ = self._horizon(extra)
        # drawn for the longest horizon, so that a longer post period keeps the same draws
        n_target = int((pos.max() + max(self.max_extra - extra, 0)) // self.block) + 1
        rows = 1 if self.common_blocks else len(self.units)
        blocks = rng.integers(0, self.n_blocks, size=(rows, n_target))
        return {"blocks": blocks}

    def draw(self, noise: dict[str, np.ndarray], effect: float, extra: int) -> pd.DataFrame:
        """The simulated panel with ``effect`` in the treated cells."""
        f, ui, pos, exposure, dose = self._horizon(extra)
        b = noise["blocks"]
        k, q = np.divmod(np.maximum(pos, 0), self.block)
        src = b[0 if self.common_blocks else ui, k] * self.block + q
        src = np.where(ui < 0, 0, src)
        uu = np.where(ui < 0, 0, ui)
        season = self.gamma[src] if self.common_blocks else self._season_mean()[q % len(self._season_mean())]
        r = self.alpha[uu] + season + self.resid[uu, src]
        if self.nonnegative:
            r = np.maximum(r, 0.0)
        y = r * exposure
        if self.log_effect:
            y = y * np.exp(effect * dose)
        else:
            y = y + effect * dose * (exposure / float(self.rate_per) if self.offset and self.rate_per else 1.0)
        out = f.copy()
        out[self.outcome] = np.where(ui < 0, f[self.outcome].to_numpy(dtype=float), y)
        return out

    def _season_mean(self) -> np.ndarray:
        if self.block == 1:
            return np.zeros(1)
        g = self.gamma[: self.n_blocks * self.block].reshape(self.n_blocks, self.block)
        return g.mean(axis=0)

    def fit(self, frame: pd.DataFrame) -> Estimate:
        """The declared analysis' headline estimate on a simulated panel."""
        return self.fitter(frame)

    def describe(self) -> str:
        """The simulation model in words."""
        unit = "year" if self.block == self.ppy and self.block > 1 else "period"
        how = ("all units drawing the same blocks (the shocks the areas share kept)" if self.common_blocks
               else "each unit drawing its own blocks (clusters independent)")
        return (f"panels rebuilt from the residual paths of the {len(self.units)} units in the {self.n_pre} periods "
                f"before the first treated period, in blocks of one {unit} ({self.n_blocks} blocks), {how}; "
                "unit and season effects kept; the effect is added to the declared design's treated cells and "
                "each panel is fitted by the declared analysis")
