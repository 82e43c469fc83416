"""Which assets a text names: coin names, tickers and $cashtags mapped to ccxt symbols (BASE/QUOTE).

Ambiguous aliases follow the case rules of coins.tsv: `SOL` and `$LINK` count, "link" does not; "Avalanche"
counts, "an avalanche of orders" does not. Longest alias first, so "Bitcoin Cash" is BCH, not BTC.
"""

from __future__ import annotations

from collections.abc import Sequence

from quantdesk.intel.sentiment.lexicon import CoinAlias, coin_aliases
from quantdesk.intel.sentiment.text import tokenize

DEFAULT_QUOTE = "USDT"


def symbol_for(base: str, quote: str = DEFAULT_QUOTE) -> str:
    """ccxt symbol of a base currency; a base equal to the quote (USDT) is quoted in USD."""
    base = base.upper()
    return f"{base}/{'USD' if base == quote.upper() else quote.upper()}"


def base_of(symbol: str) -> str:
    """'BTC/USDT' -> 'BTC'; 'btc' -> 'BTC'; 'BINANCE:ETH/BTC' -> 'ETH'."""
    s = symbol.strip().upper()
    s = s.split(":", 1)[1] if ":" in s and "/" in s.split(":", 1)[1] else s
    return s.split("/", 1)[0]


class EntityFinder:
    """Finds the bases a token list names. `symbols()` maps them to ccxt symbols with `quote`."""

    def __init__(self, aliases: Sequence[CoinAlias] | None = None, quote: str = DEFAULT_QUOTE) -> None:
        self.quote = quote.upper()
        self._by_head: dict[str, list[CoinAlias]] = {}
        self.known: set[str] = set()
        for a in aliases if aliases is not None else coin_aliases():
            self._by_head.setdefault(a.words[0], []).append(a)
            self.known.add(a.base)
        for lst in self._by_head.values():
            lst.sort(key=lambda a: -len(a.words))

    def bases(self, tokens: Sequence[str]) -> list[str]:
        """Bases in order of first mention, without repeats."""
        return self.spans(tokens)[0]

    def spans(self, tokens: Sequence[str]) -> tuple[list[str], set[int]]:
        """(bases in order of first mention, indices of the tokens that name them). The scorer skips those
        tokens: an asset's name is no sentiment ("Optimism", "Maker", "Immutable" are coins here)."""
        found: list[str] = []
        named: set[int] = set()
        by_head = self._by_head
        n = len(tokens)
        i = 0
        while i < n:
            tok = tokens[i]
            if tok[0] == "$" and len(tok) > 2 and tok[1].isalpha():
                base = tok[1:].upper()
                if base not in found:
                    found.append(base)
                named.add(i)
                i += 1
                continue
            low = tok.lower()
            cands = by_head.get(low)
            if cands is None and low.endswith("'s") and len(low) > 3:  # "Bitcoin's", "SOL's"
                low, tok = low[:-2], tok[:-2]
                cands = [a for a in by_head.get(low, ()) if len(a.words) == 1]
            step = 1
            if cands:
                for a in cands:
                    size = len(a.words)
                    if size > 1 and (i + size > n or tuple(t.lower() for t in tokens[i : i + size]) != a.words):
                        continue
                    if a.upper_only and not tok.isupper():
                        continue
                    if a.capitalised_only and not tok[0].isupper():
                        continue
                    if a.base not in found:
                        found.append(a.base)
                    named.update(range(i, i + size))
                    step = size
                    break
            i += step
        return found, named

    def symbols(self, tokens: Sequence[str]) -> list[str]:
        return [symbol_for(b, self.quote) for b in self.bases(tokens)]

    def find(self, text: str) -> list[str]:
        return self.symbols(tokenize(text))
