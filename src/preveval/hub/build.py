"""Build a hub from packs, add packs to it, and read it back.

A hub is a folder written the way a pack is (:mod:`preveval.pack.writer`): ``index.html``
and ``hub.sqlite`` with the manifest ``.preveval-pack.json`` listing both, built in a
temporary folder beside the target and renamed into place under the target's lock, with the
same recovery after a crash. So a hub is replaced only when it holds nothing but what
preveval wrote; an evaluation pack is never replaced by a hub.

:func:`add_to_hub` reads the packs the hub already holds from its database (results.json
and indicator tables as they were read, so the earlier packs need not be at hand), adds the
new ones (a pack already held, by its path, is read again) and rebuilds everything: the
result is byte for byte what :func:`build_hub` gives for all the packs at once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preveval.errors import DataError, Issue, PackError
from preveval.hub.database import DATABASE, database_bytes, read_document, read_raw_packs
from preveval.hub.document import initiative_documents
from preveval.hub.page import render_index
from preveval.hub.records import PackRecord, RawPack, parse_pack, read_pack
from preveval.hub.synthesis import Synthesis, synthesise
from preveval.pack.manifest import MANIFEST, manifest_bytes, read_manifest
from preveval.pack.target import Target, claim_target, os_problem, resolve_target
from preveval.pack.writer import _install, put_file, staging_folder

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["INDEX", "HubSummary", "add_to_hub", "build_hub", "query_hub", "read_hub", "studies"]

INDEX = "index.html"


@dataclass(frozen=True)
class HubSummary:
    """What a build or an add did: the hub's path, its packs and pooled sections, recovery notes."""

    path: Path
    packs: tuple[PackRecord, ...]
    syntheses: tuple[Synthesis, ...]
    notes: tuple[str, ...] = ()
    added: tuple[str, ...] = field(default=())

    @property
    def n_pooled(self) -> int:
        """Sections with a pooled estimate."""
        return sum(s.pooled is not None for s in self.syntheses)

    @property
    def n_mismatches(self) -> int:
        """Packs left out of a section because their indicator definition differs."""
        return sum(len(s.mismatches) for s in self.syntheses)


def _key(pack: Path, hub: Path) -> str:
    """The pack folder relative to the hub folder, with POSIX separators (absolute if impossible)."""
    absolute = Path(os.path.abspath(pack))
    try:
        rel = os.path.relpath(absolute, hub)
    except ValueError:  # another drive (Windows)
        return absolute.as_posix()
    return Path(rel).as_posix()


def _read_packs(packs: Sequence[Path | str], t: Target) -> list[RawPack]:
    issues: list[Issue] = []
    raws: dict[str, RawPack] = {}
    for p in packs:
        path = Path(p)
        if Path(os.path.abspath(path)) == t.out:
            issues.append(Issue("is the hub itself, not a pack", file=str(p)))
            continue
        raw = read_pack(path, _key(path, t.out), str(p), issues)
        if raw is not None:
            raws[raw.key] = raw
    if issues:
        raise DataError(issues)
    return list(raws.values())


def _refuse_a_pack(t: Target) -> None:
    listed = read_manifest(t.out) if t.out.is_dir() else None
    if listed is not None and DATABASE not in listed:
        raise PackError(f"{t.show()}: is an evaluation pack, not a hub; choose another folder for the hub")


def _write(raws: list[RawPack], t: Target) -> tuple[list[PackRecord], list[Synthesis]]:
    records = [parse_pack(r) for r in sorted(raws, key=lambda r: r.key)]
    syntheses = synthesise(records)
    files = {
        DATABASE: database_bytes(raws, records, syntheses, initiative_documents(records, syntheses)),
        INDEX: render_index(records, syntheses).encode("utf-8"),
    }
    with staging_folder(t) as tmp:
        for rel, data in [*files.items(), (MANIFEST, manifest_bytes(files))]:
            try:
                put_file(tmp / rel, data)
            except OSError as exc:
                raise PackError(os_problem(t.show(t.out / rel), "write the file", exc)
                                + f"; {t.show()} was left as it was") from None
        _install(tmp, t)
    return records, syntheses


def build_hub(packs: Sequence[Path | str], out: Path | str) -> HubSummary:
    """Index ``packs`` into a new hub at ``out`` (replacing a hub there) and return what it holds.

    Raises
    ------
    DataError
        When a pack cannot be read (not a pack, results.json missing or changed since it was
        written), listing every such pack.
    PackError
        When ``out`` cannot be used: it holds files preveval did not write, it is an
        evaluation pack, another run is writing it, or it cannot be written.
    """
    t = resolve_target(out)
    raws = _read_packs(packs, t)
    with claim_target(out) as claim:
        _refuse_a_pack(claim.target)
        records, syntheses = _write(raws, claim.target)
    return HubSummary(claim.target.out, tuple(records), tuple(syntheses), tuple(claim.notes),
                      tuple(r.key for r in raws))


