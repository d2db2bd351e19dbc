"""item revisions (issue 19)

Revision ID: 0010_deadends
Revises: 0009_conventions
Create Date: 2026-11-30 08:05:00

"""
from alembic import op
import sqlalchemy as sa

from deliberation.append_only import create_statements, drop_statements


revision = "0010_deadends"
down_revision = '0010_reach'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "item_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["agenda_items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "number"),
    )
    with op.batch_alter_table("item_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_revisions_item_id"), ["item_id"], unique=False)
    for statement in create_statements("item_revisions", op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in drop_statements("item_revisions", op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table("item_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_revisions_item_id"))
    op.drop_table("item_revisions")
