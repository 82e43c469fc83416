"""Knowledge-base settings: the `[kb]` section of quantdesk.toml (or `QD_KB__*` in the environment).

    [kb]
    user_dir = "~/research-notes"        # Markdown, text, HTML and PDF files ingested with the docs
    results_dirs = ["runs"]              # folders searched for optimisation / walk-forward / Monte Carlo output
    # abstain_below = 0.198              # evidence threshold of "I don't know" (default: the calibrated value)
    [kb.llm]                             # optional: any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp...)
    url = "http://127.0.0.1:11434/v1"
    model = "llama3.1"
    # the key comes from the environment: QD_KB__LLM__API_KEY (never logged, never returned)

Everything works without an LLM: answers are then extractive (verbatim quotes with citations).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class LlmSettings(BaseModel):
    """An OpenAI-compatible chat-completions endpoint; `url` unset = no LLM (extractive answers only)."""

    url: str | None = None
    model: str = "llama3.1"
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    max_tokens: int = Field(default=600, ge=16)


class KbSettings(BaseModel):
    """Where the assistant reads the user's own material, and how it decides to abstain."""

    user_dir: Path | None = None
    results_dirs: list[Path] = Field(default_factory=lambda: [Path("runs")])
    abstain_below: float | None = Field(default=None, ge=0, le=1)
    llm: LlmSettings = LlmSettings()
