"""Generate the SYNTHETIC series for the police / NHS mental-health triage line evaluation.

Writes ``data/triage.csv``: monthly series, 2015-01 to 2022-12 (96 months), for the 14
territorial health boards of Scotland in long format (1,344 rows):

* NHS Lanarkshire — police officers attending a person in distress can phone a triage line
  staffed by NHS mental-health nurses from 2019-06 (the treated area);
* NHS Ayrshire and Arran — a neighbouring board without a triage line (the comparison of
  the controlled interrupted time series);
* the 12 other boards, none with a triage line: the donors of the synthetic control. They
  are drawn after the first two from their own seeded stream, so the two boards' series do
  not depend on them.

All areas share seasonality, a slow rise in demand, month-to-month shocks and a COVID-19
dip (2020-04 to 2020-06), so a controlled interrupted time series, a synthetic control or a
difference-in-differences can separate the triage effect from what happened everywhere. The
other boards differ in size (the island boards have a few dozen incidents a month), in their
share of incidents conveyed to A&E and in its trend (``b_a`` per year), and in how strongly
the shared conveyance shocks reach them (``load_a``).

The figures are made up. The board names are real but the counts, hours, populations and
the launch date are invented: they are NOT real police or NHS figures.

Run ``python generate.py`` (numpy and pandas only). Seeded: reruns are byte-identical.

Data-generating process (area a, month t; post = 1 from 2019-06; D = triage_area * post):

    mh_incidents       ~ NB2(mu = pop/1e5 * rate_a * exp(0.03 * years) * season_inc
                              * shock_common * shock_area * covid_inc, alpha 0.004)
    conveyances_ae     ~ NB2(mu = mh_incidents * p_a * exp(b_a * years) * season_conv
                              * shock_common2 ** load_a * covid_conv * RR_CONVEYANCE ** D, alpha 0.01)
                         (b_a = 0.01 and load_a = 1 in the first two boards)
    custody_pos        ~ NB2(mu = mh_incidents * q_a * exp(-0.02 * years) * covid_cust
                              * RR_CUSTODY ** D, alpha 0.30)
    officer_hours_per_incident = m_a + 0.005 * month index + season_hours + shock_hours
                              + covid_hours + HOURS_LEVEL * D + HOURS_SLOPE * D * (t - t0)
                              + e[a,t],   e[a,t] = 0.4 e[a,t-1] + N(0, 0.18^2)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20190601
HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "triage.csv"

START, END = "2015-01", "2022-12"
LAUNCH = "2019-06"  # first month the triage line runs in the treated area
TREATED, COMPARISON = "NHS Lanarkshire", "NHS Ayrshire and Arran"
COVID = ("2020-04", "2020-05", "2020-06")  # first lockdown: common dip in both areas

# ------------------------------------------------------------------ the true effects
RR_CONVEYANCE = 0.75  # rate ratio of conveyances to A&E per incident (immediate level drop)
RR_CUSTODY = 0.60  # rate ratio of custody as a place of safety per incident (level drop)
HOURS_LEVEL = -0.80  # officer hours per incident: level change at 2019-06
HOURS_SLOPE = -0.005  # officer hours per incident: change in slope, per month after 2019-06
# (mh_incidents, the exposure, is not affected by the triage line)

# --------------------------------------------------------------- area characteristics
# population (2015, annual growth), incidents per 100,000 people per month, share of
# incidents conveyed to A&E, share detained in police custody as a place of safety,
# mean officer hours per incident in 2015
AREAS = {
    TREATED: dict(pop=655_000, growth=0.0025, rate=110.0, p_conv=0.32, q_cust=0.0125, hours=4.6),
    COMPARISON: dict(pop=369_500, growth=-0.0008, rate=118.0, p_conv=0.29, q_cust=0.0110, hours=4.3),
}
# The other boards (no triage line): population 2015, annual growth, incidents per 100,000 a
# month, conveyance share, its trend per year, loading on the shared conveyance shocks,
# custody share, officer hours in 2015. Invented figures of plausible size.
OTHER_BOARDS = {
    "NHS Borders": (115_000, 0.0020, 104.0, 0.31, 0.004, 0.8, 0.0120, 4.4),
    "NHS Dumfries and Galloway": (150_000, -0.0010, 100.0, 0.33, 0.012, 0.9, 0.0130, 4.7),
    "NHS Fife": (368_000, 0.0030, 114.0, 0.30, 0.015, 1.1, 0.0115, 4.5),
    "NHS Forth Valley": (303_000, 0.0040, 108.0, 0.32, 0.010, 1.0, 0.0125, 4.6),
    "NHS Grampian": (585_000, 0.0020, 96.0, 0.27, 0.006, 0.9, 0.0105, 4.2),
    "NHS Greater Glasgow and Clyde": (1_160_000, 0.0035, 131.0, 0.34, 0.008, 1.2, 0.0135, 4.8),
    "NHS Highland": (321_000, 0.0010, 99.0, 0.30, 0.014, 0.7, 0.0120, 4.9),
    "NHS Lothian": (870_000, 0.0060, 121.0, 0.31, 0.011, 1.1, 0.0120, 4.5),
    "NHS Orkney": (22_000, 0.0020, 92.0, 0.28, 0.010, 0.6, 0.0100, 4.0),
    "NHS Shetland": (23_000, -0.0010, 90.0, 0.29, 0.009, 0.6, 0.0100, 4.1),
    "NHS Tayside": (416_000, 0.0015, 117.0, 0.33, 0.013, 1.0, 0.0130, 4.6),
    "NHS Western Isles": (27_000, -0.0030, 94.0, 0.30, 0.007, 0.5, 0.0110, 4.3),
}
ALPHA_INC, ALPHA_CONV, ALPHA_CUST = 0.004, 0.01, 0.30
AR_RHO, AR_SD = 0.4, 0.18
COVID_INC, COVID_CONV, COVID_CUST, COVID_HOURS = 0.85, 0.80, 0.85, -0.50


def _nb(rng: np.random.Generator, mu: np.ndarray, alpha: float) -> np.ndarray:
    """Gamma-Poisson (NB2) draws: Var = mu + alpha * mu^2."""
    return rng.poisson(mu * rng.gamma(1 / alpha, alpha, size=mu.shape))


def _area(rng: np.random.Generator, name: str, a: dict, treated: int, shared: dict) -> pd.DataFrame:
    """One area's 96 months (the draws in the order of the original two-board generator)."""
    n, t0, post, covid, mstr, months, years = (shared[k] for k in ("n", "t0", "post", "covid", "mstr", "months", "years"))
    season_inc, season_conv, season_hours = shared["season"]
    shock_inc, shock_conv, shock_hours = shared["shocks"]
    d = treated * post
    since = np.where(d == 1, np.arange(n) - t0, 0)
    pop = np.rint(a["pop"] * np.exp(a["growth"] * (months.year.to_numpy() - 2015))).astype(int)

    mu_inc = (pop / 1e5 * a["rate"] * np.exp(0.03 * years) * season_inc * shock_inc
              * np.exp(rng.normal(0, 0.02, n)) * COVID_INC**covid)
    incidents = _nb(rng, mu_inc, ALPHA_INC)

    mu_conv = (incidents * a["p_conv"] * np.exp(a["trend"] * years) * season_conv * shock_conv ** a["load"]
               * COVID_CONV**covid * RR_CONVEYANCE**d)
    conv = np.minimum(_nb(rng, mu_conv, ALPHA_CONV), incidents)

    mu_cust = incidents * a["q_cust"] * np.exp(-0.02 * years) * COVID_CUST**covid * RR_CUSTODY**d
    cust = np.minimum(_nb(rng, mu_cust, ALPHA_CUST), incidents - conv)

    e = np.empty(n)
    e[0] = rng.normal(0, AR_SD / np.sqrt(1 - AR_RHO**2))
    innov = rng.normal(0, AR_SD, n)
    for i in range(1, n):
        e[i] = AR_RHO * e[i - 1] + innov[i]
    hours = (a["hours"] + 0.005 * np.arange(n) + season_hours + shock_hours
             + COVID_HOURS * covid + HOURS_LEVEL * d + HOURS_SLOPE * since + e)

    return pd.DataFrame({
        "area": name,
        "month": mstr,
        "mh_incidents": incidents,
        "conveyances_ae": conv,
        "custody_pos": cust,
        "officer_hours_per_incident": np.round(hours, 2),
        "population": pop,
        "triage_area": treated,
        "post": post,
        "triage_active": d,
        "covid_lockdown": covid,
    })


