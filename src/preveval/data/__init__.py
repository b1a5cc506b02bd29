"""Reading data files, parsing periods and checking data against the spec."""

from .checks import check_dataset
from .periods import FREQUENCIES, parse_period, parse_periods
from .read import Dataset, read_dataset

__all__ = ["FREQUENCIES", "Dataset", "check_dataset", "parse_period", "parse_periods", "read_dataset"]
