"""customer value scores (RFM segment, CLV, p-alive) stored by the scheduler

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('customer_scores',
    sa.Column('as_of_day', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('recency_days', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('monetary', sa.Float(), nullable=False),
    sa.Column('r_score', sa.Integer(), nullable=False),
    sa.Column('f_score', sa.Integer(), nullable=False),
    sa.Column('m_score', sa.Integer(), nullable=False),
    sa.Column('segment', sa.String(length=32), nullable=False),
    sa.Column('p_alive', sa.Float(), nullable=True),
    sa.Column('expected_purchases', sa.Float(), nullable=True),
    sa.Column('expected_spend', sa.Float(), nullable=True),
    sa.Column('clv', sa.Float(), nullable=True),
    sa.Column('computed_ts_utc', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('as_of_day', 'customer_id', name=op.f('pk_customer_scores'))
    )
    op.create_index(op.f('ix_customer_scores_customer_id'), 'customer_scores', ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_customer_scores_customer_id'), table_name='customer_scores')
    op.drop_table('customer_scores')
