"""Nothing from the evaluation file is executed by whoever opens the pack.

A valid evaluation full of hostile text (tests/adversarial/adv_helpers.py: formula-like
partner, unit, cost and rival names; Markdown links, a tracking image, an injected heading
and raw HTML in descriptions and claims; terminal escapes, a bell, a carriage return and a
right-to-left override in the initiative's name) is run once; then each output is read
the way its reader would read it: CSV cell by cell, report.md through a CommonMark parser,
report.html through an HTML parser, and the CLI's stdout and stderr as raw text.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from adversarial.adv_helpers import HOSTILE_UNITS, assert_clean, check_pack, cli, write_hostile
from preveval.pack.neutralise import (
    csv_cell,
    escape_controls,
    md_block,
    md_inline,
    neutralise_frame,
    terminal_text,
)

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The hostile evaluation's pack and the CLI result that wrote it."""
    d = tmp_path_factory.mktemp("hostile")
    spec = write_hostile(d)
    r = cli("run", spec, "--out", d / "pack")
    assert_clean(r, 0)
    return d / "pack", r


# ---------------------------------------------------------------- the rules, one by one


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"),
        ("\uff1d1+1", "'\uff1d1+1"),           # full-width equals sign
        ("\rcmd", "\\rcmd"),                    # a CR is shown as an escape: nothing left to run
        ("-0.5", "-0.5"), ("+3", "+3"), ("-1e-05", "-1e-05"),  # text that is just a number stays one
        ("plain text", "plain text"), ("a=b", "a=b"), ("", ""),
        ("\x1b[31mred", "\\x1b[31mred"),
        (-0.5, -0.5), (-3, -3), (None, None),  # numbers are not text
    ],
)
def test_csv_cell(cell: object, written: object) -> None:
    assert csv_cell(cell) == written


def test_neutralised_frames_keep_numbers_numeric_and_quote_properly() -> None:
    frame = pd.DataFrame({"name": ["=1+1", 'say "hi", then', "-7"], "estimate": [-0.25, 1.5, -3.0],
                          "n": [-1, 2, 3], "mixed": [-0.5, "=x", None]})
    out = neutralise_frame(frame)
    assert out["estimate"].tolist() == [-0.25, 1.5, -3.0] and out["n"].dtype == frame["n"].dtype
    text = out.to_csv(index=False, lineterminator="\n")
    assert text.splitlines()[1:] == ["'=1+1,-0.25,-1,-0.5", '"say ""hi"", then",1.5,2,\'=x', "-7,-3.0,3,"]
    assert list(csv.reader(io.StringIO(text)))[2][0] == 'say "hi", then'
    assert frame["name"].tolist()[0] == "=1+1"  # the caller's frame is left alone


@pytest.mark.parametrize(
    ("text", "md"),
    [
        ("[c](javascript:alert(1))", r"\[c\](javascript:alert(1))"),
        ("![t](http://evil.example/p.png)", r"!\[t\](http://evil.example/p.png)"),
        ("line\n# Injected heading", "line # Injected heading"),
        ("# heading", r"\# heading"), ("- item", r"\- item"), ("+ item", r"\+ item"), ("---", r"\---"),
        ("1. first", r"1\. first"), ("2016) x", r"2016\) x"), ("> quote", r"\> quote"),
        ("<script>x</script>", r"\<script\>x\</script\>"), ("a & b &amp; c", r"a & b \&amp; c"),
        ("*em* _em_ snake_case `code` ~~s~~ a|b", r"\*em\* \_em\_ snake_case \`code\` \~\~s\~\~ a\|b"),
        ("-0.12 is negative", "-0.12 is negative"), ("p < 0.05", r"p \< 0.05"),
        ("    indented code", "indented code"), ("back\\slash", "back\\\\slash"),
        ("\x1b[2J", r"\\x1b\[2J"),
    ],
)
def test_md_block(text: str, md: str) -> None:
    assert md_block(text) == md


def test_md_inline_leaves_a_leading_marker_alone_and_never_uses_entities() -> None:
    assert md_inline("# not a heading in a cell") == "# not a heading in a cell"
    assert "&lt;" not in md_inline("<b>") and "&gt;" not in md_inline("<b>")


def test_controls_are_escaped_visibly() -> None:
    assert escape_controls("a\x1b[31mb\x07c\u202ed\x9be\tf\ng") == "a\\x1b[31mb\\x07c\\u202ed\\x9be\tf\ng"
    assert terminal_text("one\ntwo\tthree\r") == "one\\ntwo\\tthree\\r"
    assert escape_controls("Ünïcödé — fine £") == "Ünïcödé — fine £"


# ---------------------------------------------------------------- the hostile pack


def test_hostile_pack_still_conforms(hostile: tuple[Path, object]) -> None:
    check_pack(hostile[0])


