"""Portfolio runs: every evaluation under a folder, on Dask, each into its own pack, then the hub.

::

    from preveval.portfolio import run_portfolio
    res = run_portfolio("evaluations/portfolio-road-safety", "out", workers=2)
    res.exit_code, res.outcomes[0]["status"]     # out/<id>/ packs, out/portfolio.json, out/hub/

Modules: ``discover`` (the evaluations and their pack names), ``task`` (one evaluation, as
``preveval run`` does it), ``runner`` (the Dask cluster, the hub), ``record``
(``portfolio.json`` and the exit code). Dask is imported only when a portfolio runs.
"""

from preveval.portfolio.discover import Job, discover
from preveval.portfolio.runner import PortfolioResult, run_portfolio
from preveval.portfolio.task import run_job

__all__ = ["Job", "PortfolioResult", "discover", "run_job", "run_portfolio"]
