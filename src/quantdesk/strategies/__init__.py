"""Strategies: the `Strategy` base API, built-ins found by name, and user strategies as `module:Class`."""

from quantdesk.strategies.base import BoolParam, ChoiceParam, FloatParam, Ind, IntParam, Strategy
from quantdesk.strategies.loader import builtin_strategies, create_strategy, load_strategy

__all__ = [
    "BoolParam",
    "ChoiceParam",
    "FloatParam",
    "Ind",
    "IntParam",
    "Strategy",
    "builtin_strategies",
    "create_strategy",
    "load_strategy",
]
