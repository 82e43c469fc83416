"""Where a strategy's error happened in the user's own code (for the error the engine logs and records)."""

from __future__ import annotations

import traceback
from pathlib import Path


def user_frame(exc: BaseException) -> str:
    """`file.py, line N` of the innermost frame of the strategy's own code (outside the quantdesk package)."""
    package = str(Path(__file__).resolve().parents[1])  # src/quantdesk
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not str(Path(f.filename).resolve()).startswith(package)]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else ""


__all__ = ["user_frame"]
