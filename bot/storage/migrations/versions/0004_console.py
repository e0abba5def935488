"""console: agents, their sessions and tokens, login attempts, approvals, notes, offers; handoff outcomes

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_AGREEMENTS = ('plans', 'settlements', 'promises')


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('login'),
    )
    op.create_table('agent_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['login'], ['agents.login']),
    sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_agent_tokens_login', 'agent_tokens', ['login'])
    op.create_table('console_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['login'], ['agents.login']),
    sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_console_sessions_login', 'console_sessions', ['login'])
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('client', sa.String(length=200), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_attempts_login', 'login_attempts', ['login'])
    op.create_index('ix_login_attempts_client', 'login_attempts', ['client'])
    op.create_index('ix_login_attempts_attempted_at', 'login_attempts', ['attempted_at'])
    op.create_table('approval_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('handoff_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
    sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id']),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_approval_requests_account_id', 'approval_requests', ['account_id'])
    op.create_index('ix_approval_requests_handoff_id', 'approval_requests', ['handoff_id'])
    op.create_table('staff_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('handoff_id', sa.Integer(), nullable=True),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
    sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id']),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_staff_notes_account_id', 'staff_notes', ['account_id'])
    op.create_index('ix_staff_notes_handoff_id', 'staff_notes', ['handoff_id'])
    op.create_table('console_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('offered_by', sa.String(length=64), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_console_offers_conversation_id', 'console_offers', ['conversation_id'])
    with op.batch_alter_table('handoffs') as batch:
        batch.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('disposition', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch.add_column(sa.Column('callback_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_handoffs_callback_at', 'handoffs', ['callback_at'])
    op.create_index('ix_handoffs_status', 'handoffs', ['status'])
    for table in _AGREEMENTS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('requested_by', sa.String(length=100), nullable=True))


def downgrade() -> None:
    for table in _AGREEMENTS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('requested_by')
    op.drop_index('ix_handoffs_status', 'handoffs')
    op.drop_index('ix_handoffs_callback_at', 'handoffs')
    with op.batch_alter_table('handoffs') as batch:
        for column in ('callback_at', 'note', 'disposition', 'assigned_at'):
            batch.drop_column(column)
    op.drop_index('ix_console_offers_conversation_id', 'console_offers')
    op.drop_table('console_offers')
    op.drop_index('ix_staff_notes_handoff_id', 'staff_notes')
    op.drop_index('ix_staff_notes_account_id', 'staff_notes')
    op.drop_table('staff_notes')
    op.drop_index('ix_approval_requests_handoff_id', 'approval_requests')
    op.drop_index('ix_approval_requests_account_id', 'approval_requests')
    op.drop_table('approval_requests')
    for index in ('ix_login_attempts_attempted_at', 'ix_login_attempts_client', 'ix_login_attempts_login'):
        op.drop_index(index, 'login_attempts')
    op.drop_table('login_attempts')
    op.drop_index('ix_console_sessions_login', 'console_sessions')
    op.drop_table('console_sessions')
    op.drop_index('ix_agent_tokens_login', 'agent_tokens')
    op.drop_table('agent_tokens')
    op.drop_table('agents')
