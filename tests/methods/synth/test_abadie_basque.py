"""Basque Country: the donor weights of Abadie & Gardeazabal (2003) and of Synth's example.

Specification, data and every expected figure: tests/reference/basque/SOURCE.md
(Synth 1.1-8 ``?synth`` example; AG 2003; ADH 2011 JSS). Tolerances are stated there.
"""

from __future__ import annotations

import numpy as np
import pytest

from preveval.methods.synth import PredictorSpec, fit_abadie, synth_matrices

pytestmark = pytest.mark.reference

SCHOOL = ["school.illit", "school.prim", "school.med", "school.high", "school.post.high"]
SECTORS = ["sec.agriculture", "sec.energy", "sec.industry", "sec.construction",
           "sec.services.venta", "sec.services.nonventa"]


def synth_example_matrices(basque):
    """The ``?synth`` example's dataprep plus its two post-dataprep edits of X."""
    pre = tuple(range(1964, 1970))
    odd = tuple(range(1961, 1970, 2))
    specs = [PredictorSpec(c, pre, c) for c in [*SCHOOL, "invest"]]
    specs += [PredictorSpec("gdpcap", tuple(range(1960, 1970)))]
    specs += [PredictorSpec(c, odd) for c in SECTORS]
    specs += [PredictorSpec("popdens", (1969,))]
    m = synth_matrices(basque, unit="regionno", time="year", outcome="gdpcap", treated=17,
                       donors=[*range(2, 17), 18], fit_periods=range(1960, 1970), predictors=specs)
    x = np.column_stack([m.x_treated, m.x_donors])
    names = list(m.predictor_names)
    high, post = names.index("school.high"), names.index("school.post.high")
    x[high] += x[post]  # 1. combine the two highest schooling categories
    x = np.delete(x, post, axis=0)
    names.pop(post)
    x[:4] = 100 * x[:4] / x[:4].sum(axis=0)  # 2. schooling counts -> shares of the total
    region = basque.drop_duplicates("regionno").set_index("regionno")["regionname"]
    donors = [region[d] for d in [*range(2, 17), 18]]
    return x[:, 0], x[:, 1:], m.z_treated, m.z_donors, names, donors


@pytest.fixture(scope="module")
def fit(basque):
    x1, x0, z1, z0, names, donors = synth_example_matrices(basque)
    return fit_abadie(x1, x0, z1, z0, predictor_names=names, donor_names=donors)


def test_predictor_matrix_matches_synth_dataprep(basque, basque_expected):
    x1, x0, *_ , names, donors = synth_example_matrices(basque)
    bal = basque_expected["synth_r"]["balance"]
    r_names = list(bal)
    # Synth names special predictors "special.<col>.<first>.<last>"; ours "<col>.<first>.<last>"
    assert [n.removeprefix("special.") for n in r_names] == names
    np.testing.assert_allclose(x1, [bal[n]["treated"] for n in r_names], rtol=1e-12)
    np.testing.assert_allclose(x0.mean(axis=1), [bal[n]["donor_mean"] for n in r_names], rtol=1e-12)


def test_weights_match_the_published_ones(fit, basque_expected):
    w = dict(zip(fit.donor_names, fit.weights, strict=True))
    pub = basque_expected["published"]
    for region, value in pub["weights_4dp"].items():  # Abadie & Gardeazabal (2003)
        assert round(w[region], 4) == value
    for region, value in pub["weights_3dp"].items():  # synth.tab() of the ?synth example
        assert round(w[region], 3) == value
    others = [v for k, v in w.items() if k not in pub["weights_4dp"]]
    assert max(others) < 1e-9


def test_weights_and_fit_against_synth_run(fit, basque_expected):
    r = basque_expected["synth_r"]
    ours = dict(zip(fit.donor_names, fit.weights, strict=True))
    for region, value in r["weights"].items():
        assert abs(ours[region] - value) < 5e-5, region
    # our optimum is at least as good as Synth's (lower loss.v is better)
    assert fit.loss_v <= r["loss_v"]
    assert fit.loss_v == pytest.approx(r["loss_v"], rel=1e-4)
    assert fit.rmspe_pre == pytest.approx(np.sqrt(fit.loss_v))
    bal = r["balance"]
    np.testing.assert_allclose(fit.balance.synthetic, [b["synthetic"] for b in bal.values()], rtol=2e-4)
    assert fit.v_method == "optimized" and fit.converged


def test_identity_v_and_custom_v_run_on_the_example(basque, fit):
    x1, x0, z1, z0, names, donors = synth_example_matrices(basque)
    ident = fit_abadie(x1, x0, z1, z0, v="identity")
    assert ident.loss_v >= fit.loss_v
    same = fit_abadie(x1, x0, z1, z0, v=fit.v)
    np.testing.assert_allclose(same.weights, fit.weights, atol=1e-12)
