"""Machine-learning signals with honest validation: features, labels, purged cross-validation, calibrated models,
a content-addressed registry, and tracking of every signal against its outcome.

Modules (imported on demand; this package stays light because the indicator registry imports
`quantdesk.ml.catalog` at start-up): `features` (catalog features + causality guard), `labels` (horizon, triple
barrier, meta-labels), `cv` (purged walk-forward and CPCV), `models` (model zoo + ensemble), `calibration`,
`evaluation` (scores and the deflated Sharpe of the OOS signal), `training` (the pipeline), `registry` (artefacts +
metadata), `predictor` (fast one-bar prediction), `explain`, `retrain` (champion/challenger), `wf` (walk-forward
backtest of `ml_signal` with retraining per window), `tracking` (signal outcomes, calibration reports, drift),
`service` (what the CLI and the API call). The layer publishes catalog columns (`ml_proba`) and never places orders.
"""
