"""Market-data use cases of the service: candles, symbols, the indicator catalog, an indicator over stored candles
and a bot's own chart lines. Mixed into QuantDeskService."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quantdesk.core.errors import NotFoundError
from quantdesk.core.jsonable import to_jsonable as _jsonable


class MarketQueries:
    settings: Any
    node: Any

    if TYPE_CHECKING:
        def _db_bot(self, name: str | None) -> dict[str, Any]: ...
        def _clock(self, row: dict[str, Any]) -> int | None: ...

    # ---- data / indicators -------------------------------------------------------------------------------
    def candles(self, symbol: str, timeframe: str, start: str | None, end: str | None,
                exchange: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        from quantdesk import data as qdata

        return _frame_records(qdata.load(symbol, timeframe, exchange, start, end, tail=limit))

    def symbols(self) -> list[dict[str, Any]]:
        from quantdesk.data import open_store

        return [{k: _jsonable(e.get(k)) for k in ("exchange", "symbol", "timeframe", "first", "last", "rows")}
                for e in open_store().catalog()]

    def indicator_catalog(self) -> list[dict[str, Any]]:
        from quantdesk.indicators import registry

        return _jsonable(registry.catalog())

    def indicator(self, name: str, symbol: str, timeframe: str, params: dict[str, Any], start: str | None,
                  end: str | None, limit: int | None = None) -> dict[str, Any]:
        from quantdesk import data as qdata
        from quantdesk.indicators import registry

        spec = registry.get(name)
        df = qdata.load(symbol, timeframe, None, start, end)
        out = registry.compute(spec.name, df, **params)
        if limit is not None:
            out = out.iloc[-limit:]
        return {"indicator": spec.name, "symbol": symbol, "timeframe": timeframe,
                "params": _jsonable(spec.validate_params(params)), "values": _frame_records(out)}

    def bot_indicators(self, name: str, symbol: str | None = None, limit: int = 500) -> dict[str, Any]:
        """The strategy's own indicators on its bot's chart, laid out as the strategy declares (`plot_config`:
        overlays on the price, panes by title; default: every declared indicator where the catalog puts it),
        computed from the candles up to the bot's last bar, last `limit` bars."""
        import pandas as pd

        from quantdesk import data as qdata
        from quantdesk.service.strategy_plots import plot_groups

        row = self._db_bot(name)
        sym = symbol or (row.get("symbols") or [None])[0]
        if sym not in (row.get("symbols") or []):
            raise NotFoundError(f"bot {row['name']} does not trade {symbol!r}; it trades {row.get('symbols')}")
        cfg = row.get("config") or {}
        now_ns = self._clock(row)
        end = pd.Timestamp(int(now_ns), unit="ns", tz="UTC") if now_ns else None
        if end is None:
            return {"bot": row["name"], "symbol": sym, "timeframe": row["timeframe"], "plots": []}
        df = qdata.load(sym, row["timeframe"], cfg.get("exchange"), None, end)
        plots = plot_groups(row["strategy"], row.get("params") or {}, sym, row.get("symbols") or [sym], df, limit)
        return {"bot": row["name"], "symbol": sym, "timeframe": row["timeframe"],
                "plots": [{**pl, "values": _frame_records(pl["values"])} for pl in plots]}


def _frame_records(df: Any) -> list[dict[str, Any]]:
    """Rows as JSON-able dicts, index first (a time index as `timestamp`, UTC ISO-8601). Candle and indicator
    frames (time index, numeric columns) take a vectorised path: ~20x faster than per-value conversion."""
    import numpy as np
    import pandas as pd

    index = df.index
    name = index.name if index.name not in (None, "index", "ts", "time") else "timestamp"
    numeric = all(dt.kind in "fiub" for dt in df.dtypes)
    if isinstance(index, pd.DatetimeIndex) and numeric and len(df):
        ns = (index.tz_convert("UTC") if index.tz is not None else index).asi8
        if not (ns % 1_000_000_000).any():
            stamps = np.char.add(np.datetime_as_string(ns.astype("datetime64[ns]"), unit="s"), "Z").tolist()
            columns = []
            for col in df.columns:
                values = df[col].to_numpy()
                if values.dtype.kind == "f":
                    obj = values.astype(object)
                    obj[~np.isfinite(values)] = None  # NaN/inf -> null, as to_jsonable does
                    columns.append(obj.tolist())
                else:
                    columns.append(values.tolist())
            keys = [name, *(str(c) for c in df.columns)]
            return [dict(zip(keys, row, strict=True)) for row in zip(stamps, *columns, strict=True)]
    frame = df.reset_index()
    first = frame.columns[0]
    if first != "timestamp" and str(first) in ("index", "ts", "time"):
        frame = frame.rename(columns={first: "timestamp"})
    return _jsonable(frame.to_dict(orient="records"))
