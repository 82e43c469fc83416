"""Monitoring: alerts and notifiers (Telegram, Discord, Slack, e-mail, webhooks)."""
