"""How much faster ``preveval portfolio`` is than running the evaluations one after another.

Run from the repository root::

    python benchmarks/portfolio_speedup.py                    # the worked portfolio, 2 workers
    python benchmarks/portfolio_speedup.py --one-blas-thread  # all three runs with one BLAS thread
    python benchmarks/portfolio_speedup.py --workers 4 --copies 2

The portfolio is ``evaluations/portfolio-road-safety`` (twelve council evaluations), or
``--copies`` copies of it side by side. Three ways of running every evaluation are timed
(wall clock, each as a fresh process, so that every one pays its imports as a user would):

* ``preveval run FILE --out DIR`` once per evaluation, one after another (what an analyst
  does without a portfolio command);
* one Python process that loads, runs and writes every pack in turn through the public API
  (``preveval.load(f).run()`` then ``write_pack``: sequential, imports paid once);
* ``preveval portfolio DIR --out OUT --workers N`` (the cluster's start-up and the hub
  included).

Worker processes inherit the environment, BLAS thread settings included (so that results are
those of a sequential run): with as many workers as cores and a multi-threaded BLAS, the
workers' BLAS threads wait on each other. ``--one-blas-thread`` sets
``OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1`` for all three runs alike.

Printed: each time, the speed-up of the portfolio over each sequential way (the ratio of the
times), and whether every results.json is byte-identical across the three. The machine's
cores and load average are printed too: other work on the machine slows all three, not
always equally. Timing never goes into the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKED = ROOT / "evaluations" / "portfolio-road-safety"
CLI = [sys.executable, "-c", "from preveval.cli import main; main()"]
IN_PROCESS = """
import sys
from pathlib import Path
import preveval as pv
from preveval.pack import write_pack
for line in Path(sys.argv[1]).read_text().splitlines():
    file, out = line.split("\\t")
    write_pack(pv.load(file).run(), Path(out))
"""


def portfolio_folder(base: Path, copies: int) -> Path:
    """The worked portfolio, or ``copies`` copies of it in one folder."""
    if copies == 1:
        return WORKED
    root = base / "portfolio"
    for i in range(copies):
        shutil.copytree(WORKED, root / f"copy{i + 1}", ignore=shutil.ignore_patterns("pack", "__pycache__"))
    return root


ENV = dict(os.environ)


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=ENV)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster")
    ap.add_argument("--copies", type=int, default=1, help="copies of the twelve evaluations")
    ap.add_argument("--one-blas-thread", action="store_true", help="one BLAS/OpenMP thread in all three runs")
    args = ap.parse_args()
    if args.one_blas_thread:
        ENV.update({k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    with tempfile.TemporaryDirectory(prefix="pv-portfolio-bench-") as tmp:
        base = Path(tmp)
        folder = portfolio_folder(base, args.copies)
        files = sorted(folder.rglob("evaluation.yaml"))
        rel = {f: f.parent.relative_to(folder).as_posix().replace("/", "-") for f in files}
        threads = ENV.get("OPENBLAS_NUM_THREADS", "default")
        print(f"{len(files)} evaluations; {os.cpu_count()} cores; BLAS threads {threads}; load average before "
              f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")

        t_cli = sum(timed([*CLI, "run", str(f), "--out", str(base / "cli" / rel[f])]) for f in files)
        print(f"preveval run, one after another:      {t_cli:7.1f} s")

        jobs = base / "jobs.tsv"
        jobs.write_text("".join(f"{f}\t{base / 'api' / rel[f]}\n" for f in files))
        t_api = timed([sys.executable, "-c", IN_PROCESS, str(jobs)])
        print(f"one process, one after another:       {t_api:7.1f} s")

        t_pf = timed([*CLI, "portfolio", str(folder), "--out", str(base / "pf"), "--workers", str(args.workers)])
        print(f"preveval portfolio --workers {args.workers}:        {t_pf:7.1f} s")

        record = json.loads((base / "pf" / "portfolio.json").read_text())
        ids = {Path(e["file"]).resolve(): e["id"] for e in record["evaluations"]}
        same = all((base / "cli" / rel[f] / "results.json").read_bytes()
                   == (base / "api" / rel[f] / "results.json").read_bytes()
                   == (base / "pf" / ids[f.resolve()] / "results.json").read_bytes() for f in files)
        print(f"every results.json byte-identical across the three: {same}")
        print(f"speed-up of the portfolio over preveval run one after another: {t_cli / t_pf:.2f}x")
        print(f"speed-up of the portfolio over one sequential process:        {t_api / t_pf:.2f}x")
        print(f"load average after {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
