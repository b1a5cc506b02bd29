"""preveval's Callaway & Sant'Anna cells and dynamic aggregation against csdid.

Run from the repository root (csdid is a test-only peer)::

    python benchmarks/staggered_peers.py              # 400 units x 12 periods, 5 pairs
    python benchmarks/staggered_peers.py --units 2000 --pairs 3

Both estimate every ATT(g, t) (never-treated comparison units, outcome regression without
covariates, varying base period) and the dynamic aggregation with analytic standard errors
(``ATTgt(...).fit(est_method="reg", bstrap=False)`` and ``aggte(typec="dynamic",
bstrap=False)``) on the same seeded panel (tests/methods/conftest.py). Agreement: the
dynamic effects and their standard errors must agree to ``--tol`` (default 1e-8). Timing:
the fits alternate so that drifts in machine load hit both; reported is the median ratio
preveval/csdid of the pairs with its minimum and maximum. Timing never goes into the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from methods.conftest import simulate_panel  # noqa: E402
from preveval.methods.did.aggregate import aggregate_att  # noqa: E402
from preveval.methods.did.core import prepare  # noqa: E402
from preveval.methods.did.staggered import staggered_cells  # noqa: E402
from preveval.spec.models import DidAnalysis  # noqa: E402


def ours(df: pd.DataFrame) -> pd.DataFrame:
    spec = DidAnalysis(id="cs", method="did", indicator="y", design="staggered", first_treated="ft")
    cells = staggered_cells(spec, prepare(spec, df, "y", "unit", "period"))
    return aggregate_att(cells, "dynamic").table()


def theirs(df: pd.DataFrame) -> dict:
    import csdid.att_gt as att_gt

    ref = df.assign(g=df["ft"].fillna(0).astype(int), id=pd.factorize(df["unit"])[0])
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        fit = att_gt.ATTgt(yname="y", tname="period", idname="id", gname="g", data=ref,
                           control_group=["nevertreated"]).fit(est_method="reg", bstrap=False)
        return fit.aggte(typec="dynamic", bstrap=False).atte


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=400)
    ap.add_argument("--periods", type=int, default=12)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--tol", type=float, default=1e-8)
    a = ap.parse_args()
    df = simulate_panel(a.units, a.periods, seed=3, staggered=True, dynamic=0.3)
    ratios = []
    for _ in range(a.pairs):
        t0 = time.perf_counter()
        mine = ours(df)
        t1 = time.perf_counter()
        ref = theirs(df)
        t2 = time.perf_counter()
        ratios.append((t1 - t0) / (t2 - t1))
    d_est = float(np.max(np.abs(mine["estimate"].to_numpy() - np.asarray(ref["att_egt"], dtype=float))))
    se_ref = np.asarray(ref["se_egt"], dtype=float).ravel()
    d_se = float(np.max(np.abs(mine["std_error"].to_numpy(dtype=float) / se_ref - 1)))
    print(f"{a.units} units x {a.periods} periods, {len(mine)} event times")
    print(f"largest difference: estimates {d_est:.2e}, standard errors (relative) {d_se:.2e}")
    print(f"time preveval / csdid: median {np.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
    return 0 if max(d_est, d_se) <= a.tol else 1


if __name__ == "__main__":
    sys.exit(main())
