"""Input checks of pool() and meta_regression(): every problem named, all reported at once."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from preveval.errors import DataError
from preveval.pooling import meta_regression, pool


def issues_of(excinfo: pytest.ExceptionInfo[DataError]) -> list[str]:
    return [i.format() for i in excinfo.value.issues]


def test_lengths_must_match():
    with pytest.raises(DataError, match="estimates has 3 entries but std_errors has 2"):
        pool([0.1, 0.2, 0.3], [0.1, 0.1])
    with pytest.raises(DataError, match="labels has 2 entries but there are 3 studies"):
        pool([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], labels=["a", "b"])


def test_nan_estimate_names_the_study():
    with pytest.raises(DataError) as e:
        pool([0.1, math.nan, 0.3], [0.1, 0.1, 0.1], labels=["Aronson", "Ferguson", "Hart"])
    (msg,) = issues_of(e)
    assert "study 'Ferguson': the estimate is missing (NaN)" in msg
    assert msg.startswith("estimates[1]: ")


@pytest.mark.parametrize(("bad", "words"), [
    (0.0, "the standard error must be positive and finite, got 0"),
    (-0.1, "the standard error must be positive and finite, got -0.1"),
    (math.inf, "the standard error must be positive and finite, got inf"),
    (math.nan, "the standard error is missing (NaN)"),
])
def test_standard_errors_must_be_positive_and_finite(bad, words):
    with pytest.raises(DataError) as e:
        pool([0.1, 0.2, 0.3], [0.1, bad, 0.1], labels=["a", "b", "c"])
    (msg,) = issues_of(e)
    assert f"study 'b': {words}" in msg


def test_every_problem_is_reported_together():
    with pytest.raises(DataError) as e:
        pool([math.nan, math.inf, 0.3, 0.4], [0.1, 0.1, 0.0, math.nan])
    msgs = issues_of(e)
    assert len(msgs) == 4
    assert any("'Study 1'" in m and "estimate is missing" in m for m in msgs)
    assert any("'Study 2'" in m and "estimate is infinite" in m for m in msgs)
    assert any("'Study 3'" in m and "positive and finite" in m for m in msgs)
    assert any("'Study 4'" in m and "standard error is missing" in m for m in msgs)


def test_no_studies_and_non_numbers_and_shapes():
    with pytest.raises(DataError, match="no studies"):
        pool([], [], method="FE")
    with pytest.raises(DataError, match="estimates must be numbers"):
        pool(["a", "b"], [0.1, 0.1])
    with pytest.raises(DataError, match="one-dimensional"):
        pool(np.ones((2, 2)), np.ones((2, 2)))


def test_one_study_needs_fe():
    with pytest.raises(DataError, match="method='REML'") as e:
        pool([0.3], [0.1], labels=["solo"])
    assert "use method='FE'" in e.value.issues[0].hint


def test_options_are_checked():
    with pytest.raises(ValueError, match="method must be one of REML, DL, PM, FE"):
        pool([0.1, 0.2], [0.1, 0.1], method="HS")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level"):
        pool([0.1, 0.2], [0.1, 0.1], level=95)
    with pytest.raises(ValueError, match="scale"):
        pool([0.1, 0.2], [0.1, 0.1], scale="ratio")  # type: ignore[arg-type]
    assert pool([0.1, 0.2], [0.1, 0.1], method="reml").method == "REML"  # type: ignore[arg-type]


def frame() -> pd.DataFrame:
    return pd.DataFrame({"lat": [10.0, 20, 30, 40, 50, 60], "year": [1950, 1960, 1955, 1970, 1965, 1980],
                         "arm": ["a", "b", "a", "b", "c", "c"], "flag": [True, False, True, False, True, True]})


Y = np.array([0.1, 0.3, 0.2, 0.5, 0.4, 0.7])
SE = np.array([0.1, 0.12, 0.15, 0.1, 0.2, 0.11])


def test_missing_moderator_names_study_and_column():
    f = frame()
    f.loc[2, "lat"] = np.nan
    with pytest.raises(DataError) as e:
        meta_regression(Y, SE, f, columns=["lat"], labels=list("ABCDEF"))
    (msg,) = issues_of(e)
    assert "study 'C': moderator 'lat' is missing" in msg and msg.startswith("moderators.lat[2]")


def test_unknown_column_lists_the_columns():
    with pytest.raises(DataError) as e:
        meta_regression(Y, SE, frame(), columns=["latitude"])
    assert "moderator 'latitude' is not a column" in str(e.value)
    assert "columns are: lat, year, arm, flag" in str(e.value)


def test_collinear_and_too_many_moderators():
    f = frame().assign(lat2=lambda d: 2 * d["lat"], const=1.0)
    with pytest.raises(DataError, match="collinear"):
        meta_regression(Y, SE, f, columns=["lat", "lat2"])
    with pytest.raises(DataError, match="collinear"):
        meta_regression(Y, SE, f, columns=["const"])
    g = pd.DataFrame(np.random.default_rng(1).normal(size=(6, 5)), columns=list("pqrst"))
    with pytest.raises(DataError, match="6 coefficients cannot be estimated from 6 studies"):
        meta_regression(Y, SE, g)


def test_moderator_rows_and_levels():
    with pytest.raises(DataError, match="the moderators have 5 rows but there are 6 studies"):
        meta_regression(Y, SE, frame().iloc[:5])
    with pytest.raises(DataError, match="single level"):
        meta_regression(Y, SE, frame().assign(arm="a"), columns=["lat", "arm"])
    with pytest.raises(DataError, match="no moderators"):
        meta_regression(Y, SE, frame(), columns=[])
    with pytest.raises(DataError, match="infinite"):
        meta_regression(Y, SE, frame().assign(lat=[1.0, 2, np.inf, 4, 5, 6]), columns=["lat"])


def test_a_dict_of_columns_and_bools_and_text_work():
    r = meta_regression(Y, SE, {"lat": frame()["lat"].tolist(), "flag": frame()["flag"]})
    assert r.terms == ("intercept", "lat", "flag")
    r = meta_regression(Y, SE, frame(), columns=["arm"])
    assert r.terms == ("intercept", "arm[b]", "arm[c]")
    assert r.design[4] == (1.0, 0.0, 1.0)  # study 5 is in arm "c"


def test_the_moderators_frame_is_not_changed_and_its_index_is_ignored():
    f = frame().set_index(pd.Index([9, 8, 7, 6, 5, 4]))
    before = f.copy()
    a = meta_regression(Y, SE, f, columns=["lat"])
    b = meta_regression(Y, SE, f.reset_index(drop=True), columns=["lat"])
    pd.testing.assert_frame_equal(f, before)
    assert a.coefficients == b.coefficients
