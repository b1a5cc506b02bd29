"""Ranked search over the initiative library: BM25 over weighted fields, a small stemmer, synonyms.

Each template is one document made of fields, each counted ``weight`` times (BM25F in its
simplest form): its id and name, the card's summary and keywords, the description and target
group, the outcomes and impact, the indicators, the partners, the designs, and the rest of the
logic model. A query is cut into words, everyday phrases are expanded through
:data:`SYNONYMS` ("fires in the home" also looks for dwelling fires), words are reduced to a
stem (:func:`stem`), and templates are scored by Okapi BM25 (Robertson & Zaragoza 2009,
*The probabilistic relevance framework: BM25 and beyond*: ``k1 = 1.2``, ``b = 0.75``, idf ``log(1 + (N - n + 0.5) / (n + 0.5))``). A template
that matches no query word is left out; a query of two or more words written exactly as in the
entry's name, summary or a keyword adds :data:`PHRASE_BONUS`; ties keep the ids' order.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .library import Template

__all__ = ["SYNONYMS", "rank", "stem", "terms"]

K1 = 1.2
B = 0.75

STOPWORDS = frozenset(
    "a an and are as at be by for from in into is it its of on or our the their to with we who "
    "what how do does can my your about".split())

#: Everyday words and phrases -> the words the templates use. Keys are matched as whole words
#: (after lower-casing) in the query; the values are added to it.
SYNONYMS: dict[str, str] = {
    "asb": "antisocial behaviour",
    "anti social": "antisocial",
    "anti-social": "antisocial",
    "nuisance": "antisocial behaviour",
    "yobs": "antisocial behaviour young people",
    "fires in the home": "dwelling fires home fire safety",
    "house fires": "dwelling fires home fire safety",
    "home fires": "dwelling fires home fire safety",
    "kitchen fires": "dwelling fires cooking",
    "smoke alarms": "smoke alarms home fire safety visits",
    "young drivers": "pre-driver drivers aged 17-25 young",
    "new drivers": "pre-driver drivers aged 17-25",
    "learner drivers": "pre-driver",
    "teen drivers": "pre-driver drivers aged 17-25",
    "car crashes": "road casualties collisions killed seriously injured",
    "crashes": "collisions casualties",
    "road deaths": "killed seriously injured road",
    "drink driving": "drink-drive",
    "drunk driving": "drink-drive",
    "seat belts": "seatbelt",
    "seat belt": "seatbelt",
    "domestic abuse": "domestic abuse violence marac high-risk victims",
    "domestic violence": "domestic abuse marac",
    "wife beating": "domestic abuse",
    "coercive control": "domestic abuse",
    "falls": "falls fall fallers",
    "older people falling": "falls fallers older",
    "elderly": "older people",
    "pensioners": "older people",
    "mental health": "mental-health distress",
    "crisis": "mental-health distress",
    "street triage": "triage mental-health",
    "bonfire night": "bonfire deliberate fires",
    "guy fawkes": "bonfire",
    "fireworks": "bonfire deliberate fires",
    "fire raising": "deliberate fire-setting",
    "arson": "deliberate fire-setting fires",
    "firesetting": "fire-setting",
    "teenagers": "young people youth",
    "kids": "young people youth children",
    "youths": "young people youth",
    "knife crime": "violence weapons young people",
    "schools": "school pupils",
    "school police": "campus police officer school",
    "youth offending": "youth justice offending diversion young people",
    "reoffending": "reoffending charged again",
    "rural": "rural remote",
    "staggered": "staggered",
    "roll out": "staggered",
    "rollout": "staggered",
    "synthetic control": "synthetic_control",
    "synth": "synthetic_control",
    "interrupted time series": "its",
    "difference in differences": "did",
    "difference-in-differences": "did",
    "diff in diff": "did",
    "did": "did",
    "event study": "event_study",
    "ambulance": "ambulance",
    "a&e": "emergency department conveyances",
    "999": "emergency calls",
}

_SUFFIXES = ("ational", "ization", "ations", "ation", "ities", "ness", "ments", "ment", "ings", "ing",
             "ies", "ied", "ers", "er", "ed", "es", "s")


def stem(word: str) -> str:
    """A small suffix-stripping stemmer (fires, fire -> fir; driving, drivers, driver -> driv)."""
    w = word.lower()
    if len(w) <= 3 or w.isdigit():
        return w
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            if suf in ("ies", "ied"):
                w = w[: -len(suf)] + "y"
            elif suf == "s" and w.endswith(("ss", "us", "is")):
                break
            else:
                w = w[: -len(suf)]
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]  # setting -> sett -> set
    return w


_WORD = re.compile(r"[a-z0-9&_]+(?:['’][a-z]+)?")


def _words(text: str) -> list[str]:
    """Lower-cased words; hyphenated words give their parts and the joined word."""
    out: list[str] = []
    for chunk in re.split(r"\s+", text.lower()):
        parts = _WORD.findall(chunk)
        parts = [re.sub(r"['’]s$", "", p) for p in parts]
        out += parts
        if len(parts) > 1 and "-" in chunk:
            out.append("".join(parts))
    return out


def terms(text: str) -> list[str]:
    """Stemmed words of ``text`` without stop words."""
    return [stem(w) for w in _words(text) if w not in STOPWORDS]


def expand(query: str) -> list[str]:
    """The query's terms plus those of every synonym phrase it contains."""
    q = " " + " ".join(_words(query.replace("-", " "))) + " "
    extra = []
    for phrase, words in SYNONYMS.items():
        key = " " + " ".join(_words(phrase.replace("-", " "))) + " "
        if key in q:
            extra.append(words)
    return list(dict.fromkeys(terms(query) + terms(" ".join(extra))))


