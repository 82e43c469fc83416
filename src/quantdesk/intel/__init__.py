"""The intelligence layer: market regimes and anomalies, PowerTrader pattern memory, sentiment, knowledge base.

Each sub-package publishes indicator-catalog columns (a `catalog` module, found by the indicator registry) or
events on the bus; none places orders itself. Strategies, risk rules and ML features read what they publish.
"""
