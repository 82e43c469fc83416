"""Versioned JSON encoding of the model's messages (events, commands, Bar/ticks, orders), exact round trip.

Wire format (UTF-8 JSON, readable from any language)::

    {"v": 1, "type": "OrderFilled", "data": {"ts_event": 1700000000000000000, "instrument": "BTC/USDT@binance",
     "side": "buy", "price": "42000.50", ...}}

- `Decimal` -> string (`"42000.50"`, exact, trailing zeros kept), enums -> their value, `InstrumentId` ->
  `"SYMBOL@venue"`, `Timeframe` -> integer nanoseconds, timestamps stay integers (ns), floats are JSON
  numbers (Python's repr round trip is exact; NaN/Infinity use the JSON5 spellings Python accepts), tuples ->
  arrays, nested dataclasses (an `Order` inside `SubmitOrder`) -> nested objects.
- Decoding is driven by the dataclass field types, so the payload carries no per-field type tags. Values typed
  `Any` (e.g. `RiskDenied.details`) keep Decimals/dataclasses through small tags (`{"$decimal": "1.5"}`,
  `{"$type": "Bar", ...}`).
- Types are looked up by name in a registry (`register`); every dataclass of quantdesk.model.* and
  quantdesk.risk.events is registered on import. An unknown type name or an unsupported version raises
  `SerializationError` with a clear message.
- Plain JSON payloads (a dict alert, a list) are carried with type `"json"`.

JSON rather than msgpack: any process (dashboard, notebook, another language) can read a stream with no schema.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
import types
import typing
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from quantdesk.core.errors import QuantDeskError

FORMAT_VERSION = 1
JSON_TYPE = "json"  # plain JSON payloads (dicts, lists, strings, numbers)


class SerializationError(QuantDeskError, ValueError):
    """A message cannot be encoded or decoded (unknown type, bad version, malformed payload)."""


_REGISTRY: dict[str, type] = {}
_PLANS: dict[type, list[tuple[str, Any]]] = {}
_AUTO_MODULES = (
    "quantdesk.model.identifiers",
    "quantdesk.model.timeframe",
    "quantdesk.model.data",
    "quantdesk.model.orders",
    "quantdesk.model.instrument",
    "quantdesk.model.events",
    "quantdesk.model.commands",
    "quantdesk.risk.events",
)
_loaded = False


def register(cls: type, name: str | None = None) -> type:
    """Register a dataclass under `name` (default: its class name). Usable as a decorator."""
    if not dataclasses.is_dataclass(cls):
        raise SerializationError(f"{cls!r} is not a dataclass; only dataclasses can be registered")
    key = name or cls.__name__
    other = _REGISTRY.get(key)
    if other is not None and other is not cls:
        raise SerializationError(
            f"type name {key!r} is already registered for {other.__module__}.{other.__qualname__}"
        )
    _REGISTRY[key] = cls
    _NAMES[cls] = key
    return cls


_NAMES: dict[type, str] = {}


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod_name in _AUTO_MODULES:
        mod = importlib.import_module(mod_name)
        for obj in vars(mod).values():
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == mod_name:
                if obj.__name__ not in _REGISTRY:
                    register(obj)


def registered_types() -> dict[str, type]:
    """Name -> class of every registered message type."""
    _ensure_loaded()
    return dict(_REGISTRY)


def type_name(obj_or_cls: Any) -> str:
    _ensure_loaded()
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    try:
        return _NAMES[cls]
    except KeyError:
        raise SerializationError(
            f"type {cls.__module__}.{cls.__qualname__} is not registered for serialization "
            "(quantdesk.core.serialization.register)"
        ) from None


def _plan(cls: type) -> list[tuple[str, Any]]:
    plan = _PLANS.get(cls)
    if plan is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception as exc:  # pragma: no cover - a broken annotation is a programming error
            raise SerializationError(f"cannot resolve the field types of {cls.__qualname__}: {exc}") from exc
        plan = [(f.name, hints.get(f.name, Any)) for f in dataclasses.fields(cls) if f.init]
        _PLANS[cls] = plan
    return plan


def _is_union(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    return origin is typing.Union or origin is types.UnionType


# ---- encoding (compiled per field type: the hot path of the Redis bridge) -------------------------------
_ENCODERS: dict[Any, Callable[[Any], Any]] = {}


def _identity(v: Any) -> Any:
    return v


def _encoder(hint: Any) -> Callable[[Any], Any]:
    fn = _ENCODERS.get(hint)
    if fn is None:
        fn = _ENCODERS[hint] = _build_encoder(hint)
    return fn


def _build_encoder(hint: Any) -> Callable[[Any], Any]:
    if hint is Any:
        return _enc_tagged
    if _is_union(hint):
        args: Sequence[Any] = [a for a in typing.get_args(hint) if a is not type(None)]
        inner = _encoder(args[0]) if len(args) == 1 else _enc_untagged
        return lambda v: None if v is None else inner(v)
    origin = typing.get_origin(hint)
    if origin is tuple or origin is list:
        args = typing.get_args(hint)
        item = (
            _encoder(args[0])
            if args and (origin is list or (len(args) == 2 and args[1] is Ellipsis))
            else _enc_untagged
        )
        return lambda v: [item(x) for x in v]
    if origin is dict or hint is dict:
        args = typing.get_args(hint)
        val = _encoder(args[1]) if len(args) == 2 else _enc_tagged
        return lambda v: {str(k): val(x) for k, x in v.items()}
    if hint is Decimal:
        return str
    if hint in (int, str, bool, float):
        return _identity
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            return lambda v: v.value
        name = _NAMES.get(hint)
        if name == "InstrumentId":
            return str
        if name == "Timeframe":
            return lambda v: v.nanos
        if name is not None:
            return _enc_untagged
    return _enc_untagged


def _dataclass_encoder(cls: type) -> Callable[[Any], dict[str, Any]]:
    fn = _DC_ENCODERS.get(cls)
    if fn is None:
        plan = [(name, _encoder(hint)) for name, hint in _plan(cls)]

        def fn(value: Any) -> dict[str, Any]:
            return {name: enc(getattr(value, name)) for name, enc in plan}

        _DC_ENCODERS[cls] = fn
    return fn


_DC_ENCODERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _enc_untagged(value: Any) -> Any:
    """By runtime type, for values whose declared type is concrete (the decoder knows the type)."""
    return _enc(value, False)


def _enc_tagged(value: Any) -> Any:
    """By runtime type, for values declared `Any`: Decimals and dataclasses carry a tag."""
    return _enc(value, True)


def _enc(value: Any, tagged: bool) -> Any:
    if value is None or (isinstance(value, (bool, int, float, str)) and not isinstance(value, enum.Enum)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return {"$decimal": str(value)} if tagged else str(value)
    cls = type(value)
    name = _NAMES.get(cls)
    if name is not None:
        if name == "InstrumentId":
            return {"$type": name, "id": str(value)} if tagged else str(value)
        if name == "Timeframe":
            return {"$type": name, "nanos": value.nanos} if tagged else value.nanos
        body = _dataclass_encoder(cls)(value)
        return {"$type": name, **body} if tagged else body
    if cls.__name__ == "BarView" and hasattr(value, "freeze"):
        return _enc(value.freeze(), tagged)
    if isinstance(value, dict):
        return {str(k): _enc(v, True) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_enc(v, tagged) for v in value]
    if dataclasses.is_dataclass(value):
        raise SerializationError(
            f"type {cls.__module__}.{cls.__qualname__} is not registered for serialization "
            "(quantdesk.core.serialization.register)"
        )
    raise SerializationError(f"cannot serialise a value of type {cls.__qualname__}: {value!r}")


def to_envelope(message: Any) -> dict[str, Any]:
    """The versioned JSON-able envelope of a message: {"v", "type", "data"}."""
    _ensure_loaded()
    cls = type(message)
    if cls.__name__ == "BarView" and hasattr(message, "freeze"):
        message = message.freeze()
        cls = type(message)
    name = _NAMES.get(cls)
    if name is None:
        if dataclasses.is_dataclass(message):
            raise SerializationError(
                f"type {cls.__module__}.{cls.__qualname__} is not registered for serialization "
                "(quantdesk.core.serialization.register)"
            )
        return {"v": FORMAT_VERSION, "type": JSON_TYPE, "data": _enc(message, True)}
    if name in ("InstrumentId", "Timeframe"):
        return {"v": FORMAT_VERSION, "type": name, "data": _encoder(cls)(message)}
    return {"v": FORMAT_VERSION, "type": name, "data": _dataclass_encoder(cls)(message)}


def encode(message: Any) -> bytes:
    """Message -> UTF-8 JSON bytes."""
    return json.dumps(to_envelope(message), separators=(",", ":")).encode()


# ---- decoding (compiled per field type) -----------------------------------------------------------------
_DECODERS: dict[Any, Callable[[Any], Any]] = {}


def _decoder(hint: Any) -> Callable[[Any], Any]:
    fn = _DECODERS.get(hint)
    if fn is None:
        fn = _DECODERS[hint] = _build_decoder(hint)
    return fn


def _need(kind: type, label: str) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            raise TypeError(f"{label} expected, got {v!r}")
        return v

    return check


def _dec_decimal(v: Any) -> Decimal:
    if not isinstance(v, str):
        raise TypeError(f"Decimal expects a string, got {v!r}")
    return Decimal(v)


def _build_decoder(hint: Any) -> Callable[[Any], Any]:
    if hint is Any:
        return _dec_tagged
    if _is_union(hint):
        args: Sequence[Any] = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            inner = _decoder(args[0])
            return lambda v: None if v is None else inner(v)
        options = [_decoder(a) for a in args]

        def first(v: Any) -> Any:
            if v is None:
                return None
            for dec in options:
                try:
                    return dec(v)
                except (TypeError, ValueError, KeyError, ArithmeticError):
                    continue
            raise SerializationError(f"value {v!r} matches none of {hint}")

        return first
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return lambda v: tuple(item(x) for x in v)
        decs = [_decoder(a) for a in args]
        return lambda v: tuple(d(x) for d, x in zip(decs, v, strict=True))
    if origin is list:
        args = typing.get_args(hint)
        item = _decoder(args[0]) if args else _dec_tagged
        return lambda v: [item(x) for x in v]
    if origin is dict or hint is dict:
        args = typing.get_args(hint)
        val = _decoder(args[1]) if len(args) == 2 else _dec_tagged
        return lambda v: {k: val(x) for k, x in v.items()}
    if hint is Decimal:
        return _dec_decimal
    if hint is float:
        return float
    if hint is int:
        return _need(int, "int")
    if hint is str:
        return _need(str, "str")
    if hint is bool:
        return bool
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            return hint
        name = _NAMES.get(hint)
        make: Any = hint  # the value class itself (its constructor's arguments are not known here)
        if name == "InstrumentId":

            def iid(v: Any) -> Any:
                symbol, venue = v.rsplit("@", 1)
                return make(symbol, venue)

            return iid
        if name == "Timeframe":
            return lambda v: make(int(v))
        if dataclasses.is_dataclass(hint):
            return lambda v: _dataclass_decoder(hint)(v)
    return _identity


_DC_DECODERS: dict[type, Callable[[Any], Any]] = {}


def _dataclass_decoder(cls: type) -> Callable[[Any], Any]:
    fn = _DC_DECODERS.get(cls)
    if fn is None:
        plan = {name: _decoder(hint) for name, hint in _plan(cls)}

        def fn(data: Any) -> Any:
            if not isinstance(data, dict):
                raise SerializationError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
            if "$type" in data:  # tagged (came through an Any-typed value)
                data = {k: v for k, v in data.items() if k != "$type"}
            try:
                kwargs = {name: plan[name](value) for name, value in data.items()}
            except KeyError:
                unknown = sorted(set(data) - set(plan))
                if not unknown:
                    raise
                raise SerializationError(f"{cls.__name__}: unknown field(s) {unknown}") from None
            return cls(**kwargs)

        _DC_DECODERS[cls] = fn
    return fn


def _dec_tagged(value: Any) -> Any:
    if isinstance(value, dict):
        if "$decimal" in value and len(value) == 1:
            return Decimal(value["$decimal"])
        if "$type" in value:
            name = value["$type"]
            cls = _lookup(name)
            if name == "InstrumentId":
                return _decoder(cls)(value["id"])
            if name == "Timeframe":
                return cls(int(value["nanos"]))
            return _dataclass_decoder(cls)(value)
        return {k: _dec_tagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dec_tagged(v) for v in value]
    return value


def _lookup(name: str) -> type:
    _ensure_loaded()
    cls = _REGISTRY.get(name)
    if cls is None:
        raise SerializationError(
            f"unknown message type {name!r}: it is not registered here (registered: {len(_REGISTRY)} types; "
            "register it with quantdesk.core.serialization.register)"
        )
    return cls


def from_envelope(envelope: dict[str, Any]) -> Any:
    if not isinstance(envelope, dict) or "type" not in envelope or "data" not in envelope:
        raise SerializationError(f"not a QuantDesk message envelope: {str(envelope)[:120]}")
    version = envelope.get("v")
    if version != FORMAT_VERSION:
        raise SerializationError(
            f"unsupported message format version {version!r} (this build reads {FORMAT_VERSION})"
        )
    name = envelope["type"]
    if name == JSON_TYPE:
        return _dec_tagged(envelope["data"])
    cls = _lookup(name)
    try:
        return _decoder(cls)(envelope["data"])
    except SerializationError:
        raise
    except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
        raise SerializationError(f"malformed {name} payload: {exc}") from exc


def decode(payload: bytes | str) -> Any:
    """UTF-8 JSON bytes (or str) -> message."""
    try:
        envelope = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationError(f"message is not valid JSON: {exc}") from exc
    return from_envelope(envelope)


Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes | str], Any]

__all__ = [
    "FORMAT_VERSION",
    "SerializationError",
    "decode",
    "encode",
    "from_envelope",
    "register",
    "registered_types",
    "to_envelope",
    "type_name",
]
