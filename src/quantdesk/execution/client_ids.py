"""Deterministic client order ids: the same (bot, bar, seq) always gives the same id, fitted to a venue's rules.

Why deterministic: after a crash the node recomputes the id of the order it was about to send and asks the
venue for it, instead of sending a second order under a new id. Why fitted: each venue has its own length and
alphabet (Binance 36 of `A-Za-z0-9._:/-`, OKX 32 alphanumerics, Kraken 18 characters...), and an id it refuses is
an order that never exists.

Forms (tried in order, the first that fits wins):
- readable   `qd-<bot>-<bar base36>-<seq base36>` (separator `-` or `_`, whichever the venue allows);
- hashed     `qd-<bot tag>-<digest>`: the (bot, bar, seq) triple hashed (SHA-256, base36) into the room left;
- compact    for venues without separators: `qd<bot tag 6><digest>` (fixed-width tag, so parsing is exact);
- uuid       for venues that take only UUIDs: a UUIDv5 of the triple (deterministic too).
The bot tag is the bot name when it fits the alphabet and 16 characters, else a 6-character hash of it, so an id
can always be attributed to its bot (`owns`). `ClientIdScheme.make` checks every id it hands out against all
earlier ones (and against ids loaded with `remember`): a collision raises instead of reusing an id.
"""

from __future__ import annotations

import hashlib
import re
import string
import uuid
from dataclasses import dataclass, field

from quantdesk.core.errors import ConfigError, ParameterError

ALNUM = string.ascii_letters + string.digits
_B36 = string.digits + string.ascii_lowercase
_NAMESPACE = uuid.UUID("6f1c9b8e-5b7a-4c8e-9a51-0d6c2a1f3e77")  # QuantDesk's UUIDv5 namespace
MIN_DIGEST = 10  # 36^10 ~ 3.7e15 ids: collisions are checked anyway


@dataclass(frozen=True)
class ClientIdRules:
    """A venue's rules for client order ids (data in `adapters.ccxt.capabilities`)."""

    max_length: int
    alphabet: str = ALNUM + "-_"
    format: str = "free"  # "free" or "uuid"
    case_sensitive: bool = True

    def __post_init__(self) -> None:
        if self.format not in ("free", "uuid"):
            raise ConfigError(f"client id format {self.format!r}: use free or uuid")
        if self.format == "free" and self.max_length < 8:
            raise ConfigError(f"client id max_length {self.max_length} is too short for unique ids (>= 8)")

    def check(self, client_id: str, where: str = "client order id") -> str:
        """`client_id` if the venue accepts it, else a ParameterError saying which rule it breaks."""
        if not client_id:
            raise ParameterError(f"{where} is empty")
        if self.format == "uuid":
            try:
                uuid.UUID(client_id)
            except ValueError:
                raise ParameterError(f"{where} {client_id!r} must be a UUID on this venue") from None
            return client_id
        if len(client_id) > self.max_length:
            raise ParameterError(f"{where} {client_id!r} has {len(client_id)} characters; "
                                 f"the venue allows at most {self.max_length}")
        bad = sorted({c for c in client_id if c not in self.alphabet})
        if bad:
            raise ParameterError(f"{where} {client_id!r} has characters the venue refuses: {''.join(bad)!r} "
                                 f"(allowed: {_describe(self.alphabet)})")
        return client_id


def _describe(alphabet: str) -> str:
    rest = "".join(c for c in alphabet if c not in ALNUM)
    base = "letters and digits" if all(c in alphabet for c in ALNUM) else repr(alphabet)
    return base + (f" and {rest!r}" if rest else "")


def base36(n: int) -> str:
    if n < 0:
        raise ParameterError(f"client id parts must be >= 0, got {n}")
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if n == 0:
            return out


def _digest(text: str, length: int, alphabet: str) -> str:
    """`length` characters of SHA-256(text) written in `alphabet` (lower-case base36 when it is available)."""
    letters = _B36 if all(c in alphabet for c in _B36) else "".join(sorted(set(alphabet) & set(ALNUM)))
    value = int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
    out = []
    for _ in range(length):
        value, r = divmod(value, len(letters))
        out.append(letters[r])
    return "".join(out)


