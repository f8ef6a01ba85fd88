"""``stenograph desktop --install``: a freedesktop.org menu entry and icon for the current user (Linux).

Writes ``$XDG_DATA_HOME/applications/stenograph.desktop`` (default ``~/.local/share``) and the SVG icon
under ``icons/hicolor/scalable/apps/``, per the Desktop Entry Specification.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def install_entry(data_home: Path | None = None) -> Path:
    """Write the entry and the icon; the entry's path. The entry runs this interpreter's ``stenograph``.

    Raises:
        OSError: the folders cannot be written.
    """
    home = data_home or _data_home()
    icon = home / "icons" / "hicolor" / "scalable" / "apps" / "stenograph.svg"
    icon.parent.mkdir(parents=True, exist_ok=True)
    icon.write_bytes((resources.files("stenograph.desktop") / "stenograph.svg").read_bytes())
    script = Path(sys.executable).with_name("stenograph")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "stenograph"]
    exec_line = " ".join(shlex.quote(part) for part in [*command, "desktop"])
    entry = home / "applications" / "stenograph.desktop"
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Stenograph\n"
        "Comment=Local-first transcription\n"
        f"Exec={exec_line}\n"
        f"Icon={icon}\n"
        "Terminal=false\n"
        "Categories=AudioVideo;Audio;Office;\n"
        "StartupWMClass=stenograph\n",
        encoding="utf-8",
    )
    updater = shutil.which("update-desktop-database")
    if updater:  # refreshes the menu's cache where the desktop keeps one
        subprocess.run([updater, str(entry.parent)], check=False, capture_output=True, timeout=30)
    return entry
