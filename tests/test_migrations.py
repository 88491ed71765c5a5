"""The migrations build exactly the schema the models describe, as one straight chain, on the store in use."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from receptionist.store.db import alembic_config
from receptionist.store.models import Base


def test_one_chain_of_migrations(database_url):
    """One head, each migration revising the one before it (branches merged in parallel are re-chained)."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert all(len(r._all_down_revisions) <= 1 for r in revisions)


def test_the_migrated_schema_is_the_models(store):
    """Tables, columns, indexes and constraints of `upgrade head` match the models (no drift either way)."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, Base.metadata) == []
