"""Command line for operations: `python -m bot COMMAND` (SPEC section 5).

Exit status: 0 done; 1 refused (bad input: a file, a value; nothing was changed); 2 usage (arguments);
3 unknown reference; 4 not authorised; 5 the database is not ready (no file or no tables, or an older schema:
run `python -m bot migrate`); 6 the database cannot be reached or DATABASE_URL is not a database URL;
7 another setting is wrong; 70 an unexpected failure (one line; BOT_DEBUG=1 shows the traceback); 130
interrupted. Whatever goes wrong, the operator gets one line on stderr, never a traceback (`main`).
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import PROJECT_ROOT, ConfigError, database_url, retention_days
from bot.domain.cases import DEATH_REPORT_DECISIONS
from bot.domain.console import ROLES
from bot.domain.dates import DateError, format_date, parse_iso_date
from bot.domain.money import MoneyError, format_money, parse_amount
from bot.domain.negotiation import (
    NotAuthorised,
    PlanTerms,
    PromiseTerms,
    SettlementTerms,
    plan_by_monthly,
    plan_by_months,
)
from bot.domain.policy import TIERS
from bot.importing import ImportRejected
from bot.services import accounts, agreements, audit, cases, imports, negotiation
from bot.services.imports import ImportSummary
from bot.services.unit_of_work import SqlUnitOfWork, utcnow
from bot.storage import migrate
from bot.storage.db import database_failure, database_shown

if TYPE_CHECKING:
    from bot.services.reminders import Outcome, ReminderPlan
    from bot.sms.gateway import SmsGateway

DEMO = PROJECT_ROOT / "bot" / "demo"
EXIT_REJECTED, EXIT_USAGE, EXIT_UNKNOWN, EXIT_NOT_AUTHORISED = 1, 2, 3, 4
EXIT_DATABASE_NOT_READY, EXIT_DATABASE_UNAVAILABLE, EXIT_CONFIGURATION = 5, 6, 7
EXIT_INTERNAL, EXIT_INTERRUPTED = 70, 130
# Commands that work without our database, or make it: every other one checks it first.
WITHOUT_DATABASE = frozenset({"migrate", "prepare", "sms", "api-token"})


def _import(kind: str, action: Callable[[SqlUnitOfWork], ImportSummary]) -> int:
    """Run an import in its own transaction: all of the file or none of it."""
    try:
        with SqlUnitOfWork() as uow:
            summary = action(uow)
    except ImportRejected as rejected:
        if len(rejected.problems) == 1 and not rejected.problems[0].line:  # the file itself: one line
            print(f"{kind}: nothing imported: {rejected.problems[0]}", file=sys.stderr)
            return EXIT_REJECTED
        print(f"{kind}: nothing imported; {len(rejected.problems)} problem(s):", file=sys.stderr)
        for problem in rejected.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_REJECTED
    print(f"{kind}: {summary}")
    return 0


def cmd_import_policies(args: argparse.Namespace) -> int:
    """Import creditors and their policies."""
    return _import("policies", lambda uow: imports.import_policies(uow, Path(args.file)))


def cmd_import_accounts(args: argparse.Namespace) -> int:
    """Import placed accounts."""
    return _import("accounts", lambda uow: imports.import_accounts(uow, Path(args.file), uow.now().date()))


def _print_account(overview: accounts.Overview) -> None:
    statement = overview.statement

    def money(amount: Decimal) -> str:
        return format_money(amount, statement.currency)

    print(f"{statement.account_ref}  {overview.debtor_name}  [{overview.status}]")
    print(f"  creditor   {statement.creditor_name} (originally {statement.original_creditor})")
    print(f"  balance    {money(statement.balance)} = principal {money(statement.principal)}"
          f" + interest {money(statement.interest)} + fees {money(statement.fees)} - paid {money(statement.paid)}")
    print(f"  placed on  {format_date(statement.placed_on)}; validation period ends"
          f" {format_date(statement.validation_ends_on)}")


def cmd_account(args: argparse.Namespace) -> int:
    """Show an account, as text or as the JSON of SPEC section 5."""
    try:
        with SqlUnitOfWork() as uow:
            if args.json:
                print(json.dumps(accounts.account_view(uow, args.ref), indent=2))
            else:
                _print_account(accounts.overview(uow, args.ref))
    except accounts.UnknownAccount as error:
        print(error, file=sys.stderr)
        return EXIT_UNKNOWN
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Print an account's audit log, oldest first."""
    try:
        with SqlUnitOfWork() as uow:
            log = audit.log_of(uow, args.ref)
    except accounts.UnknownAccount as error:
        print(error, file=sys.stderr)
        return EXIT_UNKNOWN
    for entry in log:
        details = json.dumps(entry.details, sort_keys=True)
        print(f"{entry.occurred_at:%Y-%m-%d %H:%M:%S}Z  {entry.actor:<12} {entry.action:<20}"
              f" {entry.conversation_id or '-'}  {details}")
    return 0


