"""Safe, positioned YAML loading.

The file is composed into PyYAML nodes with the safe resolver, then walked by hand into
plain Python data, recording the line and column of every mapping key and value. The
walk accepts only the standard scalar tags (str, int, float, bool, null; timestamps stay
as the text written), rejects every other tag (``!!python/object`` and friends), values
that do not read as their tag says (``!!int x``) and duplicate keys, and stops after a
fixed number of nodes so that an alias "bomb" (billion laughs) fails fast instead of
exhausting memory. Nesting deeper than :data:`MAX_DEPTH` (written out, or made with
aliases, including an alias inside its own anchor) is refused before anything recurses.
Every problem is a :class:`~preveval.errors.SpecError` with the line and column.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import CollectionEndEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Issue, SpecError

MAX_NODES = 100_000
MAX_BYTES = 5_000_000
#: Deepest nesting of mappings and lists accepted (an evaluation file needs about six).
MAX_DEPTH = 32

Loc = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_TEXT_TAGS = {_TAG + "timestamp"}  # kept as written: periods are parsed later
_BREAKS = "\n\x85\u2028\u2029"


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
        self.open: set[int] = set()  # ids of the collections being walked (an alias loop)

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
        if isinstance(node, ScalarNode):
            return self.scalar(node, loc)
        if id(node) in self.open:
            raise self.fail(node, loc, "the list or mapping anchored here holds an alias to itself",
                            "a recursive alias (&a [*a]) never ends: write the values out")
        if len(loc) >= MAX_DEPTH:
            raise self.fail(node, loc, f"lists and mappings are nested more than {MAX_DEPTH} deep",
                            "an evaluation file needs only a few levels: check the brackets and aliases")
        self.open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, loc)
            if not isinstance(node, SequenceNode) or node.tag != _TAG + "seq":
                raise self.bad_tag(node, loc)
            return [self.walk(item, (*loc, i)) for i, item in enumerate(node.value)]
        finally:
            self.open.discard(id(node))

    def mapping(self, node: MappingNode, loc: Loc) -> dict[str, Any]:
        if node.tag != _TAG + "map":
            raise self.bad_tag(node, loc)
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

    def bad_tag(self, node: Node, loc: Loc) -> SpecError:
        return self.fail(node, loc, f"the YAML tag '{node.tag}' is not allowed",
                         "preveval reads plain YAML only: remove the tag")

    def scalar(self, node: ScalarNode, loc: Loc) -> Any:
        if node.tag in _TEXT_TAGS:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            raise self.bad_tag(node, loc)
        try:
            return self.constructor.construct_object(node)
        except (ValueError, LookupError, TypeError, ArithmeticError, yaml.YAMLError):
            # An explicit tag on text that is not of its kind: !!int x, !!float x, !!bool x.
            kind = node.tag.removeprefix(_TAG)
            raise self.fail(node, loc, f"'{node.value[:40]}' cannot be read as {_KINDS[kind]} ({'!!' + kind})",
                            "remove the tag, or write a value of that kind") from None


_KINDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text", "null": "null"}


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``, counting line breaks as PyYAML does."""
    line, start = 1, 0
    for i, ch in enumerate(text[:index]):
        if ch in _BREAKS or (ch == "\r" and text[i + 1:i + 2] != "\n"):
            line, start = line + 1, i + 1
    return line, index - start + 1


