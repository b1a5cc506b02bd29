"""Generate the SYNTHETIC panel for the community safety hubs evaluation.

Writes ``data/hubs.csv``: quarterly antisocial-behaviour (ASB) incidents reported to the
police and the council in 20 council areas, 2011Q1 to 2019Q4 (36 quarters, 720 rows), with
KNOWN TRUE EFFECTS of the hubs (opening in 12 areas between 2014 and 2017) and of a rival
explanation: a police enforcement campaign through 2016 in 8 areas, some with hubs and some
without.

The figures are made up. The area names are invented; the populations, counts, opening
dates and campaign are shaped to look like Scottish council data (about 45 ASB incidents per
1,000 people a year, a summer peak, a slow downward trend, overdispersion), but they are
NOT real figures and must not be quoted as such.

Run ``python generate.py`` from anywhere (paths are relative to this file). The script is
seeded: running it twice writes byte-identical files. Only numpy and pandas are needed.

Data-generating process (area a, quarter t; effects multiplicative on the expected count):

    mu[a,t] = population[a,t] / 1000 * BASE_RATE * exp(u[a]) * exp(TREND * years since 2011Q1)
              * season[quarter of year] * shock[t]
              * exp(hub_log_effect(k[a,t]))          k = quarters since the hub opened (0 = first)
              * RR_CAMPAIGN ** campaign[a,t]
    asb_incidents[a,t] ~ Poisson(mu[a,t] * g),  g ~ Gamma(shape=1/ALPHA, scale=ALPHA)   (NB2)

    hub_log_effect(k) = max(HUB_START + HUB_SLOPE * k, HUB_CAP) for k >= 0, 0 before opening:
    -4% in the first quarter, growing by 2 points a quarter to -20% after two years.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2024
HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "hubs.csv"

# ------------------------------------------------------------------ the true effects
HUB_START, HUB_SLOPE, HUB_CAP = -0.04, -0.02, -0.20  # log rate ratio by quarters since opening
RR_CAMPAIGN = 0.92  # enforcement campaign quarters (2016Q1-2016Q4) in 8 areas
CAMPAIGN_QUARTERS = ("2016Q1", "2016Q4")

# ----------------------------------------------------------- background of the series
START, END = "2011Q1", "2019Q4"
BASE_RATE = 12.0  # expected incidents per 1,000 population per quarter in 2011 (before effects)
TREND = -0.02  # log change per year
AREA_SD = 0.22  # sd of the area effect (log scale)
SHOCK_SD = 0.03  # national quarterly shock (log scale)
ALPHA = 0.01  # NB2 dispersion: Var = mu + ALPHA mu^2 (sd about 10% of the mean for 1,000+ counts)
SEASON = {1: -0.10, 2: 0.02, 3: 0.12, 4: -0.04}  # log factors by quarter of year (summer peak)

# area: (population in 2011, hub opening quarter or None, enforcement campaign in 2016)
AREAS = {
    "Abermouth": (148_000, "2014Q2", True),
    "Ballinross": (92_000, "2014Q2", False),
    "Carrick Vale": (310_000, "2014Q2", False),
    "Dunmere": (71_000, "2015Q1", True),
    "Eastholm": (205_000, "2015Q1", False),
    "Fairlie Moss": (118_000, "2015Q1", False),
    "Glenarden": (264_000, "2016Q1", True),
    "Harrowfield": (87_000, "2016Q1", False),
    "Inverleith Braes": (156_000, "2016Q1", False),
    "Kelso Muir": (63_000, "2017Q1", True),
    "Lochanside": (182_000, "2017Q1", False),
    "Millbrae": (129_000, "2017Q1", False),
    "Northgate": (395_000, None, True),
    "Ormiston": (104_000, None, True),
    "Portree Sound": (58_000, None, False),
    "Quarrywood": (141_000, None, True),
    "Riverslea": (226_000, None, True),
    "Strathallan": (97_000, None, False),
    "Tayview": (171_000, None, False),
    "Westerhaugh": (83_000, None, False),
}


def hub_log_effect(k: np.ndarray) -> np.ndarray:
    """Log rate ratio of a hub k quarters after it opened (k < 0: not open yet)."""
    return np.where(k >= 0, np.maximum(HUB_START + HUB_SLOPE * k, HUB_CAP), 0.0)


def build() -> tuple[pd.DataFrame, dict[str, float]]:
    rng = np.random.default_rng(SEED)
    quarters = pd.period_range(START, END, freq="Q")
    T = len(quarters)
    years = np.arange(T) / 4.0
    shock = rng.normal(0.0, SHOCK_SD, T)
    season = np.array([SEASON[q.quarter] for q in quarters])
    camp_from, camp_to = (pd.Period(q, "Q") for q in CAMPAIGN_QUARTERS)
    rows, truth_mu1, truth_mu0, truth_pop = [], [], [], []
    for name, (pop0, opening, campaign_area) in AREAS.items():
        u = rng.normal(0.0, AREA_SD)
        growth = rng.uniform(-0.002, 0.008)  # yearly population growth
        pop = np.round(pop0 * np.exp(growth * years), -1)
        k = (np.array([(q - pd.Period(opening, "Q")).n for q in quarters]) if opening else np.full(T, -1))
        active = (k >= 0).astype(int)
        camp = np.array([(camp_from <= q <= camp_to) and campaign_area for q in quarters], dtype=int)
        mu0 = pop / 1000 * BASE_RATE * np.exp(u + TREND * years + season + shock) * RR_CAMPAIGN ** camp
        mu = mu0 * np.exp(hub_log_effect(k))
        g = rng.gamma(1 / ALPHA, ALPHA, T)
        y = rng.poisson(mu * g)
        for j, q in enumerate(quarters):
            rows.append({"area": name, "quarter": str(q), "population": int(pop[j]), "asb_incidents": int(y[j]),
                         "asb_rate": round(1000 * y[j] / pop[j], 3), "first_treated": opening or "",
                         "hub_active": int(active[j]), "campaign": int(camp[j])})
        on = active == 1
        truth_mu1.append(mu[on])
        truth_mu0.append(mu0[on])
        truth_pop.append(pop[on])
    df = pd.DataFrame(rows)
    mu1, mu0, popt = (np.concatenate(v) for v in (truth_mu1, truth_mu0, truth_pop))
    truth = {
        "treated area-quarters": float(len(mu1)),
        "expected incidents without hubs (treated area-quarters)": float(mu0.sum()),
        "expected incidents with hubs (treated area-quarters)": float(mu1.sum()),
        "expected incidents prevented": float(mu0.sum() - mu1.sum()),
        "overall rate ratio (expected with / without)": float(mu1.sum() / mu0.sum()),
        "ATT, incidents per 1,000 population per quarter": float(np.mean(1000 * (mu1 - mu0) / popt)),
    }
    return df, truth


def main() -> None:
    df, truth = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT, index=False, lineterminator="\n")
    print(f"wrote {OUT.relative_to(HERE)}: {len(df)} rows")
    for k, v in truth.items():
        print(f"  {k}: {v:,.4f}")


if __name__ == "__main__":
    main()