def _terms_from_args(args: argparse.Namespace, account_ref: str) -> PlanTerms | SettlementTerms | PromiseTerms:
    context = negotiation.negotiable(SqlUnitOfWork(), account_ref)
    if args.kind == "plan":
        first_due = parse_iso_date(args.date)
        if args.months:
            return plan_by_months(context.balance, args.months, first_due, context.currency)
        return plan_by_monthly(context.balance, parse_amount(args.amount, context.currency), first_due,
                               context.currency)
    amount = parse_amount(args.amount, context.currency)
    return (SettlementTerms if args.kind == "settlement" else PromiseTerms)(amount, parse_iso_date(args.date))


def cmd_agree(args: argparse.Namespace) -> int:
    """Record an agreement made by a collector; the same authorisation check as the chat applies."""
    if args.kind == "plan" and not (args.months or args.amount) or args.kind != "plan" and not args.amount:
        print("a plan needs --months or --amount (monthly); a settlement or promise needs --amount", file=sys.stderr)
        return 2
    try:
        terms = _terms_from_args(args, args.ref)
        recorded = agreements.record(SqlUnitOfWork(locking=True), args.ref, terms,
                                     agreements.Actor(args.tier, args.actor), args.conversation)
    except accounts.UnknownAccount as error:
        print(error, file=sys.stderr)
        return EXIT_UNKNOWN
    except (MoneyError, DateError, agreements.CollectionPaused) as error:
        print(f"not recorded: {error}", file=sys.stderr)
        return EXIT_REJECTED
    except NotAuthorised as refused:
        print(f"not recorded: {refused}", file=sys.stderr)
        print(f"  needs: {refused.escalate_to or 'no tier may agree this'}", file=sys.stderr)
        return EXIT_NOT_AUTHORISED
    print(f"{recorded.kind} {recorded.id} {'already recorded' if recorded.duplicate else 'recorded'}")
    return 0


def cmd_resolve_dispute(args: argparse.Namespace) -> int:
    """A person's decision on a dispute: upheld closes the account, rejected (validation sent) resumes collection."""
    try:
        with SqlUnitOfWork() as uow:
            account_ref, status = cases.resolve_dispute(uow, args.reference, args.outcome, args.actor, args.note or "")
    except cases.UnknownDispute as error:
        print(error, file=sys.stderr)
        return EXIT_UNKNOWN
    except ValueError as error:
        print(f"not resolved: {error}", file=sys.stderr)
        return EXIT_REJECTED
    print(f"dispute {args.reference.upper()} {args.outcome}; account {account_ref} is now {status}")
    return 0


def cmd_death_report(args: argparse.Namespace) -> int:
    """A person's decision on a reported death: confirm sets `deceased` (collection stops), reject resumes it."""
    try:
        with SqlUnitOfWork() as uow:
            status = cases.decide_death_report(uow, args.ref, args.decision, args.actor, args.note or "")
    except accounts.UnknownAccount as error:
        print(error, file=sys.stderr)
        return EXIT_UNKNOWN
    except ValueError as error:
        print(f"not decided: {error}", file=sys.stderr)
        return EXIT_REJECTED
    print(f"death report on {args.ref.upper()} {args.decision}ed; the account is now {status}")
    return 0


