"""docs/security.md: every shell and Python example runs against a real server (`quantdesk serve` in a subprocess)
and prints what the page says it prints (the HTTP statuses in its `# 401` comments, the WebSocket answers)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

DOC = Path(__file__).parents[2] / "docs" / "security.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("docs") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QD_") or k == "QD_DATABASE__URL"}
    env["QD_HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    exe = [sys.executable, "-m", "quantdesk"]
    rw = subprocess.run(exe + ["api-key", "create", "--name", "docs"], env=env, capture_output=True, text=True,
                        timeout=60, check=True).stdout.strip()
    ro = subprocess.run(exe + ["api-key", "create", "--name", "docs-ro", "--read-only"], env=env,
                        capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(exe + ["serve", "--port", str(port), "--no-access-log"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/health", timeout=2)
            break
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    yield {**env, "QUANTDESK_URL": url, "QUANTDESK_KEY": rw, "QUANTDESK_RO": ro}
    proc.terminate()
    proc.wait(timeout=30)


def test_the_page_has_examples() -> None:
    assert len(_blocks("bash")) >= 4 and len(_blocks("python")) >= 2


@pytest.mark.parametrize("index", range(len(_blocks("bash"))))
def test_shell_examples(server, index) -> None:
    block = _blocks("bash")[index]
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env=server, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, (block, r.stdout, r.stderr)
    expected = re.findall(r"#\s*(\d{3})\s*$", block, flags=re.M)
    got = [ln.strip() for ln in r.stdout.splitlines() if re.fullmatch(r"\d{3}", ln.strip())]
    assert got == expected, (block, r.stdout)
    if "x-total-count" in block:
        assert re.search(r"(?i)x-total-count: \d+", r.stdout), r.stdout
    if "api-key create" in block:
        assert r.stdout.startswith("qd_")


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_python_examples(server, index) -> None:
    block = _blocks("python")[index]
    r = subprocess.run([sys.executable, "-c", block], env=server, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (block, r.stderr)
    for comment in re.findall(r"#\s*(\{'op': '\w+'|\w+)", block):
        word = comment if not comment.startswith("{") else comment.split("'")[3]
        assert word in r.stdout, (word, r.stdout)


def test_toml_example_is_a_valid_config(tmp_path) -> None:
    from quantdesk.core.config import load_settings

    (toml,) = _blocks("toml")
    path = tmp_path / "q.toml"
    path.write_text(toml)
    assert "quantdesk.internal" in load_settings(path).api.allowed_hosts
