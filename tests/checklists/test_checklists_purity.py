"""checklists/ stays pure: importing it pulls in no web framework, messenger, database or store code."""

from __future__ import annotations

import subprocess
import sys


def test_checklists_imports_nothing_impure() -> None:
    code = (
        "import sys, checklists, checklists.xlsform\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'telegram', 'sqlmodel', 'sqlalchemy', 'models', 'services', 'api', 'bot')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
