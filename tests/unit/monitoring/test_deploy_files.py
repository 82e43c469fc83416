"""deploy/: the YAML/JSON parse, every metric the Grafana dashboard queries is exported by a real app (and every
exported qd_ family is charted), and the compose services reference the right ports and environment."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
PROMQL_FUNCS = {"sum", "rate", "irate", "increase", "avg", "max", "min", "count", "histogram_quantile", "delta",
                "deriv", "topk", "bottomk", "abs", "clamp_min", "clamp_max", "avg_over_time", "max_over_time"}
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
            "summary": ("_count", "_sum", "_created"), "gauge": ("",), "info": ("_info",), "untyped": ("",)}


@pytest.fixture()
def exported(qd_home: Path) -> dict[str, str]:
    """{family name: type} of a real app's /metrics (Redis configured to a closed port, so its gauges exist).
    Families come from the exposition's TYPE lines: a labelled family is there before its first sample."""
    from quantdesk.api import create_app
    from quantdesk.core.config import RedisSettings, load_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = load_settings().model_copy(update={"redis": RedisSettings(url=f"redis://127.0.0.1:{port}/0")})
    app = create_app(settings)
    body, _ = app.state.metrics.render()  # what GET /metrics answers
    app.state.service.shutdown()
    text = body.decode()
    fams = {f.name: f.type for f in text_string_to_metric_families(text)}
    # the text format gives an unlabelled counter's/histogram's `_created` sample a family of its own
    return {n: t for n, t in fams.items() if not (n.endswith("_created") and n.removesuffix("_created") in fams)}


def sample_names(families: dict[str, str]) -> dict[str, str]:
    """Every sample name a query may use -> its family."""
    return {name + suffix: name for name, kind in families.items() for suffix in SUFFIXES[kind]}


def dashboard_metric_names(dash: dict) -> set[str]:
    names = set()
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", target["expr"])
            expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
            for tok in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
                if tok not in PROMQL_FUNCS:
                    names.add(tok)
    return names


def test_dashboard_metrics_exist_in_api(exported: dict[str, str]) -> None:
    dash = json.loads((DEPLOY / "grafana" / "quantdesk-dashboard.json").read_text())
    assert dash["title"] and dash["uid"] and isinstance(dash["schemaVersion"], int)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and len(ids) >= 6
    for p in dash["panels"]:
        assert {"x", "y", "w", "h"} <= set(p["gridPos"]) and p["targets"]
        assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
    used = dashboard_metric_names(dash)
    samples = sample_names(exported)
    assert used, "no metric found in the dashboard"
    assert used <= set(samples), f"dashboard uses metrics the API does not export: {sorted(used - set(samples))}"
    # every exported qd_ metric family is shown somewhere
    qd = {n for n in exported if n.startswith("qd_")}
    shown = {samples[n] for n in used}
    assert qd <= shown, f"exported but not charted: {sorted(qd - shown)}"
    # latency histograms are charted as quantiles
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    for name, kind in exported.items():
        if kind == "histogram" and name.startswith("qd_"):
            for qtl in ("0.5", "0.99"):
                assert any(f"histogram_quantile({qtl}," in e and f"{name}_bucket" in e for e in exprs), (name, qtl)


def test_the_app_exports_the_platform_metrics(exported: dict[str, str]) -> None:
    expected = {
        "qd_paper_bars_processed": "counter", "qd_paper_signals": "counter", "qd_paper_orders": "counter",
        "qd_paper_fills": "counter", "qd_paper_risk_denials": "counter", "qd_paper_equity": "gauge",
        "qd_paper_pnl": "gauge", "qd_paper_feed_lag_seconds": "gauge", "qd_paper_bar_processing_seconds": "histogram",
        "qd_event_loop_lag_seconds": "histogram", "qd_api_request_duration_seconds": "histogram",
        "qd_api_requests": "counter", "qd_ws_clients": "gauge", "qd_api_rate_limited": "counter",
        "qd_db_up": "gauge", "qd_db_ping_seconds": "gauge", "qd_redis_up": "gauge", "qd_paper_bots": "gauge",
    }
    assert {k: exported.get(k) for k in expected} == expected


def test_prometheus_scrapes_platform_metrics() -> None:
    cfg = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (job,) = [j for j in cfg["scrape_configs"] if j["job_name"] == "quantdesk"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["platform:8000"]


def test_compose_services_ports_and_env() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    svcs = compose["services"]
    assert set(svcs) == {"platform", "postgres", "redis", "prometheus", "grafana"}
    plat = svcs["platform"]
    env = plat["environment"]
    assert env["QD_DATABASE__URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in env["QD_DATABASE__URL"]
    assert env["QD_REDIS__URL"] == "redis://redis:6379/0"
    assert plat["build"]["dockerfile"] == "deploy/Dockerfile" and plat["build"]["context"] == ".."
    assert plat["ports"] == ["127.0.0.1:8000:8000"]
    assert set(plat["depends_on"]) == {"postgres", "redis"}
    db = svcs["postgres"]["environment"]
    assert db["POSTGRES_USER"] in env["QD_DATABASE__URL"] and env["QD_DATABASE__URL"].endswith("/" + db["POSTGRES_DB"])
    assert any(p.endswith(":5432") for p in svcs["postgres"]["ports"])
    assert any(p.endswith(":6379") for p in svcs["redis"]["ports"])
    assert any(p.endswith(":9090") for p in svcs["prometheus"]["ports"])
    assert any(p.endswith(":3000") for p in svcs["grafana"]["ports"])
    mounts = svcs["prometheus"]["volumes"] + svcs["grafana"]["volumes"]
    for m in mounts:
        src = m.split(":", 1)[0]
        if src.startswith("./"):
            assert (DEPLOY / src).exists(), src
    for name in ("prometheus.yml", "grafana/provisioning/datasources/prometheus.yml",
                 "grafana/provisioning/dashboards/quantdesk.yml"):
        yaml.safe_load((DEPLOY / name).read_text())


def test_dockerfile_serves_on_8000() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert "EXPOSE 8000" in text
    assert '"--host", "0.0.0.0"' in text and '"--port", "8000"' in text
    assert ".[postgres,redis]" in text
