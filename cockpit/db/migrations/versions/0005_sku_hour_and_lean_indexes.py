"""agg_sku_hour (hourly rollup of agg_sku_minute, backfilled); drop indexes no query uses

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

ix_sessions_visitor: no query looks sessions up by visitor, and with returning visitors'
random keys it dirtied a page per insert once it outgrew a minute's rows (966 of a peak
refresh's 2,958 written pages at 10M events of history). ix_order_lines_order repeats the
primary key's first column. ix_order_lines_sku served only the incident scenario's one-off
read, which finds the same lines through orders' time index.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('agg_sku_hour',
    sa.Column('hour_utc', sa.BigInteger(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('warehouse_id', sa.String(length=32), nullable=False),
    sa.Column('units_sold', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Float(), nullable=False),
    sa.Column('units_returned', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('hour_utc', 'sku', 'warehouse_id', name=op.f('pk_agg_sku_hour'))
    )
    # Existing databases: the rollup starts equal to the minute table.
    op.execute(
        "INSERT INTO agg_sku_hour (hour_utc, sku, warehouse_id, units_sold, revenue, units_returned) "
        "SELECT minute_utc / 60, sku, warehouse_id, SUM(units_sold), SUM(revenue), SUM(units_returned) "
        "FROM agg_sku_minute GROUP BY minute_utc / 60, sku, warehouse_id"
    )
    # Plain DROP INDEX (no batch mode): SQLite must not copy these tables to drop an index.
    op.drop_index('ix_sessions_visitor', table_name='sessions')
    op.drop_index('ix_order_lines_order', table_name='order_lines')
    op.drop_index(op.f('ix_order_lines_sku'), table_name='order_lines')


def downgrade() -> None:
    op.create_index(op.f('ix_order_lines_sku'), 'order_lines', ['sku'], unique=False)
    op.create_index('ix_order_lines_order', 'order_lines', ['order_id'], unique=False)
    op.create_index('ix_sessions_visitor', 'sessions', ['visitor_id'], unique=False)
    op.drop_table('agg_sku_hour')
