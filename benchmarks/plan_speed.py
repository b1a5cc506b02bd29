"""How long ``preveval plan`` takes on the flagship: seconds per 1,000 simulations, both cores.

Run from the repository root::

    python benchmarks/plan_speed.py                      # 40 simulations per analysis, 2 workers
    python benchmarks/plan_speed.py --simulations 200 --workers 1

For each analysis of ``evaluations/road-safety-day`` the simulations of the data's own post
period (no extra years) are run through the plan's engine on ``--workers`` processes, twice:
with a quarter of ``--simulations`` and with all of them. The difference of the two
wall-clock times, scaled to 1,000 simulations, is the rate (the worker processes' start-up,
a few seconds, cancels out and is printed separately). A
"simulation" is one simulated data set and the search for its detection threshold
(typically 2 to 5 fits of the declared analysis, with its inference: the wild cluster
bootstraps at ``--inner-reps`` draws). The fits per simulation are counted in a separate,
single-process pass over the first few simulations. Also printed: the whole plan's time for
the defaults (500 simulations and three extra years at a quarter of them) estimated from the
per-analysis rates, the machine's cores and its load average (other work slows every run).
Timing never goes into the tests.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "evaluations" / "road-safety-day" / "evaluation.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--simulations", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--inner-reps", type=int, default=399)
    ap.add_argument("--file", type=Path, default=FLAGSHIP)
    args = ap.parse_args()

    import preveval as pv
    from preveval.plan.designs import Planned, simulator_for
    from preveval.plan.engine import Task, run_tasks, thresholds_for

    ev = pv.load(args.file)
    print(f"{args.file.relative_to(ROOT) if args.file.is_relative_to(ROOT) else args.file}: "
          f"{len(ev.frame):,} rows; {os.cpu_count()} cores, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.simulations} simulations per analysis, "
          f"{args.workers} worker(s), inner reps {args.inner_reps}")
    total_rate = 0.0
    print(f"{'analysis':<10} {'design':<28} {'s / 1,000 sims':>15} {'fits / sim':>11} {'MDE (80%)':>11} "
          f"{'start-up s':>11}")
    for a in ev.spec.analyses:
        p = simulator_for(ev, a, inner_reps=args.inner_reps)
        if not isinstance(p, Planned):
            print(f"{a.id:<10} not planned: {p.reason}")
            continue
        def timed(n: int, p: Planned = p) -> tuple[float, list[list[float]]]:
            chunk = max(1, n // (4 * max(args.workers, 1)))
            tasks = [Task(0, 0, tuple(range(lo, min(lo + chunk, n)))) for lo in range(0, n, chunk)]
            t0 = time.perf_counter()
            out = run_tasks({0: (p.simulator, p.direction, p.guess)}, tasks, seed=20240101, workers=args.workers)
            return time.perf_counter() - t0, out

        quarter = max(1, args.simulations // 4)
        t_small, _ = timed(quarter)
        t_all, res = timed(args.simulations)
        secs = max(t_all - t_small, 1e-9) * args.simulations / (args.simulations - quarter)
        startup = max(t_all - secs, 0.0)
        th = sorted(x for r in res for x in r)
        k = int(0.8 * len(th) + 0.999) - 1
        calls = [0]
        fit = p.simulator.fit

        def counted(data: object, fit: object = fit, calls: list[int] = calls) -> object:
            calls[0] += 1
            return fit(data)  # type: ignore[operator]

        p.simulator.fit = counted  # type: ignore[method-assign]
        n_count = min(5, args.simulations)
        thresholds_for(p.simulator, 0, 0, range(n_count), 20240101, p.direction, p.guess)
        p.simulator.fit = fit  # type: ignore[method-assign]
        rate = secs / args.simulations * 1000
        total_rate += rate
        design = a.design if a.method == "did" else a.method
        print(f"{a.id:<10} {design + ' (' + p.inference + ')':<28} {rate:>15,.0f} {calls[0] / n_count:>11.1f} "
              f"{p.direction * th[k]:>11.4g} {startup:>11.1f}")
    print(f"all analyses: {total_rate:,.0f} s per 1,000 simulations of each; the default plan (500 + 3 x 125) "
          f"would take about {total_rate * 0.875 / 60:,.0f} minutes")


if __name__ == "__main__":
    main()
