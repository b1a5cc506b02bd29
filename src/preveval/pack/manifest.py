"""The pack manifest: the mark that a folder is a pack and what preveval wrote in it.

Every pack holds ``.preveval-pack.json``, written last, listing every other file preveval
wrote there with its size and SHA-256, and the preveval version::

    {
      "format": "preveval-pack",
      "manifest_version": 1,
      "preveval_version": "0.1.0",
      "files": {"figures/x.png": {"sha256": "…", "size": 1234}, "report.html": {…}, …}
    }

Keys are sorted and nothing depends on the time or the folder's path, so the same inputs
give the same manifest byte for byte (and, since it holds every file's hash, two packs
with equal manifests are equal file for file).

:func:`survey` compares a folder with its manifest: preveval replaces a folder only when
it holds nothing else (files it did not write, files changed since, other folders, links),
so replacing a pack never deletes anybody's work. The view caches that file browsers drop
into every folder they show (:data:`VIEWER_CACHES`) are the one exception.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from preveval.provenance import version

__all__ = ["MANIFEST", "VIEWER_CACHES", "Survey", "is_complete", "manifest_bytes", "read_manifest", "sha256_file",
           "survey"]

MANIFEST = ".preveval-pack.json"
FORMAT = "preveval-pack"
MANIFEST_VERSION = 1
PACK_DIRS = frozenset({"figures", "tables"})
#: Folder view caches of macOS Finder and Windows Explorer: no user content, recreated on
#: demand. They do not stop a pack from being replaced.
VIEWER_CACHES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def manifest_bytes(files: Mapping[str, bytes]) -> bytes:
    """The manifest of a pack whose files (relative POSIX path -> content) are ``files``."""
    listed = {rel: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
              for rel, data in sorted(files.items())}
    doc = {"format": FORMAT, "manifest_version": MANIFEST_VERSION, "preveval_version": version(),
           "files": listed}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")


def read_manifest(folder: Path) -> dict[str, dict[str, object]] | None:
    """The files listed in ``folder``'s manifest; None when there is none or it is not one."""
    try:
        raw = (folder / MANIFEST).read_bytes()
    except OSError:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not (isinstance(doc, dict) and doc.get("format") == FORMAT and doc.get("manifest_version") == MANIFEST_VERSION
            and isinstance(doc.get("files"), dict)):
        return None
    files = doc["files"]
    ok = all(isinstance(k, str) and isinstance(v, dict) and isinstance(v.get("sha256"), str) for k, v in files.items())
    return files if ok else None


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Survey:
    """What a folder holds compared with its manifest."""

    has_manifest: bool
    foreign: list[str] = field(default_factory=list)     # not written by preveval
    changed: list[str] = field(default_factory=list)     # written by preveval, changed since
    missing: list[str] = field(default_factory=list)     # listed but gone
    locked: list[str] = field(default_factory=list)      # folders preveval could not empty

    @property
    def replaceable(self) -> bool:
        """True when replacing the folder deletes only files preveval wrote, unchanged."""
        return self.has_manifest and not (self.foreign or self.changed or self.locked)

    @property
    def complete(self) -> bool:
        """True when the folder is exactly the pack its manifest describes."""
        return self.replaceable and not self.missing


def survey(folder: Path) -> Survey:
    """Compare ``folder`` with its manifest, without following symbolic links."""
    files = read_manifest(folder)
    s = Survey(has_manifest=files is not None)
    listed = files or {}
    expected_dirs = set(PACK_DIRS) | {p for rel in listed for p in _parents(rel)}
    seen: set[str] = set()

    def walk(d: Path, prefix: str) -> None:
        if not os.access(d, os.W_OK | os.X_OK):
            s.locked.append(prefix or ".")
        with os.scandir(d) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            rel = prefix + e.name
            if rel == MANIFEST and files is not None:
                continue
            if e.is_symlink():
                s.foreign.append(f"{rel} (a symbolic link)")
            elif e.is_dir(follow_symlinks=False):
                if rel in expected_dirs:
                    walk(Path(e.path), rel + "/")
                else:
                    s.foreign.append(rel + "/")
            elif not e.is_file(follow_symlinks=False):
                s.foreign.append(f"{rel} (not a regular file)")
            elif e.name in VIEWER_CACHES:
                continue
            elif rel not in listed:
                s.foreign.append(rel)
            else:
                seen.add(rel)
                try:
                    same = sha256_file(Path(e.path)) == listed[rel]["sha256"]
                except OSError:
                    same = False
                if not same:
                    s.changed.append(rel)

    walk(folder, "")
    s.missing = sorted(set(listed) - seen)
    return s


def is_complete(folder: Path) -> bool:
    """True when ``folder`` is a whole pack: its manifest, every file listed, nothing else."""
    try:
        return folder.is_dir() and not folder.is_symlink() and survey(folder).complete
    except OSError:
        return False


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
