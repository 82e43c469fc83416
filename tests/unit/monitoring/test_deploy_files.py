"""deploy/: the YAML/JSON parse, every metric the Grafana dashboard queries is exported by the API, and the
compose services reference the right ports and environment."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import yaml

from quantdesk.api.metrics import ApiMetrics

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
PROMQL_FUNCS = {"sum", "rate", "irate", "increase", "by", "avg", "max", "min", "count", "histogram_quantile",
                "without", "on", "ignoring", "delta", "deriv", "topk", "bottomk"}


def exported_metric_names() -> set[str]:
    svc = SimpleNamespace(counters={"bars": 0, "orders": 0, "fills": 0}, _node=None)
    metrics = ApiMetrics(svc)
    metrics.requests.labels("GET", "200").inc()  # labelled families only appear once they have a child
    body, _ = metrics.render()
    names = set()
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def dashboard_metric_names(dash: dict) -> set[str]:
    names = set()
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", "", target["expr"])
            for tok in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
                if tok not in PROMQL_FUNCS and tok not in {"status", "method"}:
                    names.add(tok)
    return names


def test_dashboard_metrics_exist_in_api() -> None:
    dash = json.loads((DEPLOY / "grafana" / "quantdesk-dashboard.json").read_text())
    assert dash["title"] and dash["uid"] and isinstance(dash["schemaVersion"], int)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and len(ids) >= 6
    for p in dash["panels"]:
        assert {"x", "y", "w", "h"} <= set(p["gridPos"]) and p["targets"]
    used = dashboard_metric_names(dash)
    exported = exported_metric_names()
    assert used, "no metric found in the dashboard"
    assert used <= exported, f"dashboard uses metrics the API does not export: {sorted(used - exported)}"
    # every exported qd_ metric family is shown somewhere
    families = {n.removesuffix("_total").removesuffix("_created") for n in exported if n.startswith("qd_")}
    shown = {n.removesuffix("_total") for n in used}
    assert families <= shown, sorted(families - shown)


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