def _fields(t: Template) -> list[tuple[str, int]]:
    s = t.spec
    lm = s.logic_model
    outcomes = [el.text for stage, el in lm.elements() if stage.startswith("outcomes") or stage == "impact"]
    other = [el.text for stage, el in lm.elements() if not (stage.startswith("outcomes") or stage == "impact")]
    designs = [*t.designs, *(a.design_name() for a in s.analyses)]
    return [
        (t.id.replace("-", " ") + " " + t.name, 4),
        (t.card.summary + " " + " ".join(t.card.keywords), 3),
        ((s.initiative.description or "") + " " + (s.initiative.target_group or ""), 1),
        (" ".join(outcomes), 2),
        (" ".join(f"{i.label} {i.column}" for i in s.indicators), 2),
        (" ".join(f"{p.name} {p.contribution or ''}" for p in s.initiative.partners), 1),
        (" ".join(designs), 2),
        (" ".join(other), 1),
    ]


def document(t: Template) -> Counter[str]:
    """The template's weighted term counts."""
    bag: Counter[str] = Counter()
    for text, weight in _fields(t):
        for term in terms(text):
            bag[term] += weight
    return bag


#: Added when the whole query, as written, is the entry's name, one of its keywords or a phrase of its summary.
PHRASE_BONUS = 2.0


def _phrase_bonus(query: str, t: Template) -> float:
    q = " ".join(_words(query))
    if len(q.split()) < 2:
        return 0.0
    texts = [t.name, t.card.summary, *t.card.keywords]
    return PHRASE_BONUS if any(f" {q} " in f" {' '.join(_words(x))} " for x in texts) else 0.0


def rank(query: str, items: list[Template]) -> list[tuple[Template, float]]:
    """``items`` matching ``query``, best first, with their BM25 scores."""
    q = expand(query)
    if not q or not items:
        return []
    docs = [document(t) for t in items]
    lengths = [sum(d.values()) for d in docs]
    avg = sum(lengths) / len(lengths)
    n = len(docs)
    scores = []
    for t, d, length in zip(items, docs, lengths, strict=True):
        score = 0.0
        for term in q:
            f = d.get(term, 0)
            if not f:
                continue
            df = sum(1 for other in docs if term in other)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            score += idf * f * (K1 + 1) / (f + K1 * (1 - B + B * length / avg))
        if score > 0:
            scores.append((t, score + _phrase_bonus(query, t)))
    return sorted(scores, key=lambda ts: -ts[1])
