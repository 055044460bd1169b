"""The benchmarks are not run by the test suite, but they must keep importing what the product has."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOADER = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('bench_module', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
)


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py")))
def test_bench_script_imports(script: str) -> None:
    # a module name other than __main__: the script's imports and definitions run, the benchmark does not
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(ROOT / "bench" / script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
