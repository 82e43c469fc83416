"""Every shell and Python example of docs/powertrader.md runs (from the repository root, in a fresh QD_HOME)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "powertrader.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_doc_examples_run(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "quantdesk"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m quantdesk "$@"\n')
    wrapper.chmod(0o755)
    home = tmp_path / "home"
    env = {**os.environ, "QD_HOME": str(home), "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "PYTHONPATH": f"{ROOT / 'src'}:{os.environ.get('PYTHONPATH', '')}"}
    shell = _blocks("bash")
    assert shell and _blocks("python")
    for block in shell:
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            proc = subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=600)
            assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    for block in _blocks("python"):
        proc = subprocess.run([sys.executable, "-c", block], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{block}\n{proc.stderr[-3000:]}"
        assert "long" in proc.stdout
