"""languages: each user's interface language; alert and action messages kept as data to show in any language

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('message_args', sa.Text(), nullable=True))
    with op.batch_alter_table('actions') as batch:
        batch.add_column(sa.Column('message_args', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('actions') as batch:
        batch.drop_column('message_args')
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('message_args')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('language')
