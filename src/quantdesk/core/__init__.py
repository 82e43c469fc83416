"""Core: errors, configuration, logging, clocks. Everything else depends on this; it depends on nothing."""
