"""Operational store: SQLAlchemy 2 models, Alembic migrations, sessions (SQLite default, PostgreSQL)."""