def _parse_utc(text: str) -> datetime:
    """An ISO 8601 instant; one without an offset is taken as UTC."""
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _print_reminder_plan(plan: ReminderPlan) -> None:
    for reminder in plan.reminders:
        print(f"send {reminder.to} ({', '.join(reminder.account_refs)}) at {reminder.local_time}: {reminder.text}")
    for skip in plan.skipped:
        print(f"skip {skip.account_ref}: {skip.reason}")


def _sms_gateway(refusal: str) -> SmsGateway | None:
    """The SMS gateway the TWILIO_* settings describe, or None (said on stderr, after `refusal`) if they are wrong."""
    from bot.sms.gateway import SmsConfigError, SmsGateway, TwilioSettings

    try:
        return SmsGateway(TwilioSettings.from_env())
    except SmsConfigError as error:
        print(f"{refusal}: {error}", file=sys.stderr)
        return None


def cmd_remind(args: argparse.Namespace) -> int:
    """The reminder campaign: a first SMS to each account due for contact (SPEC 2.9, 7)."""
    from bot.services import reminders
    try:
        now = _parse_utc(args.now) if args.now else utcnow()
    except ValueError:
        print(f"--now must be an ISO 8601 time such as 2026-11-23T15:00:00Z, got {args.now!r}", file=sys.stderr)
        return EXIT_REJECTED
    if args.interval_days < 1:
        print("--interval-days must be at least 1", file=sys.stderr)
        return EXIT_REJECTED
    gateway = None
    if not args.dry_run:
        gateway = _sms_gateway("nothing sent")
        if gateway is None:
            return EXIT_REJECTED
    with SqlUnitOfWork(clock=lambda: now) as uow:
        plan = reminders.plan_reminders(uow, timedelta(days=args.interval_days))
    if args.dry_run:
        _print_reminder_plan(plan)
        print(f"dry run: {len(plan.reminders)} to send ({plan.accounts_covered} accounts),"
              f" {len(plan.skipped)} skipped; nothing sent, nothing recorded")
        return 0

    def progress(number: int, total: int, outcome: Outcome) -> None:
        refs = ", ".join(outcome.account_refs or outcome.reminder.account_refs)
        if outcome.sent:
            print(f"[{number}/{total}] sent to {outcome.reminder.to} ({refs})", flush=True)
        elif outcome.error:
            print(f"[{number}/{total}] FAILED to {outcome.reminder.to} ({refs}): {outcome.error}", file=sys.stderr,
                  flush=True)
        else:
            print(f"[{number}/{total}] not sent to {outcome.reminder.to} ({refs}): {outcome.withheld}", flush=True)

    # Each text is checked again just before it goes: at --now, or at the time it goes.
    assert gateway is not None  # not a dry run
    clock = (lambda: now) if args.now else utcnow
    try:
        outcomes = reminders.send_reminders(plan, gateway, units=lambda: SqlUnitOfWork(clock=clock),
                                            progress=progress)
    except (reminders.ReminderNotRecorded, reminders.RemindRunLocked) as error:
        print(f"stopped: {error}", file=sys.stderr)
        return EXIT_REJECTED
    sent = sum(o.sent for o in outcomes)
    failed = sum(o.error is not None for o in outcomes)
    withheld = len(outcomes) - sent - failed
    print(f"reminders: {sent} sent, {failed} failed, {withheld} no longer allowed; {len(plan.skipped)} accounts"
          f" skipped (--dry-run shows why)")
    return EXIT_REJECTED if failed else 0


def cmd_import_payments(args: argparse.Namespace) -> int:
    """Payments from a CSV or camt.053 file: every row reported; idempotent on the payment reference (SPEC 9)."""
    from bot.payments_files import PaymentFileError
    from bot.services import payments

    def progress(done: int, total: int) -> None:
        print(f"  {done:,} of {total:,} rows", file=sys.stderr, flush=True)

    try:
        report = payments.import_payments(SqlUnitOfWork(), Path(args.file), progress=progress)
    except PaymentFileError as error:
        print(f"payments: nothing imported: {error}", file=sys.stderr)
        return EXIT_REJECTED
    for row in report.rows:
        what = {"matched": f"matched {row.account_ref}", "already_had": "already had",
                "unmatched": f"UNMATCHED: {row.why}", "unreadable": f"UNREADABLE: {row.why}"}[row.outcome]
        print(f"line {row.line}: {row.reference or '-'}: {what}")
    counts = report.counts
    print(f"payments: {counts['matched']} matched, {counts['already_had']} already had, {counts['unmatched']}"
          f" unmatched (kept for a person to assign), {counts['unreadable']} unreadable")
    return 0


