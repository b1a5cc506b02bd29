"""Costs, cost per prevented event, benefit-cost ratio and break-even effect.

Inputs: the ``economics`` block (cost lines by partner, cash or in kind, per year or in
total; unit values per prevented event of an indicator; the price year) and the events
prevented over the evaluated period as estimated by an analysis (point and 95% interval).

All amounts are in the stated price year's prices (the user states costs and unit values
in them). Costs and benefits are **discounted** at the yearly rate :math:`r`
(``discount_rate``, default 3.5%, HM Treasury's Green Book rate) to the first year of the
evaluated period: an amount in year :math:`t = 0, 1, \\ldots` is worth
:math:`(1+r)^{-t}` of its value. Over a period of :math:`Y` years (possibly fractional),
recurring costs and prevented events are taken to be spread evenly over the years, so both
carry the annuity factor

.. math::

    A = \\sum_{t=0}^{\\lceil Y \\rceil - 1} w_t\\,(1+r)^{-t}, \\qquad
    w_t = \\min(1, Y - t),

and, with recurring cost :math:`R` per year and one-off cost :math:`O` (paid in year 0),

.. math::

    C = R\\,A + O, \\qquad B = N\\,\\tfrac{A}{Y} \\sum_k V_k, \\qquad \\mathrm{BCR} = B / C,
    \\qquad \\mathrm{NB} = B - C, \\qquad \\mathrm{CPE} = C \\big/ \\big(N \\tfrac{A}{Y}\\big),
    \\qquad N^{*} = C \\big/ \\big(\\tfrac{A}{Y} \\sum_k V_k\\big)

where :math:`N` is the number of prevented events and :math:`V_k` the unit values for the
indicator (several values for one indicator — e.g. human cost and lost output — add up).
The cost per prevented event discounts events as well as costs (the Green Book's
cost-effectiveness convention), so that it equals the unit value exactly at break-even.
With :math:`r = 0`, :math:`A = Y` and these are the plain sums. Intervals follow by
substituting the limits of :math:`N` (each quantity is monotone in :math:`N`); the upper
limit of the cost per prevented event is unbounded when the interval for :math:`N` reaches
zero. :math:`N^{*}` is the break-even number of prevented events (BCR = 1), also given as
a % of the events expected without the initiative when known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from preveval.results.base import to_plain
from preveval.spec.models import Economics, EvaluationSpec

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
NOT_STATED = "(partner not stated)"


@dataclass(frozen=True)
class PreventedEvents:
    """Events prevented over the evaluated period: point and 95% interval."""

    total: float
    ci_low: float | None = None
    ci_high: float | None = None
    years: float | None = None
    per_year: float | None = None
    expected: float | None = None

    @classmethod
    def from_record(cls, rec: Any) -> PreventedEvents:
        """Read any record with ``total``, ``ci_low``, ``ci_high`` and optionally ``years``
        (a number, or a sequence of years whose length is taken), ``per_year``, ``expected``."""
        if isinstance(rec, PreventedEvents):
            return rec
        get = rec.get if isinstance(rec, Mapping) else (lambda k, d=None: getattr(rec, k, d))
        years = get("years", None)
        if years is not None and not isinstance(years, (int, float)):
            years = len(list(years))
        per_year = get("per_year", None)
        if per_year is not None and not isinstance(per_year, (int, float)):
            vals = list(per_year.values()) if isinstance(per_year, Mapping) else list(per_year)
            per_year = sum(vals) / len(vals) if vals else None
        return cls(
            total=float(get("total", 0.0)),
            ci_low=_f(get("ci_low", None)),
            ci_high=_f(get("ci_high", None)),
            years=_f(years),
            per_year=_f(per_year),
            expected=_f(get("expected", None)),
        )


def _f(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Interval:
    """A derived quantity with its 95% interval (limits ``None`` when unbounded/undefined)."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class PartnerCost:
    """One partner's costs: per year and one-off, cash and in kind; total over the period."""

    partner: str
    cash_per_year: float
    in_kind_per_year: float
    cash_one_off: float
    in_kind_one_off: float
    total: float | None