@dataclass
class ClientIdScheme:
    """Client order ids of one bot on one venue. `make(bar, seq)`; `owns(id)` tells whether an id is this bot's."""

    bot: str
    rules: ClientIdRules
    prefix: str = "qd"
    _issued: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.bot:
            raise ParameterError("client ids need a bot name")
        if not self.prefix or any(c not in ALNUM for c in self.prefix) or len(self.prefix) > 4:
            raise ParameterError(f"client id prefix {self.prefix!r}: use 1-4 letters or digits")
        # separator: one the venue allows and the bot's name does not contain, so ids split unambiguously
        alphabet = self.rules.alphabet
        sep = next((c for c in "-_" if c in alphabet and c not in self.bot), None)
        hashed_tag = _digest("bot:" + self.bot, 6, alphabet)
        named = sep is not None and len(self.bot) <= 16 and all(c in alphabet for c in self.bot)
        self.tag = self.bot if named else hashed_tag
        if self.rules.format == "free" and sep is not None and (
                len(self.prefix) + len(self.tag) + 2 + MIN_DIGEST > self.rules.max_length):
            self.tag = hashed_tag
            if len(self.prefix) + len(self.tag) + 2 + MIN_DIGEST > self.rules.max_length:
                sep = None  # compact: no room for separators
        if sep is None:
            self.tag = hashed_tag  # fixed width: the digest starts at a known offset
        self.sep = sep
        self._head = f"{self.prefix}{sep}{self.tag}{sep}" if sep else f"{self.prefix}{self.tag}"

    # ---- making ids ---------------------------------------------------------------------------------------
    def candidate(self, bar: int, seq: int) -> str:
        """The id of (bar, seq) without the collision check (pure function of bot, bar, seq and the rules)."""
        bar, seq = int(bar), int(seq)
        if bar < 0 or seq < 0:
            raise ParameterError(f"client id parts must be >= 0, got bar {bar} seq {seq}")
        triple = f"{self.bot}|{bar}|{seq}"
        if self.rules.format == "uuid":
            return str(uuid.uuid5(_NAMESPACE, triple))
        sep = self.sep
        if sep:
            readable = f"{self._head}{base36(bar)}{sep}{base36(seq)}"
            if len(readable) <= self.rules.max_length:
                return readable
        room = self.rules.max_length - len(self._head)
        return self._head + _digest(triple, room, self.rules.alphabet)

    def make(self, bar: int, seq: int) -> str:
        """The id of the `seq`-th order the bot sends on the bar opening at `bar` (any non-negative int: a
        timestamp or a bar index). Raises if a different (bar, seq) already produced the same id."""
        cid = self.rules.check(self.candidate(bar, seq))
        earlier = self._issued.get(cid)
        if earlier is not None and earlier != (int(bar), int(seq)):
            raise ParameterError(f"client id collision: {cid!r} for bar {bar} seq {seq} and for bar "
                                 f"{earlier[0]} seq {earlier[1]} of bot {self.bot!r}")
        self._issued[cid] = (int(bar), int(seq))
        return cid

    def remember(self, client_id: str, bar: int, seq: int) -> None:
        """Load an id issued before a restart (from persisted intents) into the collision check."""
        earlier = self._issued.get(client_id)
        if earlier is not None and earlier != (int(bar), int(seq)):
            raise ParameterError(f"client id collision: {client_id!r} is already bar {earlier[0]} seq {earlier[1]}")
        self._issued[client_id] = (int(bar), int(seq))

    # ---- reading ids --------------------------------------------------------------------------------------
    def owns(self, client_id: str | None) -> bool:
        """True if `client_id` was made by this scheme (same bot, same venue rules)."""
        if not client_id:
            return False
        if self.rules.format == "uuid":
            return client_id in self._issued
        if not client_id.startswith(self._head):
            return False
        rest = client_id[len(self._head):]
        sep = self.sep
        if sep:
            parts = rest.split(sep)
            return (len(parts) == 2 and all(re.fullmatch("[0-9a-z]+", p) for p in parts)) or (
                len(parts) == 1 and len(client_id) == self.rules.max_length)
        return len(client_id) == self.rules.max_length

    def parse(self, client_id: str) -> tuple[int, int] | None:
        """(bar, seq) of a readable id of this bot (or one issued in this process), else None."""
        if client_id in self._issued:
            return self._issued[client_id]
        sep = self.sep
        if not sep or not self.owns(client_id):
            return None
        parts = client_id[len(self._head):].split(sep)
        return (int(parts[0], 36), int(parts[1], 36)) if len(parts) == 2 else None
