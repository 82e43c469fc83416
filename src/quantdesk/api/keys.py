"""API keys: `qd_<id>_<secret>`, stored HASHED (salted SHA-256) in QD_HOME/api_keys.json.

The plaintext key is returned once by `create_key` and never stored, logged or returned again. Verification
looks the record up by its public id and compares the hash in constant time. The secret is 256 random bits, so a
fast hash is as strong as a slow one here (slow key derivation protects guessable passwords, not random keys)
and a wrong secret costs microseconds, not the 70 ms of CPU an attacker could make the server burn per try.
Records of the older PBKDF2 format still verify, and are rewritten in the fast format at their first success.
Successful verifications are cached in memory under a SHA-256 digest of the presented key (never the key).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

ITERATIONS = 120_000  # of the older PBKDF2 records
KEYS_FILE = "api_keys.json"
ALGORITHM = "sha256"


def keys_path(home: Path) -> Path:
    return Path(home) / KEYS_FILE


def _derive(secret: str, salt: bytes, iterations: int) -> str:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations).hex()


def _fast(secret: str, salt: bytes) -> str:
    return hashlib.sha256(salt + secret.encode()).hexdigest()


def _matches(record: dict[str, Any], secret: str) -> bool:
    salt = bytes.fromhex(record["salt"])
    if record.get("algorithm") == ALGORITHM:
        return hmac.compare_digest(_fast(secret, salt), record["hash"])
    return hmac.compare_digest(_derive(secret, salt, int(record["iterations"])), record["hash"])


class KeyStore:
    def __init__(self, home: Path) -> None:
        self.path = keys_path(home)
        self._lock = threading.Lock()
        self._cache: dict[str, dict[str, Any]] = {}
        self._mtime = -1

    def _load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return list(json.loads(self.path.read_text()).get("keys", []))

    def _save(self, keys: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"version": 1, "keys": keys}, fh, indent=1)
        os.replace(tmp, self.path)

    def create_key(self, name: str = "default", *, read_only: bool = False) -> tuple[str, dict[str, Any]]:
        """A new key: returns (plaintext key - show it once, public record without any secret)."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        record = {"id": key_id, "name": name, "read_only": bool(read_only), "created_at": int(time.time()),
                  "algorithm": ALGORITHM, "salt": salt.hex(), "hash": _fast(secret, salt)}
        with self._lock:
            keys = self._load()
            keys.append(record)
            self._save(keys)
        return f"qd_{key_id}_{secret}", public(record)

    def revoke(self, *, key_id: str | None = None, name: str | None = None) -> int:
        """Delete the keys with this id or name; returns how many. Their cached verifications go too."""
        if key_id is None and name is None:
            raise ValueError("revoke needs key_id or name")
        with self._lock:
            keys = self._load()
            keep = [r for r in keys if not (r["id"] == key_id or r["name"] == name)]
            if len(keep) != len(keys):
                self._save(keep)
                gone = {r["id"] for r in keys} - {r["id"] for r in keep}
                self._cache = {d: rec for d, rec in self._cache.items() if rec["id"] not in gone}
            return len(keys) - len(keep)

    def list_keys(self) -> list[dict[str, Any]]:
        return [public(r) for r in self._load()]

    def cached(self, presented: str) -> dict[str, Any] | None:
        """The record of a key verified before (and not revoked since), at no cost; else None."""
        if not presented or len(presented) > 200:
            return None
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = 0
        if mtime != self._mtime:  # keys created or revoked (maybe by another process): verify afresh
            with self._lock:
                self._cache.clear()
                self._mtime = mtime
        return self._cache.get(hashlib.sha256(presented.encode()).hexdigest())

    def verify(self, presented: str) -> dict[str, Any] | None:
        """The public record of a valid key, else None."""
        hit = self.cached(presented)
        if hit is not None:
            return hit
        if not presented or len(presented) > 200:
            return None
        digest = hashlib.sha256(presented.encode()).hexdigest()
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != "qd":
            return None
        _, key_id, secret = parts
        if len(secret) < 16:
            return None
        for rec in self._load():
            if rec["id"] == key_id:
                if not _matches(rec, secret):
                    return None
                if rec.get("algorithm") != ALGORITHM:
                    self._upgrade(key_id, secret)
                pub = public(rec)
                with self._lock:
                    self._cache[digest] = pub
                return pub
        return None

    def _upgrade(self, key_id: str, secret: str) -> None:
        """Rewrite an older PBKDF2 record in the fast format (after a successful verification)."""
        with self._lock:
            keys = self._load()
            for rec in keys:
                if rec["id"] == key_id and rec.get("algorithm") != ALGORITHM:
                    salt = secrets.token_bytes(16)
                    rec.pop("iterations", None)
                    rec.update(algorithm=ALGORITHM, salt=salt.hex(), hash=_fast(secret, salt))
            self._save(keys)


def public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("id", "name", "read_only", "created_at")}


class TokenBucket:
    """Per-key token buckets: `rate` tokens a second, `burst` capacity."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 when allowed; else the seconds until a token is available."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._state[key] = (tokens - 1.0, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0
