"""preveval's synthetic control against pysyncon (a test-only peer) fitted directly on the same data.

pysyncon 1.7 implements Abadie, Diamond & Hainmueller's estimator with the nested V
optimisation of Synth (Nelder-Mead from equal V). On the Basque example of Synth both reach
the same optimum; on the outcome-path specification (every pre-period outcome a predictor)
preveval's exact solution is at least as good as pysyncon's numerical search.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from preveval.methods.synth import fit_abadie, fit_outcome_path
from support import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from synth_peers import basque_matrices, run_pysyncon  # noqa: E402  (pysyncon: a test extra)


def test_basque_weights_agree_with_pysyncon():
    x1, x0, z1, z0, names, donors = basque_matrices()
    ours = fit_abadie(x1, x0, z1, z0).weights
    theirs = run_pysyncon(x1, x0, z1, z0, names, donors)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_outcome_path_is_at_least_as_good_as_pysyncons_search():
    df = pd.read_csv(ROOT / "evaluations" / "home-safety-hub" / "data" / "fires.csv")
    df["rate"] = df["fires"] / df["households"] * 1e4
    wide = df.pivot(index="area", columns="month", values="rate")
    pre = [m for m in wide.columns if m < "2013-10"]
    donors = [a for a in wide.index if a != "Glenmorven"]
    z1 = wide.loc["Glenmorven", pre].to_numpy()
    z0 = wide.loc[donors, pre].to_numpy().T
    ours = fit_outcome_path(z1, z0)
    theirs = run_pysyncon(z1, z0, z1, z0, [f"y{m}" for m in pre], donors)
    loss_theirs = float(np.mean((z1 - z0 @ theirs) ** 2))
    assert ours.loss_v <= loss_theirs * (1 + 1e-9)
    assert abs(ours.weights.sum() - 1) < 1e-12 and ours.weights.min() >= 0