def build(seed: int = SEED) -> pd.DataFrame:
    """Simulate every area; return the long-format frame."""
    rng = np.random.default_rng(seed)
    months = pd.period_range(START, END, freq="M")
    n = len(months)
    mstr = np.array([str(p) for p in months])
    moy = months.month.to_numpy()
    years = np.arange(n) / 12.0
    t0 = int(np.flatnonzero(mstr == LAUNCH)[0])
    post = (np.arange(n) >= t0).astype(int)
    covid = np.isin(mstr, COVID).astype(int)
    w = 2 * np.pi * moy / 12

    # shared seasonality: incidents peak in summer (long evenings, festivals, alcohol) and
    # again around Christmas and New Year; conveyances and hours rise in winter (A&E busier)
    season_inc = np.exp(0.06 * np.cos(w - 2 * np.pi * 7 / 12) + 0.04 * np.cos(2 * (w - 2 * np.pi * 12.5 / 12)))
    season_conv = np.exp(0.04 * np.cos(w - 2 * np.pi * 1 / 12))
    season_hours = 0.25 * np.cos(w - 2 * np.pi * 1 / 12)

    # shocks common to both areas (the same draw is used for each area)
    shock_inc = np.exp(rng.normal(0, 0.03, n))
    shock_conv = np.exp(rng.normal(0, 0.03, n))
    shock_hours = rng.normal(0, 0.10, n)

    shared = dict(n=n, t0=t0, post=post, covid=covid, mstr=mstr, months=months, years=years,
                  season=(season_inc, season_conv, season_hours), shocks=(shock_inc, shock_conv, shock_hours))
    rows = [_area(rng, name, dict(a, trend=0.01, load=1.0), int(name == TREATED), shared)
            for name, a in AREAS.items()]
    others = np.random.default_rng([seed, 1])
    for name, (pop, growth, rate, p_conv, trend, load, q_cust, hours) in OTHER_BOARDS.items():
        a = dict(pop=pop, growth=growth, rate=rate, p_conv=p_conv, q_cust=q_cust, hours=hours, trend=trend, load=load)
        rows.append(_area(others, name, a, 0, shared))
    return pd.concat(rows, ignore_index=True)


