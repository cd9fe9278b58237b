"""agg_sku_day (daily rollup of agg_sku_minute, backfilled) and view_snapshots

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('agg_sku_day',
    sa.Column('day_utc', sa.BigInteger(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('warehouse_id', sa.String(length=32), nullable=False),
    sa.Column('units_sold', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Float(), nullable=False),
    sa.Column('units_returned', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day_utc', 'sku', 'warehouse_id', name=op.f('pk_agg_sku_day'))
    )
    # Existing databases: the rollup starts equal to the minute table.
    op.execute(
        "INSERT INTO agg_sku_day (day_utc, sku, warehouse_id, units_sold, revenue, units_returned) "
        "SELECT minute_utc / 1440, sku, warehouse_id, SUM(units_sold), SUM(revenue), SUM(units_returned) "
        "FROM agg_sku_minute GROUP BY minute_utc / 1440, sku, warehouse_id"
    )
    op.create_table('view_snapshots',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('params', sa.String(length=200), nullable=False),
    sa.Column('data_minute_utc', sa.BigInteger(), nullable=False),
    sa.Column('published_ts_utc', sa.Float(), nullable=False),
    sa.Column('compute_ms', sa.Float(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('name', 'params', name=op.f('pk_view_snapshots'))
    )


def downgrade() -> None:
    op.drop_table('view_snapshots')
    op.drop_table('agg_sku_day')
