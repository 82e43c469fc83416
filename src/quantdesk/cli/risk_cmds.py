"""`quantdesk risk report|stress` and `quantdesk portfolio optimize`: portfolio analytics over stored candles.

Prices come from the candle store (`quantdesk.data.load`); assets with different calendars are aligned on
their common timestamps (inner join) and the output says how many rows were kept. Returns are per-bar
simple returns of the close; annualisation uses 365 days of bars for the timeframe unless
--periods-per-year is given (e.g. 252 for stocks on daily bars).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from quantdesk.cli.output import emit
from quantdesk.cli.risk_views import render_heat, render_opt, render_report, render_stress, write_html
from quantdesk.core.errors import DataError, ParameterError
from quantdesk.risk.portfolio.stress_runner import DEFAULT_STRESS, MIN_RETURNS, run_stress
from quantdesk.risk.portfolio.stress_runner import load_close as _load_close
from quantdesk.risk.portfolio.stress_runner import rows_note as _rows_note

risk_app = typer.Typer(help="Portfolio risk: VaR/CVaR, volatility, beta, correlation, stress tests.", no_args_is_help=True)
portfolio_app = typer.Typer(help="Portfolio construction: optimisation.", no_args_is_help=True)

DEFAULT_BENCHMARKS = ("BTC/USDT", "BTC/USD")

SymbolsOpt = Annotated[str, typer.Option("--symbols", "-s", help="Comma-separated symbols, e.g. BTC/USDT,ETH/BTC.")]
TimeframeOpt = Annotated[str, typer.Option("--timeframe", "-t", help="Bar length of the stored candles.")]
ExchangeOpt = Annotated[str | None, typer.Option("--exchange", "-e", help="Exchange (default: the only one holding each symbol).")]
StartOpt = Annotated[str | None, typer.Option("--start", help="First bar (UTC, inclusive).")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Last bar (UTC, inclusive).")]
WeightsOpt = Annotated[str | None, typer.Option("--weights", "-w", help="Comma-separated weights in symbol order (default equal).")]
NormalizeOpt = Annotated[bool, typer.Option("--normalize", help="Rescale weights that do not sum to 1.")]
ValueOpt = Annotated[float, typer.Option("--value", help="Portfolio value in the quote currency.")]
PpyOpt = Annotated[float | None, typer.Option("--periods-per-year", help="Bars per year (default 365 days of bars).")]


# ---- shared input handling ------------------------------------------------------------------------------
def parse_symbols(text: str) -> list[str]:
    from quantdesk.model.identifiers import normalize_symbol

    syms = [normalize_symbol(s) for s in text.split(",") if s.strip()]
    if not syms:
        raise ParameterError("--symbols: give at least one symbol, e.g. --symbols BTC/USDT,ETH/BTC")
    dup = sorted({s for s in syms if syms.count(s) > 1})
    if dup:
        raise ParameterError(f"--symbols: {', '.join(dup)} listed more than once")
    return syms


def parse_weights(text: str | None, symbols: list[str], normalize: bool) -> np.ndarray:
    if text is None:
        return np.full(len(symbols), 1.0 / len(symbols))
    try:
        w = np.array([float(x) for x in text.split(",") if x.strip()])
    except ValueError:
        raise ParameterError(f"--weights {text!r}: must be comma-separated numbers, e.g. 0.5,0.3,0.2") from None
    if w.size != len(symbols):
        raise ParameterError(f"--weights: got {w.size} weights for {len(symbols)} symbols ({', '.join(symbols)})")
    if not np.all(np.isfinite(w)):
        raise ParameterError("--weights: must be finite numbers")
    total = float(w.sum())
    if abs(total - 1.0) > 1e-6:
        if not normalize:
            raise ParameterError(f"--weights sum to {total:.6g}, not 1; fix them or pass --normalize to rescale")
        if total <= 0:
            raise ParameterError(f"--weights sum to {total:.6g}; cannot normalise a non-positive total")
        w = w / total
    return w


def periods_per_year(timeframe: str, override: float | None) -> float:
    from quantdesk.model.timeframe import Timeframe

    if override is not None:
        if override <= 0:
            raise ParameterError(f"--periods-per-year must be > 0, got {override}")
        return float(override)
    return 365 * 86_400e9 / Timeframe.parse(timeframe).nanos


def load_prices(
    symbols: list[str], timeframe: str, exchange: str | None, start: str | None, end: str | None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    from quantdesk.risk.portfolio.analytics import align_prices

    series = {s: _load_close(s, timeframe, exchange, start, end) for s in symbols}
    prices, info = align_prices(series)
    if info["rows_kept"] < MIN_RETURNS + 1:
        per = ", ".join(f"{k} {v}" for k, v in info["rows"].items())
        raise DataError(
            f"only {info['rows_kept']} common {timeframe} timestamps across {', '.join(symbols)} ({per} rows); "
            f"need at least {MIN_RETURNS + 1}"
        )
    return prices, info


def load_returns(symbols: list[str], timeframe: str, exchange: str | None, start: str | None, end: str | None):
    from quantdesk.risk.portfolio.analytics import to_returns

    prices, info = load_prices(symbols, timeframe, exchange, start, end)
    return to_returns(prices), info


# ---- risk report ----------------------------------------------------------------------------------------
def _benchmark(name: str | None, timeframe: str, exchange: str | None, start: str | None, end: str | None,
               symbols: list[str], prices: pd.DataFrame) -> tuple[str | None, pd.Series | None, str | None]:
    from quantdesk.core.errors import QuantDeskError

    candidates = [name] if name else list(DEFAULT_BENCHMARKS)
    for cand in candidates:
        from quantdesk.model.identifiers import normalize_symbol

        sym = normalize_symbol(cand)
        if sym in symbols:
            return sym, prices[sym].pct_change().iloc[1:], None
        close = None
        for ex in dict.fromkeys([exchange, None]):
            try:
                close = _load_close(sym, timeframe, ex, start, end)
                break
            except QuantDeskError as exc:
                err = exc
        if close is None:
            if name:
                raise DataError(f"--benchmark {name}: {err}") from None
            continue
        r = close.pct_change().iloc[1:]
        common = r.index.intersection(prices.index)
        if len(common) < MIN_RETURNS:
            if name:
                raise DataError(f"--benchmark {name}: only {len(common)} timestamps in common with the portfolio")
            continue
        return sym, r, None
    return None, None, f"no benchmark: none of {', '.join(DEFAULT_BENCHMARKS)} is stored for {timeframe}"


def build_report(
    symbols: list[str], timeframe: str, exchange: str | None, weights: np.ndarray, value: float,
    start: str | None, end: str | None, benchmark: str | None, ppy: float, n_sims: int, seed: int,
) -> dict[str, Any]:
    from quantdesk.risk.portfolio import analytics as an

    if not value > 0:
        raise ParameterError(f"--value must be > 0, got {value:g}")
    prices, info = load_prices(symbols, timeframe, exchange, start, end)
    rets = an.to_returns(prices)
    bench_name, bench, bench_note = _benchmark(benchmark, timeframe, exchange, start, end, symbols, prices)
    assets = an.asset_stats(rets, bench, ppy)
    assets.insert(0, "weight", weights)
    vol = an.portfolio_volatility(rets, weights, ppy)
    var = an.var_table(rets, weights, value=value, n_sims=n_sims, seed=seed)
    comps = {f"{a:g}": an.component_var(rets, weights, a, value=value) for a in an.DEFAULT_LEVELS}
    port = pd.Series(rets.to_numpy() @ weights, index=rets.index)
    return {
        "symbols": symbols,
        "timeframe": timeframe,
        "exchange": exchange,
        "weights": dict(zip(symbols, weights.tolist(), strict=True)),
        "value": value,
        "rows": info,
        "alignment": _rows_note(info),
        "returns": len(rets),
        "periods_per_year": ppy,
        "benchmark": bench_name,
        "benchmark_note": bench_note,
        "portfolio_vol": vol,
        "assets": assets,
        "var": var,
        "component_var": comps,
        "correlation": an.correlation_matrix(rets),
        "_portfolio_returns": port,
        "var_conventions": "losses as positive fractions; historical = loss quantile, linear interpolation (type 7); "
        "CVaR = mean loss at/beyond VaR; parametric/Cornish-Fisher include the sample mean; "
        f"Monte Carlo = {n_sims} seeded multivariate-normal draws (seed {seed})",
    }


@risk_app.command("report")
def report_cmd(
    symbols: SymbolsOpt,
    timeframe: TimeframeOpt = "1d",
    exchange: ExchangeOpt = None,
    weights: WeightsOpt = None,
    normalize: NormalizeOpt = False,
    value: ValueOpt = 10_000.0,
    start: StartOpt = None,
    end: EndOpt = None,
    benchmark: Annotated[str | None, typer.Option("--benchmark", help="Benchmark symbol (default BTC/USDT, else BTC/USD).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Directory for risk_report.html (plotly, offline).")] = None,
    ppy: PpyOpt = None,
    n_sims: Annotated[int, typer.Option("--sims", help="Monte Carlo draws.")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Monte Carlo seed.")] = 0,
) -> None:
    """Volatility, beta/correlation, VaR/CVaR (historical, parametric, Cornish-Fisher, Monte Carlo), component VaR."""
    syms = parse_symbols(symbols)
    w = parse_weights(weights, syms, normalize)
    report = build_report(syms, timeframe, exchange, w, value, start, end, benchmark,
                          periods_per_year(timeframe, ppy), n_sims, seed)
    if out is not None:
        report["html"] = str(write_html(report, out))
    report.pop("_portfolio_returns")
    emit(report, render=render_report)


# ---- risk stress ----------------------------------------------------------------------------------------
def _parse_betas(items: list[str] | None) -> dict[str, float]:
    from quantdesk.model.identifiers import normalize_symbol

    out = {}
    for item in items or []:
        sym, sep, b = item.partition("=")
        try:
            out[normalize_symbol(sym)] = float(b)
        except ValueError:
            raise ParameterError(f"--non-crypto {item!r}: use SYMBOL=BETA, e.g. GOOG/USD=0.4") from None
        if not sep:
            raise ParameterError(f"--non-crypto {item!r}: use SYMBOL=BETA, e.g. GOOG/USD=0.4")
    return out


@risk_app.command("stress")
def stress_cmd(
    symbols: SymbolsOpt,
    scenario: Annotated[list[str] | None, typer.Option(
        "--scenario", help="crash:-0.3 | flash:-0.2:0.5 | corr-breakdown:2.0 | replay:NAME|all | file:PATH (repeatable). "
        "Default: crash:-0.3, flash:-0.2:0.5, corr-breakdown:2.0, replay:all.")] = None,
    timeframe: TimeframeOpt = "1d",
    exchange: ExchangeOpt = None,
    weights: WeightsOpt = None,
    normalize: NormalizeOpt = False,
    value: ValueOpt = 10_000.0,
    start: Annotated[str | None, typer.Option("--start", help="First bar (UTC) of the history used by corr-breakdown; replays use all stored bars.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last bar (UTC) of the history used by corr-breakdown.")] = None,
    non_crypto: Annotated[list[str] | None, typer.Option(
        "--non-crypto", help="SYMBOL=BETA: a non-crypto asset moves by beta x the crash shock (repeatable).")] = None,
) -> None:
    """Apply shock scenarios and historical replays to the book (value x weights); P&L per position and total."""
    syms = parse_symbols(symbols)
    w = parse_weights(weights, syms, normalize)
    data = run_stress(list(scenario or DEFAULT_STRESS), syms, w, value, timeframe, exchange, start, end, _parse_betas(non_crypto))
    emit(data, render=render_stress)


@risk_app.command("episodes")
def episodes_cmd() -> None:
    """List the named historical episodes for `risk stress --scenario replay:NAME`."""
    from quantdesk.risk.portfolio.stress import EPISODES

    emit([{"name": e.name, "start": e.start, "end": e.end, "description": e.description, "data": e.data}
          for e in EPISODES.values()])


@risk_app.command("heat")
def heat_cmd(
    positions: Annotated[Path, typer.Argument(help="YAML/TOML/JSON file: a list (or `positions:` list) of {symbol, qty, entry, stop}.")],
    equity: Annotated[float | None, typer.Option("--equity", help="Account equity, to show heat as a fraction.")] = None,
) -> None:
    """Portfolio heat: the total loss if every open position is stopped out (qty x (entry - stop))."""
    from quantdesk.core.errors import ConfigError
    from quantdesk.risk.portfolio.analytics import portfolio_heat
    from quantdesk.risk.portfolio.scenarios import read_structured_file

    data = read_structured_file(positions)
    rows = data.get("positions") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{positions}: expected a list of positions {{symbol, qty, entry, stop}} (or `positions: [...]`)")
    try:
        result = portfolio_heat(rows, equity=equity)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{positions}: {str(exc).splitlines()[0]}") from None

    emit(result, render=render_heat)


# ---- portfolio optimize ---------------------------------------------------------------------------------
def parse_bounds(text: str | None, asset_bounds: list[str] | None, symbols: list[str]) -> Any:
    from quantdesk.model.identifiers import normalize_symbol

    def pair(t: str, what: str) -> tuple[float, float]:
        lo, sep, hi = t.partition(":")
        try:
            if not sep:
                raise ValueError
            return float(lo), float(hi)
        except ValueError:
            raise ParameterError(f"{what} {t!r}: use MIN:MAX, e.g. 0:0.5") from None

    glob = pair(text, "--bounds") if text else (0.0, 1.0)
    if not asset_bounds:
        return glob
    per = {s: glob for s in symbols}
    for item in asset_bounds:
        sym, sep, rng = item.partition("=")
        if not sep:
            raise ParameterError(f"--asset-bounds {item!r}: use SYMBOL=MIN:MAX, e.g. ETH/BTC=0.1:0.4")
        key = normalize_symbol(sym)
        if key not in per:
            raise ParameterError(f"--asset-bounds: {key} is not in --symbols")
        per[key] = pair(rng, f"--asset-bounds {key}")
    return per


@portfolio_app.command("optimize")
def optimize_cmd(
    symbols: SymbolsOpt,
    method: Annotated[str, typer.Option("--method", "-m", help="max_sharpe | min_vol | risk_parity | black_litterman.")] = "max_sharpe",
    timeframe: TimeframeOpt = "1d",
    exchange: ExchangeOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    bounds: Annotated[str | None, typer.Option("--bounds", help="MIN:MAX weight for every asset (default 0:1, long-only).")] = None,
    asset_bounds: Annotated[list[str] | None, typer.Option("--asset-bounds", help="SYMBOL=MIN:MAX for one asset (repeatable).")] = None,
    views: Annotated[Path | None, typer.Option("--views", help="Black-Litterman views file (YAML/TOML/JSON).")] = None,
    risk_free: Annotated[float, typer.Option("--risk-free", help="Annual risk-free rate.")] = 0.0,
    value: Annotated[float | None, typer.Option("--value", help="Also show the allocation of this amount.")] = None,
    ppy: PpyOpt = None,
) -> None:
    """Optimise weights (PyPortfolioOpt for max_sharpe/min_vol/black_litterman; Newton ERC for risk_parity)."""
    from quantdesk.risk.portfolio.optimize import OPT_METHODS, optimize
    from quantdesk.risk.portfolio.scenarios import load_views

    method = method.strip().lower().replace("-", "_")
    if method not in OPT_METHODS:
        raise ParameterError(f"--method {method!r}: choose from {', '.join(OPT_METHODS)}")
    if method == "black_litterman" and views is None:
        raise ParameterError("--method black_litterman needs --views FILE")
    syms = parse_symbols(symbols)
    b = parse_bounds(bounds, asset_bounds, syms)
    view_spec = load_views(views) if views is not None else None
    if view_spec is not None and method != "black_litterman":
        raise ParameterError("--views only applies to --method black_litterman")
    rets, info = load_returns(syms, timeframe, exchange, start, end)
    res = optimize(method, rets, views=view_spec, bounds=b, risk_free_rate=risk_free,
                   periods_per_year=periods_per_year(timeframe, ppy))
    data = res.to_dict()
    data["alignment"] = _rows_note(info)
    data["rows"] = info
    if value is not None:
        data["allocation"] = {k: v * value for k, v in data["weights"].items()}
    emit(data, render=render_opt)


def register(app: typer.Typer) -> None:
    app.add_typer(risk_app, name="risk")
    app.add_typer(portfolio_app, name="portfolio")
