"""payments: money received, matched or not; what agreements came to; the daily run's messages; an index on
upper(account_ref), which every reference lookup compares

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_AGREEMENTS = ('plans', 'settlements', 'promises')


def upgrade() -> None:
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=140), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('account_ref_given', sa.String(length=64), nullable=True),
    sa.Column('remittance', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('unmatched_reason', sa.Text(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assigned_by', sa.String(length=64), nullable=True),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference'),
    )
    op.create_index('ix_payments_account_id', 'payments', ['account_id'])
    op.create_index('ix_payments_paid_on', 'payments', ['paid_on'])
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key'),
    )
    op.create_index('ix_notifications_account_id', 'notifications', ['account_id'])
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('written_off_minor', sa.BigInteger(), nullable=False, server_default='0'))
    # Account references are looked up without regard to case: every import and turn compares upper(account_ref).
    op.create_index('ix_accounts_account_ref_upper', 'accounts', [sa.text('upper(account_ref)')])
    with op.batch_alter_table('installments') as batch:
        batch.add_column(sa.Column('paid_minor', sa.BigInteger(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('paid_on', sa.Date(), nullable=True))
    for table in _AGREEMENTS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('ended_on', sa.Date(), nullable=True))
            batch.add_column(sa.Column('end_reason', sa.Text(), nullable=True))
            batch.add_column(sa.Column('told_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in _AGREEMENTS:
        with op.batch_alter_table(table) as batch:
            for column in ('told_at', 'end_reason', 'ended_on'):
                batch.drop_column(column)
    with op.batch_alter_table('installments') as batch:
        batch.drop_column('paid_on')
        batch.drop_column('paid_minor')
    op.drop_index('ix_accounts_account_ref_upper', 'accounts')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('written_off_minor')
    op.drop_index('ix_notifications_account_id', 'notifications')
    op.drop_table('notifications')
    op.drop_index('ix_payments_paid_on', 'payments')
    op.drop_index('ix_payments_account_id', 'payments')
    op.drop_table('payments')
