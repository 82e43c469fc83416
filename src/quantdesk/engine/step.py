"""The engine's step, as a loop over consecutive timestamps (`TradingEngine.step` documents what a step does).

A backtest runs its whole timeline through one call of the loop, paper and live one timestamp per call, so every
mode executes the same code and there is no Python call per bar. The loop is built once per `start()` with
everything it reads every bar bound to locals (`make_steps`).

One body, two forms of it: the loop below is written for any number of legs; with ONE leg (most runs) its two
per-leg loops (match every leg, then move every cursor) have one iteration each, and `make_steps` returns the same
body with those loops unrolled. The unrolled form does exactly the same operations in the same order; what it
saves is the per-bar loop bookkeeping, which is most of the engine's own cost per bar (about 8% of a one-leg
backtest of a cheap strategy, `benchmarks/bench_backtest.py`). `tests/unit/engine/test_step.py` runs one-leg
engines through both forms and compares every order, fill and equity value.

With one leg the timeline IS the leg's bars, so the step counter is the leg's cursor and is not stored (the engine
reads `bar_index` from the cursor); with several it is stored in `engine._k`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from quantdesk.core.clock import SimulatedClock

if TYPE_CHECKING:
    from quantdesk.engine.engine import TradingEngine
    from quantdesk.engine.leg import Leg

Steps = Callable[[int, Sequence[int], Iterable[Sequence["Leg"]]], None]


def make_steps(engine: TradingEngine, *, unrolled: bool | None = None) -> Steps:
    """The step loop of `engine`'s current legs, strategy and hooks. `unrolled=None`: the unrolled one-leg form
    when the engine has one leg (`False` forces the general form, for the equivalence test)."""
    # a simulated clock is moved to each step's time; a wall clock is not (the loop writes to a stand-in)
    sim = engine.clock if isinstance(engine.clock, SimulatedClock) else SimulatedClock()
    match = engine.match_leg
    risk_bar = engine._risk_bar
    on_bar = engine.strategy.on_bar
    view = engine.legs[0].view
    failed = engine._strategy_failed
    if unrolled is None:
        unrolled = len(engine.legs) == 1
    if unrolled:
        if len(engine.legs) != 1:
            raise ValueError("the unrolled step is the one-leg form")
        return _one_leg_steps(engine, sim, match, risk_bar, on_bar, failed)

    def steps(k0: int, times: Sequence[int], legs_per_step: Iterable[Sequence[Leg]]) -> None:
        """Steps k0, k0+1... at `times`; `legs_per_step` yields the legs taking part in each step (pulled just
        before it, so it may look at the cursors)."""
        for k, t, legs in zip(range(k0, k0 + len(times)), times, legs_per_step):  # noqa: B905 - range ends first (legs may be endless)
            sim.ns = t
            engine._k = k
            for leg in legs:  # 1. match every instrument first (the cursors still show the previous bars) ...
                if leg.working:
                    engine._matching = k
                    try:
                        match(leg, leg.view.index + 1)
                    finally:
                        engine._matching = None
            for leg in legs:  # 2. ... then move the cursors and the streaming indicators
                leg.view.index += 1
                if leg.streams:
                    leg.update_streams()
            if risk_bar is not None:  # 3. breakers
                risk_bar(t)
            if engine.active:  # 4. the strategy, once
                try:
                    on_bar(view)
                except Exception as exc:  # noqa: BLE001 - user code is contained
                    failed("on_bar", exc)

    return steps


def _one_leg_steps(engine: TradingEngine, sim: SimulatedClock, match: Callable[[Leg, int], None],
                   risk_bar: Callable[[int], None] | None, on_bar: Callable[..., None],
                   failed: Callable[[str, BaseException], None]) -> Steps:
    """`steps` above with its two leg loops unrolled for the one leg, which takes part in every step."""
    leg = engine.legs[0]
    cursor = leg.view
    working = leg.working  # the venue's list for this instrument: the same object for the engine's lifetime
    streams = leg.streams
    update_streams = leg.update_streams

    def steps(k0: int, times: Sequence[int], legs_per_step: Iterable[Sequence[Leg]] = ()) -> None:
        if cursor.index != k0 - 1:
            raise RuntimeError(f"step {k0} of a one-leg engine whose cursor is at bar {cursor.index}")
        # the loop reads plain locals (a closure's cells cost a little more per read, and it reads ten per bar)
        eng, clock, bar, wk, strm, upd, rbar, cb = engine, sim, cursor, working, streams, update_streams, risk_bar, on_bar
        for k, t in enumerate(times, k0):
            clock.ns = t
            if wk:  # 1. match
                eng._matching = k
                try:
                    match(leg, k)
                finally:
                    eng._matching = None
            bar.index = k  # 2. move the cursor (step k is the leg's bar k: the timeline is its bars)
            if strm:
                upd()
            if rbar is not None:  # 3. breakers
                rbar(t)
            if eng.active:  # 4. the strategy
                try:
                    cb(bar)
                except Exception as exc:  # noqa: BLE001 - user code is contained
                    failed("on_bar", exc)

    return steps


__all__ = ["Steps", "make_steps"]
