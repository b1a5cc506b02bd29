"""Evaluation files that used to crash the loader or the validator, or that validate
accepted and run then crashed on, are refused by ``preveval validate``: exit code 2, each
problem on one line as ``FILE:LINE:COL: field.path: message (hint)``, no traceback.

Each case breaks one thing in the small valid evaluation of tests/support.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adversarial.adv_helpers import assert_clean, cli
from support import SPEC, series_frame

ANALYSIS_END = "    seasonality: {type: fourier, period: 12, harmonics: 1}\n"
ECONOMICS = """economics:
  price_year: 2023
  costs:
    - {item: staff, amount: 1000}
  unit_values:
    - {indicator: events, value: 500}
"""
CONTRIBUTION = """contribution:
  claim: It worked
  evidence:
    - {id: e1, from_analysis: its-events, p_if_false: 0.3}
"""


def write(d: Path, text: str) -> Path:
    """The evaluation ``text`` and the support data in ``d``; returns the YAML path."""
    series_frame().to_csv(d / "data.csv", index=False)
    path = d / "evaluation.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(d: Path, text: str | bytes) -> list[str]:
    """``preveval validate`` on ``text`` exits 2 cleanly; returns the error lines (summary dropped)."""
    path = write(d, "")
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    err = assert_clean(cli("validate", path), 2)
    lines = err.splitlines()
    assert lines[-1].startswith("preveval: ") and lines[-1].endswith("error(s); nothing was written"), err
    return lines[:-1]


def only(lines: list[str], pattern: str) -> str:
    """Exactly one error line, and it matches ``pattern`` (after the file name)."""
    assert len(lines) == 1, lines
    assert re.fullmatch(r".*evaluation\.yaml:" + pattern, lines[0]), lines[0]
    return lines[0]


def edit(old: str, new: str) -> str:
    assert old in SPEC, old
    return SPEC.replace(old, new, 1)


# ------------------------------------------------------------------ the loader (YAML)


@pytest.mark.parametrize(("tag", "kind"), [("float", "a number"), ("int", "a whole number"),
                                           ("bool", "true or false")])
def test_a_tag_on_a_value_not_of_its_kind(tmp_path: Path, tag: str, kind: str) -> None:
    """``!!float x`` (ValueError), ``!!int x`` (ValueError), ``!!bool x`` (KeyError) at the value."""
    lines = refused(tmp_path, edit("schema_version: 1", f"schema_version: !!{tag} x"))
    only(lines, rf"1:17: schema_version: 'x' cannot be read as {kind} \(!!{tag}\) \(remove the tag.*\)")


def test_tags_on_mappings_and_lists_are_refused(tmp_path: Path) -> None:
    """Only plain mappings and lists: a tag on either is refused like a tag on a value."""
    lines = refused(tmp_path, SPEC + "extra: !!set {a, b}\n")
    only(lines, r"26:8: extra: the YAML tag 'tag:yaml\.org,2002:set' is not allowed .*")
    lines = refused(tmp_path, SPEC + "extra: !!python/tuple [1]\n")
    only(lines, r"26:8: extra: the YAML tag 'tag:yaml\.org,2002:python/tuple' is not allowed .*")


def test_deep_nesting_is_refused_before_anything_recurses(tmp_path: Path) -> None:
    """493 levels of brackets (RecursionError in PyYAML's composer) stop at level 33."""
    lines = refused(tmp_path, SPEC + "extra: " + "[" * 493 + "]" * 493 + "\n")
    only(lines, r"26:39: lists and mappings are nested more than 32 deep \(.*\)")


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    """``&r [*r]``, a list that holds itself (RecursionError): the anchor's line and column, the
    alias's path."""
    lines = refused(tmp_path, SPEC + "extra: &r [*r]\n")
    only(lines, r"26:8: extra\[0\]: the list or mapping anchored here holds an alias to itself \(.*\)")


def test_nesting_built_with_aliases_is_refused(tmp_path: Path) -> None:
    """Forty short lines, each a list of the one before: deep, though each line is flat."""
    chain = "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 40))
    lines = refused(tmp_path, chain + SPEC)
    assert len(lines) == 1 and "nested more than 32 deep" in lines[0], lines
    assert re.match(r".*evaluation\.yaml:\d+:\d+: a\d+(\[0\])+: ", lines[0]), lines[0]


@pytest.mark.parametrize(("char", "line", "col"), [("\x07", 4, 14), ("\x1b", 4, 14), ("\ufffe", 4, 14)])
def test_control_characters_have_line_and_column(tmp_path: Path, char: str, line: int, col: int) -> None:
    """A character YAML does not allow (a bell, an escape) is a positioned error, shown escaped."""
    lines = refused(tmp_path, edit("name: Test initiative", f"name: Test {char} initiative"))
    only(lines, rf"{line}:{col}: the character U\+{ord(char):04X} is not allowed in YAML \(.*\)")


def test_a_file_that_is_not_utf8_has_line_and_column(tmp_path: Path) -> None:
    raw = edit("name: Test initiative", "name: Caf\u00e9 initiative").encode("cp1252")
    lines = refused(tmp_path, raw)
    only(lines, r"4:12: the file is not UTF-8 text \(byte 0xE9\) \(save it as UTF-8\)")


def test_an_evaluation_file_that_is_a_folder(tmp_path: Path) -> None:
    err = assert_clean(cli("validate", tmp_path), 2)
    assert re.match(rf"{re.escape(str(tmp_path))}: cannot read the file: it is a folder", err), err


# --------------------------------------------------------- the validator (pydantic and keys)


def test_an_unknown_top_level_key_named_like_an_analysis_method(tmp_path: Path) -> None:
    """``did: 1`` was taken for pydantic's union marker and dropped (IndexError)."""
    lines = refused(tmp_path, SPEC + "did: 1\n")
    only(lines, r"26:1: did: unknown key 'did' \(allowed keys: schema_version, initiative, .*\)")


def test_an_unknown_nested_key_named_like_a_type(tmp_path: Path) -> None:
    """``str: oops`` under initiative is reported as itself, not as 'initiative'."""
    lines = refused(tmp_path, edit("  name: Test initiative\n", "  name: Test initiative\n  str: oops\n"))
    only(lines, r"5:3: initiative\.str: unknown key 'str' \(did you mean 'start'\?\)")


def test_unknown_keys_inside_an_analysis_and_a_union_member(tmp_path: Path) -> None:
    """Keys named like the union markers (its, did, str) inside an analysis and a seasonality."""
    text = edit(ANALYSIS_END, "    seasonality: {type: fourier, period: 12, harmonics: 1, str: 1}\n    its: 2\n")
    lines = refused(tmp_path, text)
    assert len(lines) == 2, lines
    assert re.fullmatch(r".*evaluation\.yaml:25:60: analyses\[0\]\.seasonality\.str: unknown key 'str' "
                        r"\(allowed keys: type, period, harmonics\)", lines[0]), lines
    assert re.fullmatch(r".*evaluation\.yaml:26:5: analyses\[0\]\.its: unknown key 'its' \(.*\)", lines[1]), lines


def test_an_aliased_key_is_suggested_as_written(tmp_path: Path) -> None:
    """A misspelt ``bootstrap_weights`` (an alias) is suggested by the name the user writes."""
    text = edit("analyses:\n", "analyses:\n  - {id: d, method: did, indicator: events, treatment: population, "
                "bootstrap_weight: webb}\n")
    lines = refused(tmp_path, text)
    assert any(re.fullmatch(r".*evaluation\.yaml:18:68: analyses\[0\]\.bootstrap_weight: unknown key "
                            r"'bootstrap_weight' \(did you mean 'bootstrap_weights'\?\)", x) for x in lines), lines


def test_an_empty_logic_model_element(tmp_path: Path) -> None:
    """``- ""`` gave pydantic's raw four-line message from deep inside a rule."""
    lines = refused(tmp_path, SPEC + 'logic_model:\n  inputs:\n    - ""\n    - Staff time\n')
    only(lines, r"28:7: logic_model\.inputs\[0\]: must not be empty")


def test_a_union_reports_the_member_of_the_kind_written(tmp_path: Path) -> None:
    """Text where a mapping or 'none' goes: one message, not one per member of the union."""
    lines = refused(tmp_path, edit(ANALYSIS_END, "    seasonality: nonee\n"))
    only(lines, r"25:18: analyses\[0\]\.seasonality: 'nonee' is not one of: none \(did you mean 'none'\?\)")
    lines = refused(tmp_path, edit(ANALYSIS_END, "    seasonality: [12]\n"))
    only(lines, r"25:18: analyses\[0\]\.seasonality: expected a mapping \(key: value\) or 'none', got a list")
    lines = refused(tmp_path, SPEC + "logic_model:\n  impact: {id: x}\n")
    only(lines, r"27:11: logic_model\.impact\.text: 'text' is required")


@pytest.mark.parametrize(("old", "new", "pattern"), [
    (ANALYSIS_END, "    seasonality: {type: dummies, period: .inf}\n",
     r"25:42: analyses\[0\]\.seasonality\.period: expected a finite number \(not \.inf or \.nan\), got inf"),
    (ANALYSIS_END, ANALYSIS_END + "    plausible_effect: .nan\n",
     r"26:23: analyses\[0\]\.plausible_effect: expected a finite number \(not \.inf or \.nan\), got nan"),
    (ANALYSIS_END, ANALYSIS_END + "    rate_per: -.inf\n",
     r"26:15: analyses\[0\]\.rate_per: expected a finite number \(not \.inf or \.nan\), got -inf"),
    (ANALYSIS_END, ANALYSIS_END + "    reps: 99999999999999999999\n",
     r"26:11: analyses\[0\]\.reps: must be at most 1,000,000, got 99999999999999999999"),
    ("schema_version: 1", "schema_version: 99999999999999999999",
     r"1:17: schema_version: schema_version 99999999999999999999 is not supported \(.*\)"),
    ("schema_version: 1", "schema_version: true", r"1:17: schema_version: expected a whole number, got true"),
])
def test_numbers_that_are_not_finite_or_out_of_bounds(tmp_path: Path, old: str, new: str, pattern: str) -> None:
    """``.inf`` in a seasonal period (OverflowError in a validator), ``.nan`` as a plausible
    effect, integers far beyond any bound: each refused at its value."""
    only(refused(tmp_path, edit(old, new)), pattern)


COST = "    - {item: staff, amount: 1000}"
VALUE = "    - {indicator: events, value: 500}"
END = "    - {indicator: events, value: 500}\n"


@pytest.mark.parametrize(("old", "new", "pattern"), [
    (COST, "    - {item: staff, amount: .inf}", r"29:29: economics\.costs\[0\]\.amount: expected a finite number .*"),
    (COST, "    - {item: staff, amount: 1e308}", r"29:29: economics\.costs\[0\]\.amount: must be at most 1e\+12, got 1e308"),
    (COST, "    - {item: staff, amount: -1}", r"29:29: economics\.costs\[0\]\.amount: must be at least 0, got -1"),
    (VALUE, "    - {indicator: events, value: 1.0e+308}",
     r"31:34: economics\.unit_values\[0\]\.value: must be at most 1e\+12, got 1e\+308"),
    (VALUE, "    - {indicator: events, value: .nan}", r"31:34: economics\.unit_values\[0\]\.value: expected a finite .*"),
    (END, END + "  years: 5e-324\n", r"32:10: economics\.years: must be at least 0\.01, got 5e-324"),
    (END, END + "  years: 1.0e+300\n", r"32:10: economics\.years: must be at most 100, got 1e\+300"),
    (END, END + "  expected_events: .inf\n", r"32:20: economics\.expected_events: expected a finite number .*"),
    (END, END + "  expected_events: 5.0e-324\n",
     r"32:20: economics\.expected_events: must be at least 0\.001, got 5e-324"),
    (END, END + "  discount_rate: .nan\n", r"32:18: economics\.discount_rate: expected a finite number .*"),
])
def test_economics_amounts_are_finite_and_bounded(tmp_path: Path, old: str, new: str, pattern: str) -> None:
    """Costs and unit values of ``.inf`` or 1e308 and a period of 5e-324 years overflowed when
    the costs were added up or divided (OverflowError at run); now each is refused at validate."""
    text = SPEC + ECONOMICS
    assert old in text
    only(refused(tmp_path, text.replace(old, new, 1)), pattern)


def test_a_plausible_effect_of_nan_on_evidence(tmp_path: Path) -> None:
    text = SPEC + CONTRIBUTION.replace("p_if_false: 0.3}", "p_if_false: 0.3, plausible_effect: .nan}")
    only(refused(tmp_path, text), r"29:78: contribution\.evidence\[0\]\.plausible_effect: expected a finite .*")


def test_a_nul_byte_in_data_path(tmp_path: Path) -> None:
    """``data\\0.csv`` reached open() (ValueError: embedded null byte)."""
    lines = refused(tmp_path, edit("path: data.csv", 'path: "data\\0.csv"'))
    only(lines, r"14:9: data\.path: a file path cannot hold control characters \(found U\+0000 at character 5\)")


def test_a_negative_seed_is_refused_at_validate(tmp_path: Path) -> None:
    """``seed: -1`` passed validate and run failed (ValueError: expected non-negative integer)."""
    lines = refused(tmp_path, edit(ANALYSIS_END, ANALYSIS_END + "    seed: -1\n"))
    only(lines, r"26:11: analyses\[0\]\.seed: must be at least 0, got -1")


def test_every_error_is_one_line_and_counted(tmp_path: Path) -> None:
    """Several problems at once: one line each, all positioned, and the count says how many."""
    text = (edit("schema_version: 1", "schema_version: 1\ndid: 1")
            .replace("  name: Test initiative\n", "  name: Test initiative\n  str: oops\n")
            + 'logic_model:\n  inputs: [""]\n' + ECONOMICS.replace("amount: 1000", "amount: .inf"))
    err = assert_clean(cli("validate", write(tmp_path, text)), 2)
    lines = err.splitlines()
    assert lines[-1] == "preveval: 4 error(s); nothing was written", err
    assert all(re.match(r".*evaluation\.yaml:\d+:\d+: \S+: ", x) for x in lines[:-1]), err
