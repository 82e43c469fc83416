"""Risk use cases of the service: limits, per-bot risk state, halt / resume / kill switch, correlation, stress and
VaR of stored series. Mixed into QuantDeskService."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quantdesk.core.errors import DataError, NotFoundError, ParameterError
from quantdesk.core.jsonable import to_jsonable as _jsonable


class RiskQueries:
    settings: Any
    node: Any

    if TYPE_CHECKING:
        def _emit(self, channels: list[str], payload: dict[str, Any]) -> None: ...
        def _db_bot(self, name: str | None) -> dict[str, Any]: ...
        def _bot_name(self, name: str | None) -> str: ...

    # ---- risk ---------------------------------------------------------------------------------------------
    def risk_limits(self) -> dict[str, Any]:
        return _jsonable(self.settings.risk.model_dump(mode="json"))

    def risk_state(self) -> list[dict[str, Any]]:
        """Per running bot: trading state, why it is halted, denials by rule, limits and how much of each is used."""
        node = self.node
        out = []
        with node.lock:
            for b in node.bots.values():
                risk = b.engine.risk
                eng = b.engine
                limits = {k: v for k, v in (risk.settings.model_dump(mode="json") if risk.settings else {}).items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)}
                out.append({"bot": b.name, "state": risk.state.value, "active": risk.active,
                            "halted_reason": risk.halt_rule or None,
                            "equity": str(eng.portfolio.equity(eng.marks())) if eng.bar_index >= 0 else str(
                                eng.portfolio.cash()),
                            "denials": _jsonable(risk.denial_counts()), "limits": _jsonable(limits),
                            "usage": _jsonable(risk.usage() if eng.bar_index >= 0 else {})})
        return out

    def risk_action(self, action: str, name: str | None, reason: str) -> list[dict[str, Any]]:
        """halt | resume | kill one bot (or every running bot), recorded so a restart keeps the risk state."""
        from quantdesk.service import live_control

        node = self.node
        if live_control.live_bot(node.store, name, node.bots):
            live_control.control(node.store, str(name), action, reason=reason or f"{action} (API)")
            self._emit(["alerts"], {"type": f"risk.{action}", "data": {"bots": [name], "reason": reason}})
            return self.risk_state()
        with node.lock:
            names = [self._bot_name(name)] if name is not None else list(node.bots)
            if not names:
                raise NotFoundError("no paper bot is running")
            default = {"halt": "manual halt (API)", "resume": "resumed (API)", "kill": "kill switch (API)"}[action]
            for n in names:
                node.bot(n).risk_action(action, reason=reason or default, source="api")
        self._emit(["alerts"], {"type": f"risk.{action}", "data": {"bots": names, "reason": reason}})
        return self.risk_state()

    def _returns(self, symbols: list[str], timeframe: str) -> Any:
        from quantdesk import data as qdata
        from quantdesk.risk.portfolio import analytics

        prices, _ = analytics.align_prices({s: qdata.load(s, timeframe)["close"] for s in symbols})
        if len(prices) < 3:
            raise DataError(f"{', '.join(symbols)} {timeframe}: fewer than 3 common timestamps")
        return analytics.to_returns(prices).dropna()

    def risk_correlation(self, symbols: list[str], timeframe: str) -> dict[str, Any]:
        from quantdesk.risk.portfolio import analytics

        rets = self._returns(symbols, timeframe)
        m = analytics.correlation_matrix(rets)
        return {"symbols": list(m.columns), "timeframe": timeframe, "observations": int(len(rets)),
                "matrix": _jsonable(m.to_numpy().tolist())}

    def risk_stress(self, symbols: list[str], weights: list[float] | None, timeframe: str,
                    value: float) -> dict[str, Any]:
        import numpy as np

        from quantdesk.risk.portfolio.stress_runner import DEFAULT_STRESS, run_stress

        if weights is not None and len(weights) != len(symbols):
            raise ParameterError(f"weights: {len(weights)} given for {len(symbols)} symbols")
        w = np.asarray(weights if weights is not None else [1.0 / len(symbols)] * len(symbols), dtype=float)
        return _jsonable(run_stress(list(DEFAULT_STRESS), symbols, w, value, timeframe, None, None, None, {}))

    def risk_var(self, symbols: list[str], timeframe: str, alpha: float) -> dict[str, Any]:
        from quantdesk import data as qdata
        from quantdesk.risk.portfolio import analytics

        closes = {s: qdata.load(s, timeframe)["close"] for s in symbols}
        prices, _ = analytics.align_prices(closes)
        rets = analytics.to_returns(prices).dropna()
        out = {}
        for s in rets.columns:
            r = rets[s].to_numpy()
            out[s] = {"historical_var": analytics.historical_var(r, alpha),
                      "historical_cvar": analytics.historical_cvar(r, alpha),
                      "parametric_var": analytics.parametric_var(r, alpha)}
        if len(rets.columns) > 1:
            pr = analytics.portfolio_returns(rets).to_numpy()
            out["portfolio"] = {"historical_var": analytics.historical_var(pr, alpha),
                                "historical_cvar": analytics.historical_cvar(pr, alpha),
                                "parametric_var": analytics.parametric_var(pr, alpha)}
        return {"alpha": alpha, "timeframe": timeframe, "observations": int(len(rets)), "var": _jsonable(out)}
