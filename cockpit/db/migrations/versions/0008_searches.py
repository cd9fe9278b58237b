"""searches: one row per searching session (trend detection)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('searches',
    sa.Column('session_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('ts_utc', sa.BigInteger(), nullable=False),
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('session_id')
    )
    op.create_index(op.f('ix_searches_ts_utc'), 'searches', ['ts_utc'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_searches_ts_utc'), table_name='searches')
    op.drop_table('searches')
