"""The migrations and the models describe the same schema, and upgrade/downgrade work."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tests.conftest import ON_POSTGRES


def test_models_and_migrations_agree(app, db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "Models changed without a migration: run `flask db migrate`.\n" + "\n".join(
        map(str, differences))


def test_downgrade_to_nothing_and_upgrade_again(app, db):
    if ON_POSTGRES:
        pytest.skip("the PostgreSQL schema is shared by the whole run; the SQLite run covers the round trip "
                    "and the suite itself proves `upgrade` on PostgreSQL")
    db.session.remove()
    downgrade(revision="base")
    with db.engine.connect() as connection:
        assert db.inspect(connection).get_table_names() == ["alembic_version"]
    upgrade()
    with db.engine.connect() as connection:
        assert "audit_entries" in db.inspect(connection).get_table_names()