def cmd_daily(args: argparse.Namespace) -> int:
    """What payments did to agreements, then thanks and reminders (SPEC 9); safe to run twice."""
    from bot.services import daily
    from bot.storage.db import RunLocked

    try:
        as_of = parse_iso_date(args.as_of) if args.as_of else None
    except DateError as error:
        print(f"--as-of: {error}", file=sys.stderr)
        return EXIT_REJECTED
    gateway = None
    if not args.no_messages:
        gateway = _sms_gateway("nothing done")
        if gateway is None:
            return EXIT_REJECTED
    try:
        report = daily.run(as_of, gateway=gateway, progress=lambda line: print(line, flush=True))
    except RunLocked as locked:
        print(f"stopped: {locked}", file=sys.stderr)
        return EXIT_REJECTED
    for ref, change, why in report.changes:
        print(f"{ref}: {change.replace('_', ' ')}" + (f" ({why})" if why else ""))
    print(f"daily{' as of ' + report.as_of.isoformat() if report.as_of else ''}: {len(report.changes)} change(s),"
          f" {len(report.follow_ups)} message(s) due")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """report.html with charts and the same figures as CSV, for a period (SPEC 9)."""
    from bot.reports.render import write_report
    from bot.services import reports

    try:
        date_from, date_to = parse_iso_date(args.date_from), parse_iso_date(args.date_to)
    except DateError as error:
        print(f"report: {error}", file=sys.stderr)
        return EXIT_REJECTED
    try:
        figures = reports.figures(SqlUnitOfWork(), date_from, date_to, args.currency.upper())
    except ValueError as error:
        print(f"report: {error}", file=sys.stderr)
        return EXIT_REJECTED
    written = write_report(figures, Path(args.out))
    print(f"report: {len(written)} files in {args.out} ({', '.join(path.name for path in written)})")
    return 0


def cmd_bureau_export(args: argparse.Namespace) -> int:
    """The month's Metro 2 credit-bureau file, for the accounts the creditors' policies report (SPEC 9)."""
    from bot.bureau.metro2 import Metro2Error
    from bot.services import bureau

    try:
        as_of = parse_iso_date(args.as_of)
    except DateError as error:
        print(f"bureau-export: {error}", file=sys.stderr)
        return EXIT_REJECTED
    try:
        exported = bureau.export(SqlUnitOfWork(), as_of)
    except Metro2Error as error:
        print(f"bureau-export: nothing written: {error}", file=sys.stderr)
        return EXIT_REJECTED
    Path(args.out).write_text(exported.text, encoding="ascii", newline="")
    for ref, why in exported.skipped:
        print(f"{ref}: not reported: {why}")
    print(f"bureau-export: {len(exported.reported)} account(s) reported as of {as_of.isoformat()} in {args.out}")
    return 0


def cmd_legal_queue(_args: argparse.Namespace) -> int:
    """The accounts that qualify for legal review under their creditors' rules, the longest silent first."""
    from bot.services import legal

    candidates = legal.queue(SqlUnitOfWork())
    for candidate in candidates:
        print(f"{candidate.account_ref}  {format_money(candidate.balance, candidate.currency):>14}  {candidate.why}")
    print(f"legal queue: {len(candidates)} account(s)")
    return 0


