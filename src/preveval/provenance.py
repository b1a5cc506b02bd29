"""Versions of preveval and the libraries it ran with, for results.json and the pack.

A leaf module (standard library only), so that every layer can name the software without
importing the package root.
"""

from __future__ import annotations

import platform
from importlib import metadata

__all__ = ["PACKAGES", "package_versions", "version"]

PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "linearmodels", "pydantic", "matplotlib", "jinja2", "pyyaml")


def version() -> str:
    """The installed preveval version (0.1.0 when running from a source tree)."""
    try:
        return metadata.version("preveval")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.1.0"


def package_versions() -> dict[str, str | None]:
    """Versions of preveval, Python and the numerical libraries (None when not installed)."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name if name != "pyyaml" else "PyYAML")
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"preveval": version(), "python": platform.python_version(), **versions}
