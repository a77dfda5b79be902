"""Index items by status and age, for the recovery sweep's query.

Revision ID: 0001_status_index
Revises: 0001
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001_status_index"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The sweep asks for pending items older than a point in time, oldest first.
    op.create_index(op.f("ix_items_status_created_at"), "items", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_items_status_created_at"), table_name="items")
