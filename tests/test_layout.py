"""Habits the code keeps: digitsum never imports textual, and the README's layout names every module."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_library_and_cli_never_import_textual():
    probe = (
        "import sys, digitsum.cli, digitsum.engine, digitsum.runlog, digitsum.alerts, digitsum.formatting; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_readme_layout_names_every_module_of_digitsum_and_no_other():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout") :]
    block = layout[layout.index("```") + 3 : layout.index("```", layout.index("```") + 3)]
    named = {name for line in block.splitlines() if line.startswith("  ") for name in re.findall(r"(\w+\.py)", line)}
    present = {p.name for p in (ROOT / "digitsum").glob("*.py")} - {"__init__.py", "__main__.py"}
    assert named == present, (sorted(present - named), sorted(named - present))
