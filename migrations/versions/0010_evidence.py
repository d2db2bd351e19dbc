"""evidence: attachments on items, reviews, conventions and meetings; the projected attachment

Revision ID: 0010_evidence
Revises: 0009_conventions
Create Date: 2026-11-30 07:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_evidence'
down_revision = '0010_secrecy'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('uploader_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=130), nullable=False),
    sa.Column('alt_text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mimetype', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('fallback_sha256', sa.String(length=64), nullable=True),
    sa.Column('fallback_mimetype', sa.String(length=40), nullable=True),
    sa.Column('thumb_sha256', sa.String(length=64), nullable=True),
    sa.Column('thumb_fallback_sha256', sa.String(length=64), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('page_count', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_attachments_community_id_communities')),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name=op.f('fk_attachments_uploader_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_community_id'), ['community_id'], unique=False)
        batch_op.create_index('ix_attachments_target', ['target', 'target_id', 'id'], unique=False)

    op.create_table('projections',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('shown_by_id', sa.Integer(), nullable=False),
    sa.Column('shown_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_projections_attachment_id_attachments')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_projections_meeting_id_meetings')),
    sa.ForeignKeyConstraint(['shown_by_id'], ['users.id'], name=op.f('fk_projections_shown_by_id_users')),
    sa.PrimaryKeyConstraint('meeting_id', name=op.f('pk_projections'))
    )


def downgrade():
    op.drop_table('projections')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_target')
        batch_op.drop_index(batch_op.f('ix_attachments_community_id'))
    op.drop_table('attachments')
