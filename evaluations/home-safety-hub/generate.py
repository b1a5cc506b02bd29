"""Generate the SYNTHETIC data for the virtual home-safety hub evaluation.

Writes ``data/fires.csv``: monthly accidental dwelling fires, 2009-01 to 2019-12 (132
months), for six neighbouring rural council areas in long format (792 rows):

* Glenmorven: a virtual home-safety hub from 2013-10 (the treated area): fire and rescue,
  housing, the antisocial behaviour team, police and community care refer people at risk
  of a house fire to one hub, which arranges a home fire safety visit;
* Aberlor, Craigmhor, Dunbrae, Invercarron, Kilnaver: neighbouring areas without a hub.

The council names are invented and so are the numbers: they are NOT real fire statistics.
Run ``python generate.py`` (numpy and pandas only). Seeded: reruns are byte-identical.

Data-generating process (area a, month t; D = 1 in Glenmorven from 2013-10):

    fires[a,t] ~ NB2(mu[a,t], alpha = 0.15)        (variance mu + 0.15 mu^2)
    mu[a,t] = households[a,t] / 1000 * base[a] / 12 * exp(-0.025 * years since 2009)
              * season[month] * shock[t] * shock_a[a,t] * RR ** D[a,t]

with base[a] accidental dwelling fires per 1,000 households a year (about 1.0 to 1.6),
households growing by 0.4% to 0.9% a year, a winter peak (log amplitude 0.28 at
December-January, heating, candles and dark evenings), a common monthly shock (weather;
log-normal, sd 0.07), an area-month shock (sd 0.05) and the TRUE EFFECT RR = 0.80: 20%
fewer fires in Glenmorven once the hub runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 31
HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "fires.csv"

START, END = "2009-01", "2019-12"
LAUNCH = "2013-10"
TREATED = "Glenmorven"
RR = 0.80  # the true effect: rate ratio of accidental dwelling fires in Glenmorven from 2013-10
ALPHA = 0.15

# households in 2009, growth a year, fires per 1,000 households a year
AREAS = {
    TREATED: (21_500, 0.006, 1.45),
    "Aberlor": (18_200, 0.004, 1.30),
    "Craigmhor": (33_800, 0.009, 1.05),
    "Dunbrae": (14_600, 0.005, 1.60),
    "Invercarron": (26_900, 0.007, 1.20),
    "Kilnaver": (11_300, 0.004, 1.50),
}


def season(month: np.ndarray) -> np.ndarray:
    """Winter peak: December-January highest, summer lowest; mean 1 over the year."""
    f = np.exp(0.28 * np.cos(2 * np.pi * (month - 12.5) / 12))
    return f / f.mean()


def simulate(seed: int = SEED, rr: float = RR) -> tuple[pd.DataFrame, float]:
    """The panel and the true number of fires prevented in Glenmorven (expected, not drawn)."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range(START, END, freq="M")
    months = periods.month.to_numpy()
    years = np.arange(len(periods)) / 12.0
    shock = np.exp(rng.normal(0, 0.07, len(periods)))
    post = periods >= pd.Period(LAUNCH, "M")
    rows, prevented = [], 0.0
    for name, (h0, growth, base) in AREAS.items():
        households = np.round(h0 * (1 + growth) ** np.floor(years)).astype(int)
        mu0 = households / 1000 * base / 12 * np.exp(-0.025 * years) * season(months) * shock
        mu0 = mu0 * np.exp(rng.normal(0, 0.05, len(periods)))
        d = (post & (name == TREATED)).astype(int)
        mu = mu0 * rr ** d
        prevented += float(np.sum((mu0 - mu)[d == 1]))
        k = 1.0 / ALPHA
        fires = rng.negative_binomial(k, k / (k + mu))
        for i, p in enumerate(periods):
            rows.append({"area": name, "month": str(p), "fires": int(fires[i]), "households": int(households[i]),
                         "hub": int(d[i]), "first_treated": LAUNCH if name == TREATED else ""})
    return pd.DataFrame(rows), prevented


def main() -> None:
    frame, prevented = simulate()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False, lineterminator="\n")
    g = frame[frame["area"] == TREATED]
    print(f"wrote {OUT.relative_to(HERE)}: {len(frame)} rows, {frame['area'].nunique()} areas")
    print(f"fires a year, all areas: {frame['fires'].sum() / 11:.0f}; {TREATED}: {g['fires'].sum() / 11:.0f}")
    print(f"months with no fire: {(frame['fires'] == 0).mean():.0%}")
    print(f"TRUE EFFECT: rate ratio {RR} in {TREATED} from {LAUNCH}; expected fires prevented {prevented:.1f}")


if __name__ == "__main__":
    main()
