"""Safe, positioned YAML loading.

The file is composed into PyYAML nodes with the safe resolver, then walked by hand into
plain Python data, recording the line and column of every mapping key and value. The
walk accepts only the standard scalar tags (str, int, float, bool, null; timestamps stay
as the text written), rejects every other tag (``!!python/object`` and friends) and
duplicate keys, and stops after a fixed number of nodes so that an alias "bomb" (billion
laughs) fails fast instead of exhausting memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Issue, SpecError

MAX_NODES = 100_000
MAX_BYTES = 5_000_000

Loc = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_TEXT_TAGS = {_TAG + "timestamp"}  # kept as written: periods are parsed later


@dataclass
class Positioned:
    """Plain data from a YAML file plus the position of every node.

    ``positions`` maps a location (tuple of keys and indices) to ``(line, col)``, 1-based,
    of the value; ``key_positions`` maps it to the position of the mapping key itself.
    """

    data: Any
    file: str
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def where(self, loc: Loc, *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column of ``loc`` or of its nearest ancestor that has one."""
        loc = tuple(loc)
        while True:
            table = self.key_positions if key and loc in self.key_positions else self.positions
            if loc in table:
                return table[loc]
            if not loc:
                return (None, None)
            loc = loc[:-1]
            key = False

    def issue(self, loc: Loc, message: str, hint: str | None = None, *, key: bool = False,
              level: str = "error") -> Issue:
        """An issue positioned at ``loc``."""
        line, col = self.where(loc, key=key)
        return Issue(message, path=dotted(loc), file=self.file, line=line, col=col, hint=hint,
                     level=level)  # type: ignore[arg-type]


def dotted(loc: Loc) -> str:
    """``('analyses', 0, 'family')`` -> ``analyses[0].family``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Walker:
    def __init__(self, file: str):
        self.file = file
        self.count = 0
        self.constructor = SafeConstructor()
        self.out = Positioned(None, file)

    def fail(self, node: Node, loc: Loc, message: str, hint: str | None = None) -> SpecError:
        m = node.start_mark
        return SpecError([Issue(message, dotted(loc), self.file, m.line + 1, m.column + 1, hint)])

    def walk(self, node: Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(node, loc, f"the YAML document expands to more than {MAX_NODES:,} "
                            "nodes", "aliases (&anchor / *alias) may not be used to blow up the file")
        m = node.start_mark
        self.out.positions[loc] = (m.line + 1, m.column + 1)
        if isinstance(node, MappingNode):
            result: dict[str, Any] = {}
            for knode, vnode in node.value:
                if knode.tag == _TAG + "merge":
                    raise self.fail(knode, loc, "YAML merge keys (<<) are not supported",
                                    "write the keys out")
                if not isinstance(knode, ScalarNode):
                    raise self.fail(knode, loc, "a mapping key must be plain text")
                key = self.scalar(knode, loc)
                key = str(key) if not isinstance(key, str) else key
                if key in result:
                    raise self.fail(knode, (*loc, key), f"duplicate key '{key}'",
                                    "each key may appear once in a mapping")
                km = knode.start_mark
                self.out.key_positions[(*loc, key)] = (km.line + 1, km.column + 1)
                result[key] = self.walk(vnode, (*loc, key))
            return result
        if isinstance(node, SequenceNode):
            if node.tag not in (_TAG + "seq",):
                raise self.bad_tag(node, loc)
            return [self.walk(item, (*loc, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self.scalar(node, loc)

    def bad_tag(self, node: Node, loc: Loc) -> SpecError:
        return self.fail(node, loc, f"the YAML tag '{node.tag}' is not allowed",
                         "preveval reads plain YAML only: remove the tag")

    def scalar(self, node: ScalarNode, loc: Loc) -> Any:
        if node.tag in _TEXT_TAGS:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            raise self.bad_tag(node, loc)
        return self.constructor.construct_object(node)


def load_yaml_text(text: str, file: str) -> Positioned:
    """Parse YAML text into :class:`Positioned` data, or raise :class:`SpecError`."""
    if len(text) > MAX_BYTES:
        raise SpecError([Issue(f"the file is larger than {MAX_BYTES:,} bytes", file=file)])
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        raise SpecError([Issue(msg, "", file, line, col, "check indentation and quoting")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Issue(f"YAML error: {exc}", file=file)]) from None
    if node is None:
        raise SpecError([Issue("the file is empty", file=file, line=1, col=1)])
    walker = _Walker(file)
    data = walker.walk(node, ())
    walker.out.data = data
    if not isinstance(data, dict):
        raise SpecError([Issue("the top level must be a mapping of keys (schema_version, "
                               "initiative, ...)", file=file, line=1, col=1)])
    return walker.out


def load_yaml_file(path: Path, display: str | None = None) -> Positioned:
    """Read and parse a YAML file; errors name the file as ``display`` (default: the path)."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError([Issue("file not found", file=name)]) from None
    except OSError as exc:
        raise SpecError([Issue(f"cannot read the file: {exc.strerror}", file=name)]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError([Issue(f"the file is not UTF-8 text (byte {exc.start})", file=name)]) from None
    return load_yaml_text(text, name)
