"""Generate the SYNTHETIC casualty panel for the pre-driver road safety day evaluation.

Writes ``data/casualties.csv``: monthly counts of drivers aged 17-25 killed or seriously
injured (KSI) in the 32 Scottish council areas, 2013-01 to 2022-12 (120 months, 3,840
rows), with a KNOWN TRUE EFFECT of the road safety day, a placebo outcome (drivers aged
60+) and two rival explanations (an enforcement campaign and black-spot road alterations).

The figures are made up. They are shaped to look like Scottish road casualty data (council
sizes, zero-heavy small councils, seasonality, a slow downward trend) but they are NOT real
casualty figures and must not be quoted as such.

Run ``python generate.py`` from this folder (or anywhere: paths are relative to this file).
The script is seeded: running it twice writes byte-identical CSVs. Only numpy and pandas
are needed.

Data-generating process (monthly, council c, month t; all effects multiplicative):

    mu_young[c,t] = pop_17_25[c,t] * base_rate * rural[c] * exp(u[c])
                    * exp(TREND_YOUNG * years since 2013-01)
                    * season[month of year] * shock[t]
                    * RR_DAY ** ramp[c,t]            (road safety day, ramps over 12 months)
                    * RR_ENFORCEMENT ** enforcement_campaign[t]
                    * RR_ROAD ** road_alterations[c,t]
    ksi_17_25[c,t] ~ Poisson(mu_young[c,t] * g),  g ~ Gamma(shape=1/ALPHA, scale=ALPHA)
                                                  (negative binomial NB2, dispersion ALPHA)

ksi_over_60 follows the same form with its own exposure (a hidden 60+ population), its own
trend and council effects correlated with the young-driver ones, and NO road safety day
term: it is a placebo outcome. The enforcement campaign and road alterations act on both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 150  # see README: chosen as a typical draw (not a lucky one) among seeds 1-200
HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "casualties.csv"

# ------------------------------------------------------------------ the true effects
RR_DAY = 0.85  # rate ratio of the road safety day on ksi_17_25, reached 12 months after start
RAMP_MONTHS = 12  # active month k (1, 2, ...) has rate ratio RR_DAY ** min(k / 12, 1)
RR_ENFORCEMENT = 0.95  # enforcement campaign month, all councils, both outcomes
RR_ROAD = 0.90  # black-spot road alterations, from their start, both outcomes
ALPHA = 0.15  # NB2 dispersion: Var = mu + ALPHA * mu^2 (both outcomes)

# ----------------------------------------------------------- background of the series
START, END = "2013-01", "2022-12"
YOUNG_PER_YEAR_2013 = 660.0  # expected Scotland-wide young-driver KSI in 2013 (before effects)
OLDER_PER_YEAR_2013 = 330.0  # expected Scotland-wide 60+ driver KSI in 2013
TREND_YOUNG = -0.015  # log change per year (about -1.5% a year)
TREND_OLDER = -0.010  # about -1% a year
COUNCIL_SD = 0.20  # sd of the council random effect (log scale), young drivers
SHOCK_SD = 0.06  # sd of a Scotland-wide monthly shock (weather, events), log scale, shared


# Seasonality (log scale, before normalising to mean 1 over the year). Young-driver KSI
# peak in late autumn/early winter (dark evenings, wet and icy roads: November-December)
# with a smaller summer bump (July-August: more leisure driving); the trough is in
# February-April. Two Fourier harmonics reproduce it.
def season_young(m: np.ndarray) -> np.ndarray:
    """Log seasonal factor for month of year m = 1..12 (before normalising)."""
    w = 2 * np.pi * m / 12
    return 0.12 * np.cos(w - 2 * np.pi * 11 / 12) + 0.08 * np.cos(2 * (w - 2 * np.pi * 7.5 / 12))


def season_older(m: np.ndarray) -> np.ndarray:
    """Older drivers: a milder winter peak (December-January), small summer bump."""
    w = 2 * np.pi * m / 12
    return 0.10 * np.cos(w - 2 * np.pi * 12.5 / 12) + 0.04 * np.cos(2 * (w - 2 * np.pi * 7.5 / 12))


# ------------------------------------------------------------------ the 32 councils
# name: (population aged 17-25 in 2013, rurality class)
# Populations are rounded, plausible figures in the spirit of NRS mid-year estimates
# (student cities have large 17-25 populations). Rurality multiplies the young-driver
# KSI rate: rural roads are more dangerous per driver than city streets.
COUNCILS: dict[str, tuple[int, str]] = {
    "Aberdeen City": (33_500, "urban"),
    "Aberdeenshire": (23_400, "rural"),
    "Angus": (10_600, "mixed"),
    "Argyll and Bute": (7_400, "rural"),
    "City of Edinburgh": (80_200, "urban"),
    "Clackmannanshire": (5_300, "mixed"),
    "Dumfries and Galloway": (12_900, "rural"),
    "Dundee City": (23_100, "urban"),
    "East Ayrshire": (12_300, "mixed"),
    "East Dunbartonshire": (10_400, "urban"),
    "East Lothian": (9_900, "mixed"),
    "East Renfrewshire": (9_100, "urban"),
    "Falkirk": (16_300, "mixed"),
    "Fife": (39_700, "mixed"),
    "Glasgow City": (91_800, "urban"),
    "Highland": (21_300, "rural"),
    "Inverclyde": (7_800, "urban"),
    "Midlothian": (9_200, "mixed"),
    "Moray": (9_700, "rural"),
    "Na h-Eileanan Siar": (2_300, "island"),
    "North Ayrshire": (13_400, "mixed"),
    "North Lanarkshire": (36_400, "urban"),
    "Orkney Islands": (1_900, "island"),
    "Perth and Kinross": (14_600, "rural"),
    "Renfrewshire": (19_200, "urban"),
    "Scottish Borders": (9_800, "rural"),
    "Shetland Islands": (2_100, "island"),
    "South Ayrshire": (10_100, "mixed"),
    "South Lanarkshire": (33_900, "mixed"),
    "Stirling": (13_200, "mixed"),
    "West Dunbartonshire": (9_500, "urban"),
    "West Lothian": (20_300, "mixed"),
}
RURAL_YOUNG = {"urban": 0.70, "mixed": 1.00, "rural": 1.45, "island": 1.25}
# hidden 60+ driver exposure = pop_17_25 * ratio (older populations in rural areas)
OLDER_RATIO = {"urban": 1.6, "mixed": 2.2, "rural": 3.0, "island": 3.2}

# ------------------------------------------------------- the staggered roll-out
# Cohort 2016-04: the north and east (the pilot partnership), 12 councils.
# Cohort 2018-04: the Lothians, Ayrshire and Dumfries and Galloway, 8 councils.
# Never treated: the west of Scotland and the islands, 12 councils.
COHORT_2016 = [
    "Aberdeen City", "Aberdeenshire", "Angus", "Clackmannanshire", "Dundee City", "Falkirk",
    "Fife", "Highland", "Moray", "Perth and Kinross", "Scottish Borders", "Stirling",
]
COHORT_2018 = [
    "City of Edinburgh", "Dumfries and Galloway", "East Ayrshire", "East Lothian",
    "Midlothian", "North Ayrshire", "South Ayrshire", "West Lothian",
]
FIRST_TREATED = {**{c: "2016-04" for c in COHORT_2016}, **{c: "2018-04" for c in COHORT_2018}}

# --------------------------------------------------------- rival explanations
# Police Scotland enforcement campaigns, Scotland-wide: the festive drink-drive campaign
# every December; the summer drink-drive campaign in June (2013-2016) and July (2017-2022);
# and from 2016 a spring young-driver / speeding campaign every April (so it starts in the
# same month as the first road safety days: a rival explanation for the whole-area ITS).
ENFORCEMENT_MONTHS = (
    {f"{y}-12" for y in range(2013, 2023)}
    | {f"{y}-06" for y in range(2013, 2017)}
    | {f"{y}-07" for y in range(2017, 2023)}
    | {f"{y}-04" for y in range(2016, 2023)}
)
# Black-spot road alterations (council roads teams), in force from the month given.
ROAD_ALTERATIONS = {
    "South Lanarkshire": "2015-04",  # never treated
    "Aberdeenshire": "2016-07",  # 2016 cohort: three months after its first road safety day
    "Highland": "2017-10",  # 2016 cohort
    "Dumfries and Galloway": "2018-10",  # 2018 cohort
    "Argyll and Bute": "2019-04",  # never treated
}


def _months() -> pd.PeriodIndex:
    return pd.period_range(START, END, freq="M")


def build(seed: int = SEED) -> tuple[pd.DataFrame, dict[str, float]]:
    """Simulate the panel; return it with a few true quantities for the summary."""
    rng = np.random.default_rng(seed)
    months = _months()
    n_t = len(months)
    names = sorted(COUNCILS)
    n_c = len(names)
    years = months.year.to_numpy()
    moy = months.month.to_numpy()
    t_years = np.arange(n_t) / 12.0
    mstr = np.array([str(p) for p in months])

    # --- populations: yearly drift per council, constant within a year (mid-year estimates)
    pop13 = np.array([COUNCILS[c][0] for c in names], dtype=float)
    kind = [COUNCILS[c][1] for c in names]
    drift = rng.normal(-0.004, 0.006, size=n_c)  # log change per year
    year_idx = years - 2013
    pop = np.rint(pop13[:, None] * np.exp(drift[:, None] * year_idx[None, :])).astype(int)

    # --- council random effects (centred), correlated between the two outcomes
    u_young = rng.normal(0.0, COUNCIL_SD, size=n_c)
    u_young -= u_young.mean()
    u_older = 0.7 * u_young + rng.normal(0.0, 0.10, size=n_c)
    u_older -= u_older.mean()

    # --- seasonality normalised to mean 1 over the year
    s_y = np.exp(season_young(np.arange(1, 13)))
    s_y /= s_y.mean()
    s_o = np.exp(season_older(np.arange(1, 13)))
    s_o /= s_o.mean()
    season_y = s_y[moy - 1]
    season_o = s_o[moy - 1]

    # --- Scotland-wide monthly shock (shared by all councils and both outcomes)
    shock = np.exp(rng.normal(0.0, SHOCK_SD, size=n_t) - SHOCK_SD**2 / 2)

    # --- base rates set so that 2013 expected totals hit the targets
    rural_y = np.array([RURAL_YOUNG[k] for k in kind])
    older_exposure = pop13 * np.array([OLDER_RATIO[k] for k in kind])
    w_y = pop13 * rural_y * np.exp(u_young)
    w_o = older_exposure * np.exp(u_older)
    base_y = YOUNG_PER_YEAR_2013 / 12.0 / w_y.sum()
    base_o = OLDER_PER_YEAR_2013 / 12.0 / w_o.sum()

    # --- treatment and rivals
    first = np.array([FIRST_TREATED.get(c, "") for c in names], dtype=object)
    start_idx = np.array(
        [months.get_loc(pd.Period(f, freq="M")) if f else n_t for f in first]
    )
    k_active = np.arange(n_t)[None, :] - start_idx[:, None] + 1  # 1 in the first active month
    active = (k_active >= 1).astype(int)
    ramp = np.clip(k_active / RAMP_MONTHS, 0.0, 1.0) * active
    enforcement = np.isin(mstr, sorted(ENFORCEMENT_MONTHS)).astype(int)
    road = np.zeros((n_c, n_t), dtype=int)
    for i, c in enumerate(names):
        if c in ROAD_ALTERATIONS:
            road[i, months.get_loc(pd.Period(ROAD_ALTERATIONS[c], freq="M")) :] = 1

    # --- expected counts
    older_pop = pop * np.array([OLDER_RATIO[k] for k in kind])[:, None]
    mu_y0 = (
        pop * base_y * rural_y[:, None] * np.exp(u_young)[:, None]
        * np.exp(TREND_YOUNG * t_years)[None, :] * season_y[None, :] * shock[None, :]
        * RR_ENFORCEMENT ** enforcement[None, :] * RR_ROAD**road
    )
    mu_y = mu_y0 * RR_DAY**ramp
    mu_o = (
        older_pop * base_o * np.exp(u_older)[:, None]
        * np.exp(TREND_OLDER * t_years)[None, :] * season_o[None, :] * shock[None, :]
        * RR_ENFORCEMENT ** enforcement[None, :] * RR_ROAD**road
    )

    # --- gamma-Poisson draws (negative binomial NB2 with dispersion ALPHA)
    g_y = rng.gamma(shape=1 / ALPHA, scale=ALPHA, size=mu_y.shape)
    g_o = rng.gamma(shape=1 / ALPHA, scale=ALPHA, size=mu_o.shape)
    y_young = rng.poisson(mu_y * g_y)
    y_older = rng.poisson(mu_o * g_o)

    frame = pd.DataFrame(
        {
            "council": np.repeat(names, n_t),
            "month": np.tile(mstr, n_c),
            "ksi_17_25": y_young.ravel(),
            "population_17_25": pop.ravel(),
            "active": active.ravel(),
            "first_treated": np.repeat(first, n_t),
            "ksi_over_60": y_older.ravel(),
            "enforcement_campaign": np.tile(enforcement, n_c),
            "road_alterations": road.ravel(),
        }
    )

    treated = active.astype(bool)
    truth = {
        # expected-count-weighted mean rate ratio over treated council-months
        "att_rate_ratio_weighted": float(mu_y[treated].sum() / mu_y0[treated].sum()),
        # expected young KSI prevented by the day over 2013-2022
        "prevented_expected": float((mu_y0 - mu_y).sum()),
        # Scotland-wide ratio (with / without the day) in 2022
        "scotland_ratio_2022": float(
            mu_y[:, years == 2022].sum() / mu_y0[:, years == 2022].sum()
        ),
        "treated_pop_share_2022": float(pop[first != "", -1].sum() / pop[:, -1].sum()),
    }
    return frame, truth


def main() -> None:
    frame, truth = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False, lineterminator="\n")

    year = frame["month"].str[:4]
    by_year = frame.groupby(year)[["ksi_17_25", "ksi_over_60", "population_17_25"]].sum()
    by_year["population_17_25"] //= 12
    print(f"wrote {OUT.relative_to(HERE)}: {len(frame)} rows, {frame['council'].nunique()} councils, "
          f"{frame['month'].nunique()} months (seed {SEED})")
    print("\nScotland totals per year (population = mean of monthly values):")
    print(by_year.to_string())
    zero = (frame["ksi_17_25"] == 0).mean()
    print(f"\nshare of council-months with zero ksi_17_25: {zero:.1%}; "
          f"zero ksi_over_60: {(frame['ksi_over_60'] == 0).mean():.1%}")
    small = frame[frame["council"].isin(["Orkney Islands", "Shetland Islands", "Na h-Eileanan Siar"])]
    print(f"  in the three island councils: {(small['ksi_17_25'] == 0).mean():.1%}")
    print("\nTRUE EFFECTS (rate ratios):")
    print(f"  road safety day on ksi_17_25: {RR_DAY} (ramps in over the first {RAMP_MONTHS} active "
          f"months: month k has {RR_DAY}**min(k/{RAMP_MONTHS}, 1)); none on ksi_over_60")
    print(f"    cohorts: 2016-04 ({len(COHORT_2016)} councils), 2018-04 ({len(COHORT_2018)}), "
          f"never ({32 - len(COHORT_2016) - len(COHORT_2018)})")
    print(f"    weighted mean rate ratio over treated council-months: "
          f"{truth['att_rate_ratio_weighted']:.4f}")
    print(f"    expected young-driver KSI prevented 2016-2022: {truth['prevented_expected']:.1f}")
    print(f"    Scotland-wide ratio in 2022 (treated share of 17-25 population "
          f"{truth['treated_pop_share_2022']:.1%}): {truth['scotland_ratio_2022']:.4f}")
    print(f"  enforcement campaign month (all councils, both outcomes): {RR_ENFORCEMENT}")
    print(f"  road alterations (from start, both outcomes): {RR_ROAD} in "
          + ", ".join(f"{c} {m}" for c, m in ROAD_ALTERATIONS.items()))
    print(f"  overdispersion: negative binomial NB2, alpha = {ALPHA}")


if __name__ == "__main__":
    main()
