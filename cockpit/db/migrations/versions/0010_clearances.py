"""clearances: flash sales and community clearances of slow movers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('clearances',
    sa.Column('clearance_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('discount_pct', sa.Float(), nullable=False),
    sa.Column('start_ts_utc', sa.BigInteger(), nullable=False),
    sa.Column('end_ts_utc', sa.BigInteger(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('clearance_id'),
    sa.UniqueConstraint('action_id')
    )
    op.create_index(op.f('ix_clearances_sku'), 'clearances', ['sku'], unique=False)
    op.create_index(op.f('ix_clearances_end_ts_utc'), 'clearances', ['end_ts_utc'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_clearances_end_ts_utc'), table_name='clearances')
    op.drop_index(op.f('ix_clearances_sku'), table_name='clearances')
    op.drop_table('clearances')
