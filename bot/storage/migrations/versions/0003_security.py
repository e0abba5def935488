"""security: verification attempts, SMS consent by number, seen message ids, offered choices, run locks

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('verification_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('client', sa.String(length=200), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_verification_attempts_reference', 'verification_attempts', ['reference'])
    op.create_index('ix_verification_attempts_client', 'verification_attempts', ['client'])
    op.create_index('ix_verification_attempts_attempted_at', 'verification_attempts', ['attempted_at'])
    op.create_table('sms_consents',
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('phone'),
    )
    op.create_table('inbound_messages',
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_id'),
    )
    op.create_table('offered_choices',
    sa.Column('conversation_id', sa.String(length=200), nullable=False),
    sa.Column('payloads', sa.JSON(), nullable=False),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id'),
    )
    op.create_table('run_locks',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    for table in ('run_locks', 'offered_choices', 'inbound_messages', 'sms_consents'):
        op.drop_table(table)
    op.drop_index('ix_verification_attempts_attempted_at', 'verification_attempts')
    op.drop_index('ix_verification_attempts_client', 'verification_attempts')
    op.drop_index('ix_verification_attempts_reference', 'verification_attempts')
    op.drop_table('verification_attempts')
