"""Optional LLM scorer over any OpenAI-compatible chat-completions endpoint (a local llama.cpp/vLLM/Ollama
server or a hosted API). Never required: nothing else in QuantDesk calls it unless the user picks it.

Config: `base_url` (e.g. http://127.0.0.1:8080/v1), `model`, and the NAME of the environment variable that
holds the API key (`api_key_env`, default OPENAI_API_KEY; a local server may need none). The key is read at
call time, sent only in the Authorization header, and never logged or put in an error message.
The model is asked for `{"score": <number in [-1, 1]>}`; anything else (not JSON, no number, out of range,
HTTP error, timeout) raises `ScorerError`, or, with `fallback=True`, scores that text with the crypto lexicon
and counts it in `fallbacks`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from quantdesk.core.errors import QuantDeskError
from quantdesk.core.logging import get_logger

log = get_logger(__name__)

SYSTEM_PROMPT = (
    "You rate the sentiment of one crypto-market news headline or social post for holders of the assets it "
    "names. Answer with JSON only: {\"score\": S} where S is a number from -1 (very negative) to 1 (very "
    "positive) and 0 is neutral."
)
_JSON_OBJ = re.compile(r"\{.*\}", re.S)


class ScorerError(QuantDeskError):
    """A scorer could not score (endpoint down, malformed answer...). Never contains a secret."""


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(min_length=1, description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(default="OPENAI_API_KEY", description="env var holding the key (or none)")
    timeout_s: float = Field(default=20.0, gt=0, le=600)
    max_chars: int = Field(default=2000, ge=10, le=100_000)
    fallback: bool = False


class LLMScorer:
    name = "llm"

    def __init__(self, settings: LLMSettings | dict[str, Any], *, transport: Any = None) -> None:
        import httpx

        self.settings = s = settings if isinstance(settings, LLMSettings) else LLMSettings.model_validate(settings)
        self.url = s.base_url.rstrip("/") + "/chat/completions"
        self._client = httpx.Client(timeout=s.timeout_s, transport=transport)
        self.fallbacks = 0
        self._fallback_scorer: Any = None

    def close(self) -> None:
        self._client.close()

    def _headers(self) -> dict[str, str]:
        env = self.settings.api_key_env
        key = os.environ.get(env, "") if env else ""
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _where(self) -> str:
        return f"LLM endpoint {self.url} (model {self.settings.model})"

    def score(self, text: str) -> float:
        try:
            return self._ask(text)
        except ScorerError as exc:
            if not self.settings.fallback:
                raise
            log.warning("sentiment: %s; scored with the crypto lexicon instead", exc)
            self.fallbacks += 1
            if self._fallback_scorer is None:
                from quantdesk.intel.sentiment.crypto import CryptoLexiconScorer

                self._fallback_scorer = CryptoLexiconScorer()
            return self._fallback_scorer.score(text)

    def score_many(self, texts: Sequence[str]) -> list[float]:
        return [self.score(t) for t in texts]

    def _ask(self, text: str) -> float:
        import httpx

        body = {
            "model": self.settings.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": text[: self.settings.max_chars]},
            ],
        }
        try:
            resp = self._client.post(self.url, json=body, headers=self._headers())
        except httpx.TimeoutException:
            raise ScorerError(f"{self._where()}: no answer within {self.settings.timeout_s:g}s") from None
        except httpx.HTTPError as exc:
            raise ScorerError(f"{self._where()}: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise ScorerError(f"{self._where()}: HTTP {resp.status_code}")
        try:
            content = resp.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ScorerError(f"{self._where()}: the answer is not an OpenAI chat completion") from None
        return parse_score(content, self._where())


def parse_score(content: Any, where: str = "LLM") -> float:
    """The score in a model's answer: a JSON object with "score" (possibly inside prose or a code fence)."""
    if not isinstance(content, str):
        raise ScorerError(f"{where}: the message content is not text")
    m = _JSON_OBJ.search(content)
    if m is None:
        raise ScorerError(f"{where}: no JSON object in the answer")
    try:
        obj = json.loads(m.group(0))
        value = float(obj["score"])
    except (ValueError, KeyError, TypeError):
        raise ScorerError(f"{where}: the answer has no numeric \"score\"") from None
    if not math.isfinite(value) or not -1.0 <= value <= 1.0:
        raise ScorerError(f"{where}: score {value} is outside [-1, 1]")
    return value