def test_no_csv_cell_is_a_formula(hostile: tuple[Path, object]) -> None:
    pack = hostile[0]
    seen = 0
    for path in sorted((pack / "tables").glob("*.csv")):
        raw = path.read_text(encoding="utf-8")
        assert not RAW_CONTROLS.search(raw), path.name
        for row in csv.reader(io.StringIO(raw)):
            for cell in row:
                if cell.startswith(TRIGGERS):
                    assert NUMBER.fullmatch(cell), f"{path.name}: {cell!r}"
                    seen += 1
    assert seen > 0  # negative numbers are there, and written as numbers
    partners = list(csv.DictReader(io.StringIO((pack / "tables" / "partners.csv").read_text())))
    # "+441234" is just a number (a spreadsheet reads it as one, never as a formula): left alone
    assert [p["partner"] for p in partners] == ['\'=HYPERLINK("http://evil.example","click")', "'-2+3", "+441234"]
    assert partners[0]["brings"] == "'@SUM(A1:A9)" and partners[2]["brings"] == "'\tcmd"
    raw = (pack / "tables" / "partners.csv").read_text()
    assert '"\'=HYPERLINK(""http://evil.example"",""click"")"' in raw  # quotes doubled, cell quoted
    rob = pd.read_csv(pack / "tables" / "did-events-robustness.csv", keep_default_na=False)
    units = set(rob.loc[rob["check"] == "leave one out", "label"])
    assert {"'=1+2", "'@SUM(A1)", "'+cmd", "'-2+3"} <= units
    costs = pd.read_csv(pack / "tables" / "economics-costs.csv")
    assert costs["partner"].tolist() == ["'@evil partner"]
    coefs = pd.read_csv(pack / "tables" / "did-events-coefficients.csv")
    assert pd.api.types.is_float_dtype(coefs["estimate"])  # numbers read back as numbers


def _markdown_tokens(text: str) -> list:
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark").enable("table").enable("strikethrough")
    flat = []
    for tok in md.parse(text):
        flat.append(tok)
        flat.extend(tok.children or [])
    return flat


def test_report_md_has_only_the_renderers_markdown(hostile: tuple[Path, object]) -> None:
    text = (hostile[0] / "report.md").read_text(encoding="utf-8")
    assert not RAW_CONTROLS.search(text)
    assert "&lt;" not in text and "&gt;" not in text and "&amp;" not in text
    tokens = _markdown_tokens(text)
    assert not [t for t in tokens if t.type in ("link_open", "html_inline", "html_block")]
    images = [t.attrs["src"] for t in tokens if t.type == "image"]
    assert images and all(re.fullmatch(r"figures/[a-z0-9-]+\.png", s) for s in images), images
    headings, lines = [], text.splitlines()
    for i, t in enumerate(tokens):
        if t.type == "heading_open":
            headings.append(tokens[i + 1].content)
    assert not [h for h in headings if "Injected" in h or h.startswith("Claim heading")]
    assert headings[0].startswith("Hostile") and "Summary" in headings  # the renderer's own headings
    assert not [ln for ln in lines if ln.startswith("# Injected") or ln.startswith("<")]
    assert r"\[c\](javascript:alert(1))" in text and r"!\[t\](http://evil.example/p.png)" in text
    assert r"\<script\>alert(1)\</script\>" in text
    assert any(ln.startswith("| ") for ln in lines)  # tables are still tables


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.heading_text: list[str] = []
        self._in_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_heading = tag in {"h1", "h2", "h3", "h4", "h5", "h6"}

    def handle_endtag(self, tag: str) -> None:
        self._in_heading = False

    def handle_data(self, data: str) -> None:
        if self._in_heading:
            self.heading_text.append(data)


def test_report_html_keeps_every_injection_escaped(hostile: tuple[Path, object]) -> None:
    text = (hostile[0] / "report.html").read_text(encoding="utf-8")
    assert not RAW_CONTROLS.search(text)
    page = _Html()
    page.feed(text)
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "iframe", "object", "embed", "b", "i"}, names
    for tag, attrs in page.tags:
        for key, value in attrs.items():
            assert not key.startswith("on"), (tag, key)
            if key in ("href", "src"):
                assert value is not None and (value.startswith("#") or value.startswith("data:image/png;base64,")), value
    assert not [h for h in page.heading_text if "Injected" in h]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "\\x1b[31mred" in text and "\\u202e" in text


def test_cli_output_has_no_raw_control_characters(hostile: tuple[Path, object]) -> None:
    r = hostile[1]
    for stream in (r.stdout, r.stderr):  # type: ignore[attr-defined]
        assert not RAW_CONTROLS.search(stream), repr(stream)
    assert "Hostile \\x1b[31mred\\x1b[0m \\u202eevil \\x07name" in r.stdout  # type: ignore[attr-defined]


def test_error_messages_have_no_raw_control_characters(evaluation_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A value quoted back in an error message reaches the terminal escaped, on one line."""
    monkeypatch.chdir(evaluation_dir)
    text = (evaluation_dir / "evaluation.yaml").read_text().replace(
        "id: test-initiative", 'id: "te\\e[2J\\e]0;pwned\\ast\\nevaluation.yaml:1:1: all fine"')
    (evaluation_dir / "evaluation.yaml").write_text(text)
    err = assert_clean(cli("run", "evaluation.yaml", "--out", "pack"), 2)
    assert not RAW_CONTROLS.search(err), repr(err)
    assert re.search(r"evaluation\.yaml:3:7: initiative\.id: 'te\\x1b\[2J\\x1b\]0;pwned\\x07st\\nevaluation", err), err
    assert not any(line.startswith("evaluation.yaml:1:1") for line in err.splitlines())


def test_unit_names_in_the_data_are_neutralised_too(hostile: tuple[Path, object]) -> None:
    text = "".join(p.read_text() for p in (hostile[0] / "tables").glob("*.csv"))
    for unit in HOSTILE_UNITS:
        if unit.startswith(TRIGGERS):
            assert f"\n{unit}," not in text and f",{unit}," not in text, unit
