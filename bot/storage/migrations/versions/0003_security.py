"""security: verification attempts, SMS consent by number, seen message ids, offered choices, run locks

Revision ID: 0003
Revises: 0002
"""
from datetime import UTC

import sqlalchemy as sa
from alembic import op

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
    # cases and races: room for the `deceased_reported` flag (17 characters)
    with op.batch_alter_table('account_flags') as batch:
        batch.alter_column('flag', existing_type=sa.String(length=16), type_=sa.String(length=32),
                           existing_nullable=False)
    # phones and opt-outs: stored numbers in E.164, and opt-outs moved to sms_consents, the one place they are kept
    _phones_upgrade()


def downgrade() -> None:
    # phones and opt-outs: opt-outs back onto the contact points (the numbers stay in E.164)
    _phones_downgrade()
    # cases and races
    with op.batch_alter_table('account_flags') as batch:
        batch.alter_column('flag', existing_type=sa.String(length=32), type_=sa.String(length=16),
                           existing_nullable=False)
    for table in ('run_locks', 'offered_choices', 'inbound_messages', 'sms_consents'):
        op.drop_table(table)
    op.drop_index('ix_verification_attempts_attempted_at', 'verification_attempts')
    op.drop_index('ix_verification_attempts_client', 'verification_attempts')
    op.drop_index('ix_verification_attempts_reference', 'verification_attempts')
    op.drop_table('verification_attempts')


# ---- phones and opt-outs --------------------------------------------------------------------------------

def _phones_upgrade() -> None:
    """Phone contact points in E.164, read in the debtor's country (typed numbers were kept without it), and
    every number opted out on any record given an sms_consents row: no opt-out is lost in the move.

    A typed number that turns out to be one the debtor already has is merged into it (a contact point is
    unique per debtor), keeping a wrong-party mark."""
    from datetime import datetime

    from bot.domain.phones import region_of_timezone, to_e164

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT c.id, c.debtor_id, c.value, c.status, c.sms_opt_out, d.timezone FROM contact_points c"
        " JOIN debtors d ON d.id = c.debtor_id WHERE c.kind = 'phone' ORDER BY c.id")).fetchall()
    kept: dict[tuple[int, str], int] = {}  # (debtor, number) -> the contact point that keeps it
    for point_id, debtor_id, value, *_ in rows:
        kept.setdefault((debtor_id, value), point_id)  # numbers already in E.164 keep their row
    opted_out: set[str] = set()
    for point_id, debtor_id, value, status, point_opted_out, zone in rows:
        number = to_e164(value, region_of_timezone(zone))
        if number is None:
            continue  # not a phone number: it cannot be texted, so it has no consent to keep
        if point_opted_out:
            opted_out.add(number)
        if number == value:
            continue
        keeper = kept.setdefault((debtor_id, number), point_id)
        if keeper == point_id:
            bind.execute(sa.text("UPDATE contact_points SET value = :value WHERE id = :id"),
                         {"value": number, "id": point_id})
        else:
            if status == "wrong":
                bind.execute(sa.text("UPDATE contact_points SET status = 'wrong' WHERE id = :id"), {"id": keeper})
            bind.execute(sa.text("DELETE FROM contact_points WHERE id = :id"), {"id": point_id})
    now = datetime.now(UTC)
    for number in sorted(opted_out):
        bind.execute(sa.text("INSERT INTO sms_consents (phone, opted_out, updated_at) VALUES (:phone, :yes, :now)"),
                     {"phone": number, "yes": True, "now": now})


def _phones_downgrade() -> None:
    op.get_bind().execute(sa.text(
        "UPDATE contact_points SET sms_opt_out = :yes WHERE kind = 'phone'"
        " AND value IN (SELECT phone FROM sms_consents WHERE opted_out = :yes)"), {"yes": True})
