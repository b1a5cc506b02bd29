"""The house keeps its shape (STYLE.md, ARCHITECTURE.md).

Data flow one way: spec -> data -> methods -> results -> contribution -> pack. Methods never
read YAML, draw or write files; writers never fit; the CLI computes nothing. Design families
are packages under ``methods/`` whose private modules stay inside them; result records live
in ``results/``; no module imports another that (directly or not) imports it back, counting
imports inside functions; no module is over 500 lines; importing preveval, ``--version`` and
``validate`` load neither scipy.stats, statsmodels nor matplotlib. Also: every subpackage ships
in the wheel and the library templates load.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from support import ROOT

SRC = ROOT / "src" / "preveval"
MAX_LINES = 500

FORBIDDEN = {
    "methods": {"yaml", "matplotlib", "preveval.pack", "preveval.spec.loader", "preveval.cli", "jinja2", "patsy",
                "formulaic", "preveval.contribution", "preveval.pipeline"},
    "inference": {"yaml", "matplotlib", "preveval.pack", "preveval.cli", "patsy", "formulaic", "preveval.methods",
                  "preveval.results", "preveval.contribution"},
    "results": {"yaml", "matplotlib", "statsmodels", "linearmodels", "preveval.methods", "preveval.inference",
                "preveval.contribution", "preveval.pipeline", "preveval.cli"},
    "contribution": {"yaml", "matplotlib", "preveval.pack", "preveval.cli", "preveval.methods", "preveval.inference",
                     "preveval.pipeline"},
    "data": {"matplotlib", "preveval.methods", "preveval.pack", "preveval.cli", "preveval.results"},
    "spec": {"matplotlib", "preveval.methods", "preveval.pack", "preveval.data", "preveval.cli", "preveval.results"},
    "pack": {"statsmodels", "linearmodels", "preveval.methods", "preveval.inference", "preveval.cli",
             "preveval.pipeline"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks (imports that never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def imports_of(path: Path, *, runtime_only: bool = False) -> set[str]:
    """Every name a module imports, top level and inside functions, resolved to module paths.

    ``from a.b import c`` counts as ``a.b.c`` when that is a module, else ``a.b``. With
    ``runtime_only``, imports under ``if TYPE_CHECKING:`` (which never run) are left out.
    """
    tree = ast.parse(path.read_text())
    pkg = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    skip = _type_checking_lines(tree) if runtime_only else set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in MODULES]
            names.update(subs)
            if len(subs) < len(node.names):
                names.add(mod)
    return names


def graph() -> dict[str, set[str]]:
    """The run-time import graph between preveval's own modules."""
    return {m: {n for n in imports_of(p, runtime_only=True) if n in MODULES and n != m} for m, p in MODULES.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_including_imports_inside_functions() -> None:
    found = cycles(graph())
    assert not found, f"import cycles: {found}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("area", sorted(FORBIDDEN))
def test_layers_do_not_reach_across(area: str) -> None:
    bad = []
    for path in sorted((SRC / area).rglob("*.py")):
        for name in imports_of(path):
            for f in FORBIDDEN[area]:
                if name == f or name.startswith(f + "."):
                    bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, bad


def _family(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "methods" else None


def test_design_families_keep_their_private_modules() -> None:
    """Outside methods/<family>/ only the family package itself is imported."""
    families = {p.parent.name for p in (SRC / "methods").glob("*/__init__.py")}
    assert {"its", "did"} <= families
    bad = []
    for mod, path in MODULES.items():
        mine = _family(mod)
        for name in imports_of(path):
            theirs = _family(name)
            if theirs is not None and theirs != mine and name != f"preveval.methods.{theirs}":
                bad.append(f"{mod} imports {name}, a private module of the {theirs} family")
    assert not bad, bad


def test_methods_root_imports_no_family() -> None:
    assert not imports_of(SRC / "methods" / "__init__.py")


def test_no_module_is_over_500_lines() -> None:
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def _loaded_after(code: str) -> list[str]:
    heavy = ("scipy.stats", "statsmodels", "matplotlib")
    probe = code + f"\nimport sys\nprint('LOADED:' + ','.join(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("LOADED:")][-1]
    return [m for m in line.removeprefix("LOADED:").split(",") if m]


def test_import_preveval_is_light() -> None:
    assert _loaded_after("import preveval") == []


def test_version_and_validate_are_light(evaluation_dir: Path) -> None:
    for args in (["--version"], ["validate", str(evaluation_dir / "evaluation.yaml")]):
        code = ("import sys\nfrom preveval.cli import main\nsys.argv = ['preveval', *" + repr(args) + "]\n"
                "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code")
        assert _loaded_after(code) == [], args


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
    dirs = {d for d in SRC.rglob("*") if d.is_dir() and any(d.glob("*.py"))}
    assert all((d / "__init__.py").is_file() for d in dirs), [str(d) for d in dirs if not (d / "__init__.py").is_file()]


def test_library_templates_are_installed_and_valid() -> None:
    from preveval.library import templates

    items = templates()
    assert items, "templates/ ships no evaluation file"
    assert len({t.id for t in items}) == len(items)
