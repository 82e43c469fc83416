"""Anomalies: bar anomalies (robust z-score, IQR; Isolation Forest, One-Class SVM, ECOD fitted on past bars),
feed health (gaps, frozen/stale prices, zero volume, price jumps beyond N ATR, a candle outside the order book)
and whale trades (far beyond the rolling trade-size distribution). Every detector is causal: a bar is judged
against bars before it only. Detections become `AnomalyDetected` events on the bus (topic "anomalies"), rows in
the `anomalies` table, Prometheus counts and, through an `anomaly` alert rule, alerts.

    from quantdesk.intel.anomalies import detect_anomalies, detect_whales
    rows = detect_anomalies(df, method="zscore")     # one row per anomalous bar: timestamp, kind, kinds, score
"""

from __future__ import annotations

from typing import Any

__all__ = ["BAR_METHODS", "detect_anomalies", "detect_whales"]

BAR_METHODS = ("zscore", "iqr", "iforest", "ocsvm", "ecod")


def __getattr__(name: str) -> Any:
    if name == "detect_anomalies":
        from quantdesk.intel.anomalies.detect import detect_anomalies

        return detect_anomalies
    if name == "detect_whales":
        from quantdesk.intel.anomalies.whales import detect_whales

        return detect_whales
    raise AttributeError(name)
