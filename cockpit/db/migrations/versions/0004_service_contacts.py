"""customer-service contacts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('service_contacts',
    sa.Column('contact_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('ts_utc', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('handled_by', sa.String(length=8), nullable=False),
    sa.Column('first_response_s', sa.Integer(), nullable=True),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.Column('resolved_ts_utc', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_service_contacts'))
    )
    op.create_index(op.f('ix_service_contacts_customer_id'), 'service_contacts', ['customer_id'], unique=False)
    op.create_index(op.f('ix_service_contacts_ts_utc'), 'service_contacts', ['ts_utc'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_service_contacts_ts_utc'), table_name='service_contacts')
    op.drop_index(op.f('ix_service_contacts_customer_id'), table_name='service_contacts')
    op.drop_table('service_contacts')
