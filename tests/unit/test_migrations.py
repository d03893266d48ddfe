"""The schema comes from Alembic migrations; the models must not drift from them."""
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from concord import migrate
from concord.db import database
from concord.models import metadata


def test_migrations_create_exactly_the_schema_the_models_describe(app):
    engine = database(app).engine
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    assert differences == []


def test_database_is_at_the_migrations_head(app):
    assert migrate.is_current(database(app).engine)
