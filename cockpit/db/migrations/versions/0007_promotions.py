"""promotions calendar (past and planned promotion days)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('promotions',
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('first_day', sa.BigInteger(), nullable=False),
    sa.Column('last_day', sa.BigInteger(), nullable=False),
    sa.Column('expected_uplift', sa.Float(), nullable=True),
    sa.Column('created_ts_utc', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('promotion_id', name=op.f('pk_promotions')),
    sa.UniqueConstraint('name', 'first_day', name=op.f('uq_promotions_name_first_day'))
    )


def downgrade() -> None:
    op.drop_table('promotions')
