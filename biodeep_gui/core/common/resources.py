"""Where the bundled resources (icons, styles, demo data, the JASPAR motif file) live on disk.

One helper, so every caller finds ``resources/`` the same way in a source checkout and in a PyInstaller
bundle. Pure Python: no Qt, safe to import from ``biodeep_gui.core``.
"""
from __future__ import annotations

import sys
from pathlib import Path


def resources_root() -> Path:
    """The top-level ``resources/`` folder.

    Frozen by PyInstaller, data files are unpacked under ``sys._MEIPASS`` (the spec copies ``resources/``
    there as ``resources``); otherwise it is the repository's ``resources/`` next to the package.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)  # set by PyInstaller's bootloader only
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parents[3] / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("motifs", "JASPAR2026_CORE_vertebrates.meme")``.

    The path is returned whether or not it exists; callers that need the file report its absence themselves.
    """
    return resources_root().joinpath(*parts)