def cmd_legal(args: argparse.Namespace) -> int:
    """A supervisor moves an account to legal: status legal, audited, the case bundle written (JSON and PDF)."""
    from bot.services import legal

    try:
        staff = legal.staff_for(SqlUnitOfWork(), args.by)
        moved = legal.move_to_legal(SqlUnitOfWork(locking=True), args.ref, staff, args.note or "",
                                    Path(args.out) if args.out else None)
    except legal.UnknownAccount as error:
        print(error, file=sys.stderr)
        return EXIT_UNKNOWN
    except legal.NotSupervisor as error:
        print(f"not moved: {error}", file=sys.stderr)
        return EXIT_NOT_AUTHORISED
    except legal.LegalError as error:
        print(f"not moved: {error}", file=sys.stderr)
        return EXIT_REJECTED
    print(f"{moved.account_ref} moved to legal by {moved.moved_by} (was {moved.was}): {moved.why}")
    print(f"  {moved.json_path}\n  {moved.pdf_path}")
    return 0


def cmd_sms(args: argparse.Namespace) -> int:
    """Text the assistant from the terminal: lines go to Rasa as Twilio webhooks, replies come from the stand-in.

    Development only: it signs with the development auth token (this checkout's secret) and reads replies
    from the Twilio stand-in, neither of which exists in production.
    """
    import requests

    from bot.config import ConfigError, is_production
    from bot.sms.gateway import DEV_STANDIN_URL, E164, SmsConfigError, TwilioSettings
    from bot.sms.standin import sent_messages, simulate_phone

    try:
        if is_production():
            print("`python -m bot sms` is for development: production has no Twilio stand-in to read replies"
                  " from (text the real number instead)", file=sys.stderr)
            return 2
        settings = TwilioSettings.from_env()
    except (SmsConfigError, ConfigError) as error:
        print(error, file=sys.stderr)
        return EXIT_REJECTED
    if not E164.match(args.number):
        print(f"the phone number must be E.164, such as +15551230001; got {args.number!r}", file=sys.stderr)
        return EXIT_REJECTED
    standin_url = args.standin_url or settings.api_base_url or DEV_STANDIN_URL
    try:
        sent_messages(standin_url)
    except requests.RequestException as error:
        print(f"the Twilio stand-in does not answer at {standin_url} (`make run` starts it in development,"
              f" or `python -m bot.sms.standin`): {error}", file=sys.stderr)
        return EXIT_REJECTED
    return simulate_phone(args.number, sys.stdin, sys.stdout, settings=settings, rasa_url=args.rasa_url,
                          standin_url=standin_url, prompt=sys.stdin.isatty())


def cmd_erase(args: argparse.Namespace) -> int:
    """Remove a debtor's personal data (SPEC 10): on every account of theirs, since it is theirs, not the account's."""
    from bot.services import erasure

    try:
        with SqlUnitOfWork() as uow:
            erased = erasure.erase(uow, args.ref, args.actor)
    except accounts.UnknownAccount as error:
        print(error, file=sys.stderr)
        return EXIT_UNKNOWN
    erasure.forget_broker_copies(conversation_ids=erased.conversation_ids)
    counts = erased.counts()
    print(f"erased the personal data of the debtor of {args.ref.strip().upper()} on {len(erased.account_refs)}"
          f" account(s): {', '.join(erased.account_refs)} ({counts['conversations']} conversation(s),"
          f" {counts['conversation_events_deleted']} conversation event(s) deleted, {counts['contact_points_deleted']}"
          f" contact point(s) deleted, {counts['audit_entries_scrubbed']} audit entr(ies) cleared); amounts,"
          f" agreements and the audit trail are kept")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete conversation texts, verification attempts and offered choices older than the retention."""
    from bot.services import erasure

    days = args.days if args.days is not None else retention_days()
    if days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return EXIT_REJECTED
    try:
        now = _parse_utc(args.now) if args.now else None
    except ValueError:
        print(f"--now must be an ISO 8601 time such as 2026-11-23T15:00:00Z, got {args.now!r}", file=sys.stderr)
        return EXIT_REJECTED
    with SqlUnitOfWork(clock=(lambda: now) if now else utcnow) as uow:
        purged = erasure.purge(uow, days, args.actor, dry_run=args.dry_run)
    if not args.dry_run:
        erasure.forget_broker_copies(before=purged.before)
    what = (f"{purged.conversation_events} conversation event(s), {purged.verification_attempts} verification"
            f" attempt(s), {purged.offered_choices} offered choice(s), {purged.call_utterances} call utterance(s)"
            f" older than {days} days"
            f" (before {purged.before:%Y-%m-%d %H:%M:%S} UTC)")
    print(f"dry run: would delete {what}; nothing deleted" if args.dry_run else f"purged {what}")
    return 0


def cmd_api_token(args: argparse.Namespace) -> int:
    """A short-lived Bearer token for the Rasa HTTP API, for curl (the API takes no token in a URL)."""
    from bot.config import ConfigError, rasa_api_token

    if args.minutes <= 0 or args.minutes > 24 * 60:
        print("--minutes must be between 1 and 1440", file=sys.stderr)
        return EXIT_REJECTED
    try:
        print(rasa_api_token(args.minutes))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


def _read_new_password() -> str | None:
    """The new password: the first line of stdin when it is not a terminal, else typed twice (None: they differ)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("password again: ") != first:
        return None
    return first


