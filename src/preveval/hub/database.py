"""The hub's embedded database, ``hub.sqlite`` (SQLite, from Python's standard library).

It is built in memory and written as one file through the atomic writer, so the hub is
either the old database or the new one, never half of either; it is read by loading the
file's bytes (checked against the hub's manifest) into memory, so reading never creates a
journal file in the hub folder. The same packs give the same file byte for byte.

Tables (one row per ...):

``meta``            key/value: ``format`` (``preveval-hub``), ``hub_version``, ``preveval_version``
``raw_packs``       pack: its results.json, indicators table and area as read (the source of truth;
                    ``hub add`` rebuilds everything else from these plus the new packs)
``packs``           pack: initiative, area, primary analysis, SMS level, provenance hashes
``analyses``        pack and analysis: indicator definition, headline effect, the SE pooled and its source
``pools``           initiative and indicator with two or more packs: the pooled estimate, tau^2, I^2, PI
``pool_members``    pack in a pooled estimate: estimate, SE, SE source, weight
``pool_exclusions`` pack left out of a pooled estimate: ``mismatch`` or ``not_pooled``, and why
``documents``       initiative: the JSON that ``preveval hub query --initiative ID --json`` prints

``pack`` is the pack folder relative to the hub folder (POSIX separators).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from preveval.errors import Issue
from preveval.hub.records import PackRecord, RawPack
from preveval.hub.synthesis import Synthesis
from preveval.provenance import version

__all__ = ["DATABASE", "FORMAT", "HUB_VERSION", "database_bytes", "read_document", "read_raw_packs"]

DATABASE = "hub.sqlite"
FORMAT = "preveval-hub"
HUB_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE raw_packs (pack TEXT PRIMARY KEY, results_sha256 TEXT NOT NULL, results_json TEXT NOT NULL,
    indicators_csv TEXT, report_area TEXT);
CREATE TABLE packs (pack TEXT PRIMARY KEY, initiative_id TEXT NOT NULL, initiative_name TEXT, area TEXT,
    prevention_level TEXT, primary_analysis TEXT, sms_level INTEGER, sms_description TEXT,
    preveval_version TEXT, evaluation_sha256 TEXT, data_sha256 TEXT, results_sha256 TEXT NOT NULL);
CREATE TABLE analyses (pack TEXT NOT NULL, analysis_id TEXT NOT NULL, method TEXT, design TEXT,
    indicator_id TEXT, indicator_label TEXT, indicator_kind TEXT, desired TEXT, scale TEXT, rate_per REAL,
    exposure TEXT, term TEXT, estimate REAL, std_error REAL, ci_low REAL, ci_high REAL, p_value REAL,
    interval_method TEXT, ratio REAL, ratio_ci_low REAL, ratio_ci_high REAL, is_primary INTEGER NOT NULL,
    pool_std_error REAL, se_source TEXT, not_poolable TEXT, PRIMARY KEY (pack, analysis_id));
CREATE TABLE pools (initiative_id TEXT NOT NULL, indicator_id TEXT NOT NULL, k INTEGER NOT NULL, method TEXT,
    scale TEXT, estimate REAL, std_error REAL, ci_low REAL, ci_high REAL, pi_low REAL, pi_high REAL, tau2 REAL,
    i2 REAL, ratio REAL, ratio_ci_low REAL, ratio_ci_high REAL, ratio_pi_low REAL, ratio_pi_high REAL, note TEXT,
    PRIMARY KEY (initiative_id, indicator_id));
CREATE TABLE pool_members (initiative_id TEXT NOT NULL, indicator_id TEXT NOT NULL, pack TEXT NOT NULL,
    analysis_id TEXT NOT NULL, estimate REAL NOT NULL, std_error REAL NOT NULL, se_source TEXT NOT NULL,
    weight REAL, PRIMARY KEY (initiative_id, indicator_id, pack));
CREATE TABLE pool_exclusions (initiative_id TEXT NOT NULL, indicator_id TEXT NOT NULL, pack TEXT NOT NULL,
    analysis_id TEXT, kind TEXT NOT NULL, reason TEXT NOT NULL, differences TEXT NOT NULL,
    PRIMARY KEY (initiative_id, indicator_id, pack));
CREATE TABLE documents (initiative_id TEXT PRIMARY KEY, document TEXT NOT NULL);
"""


