"""Sentiment configuration: sources, scoring and the optional LLM, from a TOML file.

The file is `QD_HOME/sentiment.toml` unless `--config` (CLI) or `QD_SENTIMENT_CONFIG` names another (the
project settings have no `[sentiment]` section and forbid unknown ones, so sentiment keeps its own file)::

    scorer = "crypto"            # crypto | vader | wordlist | llm
    threshold = 0.15             # |score| below this is neutral
    quote = "USDT"               # entities become BASE/USDT

    [[sources]]
    name = "coindesk"
    type = "rss"
    url = "https://example.com/rss"
    interval_s = 300

    [[sources]]
    name = "my_api"
    type = "http_json"
    url = "https://example.com/api/news?limit=50"
    items = "$.data[*]"
    headers = { "X-Api-Key" = "${MY_NEWS_KEY}" }    # read from the environment at fetch time
    fields = { title = "headline", published = "published_on", url = "link", time_format = "epoch_s" }

    [[sources]]
    name = "fng"
    type = "fear_greed"
    url = "https://api.alternative.me/fng/?limit=30"

    [llm]                        # only for scorer = "llm"
    base_url = "http://127.0.0.1:8080/v1"
    model = "qwen2.5-7b-instruct"
    api_key_env = "OPENAI_API_KEY"

The built-in source `sample` (the bundled, fictional headlines dated January 2022) is always available.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from quantdesk.core.errors import ConfigError
from quantdesk.intel.sentiment.llm import LLMSettings
from quantdesk.intel.sentiment.sources import FileSource, SourceSettings
from quantdesk.intel.sentiment.types import DEFAULT_THRESHOLD

CONFIG_ENV = "QD_SENTIMENT_CONFIG"
CONFIG_NAME = "sentiment.toml"


class WordListSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    format: Literal["lm", "valence"] = "lm"
    weight: float = Field(default=1.5, gt=0, le=4)


class SentimentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scorer: Literal["crypto", "vader", "wordlist", "llm"] = "crypto"
    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=0, lt=1)
    quote: str = Field(default="USDT", pattern=r"^[A-Za-z0-9]{2,10}$")
    sources: list[SourceSettings] = Field(default_factory=list)
    llm: LLMSettings | None = None
    wordlist: WordListSettings | None = None

    @model_validator(mode="after")
    def _check(self) -> SentimentSettings:
        names = [s.name for s in self.sources]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate source name(s): {', '.join(dup)}")
        if "sample" in names:
            raise ValueError("the source name 'sample' is reserved for the bundled headlines")
        if self.scorer == "llm" and self.llm is None:
            raise ValueError("scorer 'llm' needs an [llm] section (base_url, model)")
        if self.scorer == "wordlist" and self.wordlist is None:
            raise ValueError("scorer 'wordlist' needs a [wordlist] section (path)")
        return self

    def make_scorer(self) -> Any:
        from quantdesk.intel.sentiment.analyzer import get_scorer

        if self.scorer == "llm":
            return get_scorer("llm", settings=self.llm)
        if self.scorer == "wordlist":
            assert self.wordlist is not None
            return get_scorer("wordlist", path=self.wordlist.path, fmt=self.wordlist.format,
                              weight=self.wordlist.weight)
        return get_scorer(self.scorer)


def sample_source() -> FileSource:
    path = resources.files("quantdesk.intel.sentiment").joinpath("data").joinpath("sample_headlines.jsonl")
    return FileSource(name="sample", path=str(path), format="jsonl", interval_s=86400.0)


def config_path(explicit: str | os.PathLike[str] | None = None, home: Path | None = None) -> Path | None:
    if explicit is not None:
        p = Path(explicit)
        if not p.is_file():
            raise ConfigError(f"sentiment config file not found: {p}")
        return p
    env = os.environ.get(CONFIG_ENV)
    if env:
        return config_path(env)
    if home is None:
        from quantdesk.core.config import get_settings

        home = get_settings().home
    p = Path(home) / CONFIG_NAME
    return p if p.is_file() else None


def load_sentiment_settings(path: str | os.PathLike[str] | None = None, *, home: Path | None = None,
                            data: dict[str, Any] | None = None) -> SentimentSettings:
    """From `data`, or the TOML file (see module doc); defaults when there is none. ConfigError names the key."""
    where = "sentiment"
    if data is None:
        p = config_path(path, home)
        if p is None:
            return SentimentSettings()
        where = str(p)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    try:
        return SentimentSettings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        n = exc.error_count()
        raise ConfigError(f"invalid setting {loc or 'sentiment'} ({where}): {first['msg']} "
                          f"({n} problem{'s' if n > 1 else ''} in all)") from None
