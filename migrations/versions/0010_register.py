"""register: art. 278 and residents' meetings counted over the whole unit register

Revision ID: 0010_register
Revises: 0009_conventions
"""
import sqlalchemy as sa
from alembic import op

from deliberation.append_only import create_statements, drop_statements

revision = '0010_register'
down_revision = '0009_conventions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('units') as batch_op:
        batch_op.add_column(sa.Column('owner_name', sa.String(length=80), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('developer_held', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('conventions') as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=12), nullable=False, server_default='residents'))
    op.create_table('register_voters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('units', sa.Text(), nullable=False),
    sa.Column('unit_count', sa.Integer(), nullable=False),
    sa.Column('area', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('weight', sa.Numeric(precision=14, scale=6), nullable=False),
    sa.Column('names', sa.String(length=400), nullable=False),
    sa.Column('developer', sa.Boolean(), nullable=False),
    sa.Column('building', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measures.id'], name=op.f('fk_register_voters_measure_id_measures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_voters')),
    sa.UniqueConstraint('measure_id', 'position', name=op.f('uq_register_voters_measure_id_position'))
    )
    with op.batch_alter_table('register_voters') as batch_op:
        batch_op.create_index(batch_op.f('ix_register_voters_measure_id'), ['measure_id'], unique=False)
    op.create_table('register_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('register_voter_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('voter_id', sa.Integer(), nullable=True),
    sa.Column('cast_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cast_by_id'], ['users.id'], name=op.f('fk_register_votes_cast_by_id_users')),
    sa.ForeignKeyConstraint(['measure_id'], ['measures.id'], name=op.f('fk_register_votes_measure_id_measures')),
    sa.ForeignKeyConstraint(['register_voter_id'], ['register_voters.id'],
                            name=op.f('fk_register_votes_register_voter_id_register_voters')),
    sa.ForeignKeyConstraint(['voter_id'], ['users.id'], name=op.f('fk_register_votes_voter_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_votes')),
    sa.UniqueConstraint('register_voter_id', name='uq_register_votes_one_per_voter')
    )
    with op.batch_alter_table('register_votes') as batch_op:
        batch_op.create_index(batch_op.f('ix_register_votes_measure_id'), ['measure_id'], unique=False)
    # Rebuilding eligibilities on SQLite drops its append-only triggers: drop them first and put
    # them back after (on PostgreSQL they would stay; dropping and re-creating is harmless).
    dialect = op.get_bind().dialect.name
    for statement in drop_statements('eligibilities', dialect):
        op.execute(statement)
    with op.batch_alter_table('eligibilities') as batch_op:
        batch_op.add_column(sa.Column('register_voter_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_eligibilities_register_voter_id'), ['register_voter_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_eligibilities_register_voter_id_register_voters'),
                                    'register_voters', ['register_voter_id'], ['id'])
    for table in ('eligibilities', 'register_voters', 'register_votes'):
        for statement in create_statements(table, dialect):
            op.execute(statement)
    op.create_table('ballot_sheets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('register_voter_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('collected_by_id', sa.Integer(), nullable=True),
    sa.Column('status_at', sa.DateTime(), nullable=True),
    sa.Column('first_entry', sa.JSON(), nullable=True),
    sa.Column('first_by_id', sa.Integer(), nullable=True),
    sa.Column('second_entry', sa.JSON(), nullable=True),
    sa.Column('second_by_id', sa.Integer(), nullable=True),
    sa.Column('third_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['collected_by_id'], ['users.id'], name=op.f('fk_ballot_sheets_collected_by_id_users')),
    sa.ForeignKeyConstraint(['first_by_id'], ['users.id'], name=op.f('fk_ballot_sheets_first_by_id_users')),
    sa.ForeignKeyConstraint(['measure_id'], ['measures.id'], name=op.f('fk_ballot_sheets_measure_id_measures')),
    sa.ForeignKeyConstraint(['register_voter_id'], ['register_voters.id'],
                            name=op.f('fk_ballot_sheets_register_voter_id_register_voters')),
    sa.ForeignKeyConstraint(['second_by_id'], ['users.id'], name=op.f('fk_ballot_sheets_second_by_id_users')),
    sa.ForeignKeyConstraint(['third_by_id'], ['users.id'], name=op.f('fk_ballot_sheets_third_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_sheets')),
    sa.UniqueConstraint('code', name=op.f('uq_ballot_sheets_code')),
    sa.UniqueConstraint('register_voter_id', name=op.f('uq_ballot_sheets_register_voter_id'))
    )
    with op.batch_alter_table('ballot_sheets') as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_sheets_measure_id'), ['measure_id'], unique=False)
    op.create_table('scrutineers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('named_by_id', sa.Integer(), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['measure_id'], ['measures.id'], name=op.f('fk_scrutineers_measure_id_measures')),
    sa.ForeignKeyConstraint(['named_by_id'], ['users.id'], name=op.f('fk_scrutineers_named_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_scrutineers_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scrutineers')),
    sa.UniqueConstraint('measure_id', 'user_id', name=op.f('uq_scrutineers_measure_id_user_id'))
    )
    with op.batch_alter_table('scrutineers') as batch_op:
        batch_op.create_index(batch_op.f('ix_scrutineers_measure_id'), ['measure_id'], unique=False)
    # A plain column, no foreign key: on SQLite the ballots table is WITHOUT ROWID, which a batch
    # rebuild would not keep; ALTER TABLE ADD COLUMN leaves the table as it is.
    op.add_column('ballots', sa.Column('register_voter_id', sa.Integer(), nullable=True))


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in ('eligibilities', 'register_voters', 'register_votes'):
        for statement in drop_statements(table, dialect):
            op.execute(statement)
    op.drop_column('ballots', 'register_voter_id')
    with op.batch_alter_table('eligibilities') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_eligibilities_register_voter_id_register_voters'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_eligibilities_register_voter_id'))
        batch_op.drop_column('register_voter_id')
    for statement in create_statements('eligibilities', dialect):
        op.execute(statement)
    op.drop_table('scrutineers')
    op.drop_table('ballot_sheets')
    op.drop_table('register_votes')
    op.drop_table('register_voters')
    with op.batch_alter_table('conventions') as batch_op:
        batch_op.drop_column('kind')
    with op.batch_alter_table('units') as batch_op:
        batch_op.drop_column('developer_held')
        batch_op.drop_column('owner_name')
