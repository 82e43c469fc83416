"""Monitoring: Prometheus metrics (`metrics`), per-component health (`health`), and alert rules delivered to
Telegram, Discord, Slack, e-mail and webhooks (`alerts`, `channels`, `alert_config`, `node_alerts`)."""