def _insert(con: sqlite3.Connection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    cols = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
    con.executemany(sql, [tuple(r[c] for c in cols) for r in rows])


def _pack_rows(packs: Sequence[PackRecord]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    prow, arow = [], []
    for p in packs:
        prow.append(dict(pack=p.key, initiative_id=p.initiative_id, initiative_name=p.initiative_name, area=p.area,
                         prevention_level=p.prevention_level, primary_analysis=p.primary_analysis,
                         sms_level=p.sms_level, sms_description=p.sms_description,
                         preveval_version=p.preveval_version, evaluation_sha256=p.evaluation_sha256,
                         data_sha256=p.data_sha256, results_sha256=p.results_sha256))
        for a in p.analyses:
            i = a.indicator
            arow.append(dict(pack=p.key, analysis_id=a.analysis_id, method=a.method, design=a.design,
                             indicator_id=i.id, indicator_label=i.label, indicator_kind=i.kind, desired=i.desired,
                             scale=a.scale, rate_per=i.rate_per, exposure=i.exposure, term=a.term,
                             estimate=a.estimate, std_error=a.std_error, ci_low=a.ci_low, ci_high=a.ci_high,
                             p_value=a.p_value, interval_method=a.interval_method, ratio=a.ratio,
                             ratio_ci_low=a.ratio_ci_low, ratio_ci_high=a.ratio_ci_high, is_primary=int(a.is_primary),
                             pool_std_error=a.pool_se, se_source=a.se_source, not_poolable=a.not_poolable))
    return prow, arow


def _pool_rows(syntheses: Sequence[Synthesis]) -> tuple[list[dict[str, Any]], ...]:
    pools, members, excl = [], [], []
    for s in syntheses:
        ids = dict(initiative_id=s.initiative_id, indicator_id=s.indicator.id)
        r = s.pooled
        pools.append(dict(**ids, k=len(s.members), method=None if r is None else r.method, scale=s.indicator.scale,
                          estimate=None if r is None else r.estimate, std_error=None if r is None else r.std_error,
                          ci_low=None if r is None else r.ci_low, ci_high=None if r is None else r.ci_high,
                          pi_low=None if r is None else r.pi_low, pi_high=None if r is None else r.pi_high,
                          tau2=None if r is None else r.tau2, i2=None if r is None else r.i2,
                          ratio=None if r is None else r.ratio, ratio_ci_low=None if r is None else r.ratio_ci_low,
                          ratio_ci_high=None if r is None else r.ratio_ci_high,
                          ratio_pi_low=None if r is None else r.ratio_pi_low,
                          ratio_pi_high=None if r is None else r.ratio_pi_high, note=s.note))
        members += [dict(**ids, pack=m.pack, analysis_id=m.analysis_id, estimate=m.estimate, std_error=m.std_error,
                         se_source=m.se_source, weight=m.weight) for m in s.members]
        for kind, group in (("mismatch", s.mismatches), ("not_pooled", s.not_pooled)):
            excl += [dict(**ids, pack=e.pack, analysis_id=e.analysis_id, kind=kind, reason=e.reason,
                          differences=json.dumps(list(e.differences))) for e in group]
    return pools, members, excl


def database_bytes(raws: Sequence[RawPack], packs: Sequence[PackRecord], syntheses: Sequence[Synthesis],
                   documents: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The database file for these packs (built in memory; rows in key order: byte-stable)."""
    con = sqlite3.connect(":memory:")
    try:
        con.executescript(_SCHEMA)
        _insert(con, "meta", [dict(key="format", value=FORMAT), dict(key="hub_version", value=str(HUB_VERSION)),
                              dict(key="preveval_version", value=version())])
        _insert(con, "raw_packs", [dict(pack=r.key, results_sha256=r.results_sha256, results_json=r.results_json,
                                        indicators_csv=r.indicators_csv, report_area=r.report_area)
                                   for r in sorted(raws, key=lambda r: r.key)])
        prow, arow = _pack_rows(sorted(packs, key=lambda p: p.key))
        _insert(con, "packs", prow)
        _insert(con, "analyses", arow)
        pools, members, excl = _pool_rows(syntheses)
        _insert(con, "pools", pools)
        _insert(con, "pool_members", members)
        _insert(con, "pool_exclusions", excl)
        _insert(con, "documents", [dict(initiative_id=k, document=json.dumps(documents[k], sort_keys=True,
                                                                             ensure_ascii=False, allow_nan=False))
                                   for k in sorted(documents)])
        con.commit()
        con.execute("VACUUM")
        return bytes(con.serialize())
    finally:
        con.close()


def _open(data: bytes, shown: str) -> sqlite3.Connection:
    """An in-memory copy of a hub database; ValueError naming the problem when it is not one."""
    con = sqlite3.connect(":memory:")
    try:
        con.deserialize(data)
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        con.close()
        raise ValueError(f"{shown}: {DATABASE} is not a hub database ({exc})") from None
    if meta.get("format") != FORMAT or meta.get("hub_version") != str(HUB_VERSION):
        con.close()
        raise ValueError(f"{shown}: {DATABASE} is of another format ({meta.get('format')} "
                         f"version {meta.get('hub_version')}); build the hub again")
    return con


def read_raw_packs(data: bytes, shown: str) -> list[RawPack]:
    """The packs a hub database holds, as they were read."""
    con = _open(data, shown)
    try:
        rows = con.execute("SELECT pack, results_json, results_sha256, indicators_csv, report_area FROM raw_packs "
                           "ORDER BY pack").fetchall()
    finally:
        con.close()
    return [RawPack(key=k, results_json=j, results_sha256=h, indicators_csv=i, report_area=a) for k, j, h, i, a in rows]


def read_document(data: bytes, shown: str, initiative: str | None) -> tuple[list[dict[str, Any]], list[Issue]]:
    """The query documents of one initiative (or of all), and an issue when the id is unknown."""
    con = _open(data, shown)
    try:
        rows = con.execute("SELECT initiative_id, document FROM documents ORDER BY initiative_id").fetchall()
    finally:
        con.close()
    docs = {k: json.loads(d) for k, d in rows}
    if initiative is None:
        return [docs[k] for k in sorted(docs)], []
    if initiative not in docs:
        held = ", ".join(sorted(docs)) or "no initiative"
        return [], [Issue(f"the hub has no initiative '{initiative}'", path="--initiative", file=shown,
                          hint=f"it holds: {held}")]
    return [docs[initiative]], []
