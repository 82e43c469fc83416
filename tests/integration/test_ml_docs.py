"""docs/ml.md: every Python block runs (in order, one namespace) and every shell command runs and exits 0, in a
temporary folder with its own QD_HOME."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "ml.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from quantdesk.core.config import set_settings
    from quantdesk.ml import registry

    home = tmp_path / "home"
    monkeypatch.setenv("QD_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    set_settings(None)
    registry.clear_cache()
    ns: dict = {}
    try:
        for code in _blocks("python"):
            exec(compile(code, str(DOC), "exec"), ns)  # noqa: S102 - the documentation's own examples
        out = capsys.readouterr().out
        assert "refused: peek" in out
        mid = ns["result"].model_id
        assert out.splitlines()[0].startswith(mid)
        commands = [" ".join(c.replace("\\\n", " ").split()) for block in _blocks("bash")
                    for c in block.replace("\\\n", " ").splitlines() if c.strip()]
        assert len(commands) == 5
        env = {**os.environ, "QD_HOME": str(home)}
        if env.get("PYTHONPATH"):  # the commands run in another folder: keep the path entries absolute
            env["PYTHONPATH"] = os.pathsep.join(str(p if Path(p).is_absolute() else DOC.parents[1] / p)
                                                 for p in env["PYTHONPATH"].split(os.pathsep))
        for cmd in commands:
            args = shlex.split(cmd)
            assert args[0] == "quantdesk"
            proc = subprocess.run([sys.executable, "-m", "quantdesk", *args[1:]], capture_output=True, text=True,
                                  env=env, cwd=tmp_path, timeout=600)
            assert proc.returncode == 0, (cmd, proc.stderr)
        assert (tmp_path / "runs" / "m1" / "report.html").is_file()
    finally:
        set_settings(None)
        registry.clear_cache()