def main() -> None:
    frame = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False, lineterminator="\n", float_format="%.2f")

    print(f"wrote {OUT.relative_to(HERE)}: {len(frame)} rows ({frame['area'].nunique()} areas x "
          f"{frame['month'].nunique()} months, seed {SEED})")
    frame["year"] = frame["month"].str[:4]
    tab = frame.groupby(["area", "year"]).agg(
        incidents=("mh_incidents", "sum"), conveyances=("conveyances_ae", "sum"),
        custody=("custody_pos", "sum"), hours=("officer_hours_per_incident", "mean"))
    tab["conv_share"] = (tab["conveyances"] / tab["incidents"]).round(3)
    tab["hours"] = tab["hours"].round(2)
    print(tab.to_string())
    print(f"\nzero-custody months: {(frame['custody_pos'] == 0).mean():.1%}")
    print(f"\nTRUE EFFECTS in {TREATED} from {LAUNCH} (none in {COMPARISON}):")
    print(f"  conveyances_ae per incident: rate ratio {RR_CONVEYANCE} (immediate level drop)")
    print(f"  custody_pos per incident:    rate ratio {RR_CUSTODY} (immediate level drop)")
    print(f"  officer_hours_per_incident:  level {HOURS_LEVEL:+} hours, slope {HOURS_SLOPE:+} hours/month after launch")
    print("  mh_incidents: no effect (it is the exposure)")
    print(f"  shared: COVID-19 dip {', '.join(COVID)} (incidents x{COVID_INC}, conveyance rate x{COVID_CONV}, "
          f"custody rate x{COVID_CUST}, hours {COVID_HOURS:+}); officer-hours AR(1) rho {AR_RHO}")


if __name__ == "__main__":
    main()