def _database(t: Target) -> bytes:
    """The hub's database bytes, checked against its manifest."""
    shown = t.show()
    listed = read_manifest(t.out) if t.out.is_dir() else None
    if listed is None or DATABASE not in listed:
        what = "does not exist" if not t.out.exists() else (
            "is an evaluation pack, not a hub" if listed is not None else "is not a hub")
        raise PackError(f"{shown}: {what}; build one with: preveval hub build PACK... --out {shown}")
    try:
        data = (t.out / DATABASE).read_bytes()
    except OSError as exc:
        raise PackError(os_problem(t.show(t.out / DATABASE), "read the file", exc)) from None
    if hashlib.sha256(data).hexdigest() != listed[DATABASE].get("sha256"):
        raise PackError(f"{t.show(t.out / DATABASE)}: was changed after preveval wrote it; build the hub again")
    return data


def add_to_hub(hub: Path | str, packs: Sequence[Path | str]) -> HubSummary:
    """Add ``packs`` to the hub at ``hub``; the result equals a build of all its packs at once.

    Raises DataError for a pack that cannot be read and PackError when ``hub`` is not a hub
    preveval wrote (or has changed since), or cannot be written.
    """
    t = resolve_target(hub)
    new = _read_packs(packs, t)
    with claim_target(hub) as claim:
        try:
            held = read_raw_packs(_database(claim.target), claim.target.show())
        except ValueError as exc:
            raise PackError(str(exc)) from None
        merged = {r.key: r for r in held} | {r.key: r for r in new}
        records, syntheses = _write(list(merged.values()), claim.target)
    return HubSummary(claim.target.out, tuple(records), tuple(syntheses), tuple(claim.notes),
                      tuple(r.key for r in new))


def _reading(hub: Path | str) -> Target:
    """A hub to read (no checks of a folder to write: reading from inside it is fine)."""
    return Target(Path(os.path.abspath(hub)), str(hub))


def query_hub(hub: Path | str, initiative: str | None = None) -> dict[str, Any]:
    """The hub's JSON document of one initiative (or ``{"initiatives": [...]}`` for all).

    Raises DataError when the hub has no such initiative, PackError when ``hub`` is not a hub.
    """
    t = _reading(hub)
    try:
        docs, issues = read_document(_database(t), t.show(), initiative)
    except ValueError as exc:
        raise PackError(str(exc)) from None
    if issues:
        raise DataError(issues)
    if initiative is not None:
        return {"hub": t.show(), **docs[0]}
    return {"hub": t.show(), "initiatives": docs}


def read_hub(hub: Path | str) -> list[PackRecord]:
    """The packs a hub holds, parsed (for notebooks: :mod:`preveval.hub` builds tables from them)."""
    t = _reading(hub)
    try:
        return [parse_pack(r) for r in read_raw_packs(_database(t), t.show())]
    except ValueError as exc:
        raise PackError(str(exc)) from None


def studies(hub: Path | str, initiative: str, indicator: str | None = None) -> pd.DataFrame:
    """The packs pooled for an initiative and indicator, one row each (for a meta-regression).

    Columns: ``pack``, ``label``, ``area``, ``analysis_id``, ``design``, ``estimate``,
    ``std_error``, ``se_source``, ``weight``. ``indicator`` may be left out when the
    initiative has one pooled section. Join study-level moderators on ``pack`` or ``label``
    and pass the columns to :func:`preveval.meta_regression`.
    """
    import pandas as pd

    records = read_hub(hub)
    found = [s for s in synthesise(records) if s.initiative_id == initiative
             and (indicator is None or s.indicator.id == indicator)]
    if len(found) != 1:
        held = ", ".join(sorted({f"{s.initiative_id}/{s.indicator.id}" for s in synthesise(records)})) or "none"
        what = "no pooled section" if not found else "several pooled sections; name the indicator"
        raise DataError([Issue(f"the hub has {what} for initiative '{initiative}'"
                               + (f" and indicator '{indicator}'" if indicator else ""), file=str(hub),
                               hint=f"pooled sections: {held}")])
    by_key = {p.key: p for p in records}
    return pd.DataFrame([dict(pack=m.pack, label=m.label, area=by_key[m.pack].area, analysis_id=m.analysis_id,
                              design=m.design, estimate=m.estimate, std_error=m.std_error, se_source=m.se_source,
                              weight=m.weight) for m in found[0].members])
