"""preveval's Abadie synthetic control against pysyncon on the Basque example.

Run from the repository root (pysyncon is a test-only peer: ``pip install pysyncon``)::

    python benchmarks/synth_peers.py            # 7 alternating pairs
    python benchmarks/synth_peers.py --pairs 15

Both fit the same matrices: the ``?synth`` Basque example of Synth 1.1-8 (predictors,
periods and the two schooling edits of tests/reference/basque/SOURCE.md), built with
:func:`preveval.methods.synth.synth_matrices`, and passed to pysyncon's ``Synth.fit`` as
``X0, X1, Z0, Z1`` so that only the optimisers differ. pysyncon runs its single
Nelder-Mead search from equal V (its documented default; ``maxiter`` 1000); preveval runs
its documented starts (equal, regression when defined, drop-one) with restarts.

Agreement: the donor weights must agree within ``--tol`` (default 1e-6, absolute, per
donor). Both find Cataluna 0.850814 and Madrid 0.149186 and exact zeros elsewhere; with
pysyncon 1.7.0 the largest difference measured was 8e-9 (the outer optima coincide).
Timing: the fits alternate (preveval, pysyncon, preveval, ...) so that drifts in machine
load hit both; reported are the median ratio preveval/pysyncon of the pairs and its
spread (minimum, maximum, and the interquartile range). Timing never goes into the tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from preveval.methods.synth import PredictorSpec, fit_abadie, synth_matrices

DATA = Path(__file__).resolve().parents[1] / "tests" / "reference" / "basque" / "basque.csv"
SCHOOL = ["school.illit", "school.prim", "school.med", "school.high", "school.post.high"]
SECTORS = ["sec.agriculture", "sec.energy", "sec.industry", "sec.construction",
           "sec.services.venta", "sec.services.nonventa"]


def basque_matrices():
    """X1, X0, Z1, Z0 (numpy), predictor names and donor names of the ``?synth`` example."""
    df = pd.read_csv(DATA)
    pre, odd = tuple(range(1964, 1970)), tuple(range(1961, 1970, 2))
    specs = [PredictorSpec(c, pre, c) for c in [*SCHOOL, "invest"]]
    specs += [PredictorSpec("gdpcap", tuple(range(1960, 1970)))]
    specs += [PredictorSpec(c, odd) for c in SECTORS] + [PredictorSpec("popdens", (1969,))]
    donors = [*range(2, 17), 18]
    m = synth_matrices(df, unit="regionno", time="year", outcome="gdpcap", treated=17,
                       donors=donors, fit_periods=range(1960, 1970), predictors=specs)
    x = np.column_stack([m.x_treated, m.x_donors])
    names = list(m.predictor_names)
    high, post = names.index("school.high"), names.index("school.post.high")
    x[high] += x[post]
    x = np.delete(x, post, axis=0)
    names.pop(post)
    x[:4] = 100 * x[:4] / x[:4].sum(axis=0)
    region = df.drop_duplicates("regionno").set_index("regionno")["regionname"]
    return x[:, 0], x[:, 1:], m.z_treated, m.z_donors, names, [region[d] for d in donors]


def run_preveval(x1, x0, z1, z0):
    return fit_abadie(x1, x0, z1, z0).weights


def run_pysyncon(x1, x0, z1, z0, names, donors):
    from pysyncon import Synth

    X0 = pd.DataFrame(x0, index=names, columns=donors)
    X1 = pd.Series(x1, index=names, name="treated")
    Z0 = pd.DataFrame(z0, columns=donors)
    Z1 = pd.Series(z1, name="treated")
    s = Synth()
    s.fit(X0=X0, X1=X1, Z0=Z0, Z1=Z1, optim_method="Nelder-Mead", optim_initial="equal")
    return np.asarray(s.W, dtype=float)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=7, help="alternating (preveval, pysyncon) pairs")
    ap.add_argument("--tol", type=float, default=1e-6, help="absolute agreement of each weight")
    args = ap.parse_args(argv)
    try:
        import pysyncon  # noqa: F401
    except ImportError:
        print("pysyncon is not installed: pip install pysyncon", file=sys.stderr)
        return 2
    x1, x0, z1, z0, names, donors = basque_matrices()
    ours_t, theirs_t = [], []
    w_ours = w_theirs = None
    for _ in range(args.pairs):
        t = time.perf_counter()
        w_ours = run_preveval(x1, x0, z1, z0)
        ours_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        w_theirs = run_pysyncon(x1, x0, z1, z0, names, donors)
        theirs_t.append(time.perf_counter() - t)
    assert w_ours is not None and w_theirs is not None
    diff = np.abs(w_ours - w_theirs)
    print(f"{'donor':30s} {'preveval':>10s} {'pysyncon':>10s}")
    for d, a, b in zip(donors, w_ours, w_theirs, strict=True):
        if max(a, b) > 1e-4:
            print(f"{d:30s} {a:10.6f} {b:10.6f}")
    print(f"max |weight difference| = {diff.max():.2e} (tolerance {args.tol:g})")
    ratio = np.array(ours_t) / np.array(theirs_t)
    q1, med, q3 = np.percentile(ratio, [25, 50, 75])
    print(f"time preveval: median {np.median(ours_t):.3f} s; pysyncon: median {np.median(theirs_t):.3f} s")
    print(f"ratio preveval/pysyncon over {args.pairs} pairs: median {med:.2f} "
          f"(IQR {q1:.2f}-{q3:.2f}, range {ratio.min():.2f}-{ratio.max():.2f})")
    if diff.max() > args.tol:
        print("weights disagree beyond the tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
