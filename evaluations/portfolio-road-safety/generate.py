"""Generate the SYNTHETIC portfolio: twelve council evaluations of the pre-driver road safety day.

Writes, for each of twelve invented council areas that run the day, a folder
``<council>/`` with ``evaluation.yaml`` and ``data/casualties.csv``, and ``councils.csv``
(one row per council: its folder, rurality, start month and TRUE rate ratio). Each
evaluation compares the council with four neighbouring areas of the same kind that do not
run the day (its own neighbours: no area serves two evaluations, so the twelve estimates
are independent, as a meta-analysis assumes).

The council names are invented and so are the numbers: they are NOT real casualty figures.
Run ``python generate.py`` (numpy and pandas only). Seeded: reruns are byte-identical.

Data-generating process (area a of evaluation e, month t; D = 1 in the council once the
day runs):

    casualties[a,t] ~ NB2(mu[a,t], alpha = 0.04)       (variance mu + 0.04 mu^2)
    mu[a,t] = population[a] / 10,000 * base[a] / 12 * exp(-0.02 * years since 2012)
              * season[month] * shock[e,t] * RR[e] ** D[a,t]

with base[a] casualties among drivers and passengers aged 17-25 per 10,000 people of that age a year
(about 95 to 115 in rural areas, 55 to 70 in urban ones), a summer peak (log amplitude
0.12), a monthly shock common to the five areas of an evaluation (weather, events;
log-normal, sd 0.05; the period effects of the difference-in-differences remove it) and the
TRUE EFFECT RR[e] = 0.80 in the six rural councils and 0.90 in the six urban ones. The
effect is a step: the same from the first month the day runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2024
HERE = Path(__file__).resolve().parent
START, END = "2012-01", "2019-12"
ALPHA = 0.04
TRUE_RR = {"rural": 0.80, "urban": 0.90}  # the true effects, by rurality

# folder, council, rurality, first month the day runs, population aged 17-25
COUNCILS = [
    ("glenardoch", "Glenardoch", "rural", "2015-04", 14_800),
    ("strathlinn", "Strathlinn", "rural", "2016-04", 12_600),
    ("ballachory", "Ballachory", "rural", "2015-04", 17_900),
    ("kilbraddan", "Kilbraddan", "rural", "2016-04", 11_200),
    ("auchterloch", "Auchterloch", "rural", "2015-04", 15_500),
    ("dunmorrow", "Dunmorrow", "rural", "2016-04", 13_400),
    ("harbourgate", "Harbourgate", "urban", "2015-04", 36_500),
    ("castlebridge", "Castlebridge", "urban", "2016-04", 29_800),
    ("millbank", "Millbank", "urban", "2015-04", 41_200),
    ("eastwick", "Eastwick", "urban", "2016-04", 33_100),
    ("portlaw", "Portlaw", "urban", "2015-04", 27_400),
    ("riverside", "Riverside", "urban", "2016-04", 38_700),
]
NEIGHBOURS = ("North", "South", "East", "West")

YAML = """\
# Pre-driver road safety day in {council}: one evaluation of the portfolio (worked example).
#
# The data in data/casualties.csv are SYNTHETIC, made by ../generate.py with a known true
# effect (rate ratio {rr:.2f}; see ../README.md). They are not real casualty figures.

schema_version: 1

initiative:
  id: road-safety-day
  name: Pre-driver road safety day
  prevention_level: primary
  target_group: Pre-drivers aged 14-17 (secondary school pupils in S4-S6)
  area: {council} ({rurality} council area); four neighbouring {rurality} areas without the day are the comparisons
  start: '{start}'
  partners:
    - {{name: Police Scotland road policing, role: lead}}
    - {{name: Scottish Fire and Rescue Service, role: delivery}}
    - {{name: Scottish Ambulance Service, role: delivery}}
    - {{name: {council} Council road safety team, role: support}}

logic_model:
  inputs: [Road policing officers, Fire crews and paramedics, An airfield and dual-control cars]
  activities: [Supervised driving session, Extrication demonstration, Crash-consequences talk]
  outputs: [Pupils attending a day]
  outcomes:
    short: [Better hazard awareness]
    medium: [Safer driving in the first years of driving]
    long: [Fewer young drivers and passengers injured]
  impact: Fewer road casualties among 17-25 year olds
  assumptions: [Pupils attend before they start driving]

