"""calls: the console's call attempts and what was said on them (call-assist)

Attempts were counted from `call_attempted` audit events until now; those are copied in as calls of unknown
outcome, and `phone_conversation` events as conversations, so the 7-in-7 rule keeps counting them.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('disposition', sa.String(length=16), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disclosure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('validation_notice_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_sid'),
    )
    op.create_index('ix_calls_account_id', 'calls', ['account_id'])
    op.create_index('ix_calls_started_at', 'calls', ['started_at'])
    op.create_table('call_utterances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('speaker', sa.String(length=8), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('intent', sa.String(length=48), nullable=True),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=120), nullable=True),
    sa.Column('said_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id'),
    )
    op.create_index('ix_call_utterances_call_id', 'call_utterances', ['call_id'])
    # The attempts recorded before calls had a table of their own (see the docstring).
    op.execute("""
        INSERT INTO calls (account_id, agent, phone, outcome, started_at, ended_at)
        SELECT account_id, substr(actor, 1, 64), '',
               CASE WHEN action = 'phone_conversation' THEN 'conversation' END, occurred_at, occurred_at
        FROM audit_events
        WHERE action IN ('call_attempted', 'phone_conversation') AND account_id IS NOT NULL
    """)


def downgrade() -> None:
    op.drop_index('ix_call_utterances_call_id', 'call_utterances')
    op.drop_table('call_utterances')
    op.drop_index('ix_calls_started_at', 'calls')
    op.drop_index('ix_calls_account_id', 'calls')
    op.drop_table('calls')
