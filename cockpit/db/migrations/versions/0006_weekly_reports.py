"""reports archive (weekly operations health reports)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('weekly_reports',
    sa.Column('week_start_day', sa.BigInteger(), nullable=False),
    sa.Column('created_ts_utc', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('data_minute_utc', sa.BigInteger(), nullable=False),
    sa.Column('findings_json', sa.Text(), nullable=False),
    sa.Column('figures_json', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('week_start_day')
    )


def downgrade() -> None:
    op.drop_table('weekly_reports')