def cmd_add_agent(args: argparse.Namespace) -> int:
    """Add a console login, or reset one's role and password (SPEC 8); the password never on the command line."""
    from bot.services import staff

    password = _read_new_password()
    if password is None:
        print("not added: the two passwords differ", file=sys.stderr)
        return EXIT_REJECTED
    try:
        created = staff.add_agent(SqlUnitOfWork(), args.login, args.role, password, actor=args.actor)
    except staff.StaffRefused as refused:
        print(f"not added: {refused}", file=sys.stderr)
        return EXIT_REJECTED
    print(f"agent {staff.normalise_login(args.login)} {'added' if created else 'updated'} ({args.role})")
    return 0


def cmd_agent_token(args: argparse.Namespace) -> int:
    """A new personal API token for a console login, printed once (only its hash is kept; earlier ones stop)."""
    from bot.services import staff

    try:
        print(staff.issue_token(SqlUnitOfWork(), args.login, actor=args.actor))
    except staff.UnknownAgent as error:
        print(error, file=sys.stderr)
        return EXIT_UNKNOWN
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    """Bring the schema up to date."""
    migrate.upgrade()
    print("database schema is up to date")
    return 0


def cmd_prepare(_args: argparse.Namespace) -> int:
    """Schema up to date; on an empty database, the demo portfolio so a newcomer can chat at once."""
    migrate.upgrade()
    with SqlUnitOfWork() as uow:
        ready = imports.has_accounts(uow)
    if ready:
        print("database ready")
        return 0
    print("database has no accounts: importing the demo portfolio (see README)")
    status = (_import("policies", lambda uow: imports.import_policies(uow, DEMO / "policies.yml"))
              or _import("accounts", lambda uow: imports.import_accounts(uow, DEMO / "accounts.csv", uow.now().date())))
    if status or os.environ.get("DEMO_HISTORY", "1") == "0":
        return status
    from bot.demo import history  # six months of agreements, payments and breaks, so the report has something

    print(f"demo history: {history.generate(SqlUnitOfWork, today=utcnow().date(), progress=print)}")
    return 0


def cmd_run(_args: argparse.Namespace) -> int:
    """Start the Rasa server and the action server."""
    from bot import launcher

    return launcher.main()


