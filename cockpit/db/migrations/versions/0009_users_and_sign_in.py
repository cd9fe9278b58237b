"""users, sign-in attempts, sessions and display tokens (sign-in and roles)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_ts_utc', sa.BigInteger(), nullable=False),
    sa.Column('updated_ts_utc', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_users'))
    )
    op.create_table('sign_in_attempts',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('ts_utc', sa.BigInteger(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_sign_in_attempts'))
    )
    op.create_index('ix_sign_in_attempts_username_ts', 'sign_in_attempts', ['username', 'ts_utc'], unique=False)
    op.create_table('auth_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('created_ts_utc', sa.BigInteger(), nullable=False),
    sa.Column('expires_ts_utc', sa.BigInteger(), nullable=False),
    sa.Column('ended_ts_utc', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_auth_sessions'))
    )
    op.create_index(op.f('ix_auth_sessions_username'), 'auth_sessions', ['username'], unique=False)
    op.create_table('display_tokens',
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_ts_utc', sa.BigInteger(), nullable=False),
    sa.Column('revoked_ts_utc', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('label', name=op.f('pk_display_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_display_tokens_token_hash'))
    )


def downgrade() -> None:
    op.drop_table('display_tokens')
    op.drop_index(op.f('ix_auth_sessions_username'), table_name='auth_sessions')
    op.drop_table('auth_sessions')
    op.drop_index('ix_sign_in_attempts_username_ts', table_name='sign_in_attempts')
    op.drop_table('sign_in_attempts')
    op.drop_table('users')
