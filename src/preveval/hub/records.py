r"""What the hub reads from an evaluation pack, and what it makes of it.

A pack is read once into a :class:`RawPack`: its ``results.json`` as written, its
``tables/indicators.csv`` and the area line of its ``report.md`` (while results.json does
not carry the area itself), each checked against the pack's manifest (the bytes read are
the bytes hashed, so a file changed since preveval wrote it is refused, not indexed). The
hub database keeps the raw texts, so a hub can be rebuilt, or packs added to it, without
the earlier packs at hand; :func:`parse_pack` turns a raw pack into a :class:`PackRecord`
the same way every time.

The effect that is pooled is each analysis' ``effect`` on its own scale (log ratio or
difference) with its standard error. Where the standard error is null (wild bootstrap,
randomization and placebo intervals invert a test and give none), a normal-equivalent one
is derived from the 95% interval on the effect's scale,

.. math:: \mathrm{SE} \approx \frac{u - l}{2 \times 1.959964},

and the record says so (``se_source``), with a caution when the interval is far from
symmetric about the estimate (Higgins et al., *Cochrane Handbook* 6.3.1: the same rule for
intervals reported without a standard error).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preveval.errors import Issue
from preveval.pack.manifest import MANIFEST, read_manifest

__all__ = ["Z95", "AnalysisRecord", "IndicatorDef", "PackRecord", "RawPack", "parse_pack", "read_pack",
           "standard_error"]

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal
_FORMULA_QUOTED = ("'=", "'+", "'-", "'@", "'\t", "'\r", "'\uff1d", "'\uff0b", "'\uff0d", "'\uff20")
_MD_ESCAPE = re.compile(r"\\(.)")
_DEF_FIELDS = ("id", "label", "kind", "desired", "scale", "rate_per", "exposure")


@dataclass(frozen=True)
class RawPack:
    """A pack as read: where it is (relative to the hub) and the texts the hub keeps."""

    key: str
    results_json: str
    results_sha256: str
    indicators_csv: str | None = None
    report_area: str | None = None


@dataclass(frozen=True)
class IndicatorDef:
    """What an indicator measures, as far as pooling cares: two packs pool only when equal.

    ``rate_per`` and ``exposure`` are those of the analysis (an indicator analysed as a rate
    per ``rate_per`` of the exposure column); both are None for a count without exposure.
    """

    id: str
    label: str | None
    kind: str | None
    desired: str | None
    scale: str | None
    rate_per: float | None
    exposure: str | None

    def differences(self, other: IndicatorDef) -> list[str]:
        """The fields in which ``other`` differs, as ``field: this vs other``."""
        return [f"{f}: {_show(getattr(self, f))} vs {_show(getattr(other, f))}"
                for f in _DEF_FIELDS if getattr(self, f) != getattr(other, f)]

    def matches(self, other: IndicatorDef) -> bool:
        """True when the two definitions may be pooled."""
        return not self.differences(other)


def _show(v: Any) -> str:
    return "none" if v is None else (f"{v:g}" if isinstance(v, float) else repr(v))


@dataclass(frozen=True)
class AnalysisRecord:
    """One analysis of a pack: its headline effect and how it may be pooled."""

    analysis_id: str
    method: str | None
    design: str | None
    indicator: IndicatorDef
    term: str | None
    scale: str | None
    estimate: float | None
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    interval_method: str | None
    ratio: float | None
    ratio_ci_low: float | None
    ratio_ci_high: float | None
    is_primary: bool
    #: the standard error pooling uses (the record's own, or derived from the interval)
    pool_se: float | None
    #: where ``pool_se`` comes from, in words; None when the analysis cannot be pooled
    se_source: str | None
    #: why the analysis cannot be pooled (None when it can)
    not_poolable: str | None


@dataclass(frozen=True)
class PackRecord:
    """A pack as the hub shows and pools it."""

    key: str
    initiative_id: str
    initiative_name: str
    area: str | None
    prevention_level: str | None
    primary_analysis: str | None
    sms_level: int | None
    sms_description: str | None
    preveval_version: str | None
    evaluation_sha256: str | None
    data_sha256: str | None
    results_sha256: str
    analyses: tuple[AnalysisRecord, ...]

    @property
    def headline(self) -> AnalysisRecord | None:
        """The primary analysis, else the first one."""
        for a in self.analyses:
            if a.is_primary:
                return a
        return self.analyses[0] if self.analyses else None

    def analysis_for(self, indicator_id: str) -> AnalysisRecord | None:
        """The analysis pooled for an indicator: the primary if it is of that indicator, else the first."""
        mine = [a for a in self.analyses if a.indicator.id == indicator_id]
        return next((a for a in mine if a.is_primary), mine[0] if mine else None)

    @property
    def short_label(self) -> str:
        """A row label for a forest plot: the area up to its first bracket or clause, else the folder."""
        if self.area:
            text = re.split(r" \(|;|,| - ", self.area, maxsplit=1)[0].strip()
            if text:
                return text[:40]
        return Path(self.key).name or self.key


# -- reading a pack -------------------------------------------------------------------------


def _checked(folder: Path, rel: str, listed: dict[str, dict[str, object]], shown: str,
             issues: list[Issue]) -> bytes | None:
    """The bytes of ``rel`` if the manifest lists it and they are unchanged."""
    if rel not in listed:
        return None
    try:
        data = (folder / rel).read_bytes()
    except OSError as exc:
        issues.append(Issue(f"cannot read {rel}: {exc.strerror or exc}", file=shown))
        return None
    if hashlib.sha256(data).hexdigest() != listed[rel].get("sha256"):
        issues.append(Issue(f"{rel} was changed after preveval wrote it; the hub indexes packs as preveval "
                            "wrote them", file=shown, hint="run the evaluation again to rewrite the pack"))
        return None
    return data


def read_pack(folder: Path, key: str, shown: str, issues: list[Issue]) -> RawPack | None:
    """Read a pack folder; problems are added to ``issues`` (None returned)."""
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        issues.append(Issue(f"{what}; give the folder of an evaluation pack (written by preveval run)", file=shown))
        return None
    listed = read_manifest(folder)
    if listed is None:
        issues.append(Issue(f"is not a preveval pack (it has no {MANIFEST})", file=shown,
                            hint="give a folder written by preveval run or preveval portfolio"))
        return None
    if "results.json" not in listed:
        hint = "a hub cannot be indexed into another hub" if "hub.sqlite" in listed else None
        issues.append(Issue("the pack has no results.json", file=shown, hint=hint))
        return None
    data = _checked(folder, "results.json", listed, shown, issues)
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
        doc = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        issues.append(Issue(f"results.json is not valid JSON: {exc}", file=shown))
        return None
    if not (isinstance(doc, dict) and isinstance(doc.get("initiative"), dict)
            and isinstance(doc["initiative"].get("id"), str) and isinstance(doc.get("analyses"), dict)):
        issues.append(Issue("results.json has no initiative id or no analyses", file=shown,
                            hint="is this a pack of a recent preveval version?"))
        return None
    ind = _checked(folder, "tables/indicators.csv", listed, shown, issues)
    area = None
    if "area" not in doc["initiative"]:
        report = _checked(folder, "report.md", listed, shown, issues)
        area = _report_area(report.decode("utf-8", "replace")) if report is not None else None
    return RawPack(key=key, results_json=text, results_sha256=hashlib.sha256(data).hexdigest(),
                   indicators_csv=None if ind is None else ind.decode("utf-8", "replace"), report_area=area)


def _report_area(markdown: str) -> str | None:
    """The ``- Area: ...`` bullet of report.md's initiative section, its escapes undone."""
    for line in markdown.splitlines():
        if line.startswith("- Area: "):
            return _MD_ESCAPE.sub(r"\1", line.removeprefix("- Area: ")).strip() or None
        if line.startswith("## Logic model"):  # the initiative section is over
            break
    return None


