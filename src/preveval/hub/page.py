"""The hub's page, ``index.html``: every pack, and a pooled section per initiative and indicator.

Self-contained: styles inline, forest plots inlined as base64 PNG, a Content-Security-Policy
that allows no external resource (``default-src 'none'; img-src data:``). Rendered by jinja2
with autoescaping on, and every value passes :func:`~preveval.pack.neutralise.escape_controls`
on its way in, as the pack's report; links to the packs are relative paths, percent-encoded.
The page holds no clock time, so the same packs give the same page byte for byte.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import jinja2
import markupsafe

from preveval.hub.records import Z95, AnalysisRecord, PackRecord
from preveval.hub.synthesis import POOL_METHOD, Synthesis
from preveval.pack.neutralise import escape_controls
from preveval.provenance import version

__all__ = ["render_index"]

_DESIGNS = {"its": "Interrupted time series", "did": "Difference-in-differences",
            "synthetic_control": "Synthetic control"}

_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; \
base-uri 'none'; form-action 'none'">
<title>Evidence hub</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; max-width: 72rem; margin: 2rem auto;
  padding: 0 1rem; color: #1d2b36; line-height: 1.5; }
h2 { border-bottom: 2px solid #d9e2ec; padding-bottom: 0.2rem; margin-top: 2.5rem; }
.subtitle, .small { color: #52606d; }
.small { font-size: 0.85rem; }
.headline { font-size: 1.1rem; font-weight: 600; background: #f0f4f8; border-left: 5px solid #2f80ed; padding: 0.6rem 0.9rem; }
.warning { background: #fff8e1; border-left: 5px solid #f2a100; padding: 0.5rem 0.9rem; margin: 0.5rem 0; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.88rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #d9e2ec; padding: 0.25rem 0.55rem; text-align: left; vertical-align: top; }
th { background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e7eb; }
figcaption { font-size: 0.9rem; color: #52606d; }
</style>
</head>
<body>
<h1>Evidence hub</h1>
<p class="subtitle">{{ n_packs }} evaluation pack{{ '' if n_packs == 1 else 's' }} of {{ n_initiatives }} \
initiative{{ '' if n_initiatives == 1 else 's' }}; {{ pools|length }} pooled section{{ '' if pools|length == 1 else 's' }}. \
Made with preveval {{ version }}.</p>
<nav><strong>Contents</strong><ul>
<li><a href="#packs">Every pack</a></li>
{% for s in pools %}<li><a href="#{{ s.anchor }}">Pooled: {{ s.title }}</a></li>
{% endfor %}{% if mismatches %}<li><a href="#mismatches">Indicators that do not match</a></li>{% endif %}
</ul></nav>

<section id="packs">
<h2>Every pack</h2>
{% if not packs %}<p>The hub holds no pack yet.</p>{% else %}
<table>
<tr><th>initiative</th><th>area</th><th>design</th><th>evidence rating</th><th>headline effect</th><th>pack</th></tr>
{% for p in packs %}<tr>
<td>{{ p.name }}<br><span class="small">{{ p.initiative }}</span></td>
<td>{{ p.area }}</td>
<td>{{ p.design }}</td>
<td>{{ p.rating }}{% if p.rating_text %}<br><span class="small">{{ p.rating_text }}</span>{% endif %}</td>
<td>{{ p.effect }}<br><span class="small">{{ p.effect_what }}</span></td>
<td><a href="{{ p.href }}">{{ p.key }}</a></td>
</tr>
{% endfor %}</table>
{% endif %}
</section>

{% for s in pools %}
<section id="{{ s.anchor }}">
<h2>Pooled: {{ s.title }}</h2>
<p class="small">Indicator {{ s.ind.id }}: {{ s.ind.label }} ({{ s.ind.kind }}, desired {{ s.ind.desired }}; effects on the \
{{ s.ind.scale }} scale{% if s.ind.exposure %}, as rates per {{ s.rate_per }} {{ s.ind.exposure }}{% endif %}).</p>
{% if s.headline %}<p class="headline">{{ s.headline }}</p>{% endif %}
{% if s.note %}<p class="warning">&#9888; {{ s.note }}</p>{% endif %}
{% if s.figure %}<figure><img alt="Forest plot: {{ s.title }}" src="data:image/png;base64,{{ s.figure }}">
<figcaption>Each pack's effect with its 95% interval (squares sized by weight), the pooled estimate (diamond) and the \
95% prediction interval for a new area.</figcaption></figure>{% endif %}
{% if s.stats %}<table>
{% for name, value in s.stats %}<tr><th>{{ name }}</th><td class="num">{{ value }}</td></tr>
{% endfor %}</table>{% endif %}
<table>
<tr><th>pack</th><th>analysis</th><th>design</th><th>effect (95% CI)</th><th>SE pooled</th><th>weight</th></tr>
{% for m in s.members %}<tr><td><a href="{{ m.href }}">{{ m.label }}</a></td><td>{{ m.analysis }}</td><td>{{ m.design }}</td>
<td class="num">{{ m.effect }}</td><td class="num">{{ m.se }}{% if m.derived %} *{% endif %}</td><td class="num">{{ m.weight }}</td></tr>
{% endfor %}</table>
{% for n in s.se_notes %}<p class="small">* {{ n }}</p>
{% endfor %}
{% if s.loo %}<details><summary>Leave one out</summary><table>
<tr><th>left out</th><th>pooled (95% CI)</th><th>tau&sup2;</th><th>I&sup2;</th></tr>
{% for r in s.loo %}<tr><td>{{ r[0] }}</td><td class="num">{{ r[1] }}</td><td class="num">{{ r[2] }}</td><td class="num">{{ r[3] }}</td></tr>
{% endfor %}</table></details>{% endif %}
{% for e in s.not_pooled %}<p class="warning">&#9888; Not pooled: {{ e.label }} ({{ e.analysis }}): {{ e.reason }}.</p>
{% endfor %}
{% for e in s.mismatches %}<p class="warning">&#9888; Not pooled, indicator does not match: <a href="{{ e.href }}">{{ e.label \
}}</a> ({{ e.analysis }}): {{ e.differences }}.</p>
{% endfor %}
</section>
{% endfor %}

{% if mismatches %}
<section id="mismatches">
<h2>Indicators that do not match</h2>
<p>These packs report an indicator that other packs of the same initiative report too, but with a different definition, \
so they were not pooled with them.</p>
<table><tr><th>initiative / indicator</th><th>pack</th><th>analysis</th><th>differs in (pooled vs this pack)</th></tr>
{% for e in mismatches %}<tr><td>{{ e.where }}</td><td><a href="{{ e.href }}">{{ e.key }}</a></td><td>{{ e.analysis }}</td>
<td>{{ e.differences }}</td></tr>
{% endfor %}</table>
</section>
{% endif %}
</body>
</html>
"""