indicators:
  - id: casualties_young
    label: Drivers and passengers aged 17-25 injured in road crashes (all severities)
    column: casualties_17_25
    kind: count
    desired: decrease
    unit_label: casualties
    exposure_label: people aged 17-25

data:
  path: data/casualties.csv
  time: month
  frequency: month
  unit: area

analyses:
  # {council} against its four neighbours, month by month: Poisson (PPML) two-way fixed
  # effects with the population as exposure. One treated area: cluster-robust intervals would
  # rest on one cluster, so the standard errors are heteroskedasticity-robust (HC1).
  - id: did-casualties
    method: did
    indicator: casualties_young
    primary: true
    design: twfe
    treatment: active
    family: poisson
    offset: population_17_25
    rate_per: 10000
    inference: robust
    robustness: false
    plausible_effect: -0.1625   # 15% fewer casualties (log 0.85), what the partnership hoped for

contribution:
  claim: The road safety day contributed to fewer young people injured in road crashes in {council}
  prior: 0.5
  rival_explanations:
    - id: regional-trend
      description: Young-driver casualties fell across the region (safer cars, fewer young drivers)
      evidence_against:
        - The four neighbouring areas share the regional trend; the comparison removes it
  evidence:
    - id: did-effect
      description: Casualties fell more in {council} than in its four neighbours after the day started
      from_analysis: did-casualties
      p_if_false: 0.10
"""


def season(month: np.ndarray) -> np.ndarray:
    """Summer peak (more driving, more young drivers on the road); mean 1 over the year."""
    f = np.exp(0.12 * np.cos(2 * np.pi * (month - 7) / 12))
    return f / f.mean()


def simulate_council(rng: np.random.Generator, council: str, rurality: str, start: str,
                     population: int) -> pd.DataFrame:
    """The five-area monthly panel of one evaluation: the council and its four neighbours."""
    periods = pd.period_range(START, END, freq="M")
    months = periods.month.to_numpy()
    years = np.arange(len(periods)) / 12.0
    shock = np.exp(rng.normal(0, 0.05, len(periods)))
    post = periods >= pd.Period(start, "M")
    lo, hi = (95, 115) if rurality == "rural" else (55, 70)
    areas = [(council, population)] + [
        (f"{council} {side}", int(round(population * rng.uniform(0.6, 1.5), -2))) for side in NEIGHBOURS]
    rr = TRUE_RR[rurality]
    rows = []
    for name, pop in areas:
        base = rng.uniform(lo, hi)
        d = (post & (name == council)).astype(int)
        mu = pop / 10_000 * base / 12 * np.exp(-0.02 * years) * season(months) * shock * rr ** d
        k = 1.0 / ALPHA
        y = rng.negative_binomial(k, k / (k + mu))
        rows += [{"area": name, "month": str(p), "casualties_17_25": int(y[i]), "population_17_25": pop,
                  "active": int(d[i])} for i, p in enumerate(periods)]
    return pd.DataFrame(rows)


def main(out: Path = HERE) -> pd.DataFrame:
    """Write the twelve evaluations and councils.csv into ``out``; return the councils table."""
    rng = np.random.default_rng(SEED)
    table = []
    for folder, council, rurality, start, population in COUNCILS:
        frame = simulate_council(rng, council, rurality, start, population)
        d = out / folder
        (d / "data").mkdir(parents=True, exist_ok=True)
        frame.to_csv(d / "data" / "casualties.csv", index=False, lineterminator="\n")
        rr = TRUE_RR[rurality]
        text = YAML.format(council=council, rurality=rurality, start=start, rr=rr)
        (d / "evaluation.yaml").write_text(text, encoding="utf-8", newline="\n")
        treated = frame[frame["area"] == council]
        table.append({"folder": folder, "council": council, "rurality": rurality,
                      "rural": int(rurality == "rural"), "start": start, "population_17_25": population,
                      "true_rate_ratio": rr, "casualties_a_year": round(treated["casualties_17_25"].sum() / 8, 1)})
    councils = pd.DataFrame(table)
    councils.to_csv(out / "councils.csv", index=False, lineterminator="\n")
    return councils


if __name__ == "__main__":
    print(main().to_string(index=False))
    print(f"TRUE EFFECTS: rate ratio {TRUE_RR['rural']} in rural councils, {TRUE_RR['urban']} in urban ones; "
          f"log ratio gradient (rural - urban) {np.log(TRUE_RR['rural'] / TRUE_RR['urban']):.4f}")

