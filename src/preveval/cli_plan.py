"""``preveval plan`` and ``preveval advise``: parse arguments, call the planner, print.

:func:`register` adds them to the main app with the main app's error guard (exit codes 0,
1, 2 and messages as every other command). The planner and its libraries are imported
only when one of these commands runs.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["register"]

Guard = Callable[..., Any]
_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show a Python traceback on failure.")]
FileArg = Annotated[Path, typer.Argument(help="The evaluation YAML file.")]


class Shocks(StrEnum):
    """``--shocks``: how the simulated panels' areas share shocks."""

    auto = "auto"
    independent = "independent"
    shared = "shared"


def _t(text: object) -> Text:
    from preveval.pack.neutralise import terminal_text

    return Text(terminal_text(str(text)))


def _years(text: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter("give whole years separated by commas, e.g. 1,2,3") from None
    if any(v < 0 or v > 20 for v in vals):
        raise typer.BadParameter("extra years must be between 0 and 20")
    return vals


def register(app: typer.Typer, guard: Guard) -> None:
    """Add ``plan`` and ``advise`` to ``app``; ``guard(debug, action[, pending])`` runs each step."""

    @app.command()
    def plan(file: FileArg,
             out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the plan into.")],
             simulations: Annotated[int, typer.Option("--simulations", "-n", min=20, max=100_000,
                                                      help="Simulated data sets per analysis.")] = 500,
             seed: Annotated[int, typer.Option("--seed", min=0, max=2**63 - 1,
                                               help="Seed of the simulations.")] = 20240101,
             workers: Annotated[int, typer.Option("--workers", min=0, max=256,
                                                  help="Worker processes (0: every core).")] = 0,
             extra_years: Annotated[str, typer.Option("--extra-years", help="More post-period years to plan for, "
                                                      "e.g. 1,2,3.")] = "1,2,3",
             inner_reps: Annotated[int, typer.Option("--inner-reps", min=99, max=99_999,
                                                     help="Most bootstrap or randomization draws per simulated "
                                                     "analysis.")] = 399,
             shocks: Annotated[Shocks, typer.Option("--shocks", help="Panels: do the simulated areas share shocks? "
                                                    "auto: when the pre-period shows the treated areas' shocks "
                                                    "moving together beyond chance.")] = Shocks.auto,
             debug: DebugOpt = False) -> None:
        """Power and minimum detectable effect of every analysis, by simulation; writes DIR/plan.json, plan.html, plan.md."""
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from preveval.errors import PackError
        from preveval.pack.target import check_target
        from preveval.plan import PlanSettings, plan_evaluation
        from preveval.plan.advise import advise
        from preveval.plan.before_data import load_for_plan
        from preveval.plan.write import check_plan_folder, write_plan

        years = _years(extra_years)

        def precheck() -> PackError | None:
            try:
                check_plan_folder(check_target(out_dir))
            except PackError as exc:
                if debug:
                    raise
                return exc
            return None

        problem = guard(debug, precheck)
        ev, observed_last = guard(debug, lambda: load_for_plan(file), problem)
        for w in ev.warnings:
            _err.print(Text("warning: ").append(_t(w.format())))
        if observed_last is not None:
            from preveval.data.periods import FREQUENCIES

            last = pd_period(observed_last, FREQUENCIES[ev.spec.data.frequency])
            _err.print(Text("note: ").append(_t(f"the data end in {last}, before (or just after) the start: the post "
                                                "period is simulated from the periods before it alone")))
        settings = PlanSettings(n_simulations=simulations, seed=seed, workers=workers, inner_reps=inner_reps,
                                extra_years=years, shocks=shocks.value)
        with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=_err, transient=True,
                      disable=not _err.is_terminal) as bar:
            task = bar.add_task("simulating", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = guard(debug, lambda: plan_evaluation(ev, settings, progress=step, observed_last=observed_last))
        result = guard(debug, lambda: _with_advice(result, advise(ev)))
        guard(debug, lambda: write_plan(result, out_dir))
        _summary(result, out_dir)

    @app.command()
    def advise(file: FileArg, debug: DebugOpt = False) -> None:
        """Which designs the data permit, the one to use and why, and an analyses: block to paste."""
        import sys

        from preveval.pipeline import load
        from preveval.plan.advise import advise as advise_of

        ev = guard(debug, lambda: load(file))
        a = guard(debug, lambda: advise_of(ev))
        table = Table(title="Designs the data permit", title_justify="left")
        for col in ("design", "permitted", "why / what it needs"):
            table.add_column(col)
        for o in a.options:
            table.add_row(_t(o.name), "yes" if o.permitted else "no",
                          _t(o.why if o.permitted or not o.needs else "needs " + "; ".join(o.needs)))
        _err.print(table)
        _err.print(Text("Recommended: ", style="bold").append(_t(f"{a.recommended}: {a.reason}")))
        _err.print("Paste this into the evaluation file:")
        sys.stdout.write(a.yaml)


def pd_period(ordinal: int, code: str) -> str:
    """A period's label from its ordinal."""
    import pandas as pd

    return str(pd.Period(ordinal=int(ordinal), freq=code))


def _with_advice(result: Any, advice: Any) -> Any:
    from dataclasses import replace

    return replace(result, advice=advice)


def _summary(result: Any, out_dir: Path) -> None:
    from preveval.plan.report import effect_phrase

    table = Table(title=_t(result.spec.initiative.name), title_justify="left")
    for col in ("analysis", "MDE at 80% power", "plausible effect", "power"):
        table.add_column(col)
    for aid, p in result.analyses.items():
        if p.status != "planned":
            table.add_row(_t(aid), _t(f"not planned: {p.reason}"), "", "")
            continue
        table.add_row(_t(aid), _t(effect_phrase(p, p.mde, result.spec)),
                      _t(effect_phrase(p, p.plausible_effect, result.spec) if p.plausible_effect is not None else ""),
                      "" if p.power is None else f"{p.power:.0%}")
    _out.print(table)
    _out.print(Text("✓ ", style="green").append(_t(f"plan written to {out_dir} (plan.html, plan.md, plan.json)")))
