"""What a bot's chart draws for its strategy: the strategy's declared indicators, grouped as it says.

`Strategy.plot_config = {"main": [keys on the price chart], "panes": {"RSI": [keys in one pane]}}` (freqtrade's
`plot_config` idea); without one, every declared indicator is drawn where the catalog puts it (overlay or its own
pane). Values are the batch computation over the candles, which equal the streaming values the bot traded on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from quantdesk.indicators import registry


def _flat(declared: Mapping[str, Any], symbol: str, symbols: list[str]) -> dict[str, Any]:
    """The strategy's indicators for `symbol`: flat declarations (every instrument) plus its own group."""
    out = {k: v for k, v in declared.items() if k not in symbols and hasattr(v, "name")}
    group = declared.get(symbol)
    if isinstance(group, Mapping):
        out.update({k: v for k, v in group.items() if hasattr(v, "name")})
    return out


def plot_groups(strategy: str, params: Mapping[str, Any], symbol: str, symbols: list[str], candles: pd.DataFrame,
                limit: int) -> list[dict[str, Any]]:
    """[{id, label, overlay, outputs, values (DataFrame, last `limit` bars)}] for the bot's chart."""
    from quantdesk.strategies.loader import create_strategy

    strat = create_strategy(strategy, dict(params))
    inds = _flat(strat.indicators() or {}, symbol, symbols)
    columns: dict[str, pd.Series] = {}
    overlay_of: dict[str, bool] = {}
    outputs_of: dict[str, list[str]] = {}
    for key, ind in inds.items():
        spec = registry.get(ind.name)
        frame = registry.compute(spec.name, candles, **dict(ind.params))
        names = [key] if len(spec.outputs) == 1 else [f"{key}.{o}" for o in spec.outputs]
        for col, out in zip(names, spec.outputs, strict=True):
            columns[col] = frame[out]
        overlay_of[key], outputs_of[key] = spec.overlay, names
    table = pd.DataFrame(columns, index=candles.index).iloc[-limit:] if columns else pd.DataFrame()
    cfg = type(strat).plot_config
    groups: list[tuple[str, str, bool, list[str]]] = []
    if cfg:
        for key in cfg.get("main", []) or []:
            if key in outputs_of:
                groups.append((key, key, True, outputs_of[key]))
        for title, keys in (cfg.get("panes", {}) or {}).items():
            outs = [o for k in keys if k in outputs_of for o in outputs_of[k]]
            if outs:
                groups.append((f"pane:{title}", title, False, outs))
    else:
        groups = [(k, f"{inds[k].name}({','.join(str(v) for v in dict(inds[k].params).values())})", overlay_of[k],
                   outputs_of[k]) for k in inds]
    return [{"id": gid, "label": label, "overlay": overlay, "outputs": outs, "values": table[outs]}
            for gid, label, overlay, outs in groups]