# -- parsing --------------------------------------------------------------------------------


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _uncell(text: str) -> str:
    """A CSV cell as preveval wrote it, with the spreadsheet-formula guard taken off."""
    return text[1:] if text.startswith(_FORMULA_QUOTED) else text


def _indicator_table(text: str | None) -> dict[str, dict[str, str]]:
    if not text:
        return {}
    rows = csv.DictReader(io.StringIO(text))
    out = {}
    for r in rows:
        rid = _uncell(r.get("indicator") or "")
        if rid:
            out[rid] = {k: _uncell(v or "") for k, v in r.items() if k}
    return out


def standard_error(estimate: float | None, std_error: float | None, ci_low: float | None,
                   ci_high: float | None, interval_method: str | None) -> tuple[float | None, str | None, str | None]:
    """The standard error to pool with, where it comes from, and why not when it cannot be pooled.

    Returns ``(se, source, reason)``: ``source`` is ``"std_error"`` for the record's own, or a
    sentence saying it was derived from the 95% interval; ``reason`` is set (and the others
    None) when the analysis has no estimate, or neither a standard error nor a finite interval.
    """
    if estimate is None:
        return None, None, "the analysis has no estimate"
    if std_error is not None and std_error > 0:
        return std_error, "std_error", None
    if ci_low is None or ci_high is None or not ci_high > ci_low:
        return None, None, "the analysis has neither a standard error nor a finite 95% interval"
    se = (ci_high - ci_low) / (2 * Z95)
    how = interval_method or "an interval without a standard error"
    source = f"derived from the 95% interval ({how}): SE = (upper - lower) / (2 x 1.96), a normal-equivalent"
    lo, hi = estimate - ci_low, ci_high - estimate
    if min(lo, hi) <= 0 or max(lo, hi) / min(lo, hi) > 1.5:
        source += "; the interval is far from symmetric about the estimate, so this is a rough approximation"
    return se, source, None


