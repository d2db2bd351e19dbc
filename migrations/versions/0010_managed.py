"""managed residents: acts staff entered for them, and claiming the account

Revision ID: 0010_managed
Revises: 0009_conventions

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_managed'
down_revision = '0010_evidence'
branch_labels = None
depends_on = None

# Tables that gain "entered by staff" (for a member without a phone).
ENTERED_BY = ('agenda_items', 'supports', 'comments', 'meeting_rsvps')


def upgrade():
    for table in ENTERED_BY:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_entered_by_id_users'), 'users',
                                        ['entered_by_id'], ['id'])

    op.create_table('account_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_account_claims_community_id_communities')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_account_claims_decided_by_id_users')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_account_claims_started_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_claims_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_claims')),
    sa.UniqueConstraint('code_sha256', name=op.f('uq_account_claims_code_sha256'))
    )
    with op.batch_alter_table('account_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_claims_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('account_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_claims_user_id'))
    op.drop_table('account_claims')
    for table in reversed(ENTERED_BY):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_entered_by_id_users'), type_='foreignkey')
            batch_op.drop_column('entered_by_id')
