"""`quantdesk mcp` driven by a real MCP client session (the official SDK) over stdio: tools listed, the knowledge
base searched and asked, a backtest run and recorded, the catalog and bot status read, errors as tool errors."""

from __future__ import annotations

import json
import os
import sys

import anyio
import pytest


def _payload(result):
    if result.structured_content is not None:
        data = result.structured_content
        return data.get("result", data) if isinstance(data, dict) and set(data) == {"result"} else data
    return json.loads(result.content[0].text)


async def _session_run(home: str, notes: str) -> dict:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    env = {k: v for k, v in os.environ.items() if k.startswith(("QD_", "PYTHON"))}
    env["QD_HOME"] = home
    params = StdioServerParameters(command=sys.executable, args=["-m", "quantdesk", "mcp"], env=env)
    out: dict = {}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        out["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
        out["search"] = _payload(await session.call_tool("search", {"query": "funding rate longs shorts", "k": 2}))
        out["ask"] = _payload(await session.call_tool("ask", {"question": "What do perpetual futures pay every eight "
                                                                                  "hours?"}))
        out["backtest"] = _payload(await session.call_tool("backtest", {
            "strategy": "sma_cross", "symbol": "BTC/USDT", "timeframe": "1h", "params": {"fast": 5, "slow": 20},
            "start": "2019-01-01", "end": "2019-03-01"}))
        out["indicators"] = _payload(await session.call_tool("indicators", {"search": "relative strength"}))
        out["compute"] = _payload(await session.call_tool("compute_indicator", {"name": "sma", "params": {"period": 3},
                                                                                "tail": 2}))
        out["bots"] = _payload(await session.call_tool("bot_status", {}))
        out["bad"] = await session.call_tool("backtest", {"strategy": "nope"})
        out["bad_symbol"] = await session.call_tool("compute_indicator", {"name": "rsi", "symbol": "NOPE/USD"})
    return out


def test_mcp_client_session_over_stdio(tmp_path) -> None:
    from quantdesk.core.config import load_settings
    from quantdesk.intel.kb.service import KnowledgeBase
    from quantdesk.storage import db

    home = tmp_path / "qdhome"
    notes = tmp_path / "notes"
    notes.mkdir()
    notes.joinpath("funding.md").write_text("# Funding\n\nPerpetual futures pay a funding rate every eight hours "
                                            "between longs and shorts.\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QD_HOME", str(home))
        settings = load_settings()
        KnowledgeBase(settings).ingest([notes])
        out = anyio.run(_session_run, str(home), str(notes))
        runs = db.list_runs(settings.database_url)
    assert {"search", "ask", "backtest", "indicators", "compute_indicator", "bot_status", "brief", "explain",
            "strategies"} <= set(out["tools"])
    assert out["search"][0]["anchor"] == "funding" and out["search"][0]["source"].endswith("funding.md")
    assert out["ask"]["abstained"] is False and "eight hours" in out["ask"]["citations"][0]["quote"]
    assert out["backtest"]["run_id"] in {r["id"] for r in runs}  # recorded in the same database
    assert out["backtest"]["config"]["params"] == {"fast": 5, "slow": 20}
    assert isinstance(out["backtest"]["metrics"]["total_return_pct"], float)
    assert [e["name"] for e in out["indicators"]] == ["rsi"] or "rsi" in [e["name"] for e in out["indicators"]]
    rows = out["compute"]["rows"]
    assert len(rows) == 2 and set(rows[0]) >= {"sma"}
    assert out["bots"] == {"bots": []}
    assert out["bad"].is_error and "unknown built-in strategy 'nope'" in out["bad"].content[0].text
    assert out["bad_symbol"].is_error and "NOPE/USD" in out["bad_symbol"].content[0].text