def build_parser() -> argparse.ArgumentParser:
    """The command line's commands and their arguments."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("import-policies", help="import creditors and their policies (YAML)")
    command.add_argument("file")
    command.set_defaults(run=cmd_import_policies)
    command = commands.add_parser("import-accounts", help="import placed accounts (CSV)")
    command.add_argument("file")
    command.set_defaults(run=cmd_import_accounts)
    command = commands.add_parser("account", help="show an account")
    command.add_argument("ref")
    command.add_argument("--json", action="store_true", help="the account's state as JSON")
    command.set_defaults(run=cmd_account)
    command = commands.add_parser("audit", help="print an account's audit log")
    command.add_argument("ref")
    command.set_defaults(run=cmd_audit)
    command = commands.add_parser("agree", help="record a plan, settlement or promise agreed by a collector")
    command.add_argument("ref")
    command.add_argument("kind", choices=["plan", "settlement", "promise"])
    command.add_argument("--amount", help="settlement or promise amount, or a plan's monthly amount")
    command.add_argument("--months", type=int, help="a plan's number of months")
    command.add_argument("--date", required=True, help="first due date, pay-by date or pay-on date (ISO)")
    command.add_argument("--tier", required=True, choices=list(TIERS))
    command.add_argument("--actor", required=True, help="the collector's login")
    command.add_argument("--conversation", help="conversation id, if any; retries with it never duplicate")
    command.set_defaults(run=cmd_agree)
    command = commands.add_parser("resolve-dispute", help="record a person's decision on a dispute")
    command.add_argument("reference", help="the dispute reference, e.g. DSP-1A2B3C")
    command.add_argument("outcome", choices=list(cases.DISPUTE_OUTCOMES),
                         help="upheld: the debt is not owed as placed; rejected: validation was sent, collection"
                              " resumes")
    command.add_argument("--actor", required=True, help="who decided (a supervisor's login)")
    command.add_argument("--note", help="what was found, and what was sent to the debtor")
    command.set_defaults(run=cmd_resolve_dispute)
    command = commands.add_parser("death-report", help="record a person's decision on a reported death")
    command.add_argument("ref", help="the account reference")
    command.add_argument("decision", choices=list(DEATH_REPORT_DECISIONS),
                         help="confirm: the debtor has died, collection stops; reject: the report was wrong, collection"
                              " resumes")
    command.add_argument("--actor", required=True, help="who decided (a person's login)")
    command.add_argument("--note", help="what the decision rests on (a death certificate, a call with the debtor)")
    command.set_defaults(run=cmd_death_report)
    command = commands.add_parser("remind", help="text a first reminder to the accounts due for contact")
    command.add_argument("--dry-run", action="store_true", help="print what would be sent and why others are skipped")
    command.add_argument("--now", help="plan as at this UTC time (ISO 8601), instead of the clock")
    command.add_argument("--interval-days", type=int, default=7, help="days before an account is reminded again")
    command.set_defaults(run=cmd_remind)
    command = commands.add_parser("import-payments", help="import payments (CSV or ISO 20022 camt.053)")
    command.add_argument("file")
    command.set_defaults(run=cmd_import_payments)
    command = commands.add_parser("daily", help="apply payments to agreements, then send thanks and reminders")
    command.add_argument("--as-of", help="the day to decide for (YYYY-MM-DD; default: each debtor's today)")
    command.add_argument("--no-messages", action="store_true", help="change statuses only, send nothing")
    command.set_defaults(run=cmd_daily)
    command = commands.add_parser("report", help="the operations report: report.html with charts, and CSVs")
    command.add_argument("--from", dest="date_from", required=True, help="first day (YYYY-MM-DD)")
    command.add_argument("--to", dest="date_to", required=True, help="last day (YYYY-MM-DD)")
    command.add_argument("--out", required=True, help="the directory to write into")
    command.add_argument("--currency", default="USD", help="the accounts' currency (default USD)")
    command.set_defaults(run=cmd_report)
    command = commands.add_parser("bureau-export", help="write the month's Metro 2 credit-bureau file")
    command.add_argument("--as-of", required=True, help="the day the accounts are reported as of (YYYY-MM-DD)")
    command.add_argument("--out", required=True, help="the file to write")
    command.set_defaults(run=cmd_bureau_export)
    command = commands.add_parser("legal-queue", help="list the accounts that qualify for legal review, and why")
    command.set_defaults(run=cmd_legal_queue)
    command = commands.add_parser("legal", help="move an account to legal (a supervisor) and write its case bundle")
    command.add_argument("ref")
    command.add_argument("--by", metavar="LOGIN", help="the supervisor's console login (default: operations)")
    command.add_argument("--note", default="")
    command.add_argument("--out", metavar="DIR", help="where the bundle goes (default var/legal/)")
    command.set_defaults(run=cmd_legal)
    command = commands.add_parser("sms", help="text the assistant from this terminal, as the phone NUMBER")
    command.add_argument("number", help="the phone number you text from (E.164), e.g. +15551230001")
    command.add_argument("--rasa-url", default=f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}")
    command.add_argument("--standin-url",
                         help="the Twilio stand-in (default: TWILIO_API_BASE_URL, or the development one)")
    command.set_defaults(run=cmd_sms)
    command = commands.add_parser("api-token", help="print a short-lived Bearer token for the Rasa HTTP API")
    command.add_argument("--minutes", type=int, default=15, help="how long it is valid (default 15)")
    command.set_defaults(run=cmd_api_token)
    command = commands.add_parser("add-agent", help="add a console login, or reset its role and password (read"
                                  " from stdin, or prompted)")
    command.add_argument("login", help="2-64 characters: a-z, 0-9, '.', '_', '-'")
    command.add_argument("--role", required=True, choices=list(ROLES), help="the policy tier the person acts at")
    command.add_argument("--actor", default=_login(), help="who added it (default: your login)")
    command.set_defaults(run=cmd_add_agent)
    command = commands.add_parser("agent-token", help="print a new personal API token for a console login, once")
    command.add_argument("login")
    command.add_argument("--actor", default=_login(), help="who issued it (default: your login)")
    command.set_defaults(run=cmd_agent_token)
    command = commands.add_parser("erase", help="remove a debtor's personal data (all their accounts), keep amounts"
                                  " and agreements")
    command.add_argument("ref", help="an account reference of the debtor")
    command.add_argument("--actor", default=_login(), help="who asked for it (default: your login)")
    command.set_defaults(run=cmd_erase)
    command = commands.add_parser("purge", help="delete conversation texts older than the retention (RETENTION_DAYS)")
    command.add_argument("--days", type=int, help="keep this many days (default: RETENTION_DAYS, or 365)")
    command.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    command.add_argument("--now", help="count the days back from this UTC time (ISO 8601), instead of the clock")
    command.add_argument("--actor", default=_login(), help="who ran it (default: your login)")
    command.set_defaults(run=cmd_purge)
    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(run=cmd_migrate)
    commands.add_parser("prepare", help="migrate, and import the demo portfolio into an empty database"
                        ).set_defaults(run=cmd_prepare)
    commands.add_parser("run", help="start the Rasa server and the action server").set_defaults(run=cmd_run)
    return parser


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operations"


class DatabaseNotReady(RuntimeError):
    """The database has no tables, or an older schema: the message says to migrate."""


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def _failure(error: BaseException) -> tuple[str, int]:
    """The one place an error becomes what the operator reads, and the exit status."""
    if isinstance(error, DatabaseNotReady):
        return str(error), EXIT_DATABASE_NOT_READY
    failure = database_failure(error)
    if failure is not None:
        kind, reason = failure
        if kind == "bad_url":
            return ("DATABASE_URL is not a database URL such as postgresql://user@host:5432/collections or"
                    f" sqlite:////path/to/collections.db ({reason})"), EXIT_DATABASE_UNAVAILABLE
        if kind == "no_tables":
            return f"the database has no tables yet: {migrate.MIGRATE_HINT}", EXIT_DATABASE_NOT_READY
        try:
            where = database_shown(database_url())
        except Exception:  # noqa: BLE001 - the message must not fail
            where = "DATABASE_URL"
        return f"cannot use the database at {where}: {reason}", EXIT_DATABASE_UNAVAILABLE
    if isinstance(error, ConfigError):
        return str(error), EXIT_CONFIGURATION
    if isinstance(error, (OSError, UnicodeError)):
        return f"refused: {error}", EXIT_REJECTED
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    return f"failed: {type(error).__name__}: {_first_line(error)}", EXIT_INTERNAL


def _check_database(command: str) -> None:
    """Before a command touches the database: it exists and is migrated (and no empty SQLite file is made)."""
    if command in WITHOUT_DATABASE:
        return
    problem = migrate.readiness_problem(database_url())
    if problem:
        raise DatabaseNotReady(problem)


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status (the module docstring lists them)."""
    args = build_parser().parse_args(argv)  # usage errors: argparse's message, exit 2
    try:
        _check_database(args.command)
        status: int = args.run(args)
        return status
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - every failure gets one line, no traceback
        if os.environ.get("BOT_DEBUG") and not isinstance(error, KeyboardInterrupt):
            raise
        message, status = _failure(error)
        print(" ".join(message.split()), file=sys.stderr)
        return status