@dataclass(frozen=True)
class EconomicsResult:
    """Costs, benefits and their ratios, in ``currency`` at ``price_year`` prices."""

    currency: str
    price_year: int
    price_base: str
    discount_rate: float
    discount_factor: float | None
    years: float | None
    analysis: str | None
    indicator: str | None
    unit_label: str
    partners: tuple[PartnerCost, ...]
    cost_per_year: float
    cost_one_off: float
    total_cost: float | None
    total_cost_undiscounted: float | None
    cash_total: float | None
    in_kind_total: float | None
    unit_value: float | None
    unit_value_sources: tuple[str, ...]
    prevented: PreventedEvents | None
    benefit: Interval | None
    bcr: Interval | None
    net_benefit: Interval | None
    cost_per_prevented: Interval | None
    break_even_events: float | None
    expected_events: float | None
    break_even_pct: float | None
    summary: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``economics`` object of results.json."""
        return to_plain(self)

    def cost_table(self) -> pd.DataFrame:
        """Costs by partner (per year, one-off, total over the period)."""
        return pd.DataFrame(
            [to_plain(p) for p in self.partners],
            columns=["partner", "cash_per_year", "in_kind_per_year", "cash_one_off", "in_kind_one_off", "total"],
        )

    def summary_table(self) -> pd.DataFrame:
        """Headline quantities with their intervals."""
        rows = []
        for name, iv in (("prevented events", self.prevented), ("monetised benefit", self.benefit),
                         ("benefit-cost ratio", self.bcr), ("net benefit", self.net_benefit),
                         ("cost per prevented event", self.cost_per_prevented)):
            if iv is not None:
                est = iv.total if isinstance(iv, PreventedEvents) else iv.estimate
                rows.append({"quantity": name, "estimate": est, "ci_low": iv.ci_low, "ci_high": iv.ci_high})
        rows.append({"quantity": "total cost (present value)", "estimate": self.total_cost,
                     "ci_low": None, "ci_high": None})
        rows.append({"quantity": "total cost (undiscounted)", "estimate": self.total_cost_undiscounted,
                     "ci_low": None, "ci_high": None})
        rows.append({"quantity": "break-even prevented events", "estimate": self.break_even_events,
                     "ci_low": None, "ci_high": None})
        return pd.DataFrame(rows, columns=["quantity", "estimate", "ci_low", "ci_high"])


def format_money(x: float, currency: str = "GBP") -> str:
    """``£123,000``: three significant figures for amounts of 1,000 or more."""
    sym = CURRENCY_SYMBOLS.get(currency.upper())
    if abs(x) >= 1000:
        digits = 3 - int(math.floor(math.log10(abs(x)))) - 1
        x = round(x, digits)
        body = f"{abs(x):,.0f}"
    else:
        body = f"{abs(x):,.2f}" if abs(x) < 10 and x != int(x) else f"{abs(x):,.0f}"
    sign = "-" if x < 0 else ""
    return f"{sign}{sym}{body}" if sym else f"{sign}{body} {currency}"


def singular(noun_phrase: str) -> str:
    """Crude English singular of the last word: casualties -> casualty, deaths -> death."""
    head, _, last = noun_phrase.rpartition(" ")
    if last.endswith("ies"):
        last = last[:-3] + "y"
    elif last.endswith(("sses", "xes", "ches", "shes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith("ss"):
        last = last[:-1]
    return f"{head} {last}" if head else last


def annuity_factor(years: float, rate: float) -> float:
    """Present value of one a year for ``years`` years (the last year may be partial).

    The first year is not discounted: :math:`\\sum_{t=0}^{\\lceil Y\\rceil-1} \\min(1, Y-t)
    (1+r)^{-t}`, which is ``years`` itself when ``rate`` is 0.
    """
    if years <= 0:
        return 0.0
    total = 0.0
    t = 0
    while t < years:
        total += min(1.0, years - t) / (1.0 + rate) ** t
        t += 1
    return total


def cost_by_partner(economics: Economics, years: float | None) -> tuple[PartnerCost, ...]:
    """Cost lines summed by partner, in the order partners first appear.

    ``years`` multiplies the yearly amounts: pass the annuity factor for present values.
    """
    acc: dict[str, list[float]] = {}
    for c in economics.costs:
        row = acc.setdefault(c.partner or NOT_STATED, [0.0, 0.0, 0.0, 0.0])
        idx = (0 if c.per == "year" else 2) + (1 if c.in_kind else 0)
        row[idx] += c.amount
    out = []
    for partner, (cy, ky, co, ko) in acc.items():
        recurring = cy + ky
        total = recurring * years + co + ko if years is not None else (co + ko if recurring == 0 else None)
        out.append(PartnerCost(partner, cy, ky, co, ko, total))
    return tuple(out)


def _ratio_interval(c: float, p: PreventedEvents) -> tuple[Interval | None, list[str]]:
    notes = []
    est = c / p.total if p.total > 0 else None
    lo = hi = None
    if p.ci_high is not None and p.ci_high > 0:
        lo = c / p.ci_high
    if p.ci_low is not None and p.ci_low > 0:
        hi = c / p.ci_low
    elif p.ci_low is not None:
        notes.append("the interval for prevented events reaches zero, so the cost per prevented "
                      "event has no upper limit")
    if est is None:
        notes.append("the point estimate is not a reduction, so there is no cost per prevented event")
    return Interval(est, lo, hi), notes


def evaluate_economics(
    economics: Economics,
    prevented: PreventedEvents | None,
    *,
    indicator: str | None = None,
    unit_label: str = "events",
    analysis: str | None = None,
    years: float | None = None,
    expected_events: float | None = None,
) -> EconomicsResult:
    """Costs, cost per prevented event, BCR, net benefit and break-even effect.

    ``years`` and ``expected_events`` default to ``economics.years`` /
    ``economics.expected_events``, then to the prevented-events record.
    """
    notes: list[str] = []
    cur = economics.currency
    rate = economics.discount_rate
    yrs = economics.years or years or (prevented.years if prevented else None)
    expected = economics.expected_events or expected_events or (prevented.expected if prevented else None)
    annuity = annuity_factor(yrs, rate) if yrs is not None else None
    # Average discount factor of an amount spread evenly over the period (1 when undiscounted).
    factor = annuity / yrs if (annuity is not None and yrs) else (None if rate > 0 else 1.0)
    partners = cost_by_partner(economics, annuity)
    rec = sum(c.amount for c in economics.costs if c.per == "year")
    one = sum(c.amount for c in economics.costs if c.per == "total")
    undiscounted: float | None = None
    if yrs is not None and annuity is not None:
        total: float | None = rec * annuity + one
        undiscounted = rec * yrs + one
        cash: float | None = sum(c.amount * (annuity if c.per == "year" else 1)
                                 for c in economics.costs if not c.in_kind)
        kind: float | None = sum(c.amount * (annuity if c.per == "year" else 1)
                                 for c in economics.costs if c.in_kind)
    elif rec == 0:
        total = undiscounted = one
        cash = sum(c.amount for c in economics.costs if not c.in_kind)
        kind = one - cash
    else:
        total = cash = kind = None
        notes.append("The length of the evaluated period is not known (give economics.years), "
                     "so yearly costs cannot be totalled.")
    if factor is None:
        factor = 1.0
        if prevented is not None:
            notes.append("The length of the evaluated period is not known, so prevented events are "
                         "valued without discounting.")
    vals = [u for u in economics.unit_values if indicator is None or u.indicator == indicator]
    unit_value = sum(u.value for u in vals) if vals else None
    sources = tuple(f"{u.value:g} {cur}" + (f" ({u.source})" if u.source else "") for u in vals)
    if unit_value is None:
        notes.append(f"No unit value is given for indicator '{indicator}', so benefits are not monetised.")
    if prevented is None:
        notes.append("Prevented events are not available from the analyses, so cost per prevented "
                     "event and the benefit-cost ratio cannot be computed.")

    benefit = bcr = net = cpe = None
    pv_value = unit_value * factor if unit_value is not None else None
    if prevented is not None and pv_value is not None:
        benefit = Interval(prevented.total * pv_value,
                           None if prevented.ci_low is None else prevented.ci_low * pv_value,
                           None if prevented.ci_high is None else prevented.ci_high * pv_value)
        if total is not None:
            net = Interval(*(None if b is None else b - total
                             for b in (benefit.estimate, benefit.ci_low, benefit.ci_high)))
            if total > 0:
                bcr = Interval(*(None if b is None else b / total
                                 for b in (benefit.estimate, benefit.ci_low, benefit.ci_high)))
    if prevented is not None and total is not None:
        cpe, n2 = _ratio_interval(total / factor, prevented)
        notes.extend(n2)
    be = total / pv_value if (total is not None and pv_value) else None
    be_pct = 100.0 * be / expected if (be is not None and expected) else None
    if rate > 0:
        price_base = (f"{cur}, {economics.price_year} prices, discounted at {100 * rate:g}% a year "
                      "to the first year")
    else:
        price_base = f"{cur}, {economics.price_year} prices, undiscounted"
    res = EconomicsResult(
        currency=cur, price_year=economics.price_year, price_base=price_base, discount_rate=rate,
        discount_factor=factor, years=yrs,
        analysis=analysis, indicator=indicator, unit_label=unit_label, partners=partners,
        cost_per_year=rec, cost_one_off=one, total_cost=total, total_cost_undiscounted=undiscounted,
        cash_total=cash, in_kind_total=kind,
        unit_value=unit_value, unit_value_sources=sources, prevented=prevented, benefit=benefit,
        bcr=bcr, net_benefit=net, cost_per_prevented=cpe, break_even_events=be,
        expected_events=expected, break_even_pct=be_pct, summary="", notes=tuple(notes),
    )
    return _with_summary(res)


def _num(x: float | None, d: int = 2) -> str:
    return "n/a" if x is None else f"{x:,.{d}f}"


def _with_summary(r: EconomicsResult) -> EconomicsResult:
    from dataclasses import replace

    m = lambda x: format_money(x, r.currency)  # noqa: E731
    s: list[str] = []
    discounted = r.discount_rate > 0 and r.total_cost_undiscounted is not None and r.years
    if r.total_cost is not None and discounted:
        period = f" over {r.years:.3g} year{'s' if r.years != 1 else ''}"
        s.append(f"The initiative cost about {m(r.total_cost_undiscounted or 0)}{period} "
                 f"({r.price_year} prices), or {m(r.total_cost)} in present value (discounted at "
                 f"{100 * r.discount_rate:g}% a year to its first year)"
                 + (f", of which {m(r.in_kind_total)} in kind" if r.in_kind_total else "") + ".")
    elif r.total_cost is not None:
        period = f" over {r.years:.3g} year{'s' if r.years != 1 else ''}" if r.years else ""
        s.append(f"The initiative cost about {m(r.total_cost)}{period} ({r.price_year} prices)"
                 + (f", of which {m(r.in_kind_total)} in kind" if r.in_kind_total else "") + ".")
    else:
        s.append(f"The initiative costs about {m(r.cost_per_year)} a year ({r.price_year} prices).")
    p = r.prevented
    if p is not None:
        ci = f" (95% CI {_num(p.ci_low, 1)} to {_num(p.ci_high, 1)})" if p.ci_low is not None else ""
        s.append(f"It prevented an estimated {_num(p.total, 1)} {r.unit_label}{ci}"
                 + (", an interval that includes no reduction at all" if p.ci_low is not None and p.ci_low <= 0
                    else "") + ".")
        if r.cost_per_prevented is not None and r.cost_per_prevented.estimate is not None:
            s.append(f"That is about {m(r.cost_per_prevented.estimate)} per {singular(r.unit_label)} "
                     "prevented, which is also the switching value: the benefits cover the costs if "
                     f"preventing one {singular(r.unit_label)} is worth at least that much.")
    if r.bcr is not None and r.bcr.estimate is not None:
        ci = (f" (95% CI {_num(r.bcr.ci_low)} to {_num(r.bcr.ci_high)})"
              if r.bcr.ci_low is not None and r.bcr.ci_high is not None else "")
        disc = " and discounting like the costs" if r.discount_rate > 0 else ""
        s.append(f"Valuing each at {m(r.unit_value or 0)}{disc}, the benefit-cost ratio is "
                 f"{r.bcr.estimate:.2f}{ci}: each {m(1)} spent returns about {m(r.bcr.estimate)}"
                 + (", but the interval includes ratios below 1, so value for money is not established"
                    if r.bcr.ci_low is not None and r.bcr.ci_low < 1 else "") + ".")
    if r.break_even_events is not None:
        be = f"It breaks even if it prevents at least {r.break_even_events:,.1f} {r.unit_label}"
        if r.break_even_pct is not None:
            be += f", {r.break_even_pct:.2g}% of the {r.expected_events:,.0f} expected without it"
        s.append(be + ".")
    if p is None:
        s.append("Prevented events are not available yet, so value for money cannot be judged.")
    return replace(r, summary=" ".join(s))


def _choose_analysis(spec: EvaluationSpec, results: Mapping[str, Any], plan: Any = None) -> str | None:
    eco = spec.economics
    assert eco is not None
    if eco.analysis is not None:
        return eco.analysis
    valued = {u.indicator for u in eco.unit_values}
    kinds = {i.id: i.kind for i in spec.indicators}
    from preveval.contribution.primary import select_primary

    primary = select_primary(spec, results, plan)
    if primary is not None:
        a = next(a for a in spec.analyses if a.id == primary.analysis)
        if kinds.get(a.indicator) == "count" and getattr(results.get(a.id), "prevented", None) is not None:
            return a.id
    order = list(spec.analyses)
    for pred in (
        lambda a: kinds.get(a.indicator) == "count" and a.indicator in valued and
        getattr(results.get(a.id), "prevented", None) is not None,
        lambda a: kinds.get(a.indicator) == "count" and a.indicator in valued,
        lambda a: kinds.get(a.indicator) == "count",
    ):
        for a in order:
            if pred(a):
                return a.id
    return order[0].id if order else None


def assess_economics(spec: EvaluationSpec, results: Mapping[str, Any], plan: Any = None) -> EconomicsResult | None:
    """Economics of the evaluation; ``None`` when the file has no ``economics`` block.

    The valued analysis is ``economics.analysis``, else the primary analysis
    (:mod:`~preveval.contribution.primary`) when it counts events prevented, else the first
    count analysis with a unit value (preferring one whose result carries ``prevented``). Its result's ``prevented``
    attribute (``total``, ``ci_low``, ``ci_high``, ``years``...) gives the events prevented;
    when absent, costs and break-even are still reported with a note. ``plan``: the plan.json
    of ``contribution.plan`` (the primary analysis is chosen with its simulated power).
    """
    eco = spec.economics
    if eco is None:
        return None
    aid = _choose_analysis(spec, results, plan)
    ind_id = unit = None
    if aid is not None:
        a = next((a for a in spec.analyses if a.id == aid), None)
        res = results.get(aid)
        ind_id = a.indicator if a is not None else getattr(res, "indicator", None)
    ind = next((i for i in spec.indicators if i.id == ind_id), None)
    unit = (ind.unit_label if ind is not None else None) or "events"
    rec = getattr(results.get(aid), "prevented", None) if aid is not None else None
    prevented = PreventedEvents.from_record(rec) if rec is not None else None
    return evaluate_economics(eco, prevented, indicator=ind_id, unit_label=unit, analysis=aid)


__all__: Sequence[str] = [
    "EconomicsResult",
    "Interval",
    "PartnerCost",
    "PreventedEvents",
    "annuity_factor",
    "assess_economics",
    "cost_by_partner",
    "evaluate_economics",
    "format_money",
]
