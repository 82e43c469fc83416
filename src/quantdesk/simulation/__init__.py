"""Simulation: the bar matching core with fee and slippage models (backtest and paper)."""

from quantdesk.simulation.models import FeeModel, FixedBps, NoSlippage, SlippageModel, VolumeShare
from quantdesk.simulation.venue import AccountView, SimulatedVenue

__all__ = [
    "AccountView",
    "FeeModel",
    "FixedBps",
    "NoSlippage",
    "SimulatedVenue",
    "SlippageModel",
    "VolumeShare",
]
