"""The ``preveval`` command line: parse arguments, call the API, print. No logic of its own.

Exit codes: 0 success; 2 invalid input (spec, data or output folder), each problem on
stderr as ``FILE:LINE:COL: field.path: message (hint)``; 1 any other failure. A Python
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .cli_hub import register as _register_hub_and_portfolio
from .cli_library import register as _register_library
from .cli_plan import register as _register_plan
from .errors import InputError, PackError, PrevevalError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Evaluate public-sector prevention initiatives from a YAML logic model.")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DebugOpt = Annotated[bool, typer.Option("--debug", help="Show a Python traceback on failure.")]


def _version(value: bool) -> None:
    if value:
        out.print(f"preveval {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """preveval: evaluate prevention initiatives."""


def _fail(code: int, lines: list[str]) -> NoReturn:
    for line in lines:
        err.print(line, markup=False)
    raise typer.Exit(code)


def _guard(debug: bool, action: Callable[[], Any], pending: PrevevalError | None = None) -> Any:
    """Run ``action``, turning preveval's errors into exit codes and messages.

    ``pending`` is a problem found earlier (the output folder) that is reported together
    with any problem ``action`` finds, or alone when ``action`` succeeds. Every line is
    printed with its control characters escaped (:func:`preveval.pack.neutralise.terminal_text`),
    so text from the evaluation file cannot send escape sequences to the terminal.
    """
    def fail(code: int, lines: list[str]) -> NoReturn:
        from .pack.neutralise import terminal_text  # only on the way out

        _fail(code, [terminal_text(line) for line in lines])

    later = [str(pending)] if isinstance(pending, PackError) else []
    try:
        value = action()
        if pending is not None:
            raise pending
        return value
    except InputError as exc:
        if debug:
            raise
        n = exc.n_errors + len(later)  # a "... and N more" line counts as N
        fail(2, [i.format() for i in exc.issues] + later + [f"preveval: {n} error(s); nothing was written"])
    except PackError as exc:
        if debug:
            raise
        fail(2, [str(exc), "preveval: nothing was written"])
    except PrevevalError as exc:
        if debug:
            raise
        fail(1, [f"preveval: {exc}"])
    except KeyboardInterrupt:
        fail(1, ["preveval: interrupted; nothing was written"])
    except Exception as exc:  # noqa: BLE001 - the user gets a message, --debug the traceback
        if debug:
            raise
        fail(1, [f"preveval: internal error ({type(exc).__name__}: {exc}); nothing was written. "
                 "Rerun with --debug for the traceback and please report it."])


@app.command()
def validate(file: Annotated[Path, typer.Argument(help="The evaluation YAML file.")],
             debug: DebugOpt = False) -> None:
    """Check an evaluation file and its data; exit 0 when valid."""
    from rich.markup import escape

    from .pack.neutralise import terminal_text
    from .pipeline import load

    ev = _guard(debug, lambda: load(file))
    for w in ev.warnings:
        err.print(f"warning: {terminal_text(w.format())}", markup=False)
    s = ev.spec
    out.print(f"[green]✓[/green] {escape(terminal_text(str(file)))} is valid: {len(s.analyses)} "
              f"analys{'is' if len(s.analyses) == 1 else 'es'}, {len(s.indicators)} indicator(s), "
              f"{len(ev.frame):,} data rows")


@app.command()
def run(file: Annotated[Path, typer.Argument(help="The evaluation YAML file.")],
        out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the pack into.")],
        publish: Annotated[bool, typer.Option("--publish", help="Disclosure control for publication: suppress "
                                              "small counts from the data in the tables and figures (see the "
                                              "evaluation file's disclosure: block).")] = False,
        debug: DebugOpt = False) -> None:
    """Run every analysis and write the evaluation pack into --out.

    The output folder is checked, locked and, after an interrupted run, recovered before
    anything is fitted; a problem with it is reported together with any problem in the
    evaluation file, and the lock is held until the pack is in place.
    """
    from contextlib import ExitStack

    from rich.markup import escape
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .helper import free_workers, likely_heavy, start_helper, stop_helper

    workers = free_workers()
    # the helper process starts first, so that its imports overlap this process's
    heavy, statespace = likely_heavy(file) if workers >= 2 else (False, False)
    pool = start_helper(statespace) if heavy else None

    from .pack.neutralise import terminal_text
    from .pack.target import Claim, claim_target, refuse_plan
    from .pipeline import load

    with ExitStack() as stack:
        stack.push(lambda kind, *_: stop_helper(pool, wait=kind is None))  # an error: do not wait for it
        def claim() -> tuple[Claim | None, PackError | None]:
            try:
                claimed = stack.enter_context(claim_target(out_dir))
                refuse_plan(claimed.target)
                return claimed, None
            except PackError as exc:
                if debug:
                    raise
                return None, exc

        claimed, problem = _guard(debug, claim)
        for note in claimed.notes if claimed else []:
            err.print(f"note: {terminal_text(note)}", markup=False)
        ev = _guard(debug, lambda: load(file), pending=problem)
        for w in ev.warnings:
            err.print(f"warning: {terminal_text(w.format())}", markup=False)
        n = len(ev.spec.analyses)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=err, transient=True,
                      disable=not err.is_terminal) as bar:
            task = bar.add_task("fitting", total=n + 1)

            def step(name: str) -> None:
                bar.update(task, description=f"fitting {escape(terminal_text(name))}")
                bar.advance(task) if bar.tasks[task].completed < n else None

            result = _guard(debug, lambda: ev.run(progress=step, workers=workers, pool=pool))
            bar.update(task, description="writing the pack", completed=n)
            def writing(part: str) -> None:
                bar.update(task, description=f"writing the pack: {escape(terminal_text(part))}")

            _guard(debug, lambda: result.write_pack(out_dir, publish=publish, progress=writing))
            bar.update(task, completed=n + 1)
    _print_summary(result, out_dir)


def _print_summary(result: Any, out_dir: Path) -> None:
    """The run's summary on stdout; text from the evaluation file is shown as plain text."""
    from rich.markup import escape
    from rich.text import Text

    from .pack.neutralise import terminal_text

    table = Table(title=Text(terminal_text(result.spec.initiative.name)), title_justify="left")
    for col in ("analysis", "effect", "estimate (95% CI)", "ratio (95% CI)", "p"):
        table.add_column(col)
    for aid, r in result.analyses.items():
        e = r.effect
        ci = f"{e.estimate:.4g} ({e.ci_low:.4g} to {e.ci_high:.4g})" if e.ci_low is not None else f"{e.estimate:.4g}"
        ratio = (f"{r.ratio.estimate:.3f} ({r.ratio.ci_low:.3f} to {r.ratio.ci_high:.3f})"
                 if r.ratio is not None and r.ratio.ci_low is not None else "")
        p = f"{e.p_value:.3g}" if e.p_value is not None else ""
        table.add_row(*(Text(terminal_text(c)) for c in (aid, e.term, ci, ratio, p)))
    out.print(table)
    if result.contribution is not None:
        from preveval.contribution.tracing import format_probability

        c = result.contribution
        out.print(f"Contribution claim: posterior {format_probability(c.posterior)} "
                  f"(prior {format_probability(c.prior)}), {escape(terminal_text(c.label))}")
    if result.warnings:
        out.print(f"[yellow]{len(result.warnings)} warning(s)[/yellow]: see the report")
    out.print(f"[green]✓[/green] pack written to {escape(terminal_text(str(out_dir)))} "
              "(report.html, report.md, results.json)")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the evaluation file (for editor autocompletion)."""
    from .spec.models import EvaluationSpec

    doc = EvaluationSpec.model_json_schema()
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "preveval evaluation file"
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


_register_library(app, _guard)  # preveval library list|search|show, preveval new
_register_hub_and_portfolio(app, _guard)  # preveval hub build|add|query, preveval portfolio
_register_plan(app, _guard)  # preveval plan, preveval advise


def main() -> None:
    """Entry point of the console script."""
    app()
