"""Portfolio risk analytics: what a portfolio could lose and how to weight it (VaR/CVaR, stress scenarios,
optimisation). Research and reporting read these; no order goes through them. Pre-trade control (the risk engine
every order passes, rules, breakers, sizing) is the rest of `quantdesk.risk`."""
