"""Monte Carlo coverage of preveval's ITS confidence intervals (seeded, reproducible).

Run from the repository root::

    python benchmarks/its_coverage.py --json coverage.json   # every row, 2000 replications each
    python benchmarks/its_coverage.py --reps 500 --only ar1
    python benchmarks/its_coverage.py --kv-table   # Kiefer-Vogelsang polynomial vs our simulation

Each row simulates series with a known level change (intervention at the middle) and
counts how often the 95% CI of ``level_change`` (and ``slope_change``) holds the truth.
Scenarios (see :mod:`preveval.methods.its.simulate`):

- quasi-Poisson counts, dispersion 2, 120 months, fitted as quasi-Poisson (and, to show
  the shortfall, as Poisson), and as quasi-Poisson with ``errors: hac``;
- gaussian with AR(1) errors, rho = 0.5, fitted with ``errors: ols | hac | ar`` at 96, 120
  and 240 months and 730 days; ``errors: hac`` with the defaults (LLSW lag, VAR(1)
  prewhitening, fixed-b critical values simulated for the design) and, for comparison, the
  previous default (Newey-West 1994 lag, t quantile), the Kiefer-Vogelsang polynomial with
  and without prewhitening, and the simulated fixed-b values without prewhitening;
- AR(1) with rho = 0 and 0.8 at 120 months (``ols | hac | ar``), to show the limits.

``--kv-table`` instead checks the Kiefer-Vogelsang (2005) Bartlett polynomial against our own
simulation of the fixed-b limit of the location model (T = 1000, 20,000 draws, seed 20240101).

The results table in docs/its.md was produced with the default arguments.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from preveval.methods.its.simulate import coverage_study

HAC_VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("NW94 lag, t (old default)", {"hac_bandwidth": "newey_west_1994", "hac_critical": "standard"}),
    ("LLSW lag, KV polynomial", {"hac_critical": "kiefer_vogelsang"}),
    ("LLSW lag, KV polynomial, no prewhitening", {"hac_critical": "kiefer_vogelsang", "hac_prewhite": False}),
    ("LLSW lag, fixed-b simulated, no prewhitening", {"hac_prewhite": False}),
]

GRID: list[dict[str, Any]] = [
    {"scenario": "quasipoisson", "n": 120, "fit_family": "quasipoisson", "errors": "ols", "freq": "M"},
    {"scenario": "quasipoisson", "n": 120, "fit_family": "poisson", "errors": "ols", "freq": "M"},
    {"scenario": "quasipoisson", "n": 120, "fit_family": "quasipoisson", "errors": "hac", "freq": "M"},
    *[
        {"scenario": "ar1", "n": n, "fit_family": "gaussian", "errors": e, "freq": "M"}
        for n in (96, 120, 240)
        for e in ("ols", "hac", "ar")
    ],
    *[
        {"scenario": "ar1", "n": n, "fit_family": "gaussian", "errors": "hac", "freq": "M", "hac": opts, "label": label}
        for n in (96, 120, 240)
        for label, opts in HAC_VARIANTS
    ],
    *[{"scenario": "ar1", "n": 730, "fit_family": "gaussian", "errors": e, "freq": "D"} for e in ("ols", "hac", "ar")],
    *[
        {"scenario": sc, "n": 120, "fit_family": "gaussian", "errors": e, "freq": "M"}
        for sc in ("ar1_rho0", "ar1_rho08")
        for e in ("ols", "hac", "ar")
    ],
]


def kv_table(seed: int = 20240101, T: int = 1000, reps: int = 20000) -> None:
    """Print the simulated fixed-b 5% critical values of the location model next to KV (2005)."""
    import numpy as np

    from preveval.inference.hac import (
        fixed_b_critical_values,
        kiefer_vogelsang_cv,
        simulate_variance_ratios,
    )

    print("| b | simulated | KV polynomial | difference |\n|---|---|---|---|")
    for b in (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0):
        q = simulate_variance_ratios(np.ones((T, 1)), round(b * T) - 1, small_sample=False, reps=reps, seed=seed)
        c = float(fixed_b_critical_values(q)[0])
        print(f"| {b:.2f} | {c:.3f} | {kiefer_vogelsang_cv(b):.3f} | {100 * (kiefer_vogelsang_cv(b) / c - 1):+.1f}% |")


def main() -> None:
    """Run the grid with a progress bar; print a table and optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--only", choices=["quasipoisson", "ar1", "ar1_rho0", "ar1_rho08"], default=None)
    ap.add_argument("--json", default=None, help="write the results to this file")
    ap.add_argument("--kv-table", action="store_true", help="only compare the Kiefer-Vogelsang polynomial with our simulation")
    args = ap.parse_args()
    if args.kv_table:
        kv_table(args.seed)
        return
    grid = [g for g in GRID if args.only in (None, g["scenario"])]
    console = Console(width=140)
    rows = []
    start = time.time()
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*cols, console=console) as progress:
        for g in grid:
            label = f"{g['scenario']:<12} n={g['n']:<4} {g['fit_family']:<12} errors={g['errors']} {g.get('label', '')}"
            task = progress.add_task(label, total=args.reps)
            t0 = time.time()
            res = coverage_study(
                g["scenario"], n=g["n"], reps=args.reps, fit_family=g["fit_family"], errors=g["errors"], seed=args.seed,
                freq=g["freq"], hac=g.get("hac"), progress=lambda k, t=task: progress.advance(t, k),
            )
            res["label"] = g.get("label", "default" if g["errors"] == "hac" else "")
            res["seconds"] = round(time.time() - t0, 1)
            rows.append(res)
    table = Table(title=f"95% CI coverage, {args.reps} replications each, seed {args.seed} ({time.time() - start:.0f} s)")
    for c in ("scenario", "n", "fitted as", "errors", "variant", "level_change", "slope_change", "SE / SD", "crit. value", "failed", "s"):
        table.add_column(c)
    for r in rows:
        table.add_row(
            r["scenario"], str(r["n"]), r["family"], r["errors"], r["label"], f"{r['coverage_level']:.1%}", f"{r['coverage_slope']:.1%}",
            f"{r['mean_se_level'] / r['sd_level']:.2f}", f"{r['mean_q_level']:.3f}", str(r["failed"]), str(r["seconds"]),
        )
    console.print(table)
    console.print(f"Monte Carlo s.e. of a 95% coverage: {rows[0]['mc_se']:.2%}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
