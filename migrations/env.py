"""Alembic environment: the engine comes from the platform (concord.migrate)."""

from __future__ import annotations

from alembic import context
from concord.models import metadata

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("Concord runs migrations online only: use `concord init`.")
run_migrations_online()
