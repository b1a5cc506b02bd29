"""``validate`` refuses everything ``run`` would refuse before fitting (issue: conclusions a board can trust).

Every ``raise EstimationError`` / ``raise DataError`` in the design families and the
inference cores is listed in ``SITES`` (found by walking the code, so a new one fails this
test until it is classified): either validate catches its cause first (a case below makes
``preveval validate`` exit 2 with FILE:LINE:COL), or it cannot be known before fitting (the
reason is given).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from preveval.cli import app
from support import ROOT

SRC = ROOT / "src" / "preveval"
runner = CliRunner()

FITTING = "fitting"


def _reachable() -> set[str]:
    """Modules the pipeline can run: reached from preveval.pipeline through the import graph."""
    from test_architecture import graph

    g = graph()
    seen, todo = set(), ["preveval.pipeline"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(g.get(m, ()))
    return seen


def _sites() -> set[tuple[str, str]]:
    """(module, first words of the message) of every raise of EstimationError or DataError.

    Only the design families' and inference cores' modules an evaluation file can reach
    (those the pipeline imports, directly or not) count: a module not wired into the
    pipeline yet cannot fail a run.
    """
    out = set()
    reach = _reachable()
    for path in sorted([*(SRC / "methods").rglob("*.py"), *(SRC / "inference").rglob("*.py")]):
        if ".".join(path.relative_to(SRC.parent).with_suffix("").parts) not in reach:
            continue
        tree = ast.parse(path.read_text())
        mod = str(path.relative_to(SRC).with_suffix(""))
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", "")
                if name not in ("EstimationError", "DataError"):
                    continue
                arg = node.exc.args[0] if node.exc.args else None
                text = ""
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    text = arg.value
                elif isinstance(arg, ast.JoinedStr):
                    text = "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
                else:
                    text = ast.unparse(arg) if arg is not None else ""
                out.add((mod, " ".join(text.split()[:5])))
    return out


# ----------------------------------------------------------------------------- the cases

def panel(n_units: int = 6, months: int = 36, treated: int = 2, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per = pd.period_range("2018-01", periods=months, freq="M")
    rows = []
    for u in range(n_units):
        start = per[18] if u < treated else None
        for p in per:
            on = start is not None and p >= start
            rows.append({"area": f"Area {u}", "month": str(p), "y": int(rng.poisson(20)), "rate": rng.uniform(1, 5),
                         "pop": 10000 + 100 * u, "active": int(on), "first": "" if start is None else str(start),
                         "grp": int(u < treated), "post": int(p >= per[18]), "cov": rng.normal(), "w": 1.0 + u,
                         "wv": 1.0 + u + 0.01 * p.ordinal})
    return pd.DataFrame(rows)


BASE: dict[str, Any] = {
    "schema_version": 1,
    "initiative": {"id": "t", "name": "Test"},
    "indicators": [{"id": "y", "label": "Events", "column": "y"},
                   {"id": "rate", "label": "A rate", "column": "rate", "kind": "rate"}],
    "data": {"path": "data.csv", "time": "month", "frequency": "month", "unit": "area"},
}
DID = {"id": "did", "method": "did", "indicator": "y", "design": "twfe", "treatment": "active"}
ITS = {"id": "its", "method": "its", "indicator": "y", "units": ["Area 0"], "intervention": "2019-07",
       "sensitivity": False}
SYNTH = {"id": "sc", "method": "synthetic_control", "indicator": "y", "treated": "Area 0", "intervention": "2019-07",
         "plausible_effect": -2}
SDID = {**SYNTH, "estimator": "sdid"}


def case(analysis: dict[str, Any], data: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
         *, unit: str | None = "area", extra: dict[str, Any] | None = None) -> tuple[dict, pd.DataFrame]:
    spec = dict(BASE, analyses=[analysis], **(extra or {}))
    spec["data"] = dict(BASE["data"], unit=unit) if unit else {k: v for k, v in BASE["data"].items() if k != "unit"}
    frame = panel()
    return spec, (data(frame) if data else frame)


def _one_series(f: pd.DataFrame) -> pd.DataFrame:
    return f[f["area"] == "Area 0"].reset_index(drop=True)


CASES: dict[str, tuple[dict, pd.DataFrame]] = {
    "its-outside": case({**ITS, "intervention": "2024-01"}),
    "its-covariate-name": case({**ITS, "covariates": ["time"]}, lambda f: f.assign(time=f["cov"])),
    "its-count-family": case({**ITS, "indicator": "rate", "family": "poisson"}),
    "its-unknown-unit": case({**ITS, "units": ["Nowhere"]}),
    "its-missing-rows": case({**ITS, "units": ["Area 0", "Area 1"]},
                             lambda f: f[~((f["area"] == "Area 1") & (f["month"] == "2018-01"))]),
    "its-comparison-without-panel": case({**ITS, "units": None, "comparison": {"units": ["Area 1"]}},
                                         _one_series, unit=None),
    "its-comparison-overlap": case({**ITS, "comparison": {"units": ["Area 0"]}}),
    "its-too-few-periods": case({**ITS, "intervention": "2018-05", "seasonality": {"type": "dummies", "period": 12}},
                                lambda f: f[f["month"] < "2018-09"]),
    "its-ar-family": case({**ITS, "errors": "ar"}),
    "its-ar-periods": case({**ITS, "family": "gaussian", "errors": "ar", "ar_order": 3,
                            "seasonality": {"type": "dummies", "period": 12}, "intervention": "2018-05"},
                           lambda f: f[f["month"] < "2018-10"]),
    "its-log-zeros": case({**ITS, "family": "gaussian", "transform": "log"},
                          lambda f: f.assign(y=np.where(f["month"] == "2018-03", 0, f["y"]))),
    "its-needs-units": case({**ITS, "units": None}),
    "staggered-no-panel": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first"},
                               _one_series, unit=None),
    "staggered-poisson-weights": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                                       "family": "poisson", "weights": "w"}),
    "staggered-poisson-negative": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                                        "indicator": "rate", "family": "poisson"},
                                       lambda f: f.assign(rate=f["rate"] - 10)),
    "staggered-poisson-not-yet": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                                       "family": "poisson", "control": "not_yet_treated"}),
    "staggered-poisson-option": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                                      "family": "poisson", "band": "pointwise"}),
    "staggered-sa-covariates": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                                     "estimator": "sun_abraham", "covariates": ["cov"]}),
    "staggered-sa-not-yet": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                                  "estimator": "sun_abraham", "control": "not_yet_treated"}),
    "staggered-last-treated-cs": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                                       "control": "last_treated"}),
    "staggered-sa-no-treated": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                                     "estimator": "sun_abraham", "control": "last_treated"},
                                    lambda f: f.assign(first="")),
    "staggered-unbalanced-dr": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                                     "allow_unbalanced_panel": True, "covariates": ["cov"]}),
    "staggered-window": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                              "min_e": 3, "max_e": 1}),
    "staggered-sensitivity-window": case({**DID, "design": "staggered", "treatment": None,
                                          "first_treated": "first", "anticipation": 1,
                                          "sensitivity": {"min_e": -2}}),
    "staggered-varying-weights": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first",
                                       "weights": "wv"}),
    "staggered-no-pre-period": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first"},
                                    lambda f: f.assign(first=np.where(f["first"] != "", "2018-01", ""))),
    "staggered-no-never-treated": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first"},
                                       lambda f: f.assign(first="2019-07")),
    "staggered-no-post-period": case({**DID, "design": "staggered", "treatment": None, "first_treated": "first"},
                                     lambda f: f.assign(first=np.where(f["first"] != "", "2025-01", ""))),
    "missing-outcome": case(DID, lambda f: f.assign(y=f["y"].astype(object).where(f.index != 5, ""))),
    "poisson-negative": case({**DID, "indicator": "rate", "family": "poisson"},
                             lambda f: f.assign(rate=f["rate"] - 10)),
    "event-study-no-panel": case({**DID, "design": "event_study", "treatment": None, "first_treated": "first"},
                                 _one_series, unit=None),
    "event-study-no-treated": case({**DID, "design": "event_study", "treatment": None, "first_treated": "first"},
                                   lambda f: f.assign(first="")),
    "event-study-only-reference": case({**DID, "design": "event_study", "treatment": None, "first_treated": "first",
                                        "event_bin": 120},
                                       lambda f: f.assign(first=np.where(f["first"] != "", "2021-01", ""))),
    "two-by-two-no-treated": case({**DID, "design": "two_by_two", "treatment": None, "group": "grp", "post": "post"},
                                  lambda f: f.assign(post=0)),
    "twfe-no-panel": case(DID, _one_series, unit=None),
    "twfe-never-treated": case(DID, lambda f: f.assign(active=0)),
    "twfe-never-switches": case(DID, lambda f: f.assign(active=f["grp"])),
    "one-cluster": case({**DID, "cluster": "one"}, lambda f: f.assign(one="x")),
    "randomization-all-treated": case({**DID, "inference": "randomization"},
                                      lambda f: f.assign(active=(f["post"] == 1).astype(int))),
    "randomization-design": case({**DID, "design": "event_study", "treatment": None, "first_treated": "first",
                                  "inference": "randomization"}),
    "ignored-option": case({**DID, "leads": 3}),
    "synth-no-panel": case(SYNTH, _one_series, unit=None),
    "synth-unknown-treated": case({**SYNTH, "treated": "Nowhere"}),
    "synth-unknown-donor": case({**SYNTH, "donors": ["Area 2", "Nowhere"]}),
    "synth-treated-donor": case({**SYNTH, "donors": ["Area 0", "Area 2", "Area 3"]}),
    "synth-two-donors": case({**SYNTH, "donors": ["Area 2", "Area 3"]}),
    "synth-abadie-two-treated": case({**SYNTH, "treated": ["Area 0", "Area 1"]}),
    "synth-missing-outcome": case(SYNTH, lambda f: f[~((f["area"] == "Area 3") & (f["month"] == "2018-02"))]),
    "synth-blank-outcome": case(SYNTH, lambda f: f.assign(y=f["y"].astype(object).where(
        ~((f["area"] == "Area 3") & (f["month"] == "2018-02")), ""))),
    "synth-bad-period": case({**SYNTH, "fit_to": "2019-13"}),
    "synth-intervention-outside": case({**SYNTH, "intervention": "2024-01"}),
    "synth-intervention-early": case({**SDID, "intervention": "2018-03"}),
    "synth-fit-window-reversed": case({**SYNTH, "fit_from": "2019-01", "fit_to": "2018-06"}),
    "synth-fit-after-start": case({**SYNTH, "fit_to": "2019-09"}),
    "synth-predictor-after-start": case({**SYNTH, "predictors": [{"column": "cov", "from": "2018-01", "to": "2019-12"}]}),
    "synth-predictor-empty-window": case({**SYNTH, "predictors": [{"column": "cov", "from": "2018-01", "to": "2018-06"}]},
                                         lambda f: f.assign(cov=f["cov"].where(~((f["area"] == "Area 2")
                                                                                 & (f["month"] < "2018-07"))))),
    "synth-flat-predictor": case({**SYNTH, "predictors": [{"column": "same", "from": "2018-01", "to": "2018-06"}]},
                                 lambda f: f.assign(same=np.where(f["area"] == "Area 0", 2.0, 1.0))),
    "synth-empty-predictors": case({**SYNTH, "predictors": []}),
    "synth-unknown-column": case({**SYNTH, "predictors": [{"column": "nothere", "from": "2018-01", "to": "2018-06"}]}),
    "synth-sdid-option": case({**SDID, "predictors": [{"column": "cov", "from": "2018-01", "to": "2018-06"}]}),
    "synth-sdid-few-donors": case({**SDID, "treated": ["Area 0", "Area 1", "Area 2"]}),
    "synth-placebo-date": case({**SYNTH, "placebo_date": "2019-06"}),
    "duplicate-rows": case(SYNTH, lambda f: pd.concat([f, f.iloc[[3]]], ignore_index=True)),
    "difference-scale-evidence": case({**DID, "indicator": "rate"}, extra={"contribution": {
        "claim": "It helped", "evidence": [{"id": "e", "from_analysis": "did"}]}}),
}

# The site of every raise -> the cases that show validate catches its cause, or why it cannot.
SITES: dict[tuple[str, str], tuple[str, ...] | tuple[str, str]] = {
    ("methods/its/design", "issues"): ("its-outside", "its-covariate-name", "its-count-family", "its-log-zeros"),
    ("methods/its/series", "issues"): ("its-unknown-unit", "its-missing-rows", "its-comparison-without-panel",
                                       "its-comparison-overlap", "missing-outcome"),
    ("methods/its/fit", "the ITS design is rank"): (FITTING, "the rank of the whole design (trend, intervention "
                                                    "terms, seasonality and covariates together) is known once it is "
                                                    "built; validate refuses its usual causes: an intervention without "
                                                    "periods on both sides and a constant covariate"),
    ("methods/its/fit", "errors: ar is available for"): ("its-ar-family",),
    ("methods/its/fit", "the count model could not"): (FITTING, "whether the GLM's iterations stay finite (a count "
                                                       "many orders of magnitude above the rest, for example) is known "
                                                       "only by fitting; the message names the largest count"),
    ("methods/its/fit", "too few periods () for"): ("its-too-few-periods", "its-ar-periods"),
    ("methods/its/structural", "transform: log needs positive values"): ("its-log-zeros",),
    ("methods/its/structural", "the structural model could not"): (FITTING, "the state-space optimiser's result"),
    ("methods/its/negbin", "the negative binomial model needs"): ("its-count-family",),
    ("methods/its/negbin", "the negative binomial fit did"): (FITTING, "IRLS convergence at a trial dispersion"),
    ("methods/its/negbin", "the negative binomial fit diverged"): (FITTING, "IRLS divergence at a trial dispersion"),
    ("methods/its/negbin", "the negative binomial dispersion could"): (FITTING, "the likelihood's shape in the dispersion"),
    ("methods/its/negbin", "the negative binomial dispersion did"): (FITTING, "Brent's method failing on a bracket"),
    ("methods/did/staggered", "a staggered design needs a"): ("staggered-no-panel",),
    ("methods/did/staggered_count", "a staggered design needs a"): ("staggered-no-panel",),
    ("methods/did/poisson_staggered", "a Poisson model needs non-negative"): ("staggered-poisson-negative",),
    ("methods/did/poisson_staggered", "the extended TWFE Poisson needs"): ("staggered-no-never-treated",
                                                                           "staggered-poisson-not-yet"),
    ("methods/did/poisson_staggered", "no treated unit-period"): ("staggered-no-post-period",),
    ("methods/did/poisson_staggered", "'the cohort x period effects"): (FITTING, "identification of the cohort x "
                                                                        "period effects and convergence of the "
                                                                        "Poisson iterations"),
    ("methods/did/poisson_staggered", "a treated cohort x period"): (FITTING, "a cohort x period cell with no "
                                                                     "events at all, known once the cells are formed"),
    ("methods/did/poisson_staggered", "fixed_effects must be 'unit' or"): (FITTING, "argument checks of the library "
                                                                           "function (the pipeline passes 'unit')"),
    ("methods/did/sun_abraham", "no never-treated units: use control:"): ("staggered-no-never-treated",),
    ("methods/did/sun_abraham", "no treated units"): ("staggered-sa-no-treated",),
    ("methods/did/sun_abraham", "no treated cohort is left"): (FITTING, "control: last_treated with a single "
                                                               "cohort; as a comparison it is reported as a note"),
    ("methods/did/sun_abraham", "cohort x relative-period effects not"): (FITTING, "identification of the cohort x "
                                                                          "relative-period effects given the fixed "
                                                                          "effects"),
    ("methods/did/sun_abraham", "control must be 'never_treated' or"): (FITTING, "argument checks of the library "
                                                                        "function (the spec model limits control)"),
    ("methods/did/aggregate", "aggregation must be one of"): (FITTING, "argument checks of the library function "
                                                              "(the spec model limits aggregations)"),
    ("methods/did/aggregate", "no post-treatment ATT(g,t) cells: nothing"): ("staggered-no-post-period",),
    ("methods/did/aggregate", "no event time at or"): ("staggered-window",),
    ("methods/did/aggregate", "no event times fall within"): (FITTING, "the event times in a window depend on the "
                                                              "cohorts' cells; an empty window is reported as a note "
                                                              "(staggered_notes), the headline does not use it"),
    ("methods/did/aggregate", "no post-treatment ATT(g,t) in the"): (FITTING, "an aggregation without cells in its "
                                                                     "window is reported as a note (staggered_notes)"),
    ("methods/did/aggregate", "the sensitivity analysis needs at"): ("staggered-sensitivity-window",),
    ("methods/did/aggregate", "the sensitivity analysis needs the"): (FITTING, "the pipeline always passes cells "
                                                                      "with the universal base period"),
    ("methods/did/bacon", "the Goodman-Bacon decomposition needs a"): (FITTING, "a comparison only: an unbalanced "
                                                                       "panel leaves the decomposition out with a "
                                                                       "note (staggered_notes)"),
    ("methods/did/bacon", "the treatment does not vary"): ("twfe-never-treated", "staggered-no-post-period"),
    ("methods/did/bacon", "the treatment must stay on"): (FITTING, "the treatment is built from first_treated, so "
                                                          "it never switches off"),
    ("methods/did/staggered", "design: staggered needs weights that"): ("staggered-varying-weights",),
    ("methods/did/staggered", "no treated units with a"): ("staggered-no-pre-period",),
    ("methods/did/staggered", "no never-treated units: use control:"): ("staggered-no-never-treated",),
    ("methods/did/staggered", "no group-time effect can be"): (FITTING, "a cell fails only when its covariate "
                                                               "regression or propensity score is fitted"),
    ("methods/did/staggered", "no period at or after"): ("staggered-no-post-period",),
    ("methods/did/covariates", "the covariates are collinear among"): (FITTING, "collinearity within one cell's "
                                                                        "comparison units"),
    ("methods/did/covariates", "no overlap between the cohort"): (FITTING, "propensity scores of one cell"),
    ("methods/did/cells", "anticipation must be a whole"): (FITTING, "checks of the options record; an evaluation "
                                                            "file's options are checked by the spec model first"),
    ("methods/did/cells", "base_period must be 'varying' or"): (FITTING, "checks of the options record; an "
                                                                 "evaluation file's options are checked by the spec "
                                                                 "model first"),
    ("methods/did/cells", "the covariates are collinear among"): (FITTING, "collinearity within one cell's "
                                                                   "comparison units"),
    ("methods/did/cells", "the cohort is not observed"): (FITTING, "a repeated-cross-section cell of an unbalanced "
                                                         "panel; known when the cells are formed"),
    ("methods/did/cells", "no comparison units observed in"): (FITTING, "a repeated-cross-section cell of an "
                                                              "unbalanced panel; known when the cells are formed"),
    ("methods/did/cells", "the panel is unbalanced: drop"): (FITTING, "reached only through the Python API: the "
                                                            "pipeline drops incomplete units first, with a warning"),
    ("methods/did/cells", "with an unbalanced panel the"): ("staggered-unbalanced-dr",),
    ("methods/did/core", "no complete rows are left"): ("missing-outcome",),
    ("methods/did/core", "a Poisson model needs a"): ("poisson-negative",),
    ("methods/did/event_study", "an event study needs a"): ("event-study-no-panel",),
    ("methods/did/event_study", "no treated units: '' is"): ("event-study-no-treated",),
    ("methods/did/event_study", "no relative periods other than"): ("event-study-only-reference",),
    ("methods/did/event_study", ". Event-study coefficients are not"): (FITTING, "identification of the "
                                                                                  "leads and lags given the fixed "
                                                                                  "effects"),
    ("methods/did/event_study", "no treated observations at or"): ("staggered-no-post-period",),
    ("methods/did/twfe", "no treated observations: no row"): ("two-by-two-no-treated",),
    ("methods/did/twfe", "a two-way fixed-effects design needs"): ("twfe-no-panel",),
    ("methods/did/twfe", "no treated observations: '' is"): ("twfe-never-treated",),
    ("inference/wild_common", "[Issue(f'X must be two-dimensional, got"): (FITTING, "argument checks of a library function; "
                                                                  "the pipeline always passes validated arrays"),
    ("inference/wild_common", "issues"): (FITTING, "argument checks of a library function (not reachable from a file)"),
    ("inference/wild_common", "[Issue(f'{X.shape[0]} observations for {X.shape[1]} coefficients',"): (FITTING, "argument checks of a library "
                                                                             "function"),
    ("inference/wild_common", "[Issue(f'the wild cluster bootstrap needs"): (FITTING, "argument checks of a library function"),
    ("inference/covariance", "the design matrix is singular"): (FITTING, "collinearity after absorbing fixed effects"),
    ("inference/covariance", "no residual degrees of freedom:"): (FITTING, "parameters counted after absorbing fixed "
                                                                  "effects and dropping singletons"),
    ("inference/covariance", "cluster-robust standard errors need at"): ("one-cluster",),
    ("inference/wild_wald", "the design matrix is rank"): (FITTING, "caught and reported inside the event study"),
    ("inference/wild_wald", "a joint test of restrictions"): (FITTING, "caught and reported inside the event study"),
    ("inference/score_bootstrap", "the score bootstrap needs at"): ("one-cluster",),
    ("inference/randomization", "randomization inference needs treated units"): ("twfe-never-treated",),
    ("inference/randomization", "randomization inference needs units that"): ("randomization-all-treated",),
    ("inference/randomization", "a re-assigned treatment is collinear"): (FITTING, "collinearity of one re-assignment "
                                                                          "with the fixed effects"),
    ("inference/fixed_effects", "'' is collinear with the"): ("twfe-never-switches",),
    ("inference/fixed_effects", "no estimable regressor is left"): ("twfe-never-switches",),
    ("inference/wild_bootstrap", "the design matrix is rank"): (FITTING, "collinearity after absorbing fixed effects"),
    # synthetic control: what an evaluation file can cause, then the numerical cores' argument checks
    ("methods/synth/fit", "synthetic control: at least two"): ("synth-two-donors",),
    ("methods/synth/fit", "synthetic control: estimator abadie takes"): ("synth-abadie-two-treated",),
    ("methods/synth/panel", "synthetic control: '' is not"): ("synth-bad-period",),
    ("methods/synth/panel", "synthetic control: no pre-period lies"): ("synth-fit-window-reversed",),
    ("methods/synth/panel", "synthetic control: unit '' has"): ("synth-missing-outcome", "synth-blank-outcome"),
    ("methods/synth/predictors", "f'synthetic control: predictor {label}: none"): ("synth-predictor-after-start",),
    ("methods/synth/predictors", "synthetic control: column not in"): ("synth-unknown-column",),
    ("methods/synth/predictors", "synthetic control: no predictors"): ("synth-empty-predictors",),
    ("methods/synth/predictors", "synthetic control: outcome is missing"): ("synth-missing-outcome",
                                                                           "synth-blank-outcome"),
    ("methods/synth/predictors", "synthetic control: predictor has no"): ("synth-predictor-empty-window",),
    ("methods/synth/predictors", "synthetic control: the treated unit"): ("synth-treated-donor",),
    ("methods/synth/predictors", "synthetic control: unit has more"): ("duplicate-rows",),
    ("methods/synth/predictors", "synthetic control: unit(s) not in"): ("synth-unknown-treated", "synth-unknown-donor"),
    ("methods/synth/abadie", "synthetic control: at least two"): ("synth-two-donors",),
    ("methods/synth/abadie", "synthetic control: contain missing or"): ("synth-predictor-empty-window",
                                                                        "synth-blank-outcome"),
    ("methods/synth/abadie", "synthetic control: predictor(s) do not"): ("synth-flat-predictor",),
    ("methods/synth/abadie", "synthetic control: the outcome is"): ("synth-blank-outcome",),
    ("methods/synth/abadie", "'synthetic control: ' + ';"): (FITTING, "shape checks of the library function; the "
                                                             "pipeline builds the matrices from one checked panel"),
    ("methods/synth/abadie", "synthetic control: custom v needs"): (FITTING, "argument checks of the library function "
                                                                    "(V is not an option of the evaluation file)"),
    ("methods/synth/abadie", "synthetic control: v must be"): (FITTING, "argument checks of the library function "
                                                               "(V is not an option of the evaluation file)"),
    ("methods/synth/abadie", "synthetic control: names do not"): (FITTING, "argument checks of the library function; "
                                                                  "the pipeline names every predictor and donor"),
    ("methods/synth/abadie", "synthetic control: treated fit periods"): (FITTING, "shape checks of the library "
                                                                         "function"),
    ("methods/synth/placebo", "placebo: at least two donors"): ("synth-two-donors",),
    ("methods/synth/placebo", "placebo: t0 = needs at"): ("synth-intervention-outside", "synth-intervention-early"),
    ("methods/synth/placebo", "placebo: the fake date must"): ("synth-placebo-date",),
    ("methods/synth/placebo", "placebo: no fit period before"): ("synth-placebo-date",),
    ("methods/synth/placebo", "placebo: level must be in"): (FITTING, "argument checks of the library function"),
    ("methods/synth/placebo", "placebo: the fitter returned periods,"): (FITTING, "a contract of the fitters the "
                                                                         "pipeline itself builds"),
    ("methods/synth/placebo", "placebo: the outcome matrix must"): (FITTING, "argument checks of the library function"),
    ("methods/synth/placebo", "placebo: the treated unit's RMSPE"): (FITTING, "a perfect fit before and after the "
                                                                     "start, known only from the fitted gaps"),
    ("methods/synth/placebo", "placebo: treated row is outside"): (FITTING, "argument checks of the library function"),
    ("methods/synth/placebo", "placebo: v='outcome_path' is for the"): (FITTING, "argument checks of the library "
                                                                        "function"),
    ("methods/synth/placebo", "placebo: weights for donors"): (FITTING, "argument checks of the library function"),
    ("methods/synth/sdid", "synthetic DiD: too few pre-period"): ("synth-intervention-early",),
    ("methods/synth/sdid", "'synthetic DiD: ' + ';"): ("synth-intervention-early", "synth-two-donors"),
    ("methods/synth/sdid", "synthetic DiD: Y has a"): ("synth-missing-outcome", "synth-blank-outcome"),
    ("methods/synth/sdid", "synthetic DiD: Y must be"): (FITTING, "argument checks of the library function"),
    ("methods/synth/sdid", "synthetic DiD: estimator must be"): (FITTING, "argument checks of the library function "
                                                                 "(the pipeline passes sdid, sc or did)"),
    ("methods/synth/sdid", "synthetic DiD: give exactly one"): (FITTING, "argument checks of the library function"),
    ("methods/synth/sdid", "synthetic DiD: the treated mask"): (FITTING, "argument checks of the library function"),
    ("methods/synth/sdid_se", "synthetic DiD: the placebo standard"): ("synth-sdid-few-donors",),
    ("methods/synth/sdid_batch", "synthetic DiD: each re-fit needs"): ("synth-intervention-early", "synth-two-donors"),
    ("methods/synth/sdid_se", "synthetic DiD: at least two"): (FITTING, "replications are checked by the evaluation "
                                                               "file's model (reps of 50 or more)"),
    ("methods/synth/sdid_se", "synthetic DiD: each permutation must"): (FITTING, "argument checks of the library "
                                                                        "function"),
    ("methods/synth/sdid_se", "synthetic DiD: unknown standard-error method"): (FITTING, "argument checks of the "
                                                                                "library function"),
    ("methods/synth/simplex", "simplex_least_squares: A and b must"): ("synth-blank-outcome",),
    ("methods/synth/simplex", "simplex_least_squares: A is , b"): (FITTING, "shape checks of the library function"),
    ("methods/synth/simplex", "simplex_least_squares: no columns (donors)"): ("synth-two-donors",),
    ("methods/synth/simplex", "simplex_least_squares: the active-set solver found"): (FITTING, "numerical failure of "
                                                                                       "the active-set solver"),
}


def test_every_raise_site_is_classified() -> None:
    found = _sites()
    missing = sorted(found - set(SITES))
    stale = sorted(set(SITES) - found)
    assert not missing, f"classify these raise sites in SITES: {missing}"
    assert not stale, f"these SITES no longer exist: {stale}"
    for site, how in SITES.items():
        if how[0] == FITTING:
            assert len(how) == 2 and len(how[1]) > 20, site
        else:
            assert all(c in CASES for c in how), site


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_refuses_with_file_line_and_column(tmp_path: Path, name: str) -> None:
    spec, frame = CASES[name]
    (tmp_path / "evaluation.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    frame.to_csv(tmp_path / "data.csv", index=False)
    res = runner.invoke(app, ["validate", str(tmp_path / "evaluation.yaml")])
    assert res.exit_code == 2, (name, res.output)
    errors = [ln for ln in res.stderr.splitlines() if not ln.startswith(("warning:", "preveval:"))]
    assert errors and all(re.match(r".+\.(yaml|csv):\d+(:\d+)?: ", ln) for ln in errors), (name, res.stderr)
    assert "Traceback" not in res.output
