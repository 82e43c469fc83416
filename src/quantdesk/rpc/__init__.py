"""Remote control of a running node from chat apps (Telegram), over the same service facade as the API."""
