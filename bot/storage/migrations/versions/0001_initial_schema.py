"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 10:36:53.988314
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('creditors',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('debtors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('postcode', sa.String(length=20), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'date_of_birth', 'postcode', name='uq_debtor_identity')
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_ref', sa.String(length=64), nullable=False),
    sa.Column('creditor_id', sa.String(length=64), nullable=False),
    sa.Column('debtor_id', sa.Integer(), nullable=False),
    sa.Column('original_creditor', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('principal_minor', sa.BigInteger(), nullable=False),
    sa.Column('interest_minor', sa.BigInteger(), nullable=False),
    sa.Column('fees_minor', sa.BigInteger(), nullable=False),
    sa.Column('paid_minor', sa.BigInteger(), nullable=False),
    sa.Column('placed_on', sa.Date(), nullable=False),
    sa.Column('validation_ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['creditor_id'], ['creditors.id'], ),
    sa.ForeignKeyConstraint(['debtor_id'], ['debtors.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_ref')
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_creditor_id'), ['creditor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_debtor_id'), ['debtor_id'], unique=False)

    op.create_table('contact_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('debtor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=320), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sms_opt_out', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['debtor_id'], ['debtors.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('debtor_id', 'kind', 'value', name='uq_contact_point')
    )
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_points_debtor_id'), ['debtor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_points_value'), ['value'], unique=False)

    op.create_table('account_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('flag', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_flags_account_id'), ['account_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disputes_account_id'), ['account_id'], unique=False)

    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('assigned_to', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoffs_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoffs_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('plans',
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('authorized_tier', sa.String(length=16), nullable=False),
    sa.Column('authorized_actor', sa.String(length=100), nullable=False),
    sa.Column('policy_snapshot', sa.JSON(), nullable=False),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('request_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['plans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_key')
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plans_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('promises',
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('authorized_tier', sa.String(length=16), nullable=False),
    sa.Column('authorized_actor', sa.String(length=100), nullable=False),
    sa.Column('policy_snapshot', sa.JSON(), nullable=False),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('request_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('pay_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_key')
    )
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promises_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promises_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('settlements',
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('authorized_tier', sa.String(length=16), nullable=False),
    sa.Column('authorized_actor', sa.String(length=100), nullable=False),
    sa.Column('policy_snapshot', sa.JSON(), nullable=False),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('request_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('discount_basis_points', sa.Integer(), nullable=False),
    sa.Column('pay_by', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_key')
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlements_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlements_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('installments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'sequence', name='uq_installment_sequence')
    )
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_installments_plan_id'), ['plan_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_installments_plan_id'))

    op.drop_table('installments')
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlements_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_settlements_account_id'))

    op.drop_table('settlements')
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promises_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_promises_account_id'))

    op.drop_table('promises')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_plans_account_id'))

    op.drop_table('plans')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoffs_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_handoffs_account_id'))

    op.drop_table('handoffs')
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disputes_account_id'))

    op.drop_table('disputes')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))
        batch_op.drop_index(batch_op.f('ix_audit_events_account_id'))

    op.drop_table('audit_events')
    with op.batch_alter_table('account_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_flags_account_id'))

    op.drop_table('account_flags')
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_points_value'))
        batch_op.drop_index(batch_op.f('ix_contact_points_debtor_id'))

    op.drop_table('contact_points')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_debtor_id'))
        batch_op.drop_index(batch_op.f('ix_accounts_creditor_id'))

    op.drop_table('accounts')
    op.drop_table('debtors')
    op.drop_table('creditors')