def _finalize(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return escape_controls(value)
    return value


_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                          finalize=_finalize)


def _f(x: float | None, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "NA"
    return f"{x:.{digits}f}" if abs(x) < 1000 else f"{x:,.0f}"


def _interval(est: float | None, lo: float | None, hi: float | None, digits: int = 3) -> str:
    if lo is None or hi is None:
        return _f(est, digits)
    return f"{_f(est, digits)} ({_f(lo, digits)} to {_f(hi, digits)})"


def _effect(a: AnalysisRecord) -> str:
    if a.scale == "log" and a.ratio is not None:
        return "ratio " + _interval(a.ratio, a.ratio_ci_low, a.ratio_ci_high)
    return _interval(a.estimate, a.ci_low, a.ci_high, 4)


def _design(a: AnalysisRecord | None) -> str:
    if a is None:
        return ""
    name = _DESIGNS.get(a.method or "", a.method or "")
    return f"{name} ({a.design})" if a.design and a.method == "did" else name


def _href(key: str) -> str:
    return quote(f"{key}/report.html")


def _pack_row(p: PackRecord) -> dict[str, Any]:
    h = p.headline
    return dict(name=p.initiative_name, initiative=p.initiative_id, area=p.area or "", design=_design(h),
                rating=f"SMS level {p.sms_level} of 5" if p.sms_level is not None else "not rated",
                rating_text=p.sms_description or "", effect=_effect(h) if h else "no analysis",
                effect_what=(f"{h.analysis_id}: {h.indicator.label or h.indicator.id}"
                             + (f", {h.term}" if h.term else "")) if h else "",
                href=_href(p.key), key=p.key)


def _forest_png(s: Synthesis) -> str | None:
    if s.pooled is None:
        return None
    from preveval.pack.writer import figure_png  # matplotlib: only when there is something to draw

    fig = s.pooled.plot(title=s.indicator.label or s.indicator.id)
    return base64.b64encode(figure_png(fig)).decode("ascii")


def _pool_view(s: Synthesis, by_key: dict[str, PackRecord]) -> dict[str, Any]:
    r = s.pooled
    log = s.indicator.scale == "log"
    ex = (lambda v: math.exp(v) if v is not None else None) if log else (lambda v: v)
    stats: list[tuple[str, str]] = []
    headline = None
    if r is not None:
        what = "pooled ratio" if log else "pooled difference"
        est = _interval(r.ratio if log else r.estimate, r.ratio_ci_low if log else r.ci_low,
                        r.ratio_ci_high if log else r.ci_high)
        pi = _interval(None, r.ratio_pi_low if log else r.pi_low, r.ratio_pi_high if log else r.pi_high).removeprefix(
            "NA ")
        headline = (f"{what.capitalize()} over {r.k} packs: {est}; in a new area the effect would be expected "
                    f"within {pi} (95% prediction interval)")
        stats = [("packs pooled (k)", str(r.k)), ("model", f"random effects, {POOL_METHOD}, Wald (normal) intervals"),
                 (f"{what} (95% CI)", est), ("on the " + ("log" if log else "difference") + " scale",
                                             f"{_f(r.estimate, 4)} (SE {_f(r.std_error, 4)})"),
                 ("95% prediction interval", pi), ("tau\u00b2 (between-area variance)", _f(r.tau2, 4)),
                 ("I\u00b2 (share of variation beyond chance)", f"{_f(r.i2, 1)}%"),
                 ("Cochran's Q", f"{_f(r.q, 2)} on {r.q_df} df, p = {_f(r.q_p_value, 3)}")]
        stats += [("note", n) for n in r.notes]
    notes = list(dict.fromkeys(m.se_source for m in s.members if m.se_source != "std_error"))
    members = [dict(href=_href(m.pack), label=m.label, analysis=m.analysis_id,
                    design=_design(next(a for a in by_key[m.pack].analyses if a.analysis_id == m.analysis_id)),
                    effect=_interval(ex(m.estimate), ex(m.estimate - Z95 * m.std_error),
                                     ex(m.estimate + Z95 * m.std_error)),
                    se=_f(m.std_error, 4), derived=m.se_source != "std_error",
                    weight="" if m.weight is None else f"{m.weight:.1f}%") for m in s.members]
    loo = []
    if r is not None and r.k >= 3:
        lo = r.leave_one_out()
        for i, name in enumerate(lo.omitted):
            loo.append((name, _interval(ex(lo.estimate[i]), ex(lo.ci_low[i]), ex(lo.ci_high[i])),
                        _f(lo.tau2[i], 4), f"{_f(lo.i2[i], 1)}%"))
    return dict(anchor=f"pool-{s.initiative_id}-{s.indicator.id}",
                title=f"{s.initiative_name}: {s.indicator.label or s.indicator.id}", ind=s.indicator,
                rate_per="" if s.indicator.rate_per is None else f"{s.indicator.rate_per:,.0f}",
                headline=headline, note=s.note, figure=_forest_png(s), stats=stats, members=members,
                se_notes=[f"SE {n}" for n in notes], loo=loo,
                not_pooled=[dict(label=e.label, analysis=e.analysis_id or "", reason=e.reason) for e in s.not_pooled],
                mismatches=[dict(href=_href(e.pack), label=e.label, analysis=e.analysis_id or "",
                                 differences="; ".join(e.differences)) for e in s.mismatches])


def render_index(packs: Sequence[PackRecord], syntheses: Sequence[Synthesis]) -> str:
    """The hub page for these packs and pooled sections."""
    ordered = sorted(packs, key=lambda p: (p.initiative_id, p.key))
    by_key = {p.key: p for p in ordered}
    mismatches = [dict(where=f"{s.initiative_id} / {s.indicator.id}", href=_href(e.pack), key=e.pack,
                       analysis=e.analysis_id or "", differences="; ".join(e.differences))
                  for s in syntheses for e in s.mismatches]
    return _ENV.from_string(_TEMPLATE).render(
        n_packs=len(ordered), n_initiatives=len({p.initiative_id for p in ordered}), version=version(),
        packs=[_pack_row(p) for p in ordered], pools=[_pool_view(s, by_key) for s in syntheses],
        mismatches=mismatches)
