"""Storage: SQLAlchemy models + Alembic migrations (SQLite under QD_HOME by default, PostgreSQL when configured).

    from quantdesk.storage.db import record_run, list_runs, upgrade
"""
