"""secrecy and presence (issue 18)

Revision ID: 0010_secrecy
Revises: 0009_conventions
Create Date: 2026-11-30 07:30:00

- meetings.projector_token: the chair's revocable projector link.
- measures: a trigger refuses any change to the result (or the status) of a closed measure once
  its result is written; the record of the vote covers what the results page shows.
- measures.live_cast, live_figures: a secret measure's public figures, published in steps.
- auth_sessions.id: from now on the SHA-256 of the cookie's token; existing ones are hashed.
- ballot_envelopes: secret ballots as cast, sealed, until the mixer moves them into ballots in
  shuffled batches (deliberation/voting/envelopes.py).
- live_events: emptied. Events stored before this carried hidden comments' text and the
  projector's check-in link; they are transient (two days), so pages simply load afresh.
"""
import hashlib

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_secrecy'
down_revision = '0010_register'
branch_labels = None
depends_on = None


SQLITE_RESULT_FINAL = (
    "CREATE TRIGGER measures_result_final BEFORE UPDATE ON measures "
    "WHEN OLD.status = 'closed' AND OLD.result IS NOT NULL AND OLD.result != 'null' "
    "AND (NEW.result IS NOT OLD.result OR NEW.status IS NOT OLD.status) "
    "BEGIN SELECT RAISE(ABORT, 'the result of a closed measure is final'); END"
)
POSTGRES_RESULT_FINAL = [
    "CREATE OR REPLACE FUNCTION measure_result_final() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF OLD.status = 'closed' AND OLD.result IS NOT NULL AND OLD.result::text <> 'null' "
    "AND (NEW.result::text IS DISTINCT FROM OLD.result::text OR NEW.status IS DISTINCT FROM OLD.status) THEN "
    "RAISE EXCEPTION 'the result of closed measure % is final', OLD.id; "
    "END IF; RETURN NEW; END $$",
    "CREATE TRIGGER measures_result_final BEFORE UPDATE ON measures "
    "FOR EACH ROW EXECUTE FUNCTION measure_result_final()",
]


def upgrade():
    with op.batch_alter_table('meetings') as batch_op:
        batch_op.add_column(sa.Column('projector_token', sa.String(length=48), nullable=True))
    with op.batch_alter_table('measures') as batch_op:
        batch_op.add_column(sa.Column('live_cast', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('live_figures', sa.JSON(), nullable=True))
    op.create_table('ballot_envelopes',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('measure_id', sa.Integer(), nullable=False),
        sa.Column('sealed', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['measure_id'], ['measures.id'], name=op.f('fk_ballot_envelopes_measure_id_measures')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_envelopes')),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table('ballot_envelopes') as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_envelopes_measure_id'), ['measure_id'], unique=False)
    op.execute("DELETE FROM live_events")
    bind = op.get_bind()
    for (token,) in bind.execute(sa.text("SELECT id FROM auth_sessions")).all():
        bind.execute(sa.text("UPDATE auth_sessions SET id = :key WHERE id = :token"),
                     {"key": hashlib.sha256(token.encode()).hexdigest(), "token": token})
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_RESULT_FINAL)
    elif dialect == "postgresql":
        for statement in POSTGRES_RESULT_FINAL:
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    # (SQLite's batch copy of measures below drops the trigger anyway; drop it explicitly first.)
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS measures_result_final")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS measures_result_final ON measures")
        op.execute("DROP FUNCTION IF EXISTS measure_result_final()")
    op.drop_table('ballot_envelopes')
    with op.batch_alter_table('measures') as batch_op:
        batch_op.drop_column('live_figures')
        batch_op.drop_column('live_cast')
    with op.batch_alter_table('meetings') as batch_op:
        batch_op.drop_column('projector_token')
    op.execute("DELETE FROM auth_sessions")  # hashes cannot be turned back into tokens: log in again
