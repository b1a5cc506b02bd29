"""``preveval library list|search|show`` and ``preveval new``: browse the library, start an evaluation.

Registered on the main app by :func:`register` (see :mod:`preveval.cli`). With ``--json``
the library commands print only a JSON array of ``{id, name, level, partners, designs,
score}`` on stdout (search: best first; ``score`` is null for list and show).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from .library import Template

Guard = Callable[..., Any]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print only a JSON array of the entries on stdout.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show a Python traceback on failure.")]
LevelOpt = Annotated[str | None, typer.Option("--level", help="Only this prevention level: primary, secondary "
                                              "or tertiary.")]
PartnerOpt = Annotated[str | None, typer.Option("--partner", help="Only entries with a partner whose name or "
                                                "contribution mentions this (e.g. 'fire', 'ambulance').")]
DesignOpt = Annotated[str | None, typer.Option("--design", help="Only entries with an analysis of this design: "
                                               "its, controlled_its, did, twfe, event_study, staggered, "
                                               "synthetic_control, sdid.")]


def _console() -> Console:
    # Made per command so that the terminal width (COLUMNS) is read when the command runs.
    return Console(highlight=False)


def _json(records: list[dict[str, Any]]) -> None:
    sys.stdout.write(json.dumps(records, indent=2, ensure_ascii=False) + "\n")


#: Below this many columns of terminal beside the ids, only the initiative's name is shown.
NARROW = 60


def _table(items: list[tuple[Template, float | None]], width: int) -> Table:
    """Ids first and never cut (no_wrap, never shrunk); the other columns wrap at word boundaries."""
    id_width = max([len(t.id) for t, _ in items] + [2])
    wide = width - id_width >= NARROW
    scored = any(score is not None for _, score in items)
    table = Table(show_lines=False, expand=False)
    table.add_column("id", no_wrap=True, min_width=id_width, overflow="ignore")
    table.add_column("initiative", overflow="fold", ratio=3, min_width=10)
    if wide:
        table.add_column("level", ratio=1)
        table.add_column("designs", overflow="fold", ratio=2)
    if scored:
        table.add_column("score", justify="right", no_wrap=True)
    for t, score in items:
        row = [Text(t.id), Text(t.name)]
        if wide:
            row += [Text(t.level), Text(", ".join(t.designs))]
        if score is not None:
            row.append(Text(f"{score:.2f}"))
        table.add_row(*row)
    return table


def register(app: typer.Typer, guard: Guard) -> None:
    """Add ``library`` (list, search, show) and ``new`` to the app."""
    library_app = typer.Typer(no_args_is_help=True, help="Browse the initiative library.")
    app.add_typer(library_app, name="library")

    @library_app.command("list")
    def library_list(level: LevelOpt = None, partner: PartnerOpt = None, design: DesignOpt = None,
                     as_json: JsonOpt = False, debug: DebugOpt = False) -> None:
        """List the initiatives in the library (ids in full; filters by level, partner, design)."""
        from .library import templates

        items = guard(debug, lambda: templates(level=level, partner=partner, design=design))
        if as_json:
            _json([t.record() for t in items])
            return
        con = _console()
        if not items:
            con.print("No library entry matches these filters.", markup=False)
            return
        con.print(_table([(t, None) for t in items], con.width))
        con.print("Show one with: preveval library show ID", markup=False)

    @library_app.command("search")
    def library_search(text: Annotated[str, typer.Argument(help="Words to look for, e.g. 'fires in the home'.")],
                       level: LevelOpt = None, partner: PartnerOpt = None, design: DesignOpt = None,
                       as_json: JsonOpt = False, debug: DebugOpt = False) -> None:
        """Find initiatives by relevance: names, descriptions, outcomes, partners, indicators, designs."""
        from .library import search

        found = guard(debug, lambda: search(text, level=level, partner=partner, design=design))
        if as_json:
            _json([t.record(score) for t, score in found])
            return
        con = _console()
        if not found:
            con.print(Text(f"No library entry matches '{text}'. Try other words, or: preveval library list"))
            return
        con.print(_table(found, con.width))
        con.print("Show one with: preveval library show ID", markup=False)

    @library_app.command("show")
    def library_show(template_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOpt = False,
                     debug: DebugOpt = False) -> None:
        """Show a library entry: partners, logic model, indicators, designs, effect and costs."""
        from .library import get

        t = guard(debug, lambda: get(template_id))
        if as_json:
            _json([t.record()])
            return
        show(_console(), t)

    @app.command()
    def new(directory: Annotated[Path, typer.Argument(metavar="DIR", help="New folder for the evaluation.")],
            from_: Annotated[str, typer.Option("--from", help="Library entry id (see 'preveval library list').")],
            units: Annotated[str | None, typer.Option("--units", help="Comma-separated names of every unit "
                                                      "(area) in your data, e.g. 'North,South,East'.")] = None,
            treated: Annotated[str | None, typer.Option("--treated", help="The unit(s) that run the initiative, "
                                                        "comma-separated.")] = None,
            start: Annotated[str | None, typer.Option("--start", help="First period the initiative is active, "
                                                      "e.g. 2019-04, 2019Q2, 2019.")] = None,
            frequency: Annotated[str | None, typer.Option("--frequency", help="day, week, month, quarter or "
                                                          "year (seasonality follows).")] = None,
            from_data: Annotated[Path | None, typer.Option("--from-data", help="An existing .csv, .xlsx or "
                                                           ".parquet file: its columns, units and periods "
                                                           "are used, and the evaluation reads it.")] = None,
            debug: DebugOpt = False) -> None:
        """Start an evaluation from a library entry: the YAML (filled in) and a data template."""
        from .library_new import NewRequest, names, scaffold

        def make() -> Any:
            req = NewRequest(units=names(units, "--units"), treated=names(treated, "--treated"), start=start,
                             frequency=frequency, from_data=from_data)
            return scaffold(from_, directory, req)

        done = guard(debug, make)
        con = _console()
        for p in done.written:
            con.print(Text(f"wrote {p}"))
        con.print(Text("Still to do:"))
        for k, item in enumerate(done.todo, start=1):
            con.print(Text(f"  {k}. {item}"))


def show(con: Console, t: Template) -> None:
    """The entry in words (every text printed literally: no markup)."""
    s, card = t.spec, t.card

    def head(text: str) -> None:
        con.print(Text("\n" + text, style="bold"))

    def line(text: str) -> None:
        con.print(Text(text))

    con.print(Text(f"{s.initiative.name} ({t.id})", style="bold"))
    line(f"{s.initiative.prevention_level.capitalize()} prevention. {card.summary}")
    if s.initiative.description:
        line(s.initiative.description)
    head("Partners you need")
    for p in s.initiative.partners:
        line(f"  • {p.name} — {p.role}" + (f": {p.contribution}" if p.contribution else ""))
    head("Logic model")
    for stage, el in s.logic_model.elements():
        line(f"  {stage:16} [{el.id}] {el.text}")
    head("Indicators and data")
    unit = s.data.unit or "the series"
    line(f"  One row per {unit} and {s.data.frequency}.")
    for i in s.indicators:
        line(f"  • {i.label}: column '{i.column}' ({i.kind}, desired {i.desired}); "
             f"source: {card.data_sources[i.id]}")
    head("Recommended design")
    line(f"  One area runs it: {card.designs.one_area}")
    line(f"  A few areas: {card.designs.few_areas}")
    line(f"  Staggered roll-out: {card.designs.staggered}")
    head("Analyses in the template")
    for a in s.analyses:
        line(f"  • {a.id}: {a.design_name()}")
    head("Plausible effect")
    line(f"  {card.effect.text}")
    line(f"  Source: {card.effect.source}")
    if s.contribution is not None:
        head("Rival explanations")
        for r in s.contribution.rival_explanations:
            line(f"  • {r.description}")
    head("Costs to record")
    for c in card.costs:
        line(f"  • {c.item}" + (f" ({c.partner})" if c.partner else "") + (", in kind" if c.in_kind else "")
             + (", one-off" if c.per == "total" else ", per year"))
    line(f"\nStart one with: preveval new my-evaluation --from {t.id}")
