"""Pre-trade risk engine: every order of every mode goes through `RiskEngine.check` before the venue.

    risk = RiskEngine.from_settings(RiskSettings(max_position_pct=0.15, daily_loss_pct=0.05))
    engine = TradingEngine(strategy, instrument, risk=risk)
    ...
    risk.state            # TradingState.ACTIVE / HALTED / REDUCING / KILLED
    risk.denials()        # [{"ts", "rule", "symbol", "limit", "value", "reason", "client_order_id"}, ...]
    risk.denial_counts()  # {"max_position_pct": 3, ...}
    risk.resume(); risk.kill("reason"); risk.alerts.append(callback)

Backtests: `run_backtest` builds it from `BacktestConfig.risk` (no rules when None). Paper/live: the node builds
it from the global settings, `RiskEngine.from_settings(get_settings().risk, strategy_id=strategy.strategy_id)`,
and passes it as `TradingEngine(..., risk=...)`; the clock is the engine's injected clock in every mode.
Per-strategy limits (`risk.strategies.<strategy_id>`) are checked IN ADDITION to the global ones.

`check(order, context) -> Denial | None`: None = allowed. `context` is the TradingEngine (bound with `bind`).
Order of evaluation: custom rules (callables `(order, context) -> Denial | None`, called for EVERY order, as
before), then, for exposure-increasing orders only (see quantdesk.risk.rules for "reducing"): the trading
state (not ACTIVE -> rule `trading_state`), equity <= 0 (`equity`), cooldown (`cooldown`), the global limits,
the strategy's extra limits, the correlation guard. The first denial wins; it becomes an `OrderDenied`
(`RiskDenied`) event with the rule and its numbers, and is counted.

Cost: with no configured rule `check` returns after one attribute test; breakers add one cheap call per bar
only when a daily-loss or drawdown limit is set (`bar_hook`); fills are only watched when cooldowns or the
per-symbol entry limit need them (`fill_hook`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from quantdesk.core.logging import get_logger
from quantdesk.core.timeutil import iso
from quantdesk.model.enums import OrderType
from quantdesk.model.events import Event, OrderFilled
from quantdesk.model.orders import Order
from quantdesk.risk.breakers import Breakers, Cooldowns
from quantdesk.risk.config import RiskSettings, RuleLimits, parse_risk_config
from quantdesk.risk.context import RiskContext, RiskLeg
from quantdesk.risk.events import CooldownStarted, KillSwitchActivated, OrderResized, TradingStateChanged
from quantdesk.risk.rules import TOL, CorrelationGuard, Denial, Impact, PreTradeRules, deny

if TYPE_CHECKING:
    from quantdesk.risk.config import CooldownSettings
    from quantdesk.risk.sizing import Sizer

log = get_logger(__name__)

RiskRule = Callable[[Order, Any], "Denial | None"]


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    HALTED = "HALTED"  # no new risk; reducing/closing orders pass
    REDUCING = "REDUCING"  # HALTED + positions flattened when entered
    KILLED = "KILLED"  # kill switch: everything cancelled and flattened; explicit resume() only


_STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)


class RiskEngine:
    """Rules + breakers + sizing for one trading engine (one strategy). Without settings it is the plain
    pass-through hook of custom rules it always was."""

    def __init__(
        self,
        rules: list[RiskRule] | None = None,
        *,
        settings: RiskSettings | dict[str, Any] | None = None,
        strategy_id: str | None = None,
        alerts: list[Callable[[Event], None]] | None = None,
    ) -> None:
        self.rules: list[RiskRule] = list(rules or [])
        self.alerts: list[Callable[[Event], None]] = list(alerts or [])
        self.state = TradingState.ACTIVE
        self.halt_rule = ""
        self._ctx: RiskContext | None = None
        self._denials: list[dict[str, Any]] = []
        self._counts: Counter[str] = Counter()
        self._resized: Counter[str] = Counter()
        self.settings: RiskSettings | None = None
        self.strategy_id = strategy_id
        self.global_rules: PreTradeRules | None = None
        self.strategy_rules: PreTradeRules | None = None
        self.correlation: CorrelationGuard | None = None
        self.breakers: Breakers | None = None
        self.cooldowns: Cooldowns | None = None
        self.cooldown_cfg: CooldownSettings | None = None
        self.sizer: Sizer | None = None
        self.entries: dict[Any, set[str]] = {}
        self._track_entries = False
        if settings is not None:
            self.configure(settings, strategy_id=strategy_id)
        self._refresh()

    @classmethod
    def from_settings(
        cls, settings: RiskSettings | dict[str, Any] | None, *, strategy_id: str | None = None, **kwargs: Any
    ) -> RiskEngine:
        return cls(settings=settings, strategy_id=strategy_id, **kwargs)

    def configure(self, settings: RiskSettings | dict[str, Any], *, strategy_id: str | None = None) -> None:
        s = parse_risk_config(settings)
        self.settings = s
        if strategy_id is not None:
            self.strategy_id = strategy_id
        if not s.enabled:
            self._refresh()
            return
        g = PreTradeRules(s.limits(), "global")
        self.global_rules = g if g else None
        extra = s.strategies.get(self.strategy_id or "") if self.strategy_id else None
        if extra is not None:
            sr = PreTradeRules(extra, f"strategy:{self.strategy_id}")
            self.strategy_rules = sr if sr else None
        self.correlation = (
            CorrelationGuard(s.correlation) if s.correlation.max_correlation is not None else None
        )
        b = Breakers(s.daily_loss_pct, s.max_drawdown_pct)
        self.breakers = b if b else None
        self.cooldown_cfg = s.cooldown if s.cooldown.enabled else None
        self.cooldowns = Cooldowns(s.cooldown.seconds, s.cooldown.bars) if self.cooldown_cfg else None
        if s.regime is not None:  # a custom rule of the intel layer, checked on every order like the others
            from quantdesk.intel.regimes.risk_rule import RegimeExposureRule

            self.add_rule(RegimeExposureRule(s.regime))
        if s.sizing is not None:
            from quantdesk.risk.sizing import sizer_from_settings

            self.sizer = sizer_from_settings(s.sizing)
        per_symbol = [r for r in (self.global_rules, self.strategy_rules) if r is not None]
        self._track_entries = any(r.limits.max_positions_per_symbol is not None for r in per_symbol)
        for r in per_symbol:
            r.entries = self.entries
        self._refresh()

    def _refresh(self) -> None:
        self._managed = bool(
            self.global_rules or self.strategy_rules or self.correlation or self.breakers or self.cooldowns
        )

    @property
    def active(self) -> bool:
        """Whether `check` can deny anything (custom rules, configured rules/breakers, or not ACTIVE)."""
        return bool(self.rules) or self._managed or self.state is not TradingState.ACTIVE

    def add_rule(self, rule: RiskRule) -> None:
        self.rules.append(rule)

    @property
    def ctx(self) -> RiskContext:
        """The bound engine (hooks run only after `bind`)."""
        if self._ctx is None:
            raise RuntimeError("the risk engine is not bound to a trading engine yet")
        return self._ctx

    def bind(self, context: RiskContext) -> None:
        """Called by the TradingEngine that owns this risk engine (it reads the engine through `RiskContext`)."""
        self._ctx = context

    # ---- hooks used by the trading engine -----------------------------------------------------------
    @property
    def bar_hook(self) -> Callable[[int], None] | None:
        return self.on_bar if self.breakers is not None else None

    @property
    def fill_hook(self) -> Callable[[OrderFilled], None] | None:
        return self.on_fill if (self.cooldowns is not None or self._track_entries) else None

    # ---- the check ----------------------------------------------------------------------------------
    def check(self, order: Order, context: RiskContext) -> Denial | None:
        for rule in self.rules:
            denial = rule(order, context)
            if denial is not None:
                return self._record(order, context, denial)
        if not self._managed and self.state is TradingState.ACTIVE:
            return None
        imp = Impact(order, context)
        if imp.reducing:
            return None
        denial = self._check_increasing(imp, context)
        if denial is not None:
            return self._record(order, context, denial)
        ts = context.clock.now_ns()
        for r in (self.global_rules, self.strategy_rules):
            if r is not None:
                r.accepted(imp, ts)
        return None

    def fit(self, order: Order, context: RiskContext) -> OrderResized | None:
        """Size an exposure-increasing order down to the largest quantity the size-bearing limits allow
        (max_position_pct, max_gross_exposure_pct, max_order_notional), rounded down to the lot, instead of
        letting `check` deny it; called by the engine just before `check`. Nothing happens when the order fits,
        when `fit_to_limits` is off, or when the fitted size would be zero (then `check` denies it, with the
        numbers). Returns the `OrderResized` event it published, else None."""
        s = self.settings
        if s is None or not s.enabled or not s.fit_to_limits or order.reduce_only:
            return None
        scopes = [r for r in (self.global_rules, self.strategy_rules) if r is not None and r.sizes]
        if not scopes or self.state is not TradingState.ACTIVE:
            return None
        imp = Impact(order, context)
        if imp.reducing or not imp.q > 0:
            return None
        imp.equity = context.equity_f
        if not imp.equity > 0:
            return None
        cap, rule, limit = min(r.max_quantity(imp) for r in scopes)
        if imp.q <= cap * TOL:
            return None
        target = cap * (1.0 - 1e-9)  # float safety: the fitted order must pass the check it was fitted to
        room = imp.reducible()  # an order against the position may always shrink to what only reduces it
        if room is not None and room > target:
            target = room
        instrument = context.leg(order.instrument).instrument
        quantity = instrument.make_qty(target)
        if quantity <= 0:
            return None
        requested = imp.q
        order.resize(quantity)
        self._resized[rule] += 1
        ts = context.clock.now_ns()
        event = OrderResized(ts, ts, order.client_order_id, str(order.instrument), rule, float(limit),
                             float(requested), float(quantity))
        if context is not None:
            context.events.append(event.to_dict())
            context.bus.publish(event)
        return event

    def resized_counts(self) -> dict[str, int]:
        """Orders sized down to fit each limit (`fit`), by rule."""
        return dict(self._resized)

    def _check_increasing(self, imp: Impact, ctx: RiskContext) -> Denial | None:
        if self.state is not TradingState.ACTIVE:
            return Denial(
                f"trading_state: {self.state.value} ({self.halt_rule}); only reducing orders are allowed",
                "trading_state",
                details={"state": self.state.value, "halted_by": self.halt_rule},
            )
        imp.equity = eq = ctx.equity_f
        if not eq > 0:
            return deny("equity", eq, 0.0, "equity", "<=")
        if self.cooldowns is not None:
            end = self.cooldowns.active(imp.iid, ctx.clock.now_ns(), ctx.bar_index)
            if end is not None:
                t, b = end
                return Denial(
                    f"cooldown: {imp.iid} is cooling down until "
                    f"{iso(t) if t is not None else ''}{' bar ' + str(b) if b is not None else ''}",
                    "cooldown",
                    details={"until": iso(t) if t is not None else None, "until_bar": b},
                )
        for r in (self.global_rules, self.strategy_rules):
            if r is not None:
                d = r.check(imp)
                if d is not None:
                    return d
        if self.correlation is not None:
            return self.correlation.check(imp)
        return None

    def _record(self, order: Order, ctx: RiskContext | None, denial: Denial) -> Denial:
        rule = denial.rule or "custom"
        self._counts[rule] += 1
        ts = ctx.clock.now_ns() if ctx is not None else 0
        self._denials.append(
            {
                "ts": iso(ts),
                "client_order_id": order.client_order_id,
                "symbol": str(order.instrument),
                "side": order.side.value,
                "rule": rule,
                "limit": denial.limit,
                "value": denial.value,
                "reason": denial.reason,
            }
        )
        return denial

    def denials(self, rule: str | None = None) -> list[dict[str, Any]]:
        return [d for d in self._denials if rule is None or d["rule"] == rule]

    def denial_counts(self) -> dict[str, int]:
        return dict(self._counts)

    def usage(self) -> dict[str, dict[str, float | None]]:
        """How much of each configured limit is used now (fractions of equity, like the limits): per measure
        {"value", "limit", "used_pct"} where used_pct = value / limit x 100. For dashboards and the API; the
        pre-trade check itself works on the worst-case book (see quantdesk.risk.rules), this is the current one."""
        ctx = self._ctx
        s = self.settings
        if ctx is None or s is None or not s.enabled:
            return {}
        equity = ctx.equity_f
        shares, open_positions = [], 0
        for leg in ctx.legs:
            qty = float(ctx.portfolio.position_qty(leg.iid))
            if qty:
                open_positions += 1
                price = ctx.last_price(leg.iid)
                shares.append(abs(qty) * price / equity if equity > 0 and price == price else math.inf)
        values: dict[str, tuple[float | None, float | None]] = {
            "max_position_pct": (max(shares, default=0.0), s.max_position_pct),
            "max_gross_exposure_pct": (sum(shares), s.max_gross_exposure_pct),
            "max_open_positions": (float(open_positions), s.max_open_positions),
        }
        b = self.breakers
        if b is not None and b.last == b.last:
            values["daily_loss_pct"] = (max(0.0, (b.sod - b.last) / b.sod) if b.sod > 0 else 0.0, s.daily_loss_pct)
            values["max_drawdown_pct"] = (max(0.0, (b.peak - b.last) / b.peak) if b.peak > 0 else 0.0,
                                          s.max_drawdown_pct)
        return {name: {"value": v, "limit": lim,
                       "used_pct": (v / lim * 100.0 if lim and v is not None and math.isfinite(v) else None)}
                for name, (v, lim) in values.items() if lim is not None}

    # ---- breakers -----------------------------------------------------------------------------------
    def on_bar(self, ts_ns: int) -> None:
        """Once per bar (see quantdesk.risk.breakers)."""
        ctx, breakers = self.ctx, self.breakers
        if breakers is None:  # the bar hook is only handed out with breakers configured
            return
        new_day, trip = breakers.update(ts_ns, ctx.equity_f)
        if (
            new_day
            and self.state is not TradingState.ACTIVE
            and self.halt_rule == "daily_loss_pct"
            and self.settings is not None
            and self.settings.auto_resume_next_day
        ):
            self._set_state(TradingState.ACTIVE, "daily_loss_pct", "new UTC day: daily loss limit reset")
            # the new day's check below may trip again
            _, trip = breakers.update(ts_ns, ctx.equity_f)
        if trip is not None and self.state is TradingState.ACTIVE:
            reduce = self.settings is not None and self.settings.on_breach == "reduce"
            new = TradingState.REDUCING if reduce else TradingState.HALTED
            self._set_state(new, trip.rule, trip.reason, trip.limit, trip.value)
            if ctx is not None:
                ctx.risk_flatten(trip.reason, positions=reduce, cancel="all" if reduce else "entries")

    def halt(self, reason: str = "manual halt", *, reduce: bool = False) -> None:
        """Stop new risk now (HALTED, or REDUCING = also flatten)."""
        new = TradingState.REDUCING if reduce else TradingState.HALTED
        self._set_state(new, "manual", reason)
        if self._ctx is not None:
            self.ctx.risk_flatten(reason, positions=reduce, cancel="all" if reduce else "entries")

    def resume(self, reason: str = "resumed") -> None:
        """Back to ACTIVE; re-arms the breakers from the current equity (peak and start-of-day)."""
        if self.state is TradingState.ACTIVE:
            return
        if self.breakers is not None and self._ctx is not None:
            self.breakers.rearm(self.ctx.equity_f)
        self._set_state(TradingState.ACTIVE, "manual", reason)

    def kill(self, reason: str = "kill switch") -> None:
        """Kill switch: KILLED, cancel every working order, flatten every position (reduce-only market orders,
        which pass because they only reduce). Lifted only by `resume()`."""
        self._set_state(TradingState.KILLED, "kill_switch", reason)
        canceled = flatten = 0
        if self._ctx is not None:
            canceled, flatten = self.ctx.risk_flatten(reason, positions=True, cancel="all")
        ts = self.ctx.clock.now_ns() if self._ctx is not None else 0
        self._emit(KillSwitchActivated(ts, ts, reason, canceled, flatten))

    def _set_state(
        self,
        new: TradingState,
        rule: str,
        reason: str,
        limit: float | None = None,
        value: float | None = None,
    ) -> None:
        old = self.state
        self.state = new
        self.halt_rule = "" if new is TradingState.ACTIVE else rule
        ts = self.ctx.clock.now_ns() if self._ctx is not None else 0
        log.warning("risk: trading state %s -> %s (%s: %s)", old.value, new.value, rule, reason)
        self._emit(TradingStateChanged(ts, ts, old.value, new.value, rule, reason, limit, value))

    def _emit(self, event: Event) -> None:
        ctx = self._ctx
        if ctx is not None:
            ctx.events.append(event.to_dict())
            ctx.bus.publish(event)
        for alert in self.alerts:
            try:
                alert(event)
            except Exception as exc:  # noqa: BLE001 - an alert must never break trading
                log.error("risk alert hook failed: %r", exc)

    # ---- fills (cooldowns, entries per symbol) ------------------------------------------------------
    def on_fill(self, event: OrderFilled) -> None:
        ctx = self.ctx
        iid = event.instrument
        after = ctx.portfolio.position_qty(iid)
        before = after - event.signed_qty
        if self._track_entries:
            if after == 0:
                self.entries.pop(iid, None)
            elif before == 0 or (before > 0) != (after > 0):
                self.entries[iid] = {event.client_order_id}
            elif abs(after) > abs(before):
                self.entries.setdefault(iid, set()).add(event.client_order_id)
        cfg, cooldowns = self.cooldown_cfg, self.cooldowns
        if cfg is None or cooldowns is None:  # both are set together (configure)
            return
        order = ctx.venue.orders.get(event.client_order_id)
        closed = before != 0 and (after == 0 or (after > 0) != (before > 0))
        if cfg.after_stop_loss and order is not None and order.type in _STOP_TYPES and before != 0:
            if abs(after) < abs(before) or closed:
                self._cooldown(iid, "cooldown_stop_loss", "stop-loss fill")
                return
        if cfg.after_losing_trades and closed:
            trip = next(
                (t for t in reversed(ctx.portfolio.trips) if t.instrument == iid and not t.is_open), None
            )
            if trip is None:
                return
            streak = cooldowns.streak
            streak[iid] = streak.get(iid, 0) + 1 if trip.realized - trip.fees < 0 else 0
            if streak[iid] >= cfg.after_losing_trades:
                streak[iid] = 0
                self._cooldown(
                    iid, "cooldown_losing_streak", f"{cfg.after_losing_trades} losing trades in a row"
                )

    def _cooldown(self, iid: Any, rule: str, reason: str) -> None:
        ctx, cooldowns = self.ctx, self.cooldowns
        if cooldowns is None:  # only called with cooldowns configured
            return
        now = ctx.clock.now_ns()
        matching = ctx.matching_step  # a fill while the venue matches bar i: the bar is i
        t, b = cooldowns.start(iid, now, matching if matching is not None else max(ctx.bar_index, 0))
        log.info("risk: cooldown on %s (%s)", iid, reason)
        self._emit(CooldownStarted(now, now, str(iid), rule, t, b, reason))

    # ---- sizing -------------------------------------------------------------------------------------
    def size_order(self, ctx: RiskContext, side: Any, leg: RiskLeg, all_cash: bool) -> float | None:
        """The configured sizer's quantity for an order without quantity that increases exposure, else None
        (not sized). See quantdesk.risk.sizing."""
        from quantdesk.model.enums import OrderSide
        from quantdesk.risk.sizing import context_from_engine

        pos = leg.position_f
        buy = side is OrderSide.BUY
        if self.sizer is None or (pos != 0 and (pos > 0) != buy):
            return None  # no sizer configured, or the order reduces: not sized
        sctx = context_from_engine(ctx, leg.iid)
        q: float = self.sizer.quantity(sctx)
        if all_cash and sctx.price > 0:
            fee = float(leg.instrument.taker_fee)
            q = min(q, max(ctx.cash_f, 0.0) / (sctx.price * (1.0 + fee)))
        return q


__all__ = ["Denial", "RiskEngine", "RiskRule", "RuleLimits", "TradingState"]
