"""`RedisCache`: the latest price per instrument (one hash, newer timestamps only) and bot state snapshots.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

try:  # optional dependency (`pip install quantdesk[redis]`): the in-process default works without it
    import redis
except ImportError:  # pragma: no cover - exercised only where redis-py is absent
    redis = None  # type: ignore[assignment]

from quantdesk.core import serialization
from quantdesk.storage.redis_streams import (
    DEFAULT_PREFIX,
    _s,
    connect,
)

# ---- cache ---------------------------------------------------------------------------------------------
_SET_PRICE_IF_NEWER = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ts = tostring(cjson.decode(cur)['ts'])
  local new = ARGV[3]
  -- integer ns timestamps compared exactly as decimal strings (Lua numbers are doubles)
  if #ts > #new or (#ts == #new and ts > new) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisCache:
    """Latest price per instrument (one hash) and bot state snapshots (JSON strings, optional TTL)."""

    def __init__(self, url_or_client: str | redis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = connect(url_or_client, library_retries=3)
        self.prefix = prefix
        self._prices_key = f"{prefix}prices"
        self._set_price = self.client.register_script(_SET_PRICE_IF_NEWER)

    # -- prices --
    def set_price(self, instrument: Any, price: Decimal | float | str, ts_ns: int) -> bool:
        """Store `price` at `ts_ns` unless a newer price is already there (several writers are safe).
        Returns True when stored. Decimals stay exact (kept as strings); floats come back as floats."""
        value = {
            "price": str(price) if isinstance(price, (Decimal, str)) else float(price),
            "ts": str(int(ts_ns)),
        }
        payload = json.dumps(value, separators=(",", ":"))
        return bool(
            self._set_price(keys=[self._prices_key], args=[str(instrument), payload, str(int(ts_ns))])
        )

    def get_price(self, instrument: Any) -> tuple[Decimal | float, int] | None:
        raw = self.client.hget(self._prices_key, str(instrument))
        return None if raw is None else _price(raw)

    def prices(self) -> dict[str, tuple[Decimal | float, int]]:
        return {_s(k): _price(v) for k, v in self.client.hgetall(self._prices_key).items()}

    # -- bot state --
    def _state_key(self, bot_id: str) -> str:
        return f"{self.prefix}state:{bot_id}"

    def set_state(self, bot_id: str, state: Any, ttl_s: float | None = None) -> None:
        """Snapshot (any JSON-able value or registered dataclass, via the versioned serialisation)."""
        payload = serialization.encode(state)
        if ttl_s is not None:
            self.client.set(self._state_key(bot_id), payload, px=max(1, int(ttl_s * 1000)))
        else:
            self.client.set(self._state_key(bot_id), payload)

    def get_state(self, bot_id: str) -> Any:
        raw = self.client.get(self._state_key(bot_id))
        return None if raw is None else serialization.decode(raw)

    def delete_state(self, bot_id: str) -> bool:
        return bool(self.client.delete(self._state_key(bot_id)))

    def scan_states(self, pattern: str = "*") -> list[str]:
        """Bot ids with a stored state matching the glob `pattern`, sorted."""
        base = self._state_key("")
        return sorted(_s(k)[len(base) :] for k in self.client.scan_iter(f"{base}{pattern}", count=500))

    def close(self) -> None:
        self.client.close()


def _price(raw: Any) -> tuple[Decimal | float, int]:
    d = json.loads(raw)
    p = d["price"]
    return (Decimal(p) if isinstance(p, str) else float(p)), int(d["ts"])

