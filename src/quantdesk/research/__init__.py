"""Research tools: optimisation, walk-forward analysis, Monte Carlo simulation and bias checks."""
