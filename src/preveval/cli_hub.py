"""The ``preveval hub`` commands and ``preveval portfolio``: parse arguments, call the API, print.

:func:`register` adds them to the main app with the main app's error guard (exit codes 0,
1, 2 and messages as every other command), so this module imports nothing of ``cli.py``.
The hub, the portfolio runner and Dask are imported only when one of these commands runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
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
PacksArg = Annotated[list[Path], typer.Argument(metavar="PACK...", help="Evaluation pack folders.")]


def _t(text: object) -> Text:
    from preveval.pack.neutralise import terminal_text

    return Text(terminal_text(str(text)))


def _notes(notes: tuple[str, ...]) -> None:
    for n in notes:
        _err.print(Text("note: ").append(_t(n)))


def _hub_summary(s: Any, what: str) -> None:
    _notes(s.notes)
    _out.print(Text("✓ ", style="green").append(_t(
        f"hub {what} {s.path}: {len(s.packs)} pack(s), {s.n_pooled} pooled section(s)"
        + (f", {s.n_mismatches} pack(s) not pooled because their indicator differs" if s.n_mismatches else "")
        + f" (open {Path(s.path) / 'index.html'})")))


def register(app: typer.Typer, guard: Guard) -> None:
    """Add ``hub build|add|query`` and ``portfolio`` to ``app``; ``guard(debug, action)`` runs each."""
    hub_app = typer.Typer(no_args_is_help=True, help="Index evaluation packs in one place and pool them.")
    app.add_typer(hub_app, name="hub")

    @hub_app.command("build")
    def hub_build(packs: PacksArg,
                  out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the hub into.")],
                  debug: DebugOpt = False) -> None:
        """Index packs into a hub: HUB/index.html and HUB/hub.sqlite (replacing a hub there)."""
        from preveval.hub import build_hub

        _hub_summary(guard(debug, lambda: build_hub(packs, out)), "written to")

    @hub_app.command("add")
    def hub_add(hub: Annotated[Path, typer.Argument(metavar="HUB", help="The hub folder.")], packs: PacksArg,
                debug: DebugOpt = False) -> None:
        """Add packs to a hub (a pack already in it is read again); the same as building with all."""
        from preveval.hub import add_to_hub

        _hub_summary(guard(debug, lambda: add_to_hub(hub, packs)), "updated:")

    @hub_app.command("query")
    def hub_query(hub: Annotated[Path, typer.Argument(metavar="HUB", help="The hub folder.")],
                  initiative: Annotated[str | None, typer.Option("--initiative", metavar="ID",
                                                                 help="One initiative (default: all).")] = None,
                  as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
                  debug: DebugOpt = False) -> None:
        """Show what the hub holds for an initiative: its packs and pooled estimates."""
        from preveval.hub import query_hub

        doc = guard(debug, lambda: query_hub(hub, initiative))
        if as_json:
            sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
            return
        for ini in [doc] if initiative else doc["initiatives"]:
            _show_initiative(ini)

    @app.command("portfolio")
    def portfolio(directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder of evaluations.")],
                  out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the packs and the hub.")],
                  workers: Annotated[int | None, typer.Option("--workers", min=1, help=(
                      "Worker processes of the local Dask cluster (default: one per core)."))] = None,
                  scheduler: Annotated[str | None, typer.Option("--scheduler", metavar="ADDRESS", help=(
                      "Run on an existing Dask cluster (tcp://host:8786) instead."))] = None,
                  debug: DebugOpt = False) -> None:
        """Run every evaluation.yaml under DIR into OUT/<id>/ on Dask, then the hub into OUT/hub/."""
        if workers is not None and scheduler is not None:
            raise typer.BadParameter("give --workers or --scheduler, not both", param_hint="--workers")
        res = _run_portfolio(guard, debug, directory, out, workers, scheduler)
        _show_portfolio(res, out)
        raise typer.Exit(res.exit_code)


def _run_portfolio(guard: Guard, debug: bool, directory: Path, out: Path, workers: int | None,
                   scheduler: str | None) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from preveval.portfolio import run_portfolio

    with Progress(SpinnerColumn(), TextColumn("evaluations done"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=_err, transient=True, disable=not _err.is_terminal) as bar:
        task = bar.add_task("portfolio", total=None)

        def done(rec: dict[str, Any]) -> None:
            bar.advance(task)
            if rec["status"] != "ok":
                bar.console.print(Text(f"{rec['status']}: ", style="red").append(_t(rec["file"])))
                for line in rec["errors"]:
                    bar.console.print(Text("  ").append(_t(line)))

        return guard(debug, lambda: run_portfolio(directory, out, workers=workers, scheduler=scheduler,
                                                  on_start=lambda n: bar.update(task, total=n), on_done=done))


def _show_portfolio(res: Any, out: Path) -> None:
    table = Table(title=_t(f"Portfolio: {res.scheduler}"), title_justify="left")
    for col in ("evaluation", "status", "pack"):
        table.add_column(col)
    for o in res.outcomes:
        table.add_row(_t(o["file"]), Text(o["status"], style="green" if o["status"] == "ok" else "red"),
                      _t(str(out / o["id"]) if o["status"] == "ok" else ""))
    _out.print(table)
    h = res.hub
    if h["status"] == "ok":
        _out.print(_t(f"hub: {h['packs']} pack(s), {h['pooled']} pooled section(s) in "
                      f"{out / h['path'] / 'index.html'}"))
    else:
        for line in h["errors"]:
            _err.print(Text("hub not written: ", style="red").append(_t(line)))
    n_ok = sum(o["status"] == "ok" for o in res.outcomes)
    mark = Text("✓ ", style="green") if res.exit_code == 0 else Text("✗ ", style="red")
    _out.print(mark.append(_t(f"{n_ok} of {len(res.outcomes)} evaluations ran; "
                              f"see {out / 'portfolio.json'}")))


def _show_initiative(doc: dict[str, Any]) -> None:
    ini = doc["initiative"]
    table = Table(title=_t(f"{ini['name']} ({ini['id']})"), title_justify="left")
    for col in ("pack", "area", "evidence", "headline effect"):
        table.add_column(col)
    for p in doc["packs"]:
        h = p["headline"] or {}
        eff = (f"ratio {h['ratio']:.3f}" if h.get("scale") == "log" and h.get("ratio") is not None
               else (f"{h['estimate']:.4g}" if h.get("estimate") is not None else ""))
        level = p["evidence_rating"]["sms_level"]
        table.add_row(_t(p["pack"]), _t(p["area"] or ""), _t(f"SMS {level}" if level is not None else ""), _t(eff))
    _out.print(table)
    for s in doc["pooled"]:
        r = s["pooled"]
        if r is None:
            _out.print(_t(f"{s['indicator']['id']}: not pooled ({s['note']})"))
            continue
        log = r["scale"] == "log"
        est, lo, hi = ((r["ratio"], r["ratio_ci_low"], r["ratio_ci_high"]) if log
                       else (r["estimate"], r["ci_low"], r["ci_high"]))
        _out.print(_t(f"{s['indicator']['id']}: pooled {'ratio ' if log else ''}{est:.3f} (95% CI {lo:.3f} to "
                      f"{hi:.3f}) over {r['k']} packs; tau^2 {r['tau2']:.4f}, I^2 {r['i2']:.1f}%"))
    for m in doc["mismatches"]:
        _out.print(_t(f"not pooled ({m['indicator']}): {m['pack']}: " + "; ".join(m["differences"])))