def _limit(a: dict[str, Any]) -> bool:
    return any(isinstance(v, dict) and v.get("at_search_limit") is True for v in a.values())


def _analysis(aid: str, a: dict[str, Any], primary: str | None, table: dict[str, dict[str, str]]) -> AnalysisRecord:
    eff, ratio, base = _dict(a.get("effect")), _dict(a.get("ratio")), _dict(a.get("baseline"))
    ind_id = _str(a.get("indicator")) or "?"
    row = table.get(ind_id, {})
    scale = _str(eff.get("scale")) or _str(a.get("scale"))
    exposure = _str(base.get("exposure"))
    rate_per = _num(base.get("rate_per"))
    if rate_per is None and exposure is not None:
        rate_per = _num(a.get("rate_per"))
    ind = IndicatorDef(id=ind_id, label=row.get("label") or None, kind=row.get("kind") or None,
                       desired=row.get("desired change") or row.get("desired") or None, scale=scale,
                       rate_per=rate_per, exposure=exposure)
    est, se, lo, hi = (_num(eff.get(k)) for k in ("estimate", "std_error", "ci_low", "ci_high"))
    how = _str(eff.get("interval_method"))
    pool_se, source, reason = standard_error(est, se, lo, hi, how)
    if reason is None and _limit(a):
        pool_se, source, reason = None, None, "its interval reaches the search limit (no finite bound)"
    if reason is None and scale is None:
        pool_se, source, reason = None, None, "the effect's scale is not recorded"
    return AnalysisRecord(
        analysis_id=aid, method=_str(a.get("method")), design=_str(a.get("design")) or _str(a.get("estimator")),
        indicator=ind, term=_str(eff.get("term")), scale=scale, estimate=est, std_error=se, ci_low=lo,
        ci_high=hi, p_value=_num(eff.get("p_value")), interval_method=how, ratio=_num(ratio.get("estimate")),
        ratio_ci_low=_num(ratio.get("ci_low")), ratio_ci_high=_num(ratio.get("ci_high")),
        is_primary=aid == primary, pool_se=pool_se, se_source=source, not_poolable=reason)


def parse_pack(raw: RawPack) -> PackRecord:
    """Turn a raw pack into the record the hub shows and pools (pure: the same raw, the same record)."""
    doc = json.loads(raw.results_json)
    ini, analyses, prim = _dict(doc.get("initiative")), _dict(doc.get("analyses")), _dict(doc.get("primary"))
    primary = _str(prim.get("analysis"))
    if primary not in analyses:
        primary = next(iter(analyses), None)
    rating = _dict(_dict(_dict(doc.get("contribution")).get("rating")).get("sms"))
    level = rating.get("level") if isinstance(rating.get("level"), int) else prim.get("sms_level")
    prov = _dict(doc.get("provenance"))
    table = _indicator_table(raw.indicators_csv)
    records = tuple(_analysis(aid, a, primary, table) for aid, a in analyses.items() if isinstance(a, dict))
    return PackRecord(
        key=raw.key, initiative_id=str(ini.get("id")), initiative_name=_str(ini.get("name")) or str(ini.get("id")),
        area=_str(ini.get("area")) or raw.report_area, prevention_level=_str(ini.get("prevention_level")),
        primary_analysis=primary, sms_level=level if isinstance(level, int) else None,
        sms_description=_str(rating.get("description")), preveval_version=_str(doc.get("preveval_version")),
        evaluation_sha256=_str(prov.get("evaluation_sha256")), data_sha256=_str(prov.get("data_sha256")),
        results_sha256=raw.results_sha256, analyses=records)
