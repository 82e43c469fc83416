"""PowerTrader: the pattern-memory trainer (compat = the original exactly; improved = k-NN done properly),
its multi-timeframe signal levels and the DCA trader's building blocks. See docs/powertrader.md."""