def _check_depth(loader: Any, file: str) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` before PyYAML's composer recurses into it."""
    depth = 0
    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                m = event.start_mark
                raise SpecError([Issue(f"lists and mappings are nested more than {MAX_DEPTH} deep", "", file,
                                       m.line + 1 if m else None, m.column + 1 if m else None,
                                       "an evaluation file needs only a few levels: check the brackets")])
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def _compose_fast(text: str, file: str) -> tuple[bool, Node | None]:
    """LibYAML's parser (10 times faster) for plain ASCII text: ``(True, node)``, or
    ``(False, None)`` when it is not available or finds any fault, so that the pure-Python
    parser reads the file and reports exactly as it does (messages, lines and columns).
    Columns of ASCII text are the same in both."""
    loader_class = getattr(yaml, "CSafeLoader", None)
    if loader_class is None or not text.isascii():
        return False, None
    for first in (True, False):
        loader = loader_class(text)
        try:
            if first:
                _check_depth(loader, file)
            else:
                return True, loader.get_single_node()
        except SpecError:
            raise
        except Exception:  # noqa: BLE001 - any fault: the pure-Python parser reads and reports it
            return False, None
        finally:
            loader.dispose()
    return False, None


def _compose(text: str, file: str) -> Node | None:
    done, node = _compose_fast(text, file)
    if done:
        return node
    for first in (True, False):
        loader = yaml.SafeLoader(text)
        try:
            if first:
                _check_depth(loader, file)
            else:
                single: Node | None = loader.get_single_node()
                return single
        except (ValueError, OverflowError) as exc:  # PyYAML's scanner: chr() of an escape such as "\U99999999"
            m = loader.get_mark()
            raise SpecError([Issue(f"YAML syntax error: a value cannot be read ({exc})", "", file, m.line + 1,
                                   m.column + 1, "check the escapes (\\x, \\u, \\U) in double-quoted text")]) from None
        finally:
            loader.dispose()
    return None


def load_yaml_text(text: str, file: str) -> Positioned:
    """Parse YAML text into :class:`Positioned` data, or raise :class:`SpecError`."""
    if len(text) > MAX_BYTES:
        raise SpecError([Issue(f"the file is larger than {MAX_BYTES:,} bytes", file=file)])
    try:
        node = _compose(text, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        raise SpecError([Issue(msg, "", file, line, col, "check indentation and quoting")]) from None
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        ch = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise SpecError([Issue(f"the character U+{ord(ch):04X} is not allowed in YAML", "", file, line, col,
                               "remove it; in a double-quoted string it may be written as an escape "
                               f"(\"\\u{ord(ch):04x}\")")]) from None
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


def read_regular_file(path: Path, limit: int | None = None) -> bytes:
    """The bytes of ``path`` if it is a regular file; raises ``OSError`` or ``ValueError``.

    A FIFO, a device or a folder would block or never end: it is opened without blocking
    and refused (``IsADirectoryError`` for a folder, ``OSError`` naming the kind otherwise).
    A file longer than ``limit`` bytes raises ``OverflowError`` before it is read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(21, "it is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else
                    "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                    "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise OSError(0, f"it is {kind}, not a regular file")
        if limit is not None and st.st_size > limit:
            raise OverflowError(st.st_size)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        return f.read()


def not_utf8(raw: bytes, exc: UnicodeDecodeError) -> tuple[int, int, str]:
    """Line, character column and a description of the first byte that is not UTF-8."""
    start = raw.rfind(b"\n", 0, exc.start) + 1
    line = raw.count(b"\n", 0, exc.start) + 1
    col = len(raw[start:exc.start].decode("utf-8", errors="replace")) + 1
    return line, col, f"byte 0x{raw[exc.start]:02X}"


def load_yaml_file(path: Path, display: str | None = None) -> Positioned:
    """Read and parse a YAML file; errors name the file as ``display`` (default: the path)."""
    name = display or str(path)
    try:
        raw = read_regular_file(path, MAX_BYTES)
    except FileNotFoundError:
        raise SpecError([Issue("file not found", file=name)]) from None
    except OverflowError:
        raise SpecError([Issue(f"the file is larger than {MAX_BYTES:,} bytes", file=name)]) from None
    except ValueError as exc:  # a NUL byte in the name
        raise SpecError([Issue(f"cannot read the file: {exc}", file=name)]) from None
    except OSError as exc:
        raise SpecError([Issue(f"cannot read the file: {exc.strerror}", file=name)]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col, what = not_utf8(raw, exc)
        raise SpecError([Issue(f"the file is not UTF-8 text ({what})", file=name, line=line, col=col,
                               hint="save it as UTF-8")]) from None
    return load_yaml_text(text, name)
