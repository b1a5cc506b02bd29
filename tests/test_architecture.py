"""The data flow stays one way (STYLE.md): methods never read YAML, draw or write files;
writers never fit; the CLI computes nothing. Also: every subpackage ships in the wheel."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from support import ROOT

SRC = ROOT / "src" / "preveval"

FORBIDDEN = {
    "methods": {"yaml", "matplotlib", "preveval.pack", "preveval.spec.loader", "preveval.cli", "jinja2", "patsy", "formulaic"},
    "inference": {"yaml", "matplotlib", "preveval.pack", "preveval.cli", "patsy", "formulaic"},
    "contribution": {"yaml", "matplotlib", "preveval.pack", "preveval.cli"},
    "data": {"matplotlib", "preveval.methods", "preveval.pack", "preveval.cli"},
    "spec": {"matplotlib", "preveval.methods", "preveval.pack", "preveval.data", "preveval.cli"},
    "pack": {"statsmodels", "linearmodels", "preveval.methods.its_fit", "preveval.cli"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    pkg = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
    return names


@pytest.mark.parametrize("area", sorted(FORBIDDEN))
def test_layers_do_not_reach_across(area: str) -> None:
    bad = []
    for path in sorted((SRC / area).rglob("*.py")):
        for name in imports_of(path):
            for f in FORBIDDEN[area]:
                if name == f or name.startswith(f + "."):
                    bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, bad


def test_no_eval_or_unsafe_yaml_anywhere() -> None:
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec"}, path
            if isinstance(node, ast.Attribute) and node.attr in {"unsafe_load", "full_load", "UnsafeLoader", "FullLoader"}:
                pytest.fail(f"{path} uses yaml.{node.attr}")


def test_every_subpackage_is_listed_for_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"preveval" + "".join("." + p for p in d.relative_to(SRC).parts)
             for d in [SRC, *[p.parent for p in SRC.rglob("__init__.py")]]}
    assert found <= listed, found - listed


def test_library_templates_are_installed_and_valid() -> None:
    from preveval.library import templates

    items = templates()
    assert items, "templates/ ships no evaluation file"
    assert len({t.id for t in items}) == len(items)
