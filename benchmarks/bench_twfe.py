"""Benchmark: TWFE with one-way clustered SEs, preveval vs pyfixest, same run.

Synthetic balanced panel of 7,000 units x 120 months (840,000 rows). pyfixest is warmed
up once on a small panel first (it JIT-compiles). Each estimator is timed as the best of
``--repeat`` runs; peak memory is measured with ``tracemalloc`` (Python allocations,
including numpy buffers) separately for each, and the process maximum resident set size is
printed at the end.

Run: ``python benchmarks/bench_twfe.py``
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd

from preveval.methods.did import fit_did
from preveval.spec.models import DidAnalysis


def make_panel(n_units: int, n_periods: int, seed: int = 0) -> pd.DataFrame:
    """Balanced panel with staggered 0/1 treatment and a true effect of 0.5."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units, dtype=np.int64), n_periods)
    month = np.tile(np.arange(n_periods, dtype=np.int64), n_units)
    start = rng.integers(n_periods // 4, n_periods + n_periods // 2, n_units)[unit]
    d = (month >= start).astype(np.float64)
    y = rng.normal(size=n_units)[unit] + np.sin(month / 6.0) + 0.5 * d + rng.normal(size=len(unit))
    return pd.DataFrame({"unit": unit, "month": month, "d": d, "y": y})


def run_ours(df: pd.DataFrame):
    spec = DidAnalysis(id="bench", method="did", indicator="y", design="twfe", treatment="d")
    r = fit_did(spec, df, outcome="y", unit="unit", time="month")
    return r.effect.estimate, r.effect.std_error


def run_pyfixest(df: pd.DataFrame):
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols("y ~ d | unit + month", data=df, vcov={"CRV1": "unit"})
    return float(m.coef().iloc[0]), float(m.se().iloc[0])


def measure(fn, df: pd.DataFrame, repeat: int) -> tuple[float, float, tuple[float, float]]:
    """Best wall time over ``repeat`` runs, and peak traced memory (MB) of one run."""
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(df)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn(df)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert out is not None
    return min(times), peak / 2**20, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=7000)
    ap.add_argument("--periods", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    df = make_panel(args.units, args.periods)
    print(f"panel: {args.units} units x {args.periods} periods = {len(df):,} rows")
    run_pyfixest(make_panel(200, 10, seed=1))  # JIT warm-up
    run_ours(make_panel(200, 10, seed=1))

    t_pf, mem_pf, (b_pf, se_pf) = measure(run_pyfixest, df, args.repeat)
    t_us, mem_us, (b_us, se_us) = measure(run_ours, df, args.repeat)
    print(f"pyfixest feols : {t_pf:7.3f} s   peak traced memory {mem_pf:8.1f} MB   att {b_pf:.6f} se {se_pf:.6f}")
    print(f"preveval fit_did: {t_us:7.3f} s   peak traced memory {mem_us:8.1f} MB   att {b_us:.6f} se {se_us:.6f}")
    print(f"time ratio preveval / pyfixest: {t_us / t_pf:.2f}")
    print(f"memory ratio preveval / pyfixest: {mem_us / mem_pf:.2f}")
    print(f"relative difference: att {abs(b_us / b_pf - 1):.1e}, se {abs(se_us / se_pf - 1):.1e}")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS (both, plus the data): {maxrss:.0f} MB")


if __name__ == "__main__":
    main()
