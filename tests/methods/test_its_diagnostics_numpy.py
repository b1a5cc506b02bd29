"""The ITS diagnostics' own acf, Ljung-Box and Durbin-Watson equal statsmodels' to the last bit."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.diagnostic import acorr_ljungbox as sm_ljungbox
from statsmodels.stats.stattools import durbin_watson as sm_dw
from statsmodels.tsa.stattools import acf as sm_acf

from preveval.methods.its.diagnostics import acf, acorr_ljungbox, durbin_watson


@pytest.mark.parametrize("n, lags", [(12, 2), (48, 10), (120, 24), (365, 52)])
def test_same_bits_as_statsmodels(n: int, lags: int) -> None:
    rng = np.random.default_rng(n)
    x = np.cumsum(rng.normal(size=n)) * 0.3 + rng.normal(size=n)
    assert np.array_equal(acf(x, nlags=lags), sm_acf(x, nlags=lags, fft=False))
    lb = sm_ljungbox(x, lags=[lags], return_df=True)
    assert acorr_ljungbox(x, lags) == (float(lb["lb_stat"].iloc[0]), float(lb["lb_pvalue"].iloc[0]))
    assert float(durbin_watson(x)) == float(sm_dw(x))
