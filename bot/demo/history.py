"""A few months of made-up history for the demo portfolio, so `make run` shows a report worth reading.

`generate` places synthetic accounts with the two demo creditors (ACME in dollars, BRIGHTBANK in pounds), then
lives through the last six months one day at a time, writing everything through the product's own paths: the
accounts import (one file per placement batch), agreements recorded by the one authorisation check (the
assistant on web chat, SMS and REST; agents alex and sam on calls, the console and web handoffs; supervisor casey
on her own and approving what an agent asked beyond their tier), the payments import (one bank file per day) and
the daily run, as of every day. Statuses, instalments and the audit log are therefore what a real history gives.

Each account follows a story drawn from a deck (a plan paid off, a plan broken then settled, a promise kept
then a plan, ...), so that even 30 accounts show every outcome; who agreed it and where is drawn from another
deck per creditor, so every channel and tier appears in each currency's report. One `random.Random(seed)` decides
everything: the same seed on an empty database gives the same rows (the SMS conversation ids too, which is why
they are written here rather than by `bot.services.sms.conversation_for`, whose ids are uuid4). Calls are rows
of the console's call log, so their agreements carry a real `call-<id>`. Nothing is dated today or later.

The whole history is one transaction: there whole or not at all, and quick on SQLite (one commit).
"""
from __future__ import annotations

import csv
import random
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.domain.console import Staff
from bot.domain.money import from_minor
from bot.domain.negotiation import (
    PlanTerms,
    PromiseTerms,
    SettlementTerms,
    Terms,
    add_months,
    authority_problems,
    nearest_plan,
    plan_by_months,
    round_down,
    round_up,
)
from bot.domain.policy import Policy, parse_policy
from bot.services import agreements, audit, daily, desk, imports, payments
from bot.services.accounts import get as account_row
from bot.services.unit_of_work import Negotiable, SqlUnitOfWork
from bot.storage.orm import Account, Call, Creditor, Payment, PhoneConversation, Plan, Promise, Settlement

PREFIX = "DEMO-"
DAYS = 182  # about six months of history before `today`
HUNDRED = Decimal(100)
T = TypeVar("T")


class Units(Protocol):
    """Makes a unit of work: `SqlUnitOfWork` itself, or one bound to a database URL."""

    def __call__(self, *, locking: bool = ..., clock: Callable[[], datetime] = ...) -> SqlUnitOfWork: ...


@dataclass(frozen=True)
class HistorySummary:
    """What the generated history holds, read back from the database."""

    accounts: int
    agreements: dict[str, dict[str, int]]  # kind (plan, settlement, promise) -> status -> count
    payments: int  # matched to a generated account
    unmatched: int  # kept for a person to assign, as a real bank file has a few
    collected: dict[str, Decimal]  # currency -> total of the matched payments
    first_day: date
    last_day: date

    def __str__(self) -> str:
        kinds = "; ".join(f"{kind}s " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
                          for kind, statuses in self.agreements.items())
        money = ", ".join(f"{amount} {currency}" for currency, amount in sorted(self.collected.items()))
        return (f"{self.accounts} accounts from {self.first_day} to {self.last_day}; {kinds};"
                f" {self.payments} payments ({money}), {self.unmatched} unmatched")


# --- who the synthetic debtors are --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Creditor:
    id: str
    currency: str
    zone: str
    batch_offset: int  # days after the period's start of its first placement; then one batch a month
    products: tuple[str, ...]
    principal: tuple[int, int]
    fees: tuple[str, ...]
    first_names: tuple[str, ...]
    surnames: tuple[str, ...]
    email_domain: str


ACME = _Creditor("ACME", "USD", "America/Chicago", 3, ("Acme Mobile", "Acme Broadband", "Acme Home Phone"),
                 (120, 1900), ("0.00", "25.00", "35.00", "50.00"),
                 ("Avery", "Blake", "Carmen", "Dana", "Elliot", "Frankie", "Gabriel", "Harper", "Isaiah", "Jamie",
                  "Kendall", "Luis", "Maya", "Noah", "Olivia", "Quinn", "Riley", "Sofia", "Tyler", "Zoe"),
                 ("Anderson", "Brooks", "Castillo", "Diaz", "Evans", "Foster", "Garcia", "Hughes", "Jackson",
                  "Kim", "Lopez", "Miller", "Nguyen", "Ortiz", "Patel", "Reyes", "Sullivan", "Turner", "Walker"),
                 "example.com")
BRIGHTBANK = _Creditor("BRIGHTBANK", "GBP", "Europe/London", 12,
                       ("Bright Bank Credit Card", "Bright Bank Personal Loan", "Bright Bank Overdraft"),
                       (300, 5200), ("0.00", "12.00", "25.00"),
                       ("Alfie", "Amelia", "Callum", "Chloe", "Ewan", "Freya", "Harry", "Isla", "Jack", "Lily",
                        "Mohammed", "Niamh", "Oscar", "Poppy", "Rhys", "Sienna", "Thomas", "Zara"),
                       ("Ahmed", "Bennett", "Clarke", "Davies", "Evans", "Fletcher", "Griffiths", "Hall",
                        "Hussain", "Jones", "Khan", "Morgan", "Owen", "Roberts", "Taylor", "Wilson", "Wright"),
                       "example.co.uk")
UK_POSTCODES = ("SW1A", "EC1A", "M1", "B33", "LS1", "G2", "CF10", "BS1", "NE1", "L1", "EH1", "NG1")
MAX_ACCOUNTS = 999  # the UK's fictional mobile numbers are 07700 900000 to 900999 (Ofcom)


def _phone(creditor: _Creditor, number: int) -> str:
    """Fictional numbers in E.164: +1 555 and Ofcom's drama range, as the demo's own accounts use."""
    return f"+1555124{number:04d}" if creditor.currency == "USD" else f"+447700900{number:03d}"


def _postcode(rng: random.Random, creditor: _Creditor) -> str:
    if creditor.currency == "USD":
        return f"606{rng.randint(1, 60):02d}"  # Chicago
    inward = f"{rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    return f"{rng.choice(UK_POSTCODES)} {inward}"


# --- the stories an account may live -------------------------------------------------------------------------

# story -> copies in the deck. A deck of 24: every story appears once 24 accounts are placed.
STORIES = {
    "none": 3, "paid_direct": 1, "plan_completed": 2, "plan_running": 3, "plan_late": 1, "plan_broken": 2,
    "plan_broken_then_settled": 1, "plan_superseded": 1, "settlement_paid": 2, "settlement_broken": 1,
    "settlement_pending": 1, "promise_kept_then_plan": 1, "promise_kept_full": 1, "promise_broken": 2,
    "promise_pending": 1, "promise_cancelled": 1,
}
# How long before `today` an account must have been placed for its story to be over (or running) by then.
MIN_AGE = {"plan_completed": 150, "plan_broken_then_settled": 130, "plan_superseded": 120, "plan_broken": 100,
           "settlement_broken": 90, "promise_kept_then_plan": 80, "promise_broken": 80, "plan_late": 80,
           "promise_cancelled": 60, "plan_running": 50, "promise_kept_full": 50, "settlement_paid": 45,
           "paid_direct": 45}
RECENT = frozenset({"settlement_pending", "promise_pending"})  # agreed in the last days: still pending today


@dataclass(frozen=True)
class _Hand:
    """Who agrees, and where: the tier, the person, and the channel the conversation id says."""

    tier: str  # bot | agent | supervisor
    channel: str  # web | sms | rest | call | console
    approval: bool = False  # an agent's request on a call, beyond their tier, that casey approves


# hand -> copies in the deck: the assistant agrees most, then agents on calls.
HANDS = {
    _Hand("bot", "web"): 5, _Hand("bot", "sms"): 3, _Hand("bot", "rest"): 1, _Hand("agent", "call"): 3,
    _Hand("agent", "console"): 1, _Hand("agent", "web"): 1, _Hand("supervisor", "console"): 2,
    _Hand("supervisor", "call", approval=True): 1,
}
AGENTS = ("alex", "sam")
SUPERVISOR = Staff("casey", "supervisor")


@dataclass(frozen=True)
class _Ask:
    """What the debtor asks for; the terms are sized to the balance and the hand's tier when agreed."""

    kind: str  # plan | settlement | promise
    months: tuple[int, int] = (6, 12)
    fit: bool = False  # a plan short enough to be paid off before today
    share: tuple[float, float] = (1.0, 1.0)  # a promise's part of the balance
    min_days: int = 3  # a settlement's or promise's date at least this many days ahead


class _Deck(Generic[T]):
    """Cards drawn without replacement, reshuffled when used up: every card comes out once a deck."""

    def __init__(self, rng: random.Random, counts: dict[T, int]):
        self._rng, self._cards, self._left = rng, [card for card, n in counts.items() for _ in range(n)], list[T]()

    def draw(self, fits: Callable[[T], bool] = lambda _card: True) -> T:
        for _ in range(2):
            for index, card in enumerate(self._left):
                if fits(card):
                    return self._left.pop(index)
            self._left = list(self._cards)
            self._rng.shuffle(self._left)
        raise ValueError("no card fits")


@dataclass
class _Account:
    ref: str
    creditor: _Creditor
    phone: str
    owed: Decimal
    placed_on: date
    story: str
    row: dict[str, str]
    steps: dict[date, list[Callable[[date], None]]] = field(default_factory=dict)
    payments: dict[date, list[Decimal]] = field(default_factory=dict)


class _Clock:
    """The history's clock, moved on as the days go: each use case stamps its own moment."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class _History:
    def __init__(self, units: Units, today: date, seed: int, count: int,
                 progress: Callable[[str], None] | None):
        self.units, self.today, self.rng, self.progress = units, today, random.Random(seed), progress
        self.first_day, self.last_day = today - timedelta(days=DAYS), today - timedelta(days=1)
        self.stories = _Deck(self.rng, STORIES)
        # A deck of hands per creditor: each currency's report shows every channel and tier.
        self.hands = {creditor.id: _Deck(self.rng, HANDS) for creditor in (ACME, BRIGHTBANK)}
        self.policies = self._policies()
        self.placements: dict[date, list[_Account]] = {}
        self.accounts = [self._account(number) for number in range(1, count + 1)]
        self.sms: dict[str, str] = {}  # phone -> its SMS conversation
        # Days on which the bank sends a payment keyed with a wrong reference: kept unmatched for a person.
        self.typos = {self.rng.randint(60, DAYS - 10): self.rng.randrange(count) for _ in range(max(1, count // 40))}
        self.month: Counter[str] = Counter()
        self.clock = _Clock(datetime.combine(self.first_day, time(0), tzinfo=UTC))
        self.uow: SqlUnitOfWork | None = None  # the one the whole history is written in

    def _at_moment(self, moment: datetime) -> SqlUnitOfWork:
        """The history's unit of work, its clock at `moment`: the use cases run in it commit with the rest."""
        assert self.uow is not None
        self.clock.moment = moment
        return self.uow

    def _policies(self) -> dict[str, Policy]:
        with self.units() as uow:
            found = {c.id: parse_policy(c.policy) for c in uow.session.scalars(select(Creditor))}
            if uow.session.scalar(select(func.count(Account.id)).where(Account.account_ref.like(f"{PREFIX}%"))):
                raise ValueError("the demo history is already in this database")
        missing = {ACME.id, BRIGHTBANK.id} - set(found)
        if missing:
            raise ValueError(f"import the demo policies first (no creditor {', '.join(sorted(missing))})")
        return found

    # --- placing ---------------------------------------------------------------------------------------------

    def _account(self, number: int) -> _Account:
        rng = self.rng
        creditor = BRIGHTBANK if rng.random() < 0.35 else ACME
        story = self.stories.draw()
        batches = [self.first_day + timedelta(days=creditor.batch_offset + 30 * k) for k in range(7)]
        batches = [day for day in batches if day <= self.today - timedelta(days=8)]
        old_enough = [day for day in batches if (self.today - day).days >= MIN_AGE.get(story, 0)] or batches[:1]
        # The smallest batch the story fits in: creditors place about as many accounts every month.
        sizes = {day: sum(1 for a in self.placements.get(day, []) if a.creditor is creditor) for day in old_enough}
        placed_on = rng.choice([day for day in old_enough if sizes[day] == min(sizes.values())])
        first, surname = rng.choice(creditor.first_names), rng.choice(creditor.surnames)
        principal = Decimal(rng.randint(*creditor.principal) * 100 + rng.randint(0, 99)) / 100
        interest = (principal * Decimal(rng.randint(0, 14)) / HUNDRED).quantize(Decimal("0.01"))
        fees = Decimal(rng.choice(creditor.fees))
        ref = f"{PREFIX}{number:04d}"
        born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 52 * 365))
        row = {"account_ref": ref, "creditor_id": creditor.id, "original_creditor": rng.choice(creditor.products),
               "debtor_name": f"{first} {surname}", "date_of_birth": born.isoformat(),
               "postcode": _postcode(rng, creditor), "phone": _phone(creditor, number),
               "email": f"{first}.{surname}{number}@{creditor.email_domain}".lower(), "timezone": creditor.zone,
               "currency": creditor.currency, "principal": str(principal), "interest": str(interest),
               "fees": str(fees), "placed_on": placed_on.isoformat()}
        account = _Account(ref, creditor, row["phone"], principal + interest + fees, placed_on, story, row)
        self.placements.setdefault(placed_on, []).append(account)
        self._begin(account)
        return account

    def _place(self, day: date, placed: list[_Account], folder: Path) -> None:
        for creditor in (ACME, BRIGHTBANK):
            rows = [a.row for a in placed if a.creditor is creditor]
            if not rows:
                continue
            path = folder / f"placement-{creditor.id.lower()}-{day.isoformat()}.csv"
            with path.open("w", newline="", encoding="utf-8") as file:
                writer = csv.DictWriter(file, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            imports.import_accounts(self._at_moment(datetime.combine(day, time(7, 0), tzinfo=UTC)), path, day)

    # --- the timeline of each account ----------------------------------------------------------------------

    def _at(self, account: _Account, day: date, step: Callable[[date], None]) -> None:
        if day <= self.last_day:
            account.steps.setdefault(day, []).append(step)

    def _pay(self, account: _Account, day: date, amount: Decimal) -> None:
        if day <= self.last_day and amount > 0:
            account.payments.setdefault(day, []).append(amount)

    def _grace(self, account: _Account) -> int:
        return self.policies[account.creditor.id].grace_days

    def _begin(self, account: _Account) -> None:
        rng, story = self.rng, account.story
        if story == "none":
            return
        if story == "paid_direct":
            self._pay(account, account.placed_on + timedelta(days=rng.randint(10, 40)), account.owed)
            return
        if story in RECENT:
            day = max(self.today - timedelta(days=rng.randint(2, 5)), account.placed_on + timedelta(days=3))
        else:
            day = account.placed_on + timedelta(days=rng.randint(3, 25))
        ask, then = self._opening(account)
        self._at(account, day, lambda on: self._agree(account, on, ask, then))

    def _opening(self, account: _Account) -> tuple[_Ask, Callable[[date, Terms], None]]:
        """The story's first agreement, and what the debtor then does."""
        rng, story = self.rng, account.story

        def follow(delay: tuple[int, int], ask: _Ask, then: Callable[[date, Terms], None]
                   ) -> Callable[[date | None], None]:
            def at(day: date | None) -> None:
                if day is not None:
                    self._at(account, day + timedelta(days=rng.randint(*delay)),
                             lambda on: self._agree(account, on, ask, then))
            return at

        running = self._plan_paid(account, late=0)
        settled = self._lump_paid(account)
        if story == "plan_completed":
            return _Ask("plan", (2, 4), fit=True), self._plan_paid(account, late=rng.randint(0, 1))
        if story == "plan_running":
            return _Ask("plan"), running
        if story == "plan_late":
            return _Ask("plan"), self._plan_paid(account, late=2)
        if story == "plan_broken":
            again = follow((4, 15), _Ask("promise", share=(0.2, 0.5)), self._lump_paid(account, kept=rng.random()))
            return _Ask("plan"), self._plan_broken(account, rng.randint(0, 2),
                                                   again if rng.random() < 0.6 else lambda _day: None)
        if story == "plan_broken_then_settled":
            return _Ask("plan"), self._plan_broken(account, 1, follow((4, 12), _Ask("settlement"), settled))
        if story == "plan_superseded":
            def two_then_settle(day: date, terms: Terms) -> None:
                # Two instalments on time, then a settlement before the third is due: the plan is superseded.
                assert isinstance(terms, PlanTerms)
                for instalment in terms.installments[:2]:
                    self._pay(account, self._paid_on(day, instalment.due_on, False, self._grace(account)),
                              instalment.amount)
                if len(terms.installments) > 2:
                    follow((3, 8), _Ask("settlement"), settled)(terms.installments[1].due_on)
            return _Ask("plan"), two_then_settle
        if story == "settlement_paid":
            return _Ask("settlement"), settled
        if story == "settlement_broken":
            return _Ask("settlement"), self._lump_broken(account, follow((5, 15), _Ask("plan"), running))
        if story == "settlement_pending":
            return _Ask("settlement", min_days=8), lambda _day, _terms: None
        if story == "promise_kept_then_plan":
            return (_Ask("promise", share=(0.15, 0.35)),
                    self._lump_paid(account, then=follow((3, 12), _Ask("plan"), running)))
        if story == "promise_kept_full":
            return _Ask("promise"), settled
        if story == "promise_broken":
            again = follow((5, 15), _Ask("promise", share=(0.3, 0.6)), self._lump_paid(account, kept=0.6))
            return _Ask("promise", share=(0.2, 0.5)), self._lump_broken(
                account, again if rng.random() < 0.5 else lambda _day: None)
        if story == "promise_pending":
            return _Ask("promise", share=(0.2, 0.6), min_days=8), lambda _day, _terms: None
        if story == "promise_cancelled":
            def replaced(day: date, _terms: Terms) -> None:
                follow((2, 5), _Ask("plan"), running)(day)
            return _Ask("promise", share=(0.3, 0.7), min_days=10), replaced
        raise ValueError(f"no story {story}")

    # --- what debtors pay ------------------------------------------------------------------------------------

    def _paid_on(self, agreed: date, due: date, late: bool, grace: int) -> date:
        rng = self.rng
        day = due + timedelta(days=rng.randint(1, max(1, grace - 3))) if late else due - timedelta(
            days=rng.randint(0, 3))
        return max(day, agreed + timedelta(days=1))

    def _plan_paid(self, account: _Account, late: int) -> Callable[[date, Terms], None]:
        """Every instalment paid, `late` of the first three a few days late (within the grace days)."""
        def then(day: date, terms: Terms) -> None:
            assert isinstance(terms, PlanTerms)
            first = min(len(terms.installments), 3)
            lates = set(self.rng.sample(range(first), min(late, first)))
            for index, instalment in enumerate(terms.installments):
                self._pay(account, self._paid_on(day, instalment.due_on, index in lates, self._grace(account)),
                          instalment.amount)
        return then

    def _plan_broken(self, account: _Account, paid: int, then: Callable[[date | None], None]
                     ) -> Callable[[date, Terms], None]:
        """The first `paid` instalments paid (fewer if the plan would not break before today); `then` gets the
        day the daily run breaks it, or None."""
        def agreed(day: date, terms: Terms) -> None:
            assert isinstance(terms, PlanTerms)
            grace, dues = self._grace(account), [i.due_on for i in terms.installments]
            count = min(paid, len(dues) - 1)
            while count > 0 and dues[count] + timedelta(days=grace + 1) > self.last_day:
                count -= 1
            for instalment in terms.installments[:count]:
                self._pay(account, self._paid_on(day, instalment.due_on, False, grace), instalment.amount)
            broken = dues[count] + timedelta(days=grace + 1) if count < len(dues) else None
            then(broken if broken is not None and broken <= self.last_day else None)
        return agreed

    @staticmethod
    def _due(terms: Terms) -> tuple[Decimal, date]:
        assert isinstance(terms, SettlementTerms | PromiseTerms)
        return terms.amount, terms.pay_by if isinstance(terms, SettlementTerms) else terms.pay_on

    def _lump_paid(self, account: _Account, kept: float = 1.0, then: Callable[[date | None], None] | None = None
                   ) -> Callable[[date, Terms], None]:
        """A settlement or promise paid in full by its date (with the chance `kept`), else half of it."""
        def agreed(day: date, terms: Terms) -> None:
            amount, by = self._due(terms)
            on = max(by - timedelta(days=self.rng.randint(0, 4)), day + timedelta(days=1))
            if self.rng.random() < kept:
                self._pay(account, on, amount)
            else:
                self._pay(account, on, round_down(amount / 2, account.creditor.currency))
            if then is not None:
                then(by)
        return agreed

    def _lump_broken(self, account: _Account, then: Callable[[date | None], None]) -> Callable[[date, Terms], None]:
        """Nothing arrives by the date (now and then a part of it); `then` gets the day after."""
        def agreed(day: date, terms: Terms) -> None:
            amount, by = self._due(terms)
            if self.rng.random() < 0.3:
                self._pay(account, max(by - timedelta(days=2), day + timedelta(days=1)),
                          round_down(amount / 3, account.creditor.currency))
            then(by + timedelta(days=1))
        return agreed

    # --- agreeing -----------------------------------------------------------------------------------------------

    def _moment(self, account: _Account, day: date) -> datetime:
        """Office hours where the debtor lives, 09:00 to 14:59: an approval asked for then is granted before that
        day's bank file and daily run (23:00 UTC)."""
        local = time(self.rng.randint(9, 14), self.rng.randint(0, 59))
        return datetime.combine(day, local, tzinfo=ZoneInfo(account.creditor.zone)).astimezone(UTC)

    def _agree(self, account: _Account, day: date, ask: _Ask, then: Callable[[date, Terms], None]) -> None:
        moment = self._moment(account, day)
        uow = self._at_moment(moment)
        requested: desk.ApprovalRequested | None = None
        with uow:
            deal = uow.accounts.negotiable(account.ref)
            if deal.hold is not None or deal.balance <= 0:
                return  # paid, settled or paused since the story was written: nothing to agree
            hand = self.hands[account.creditor.id].draw(lambda card: self._fits(card, ask, deal))
            terms = self._terms(ask, hand, deal)
            # Who speaks with the debtor: the assistant, an agent, or casey; an approval is asked by an agent.
            speaker = {"bot": agreements.ASSISTANT.name, "agent": self.rng.choice(AGENTS),
                       "supervisor": self.rng.choice(AGENTS) if hand.approval else SUPERVISOR.login}[hand.tier]
            conversation = self._conversation(uow, account, hand.channel, speaker, moment)
            if hand.approval:
                row = account_row(uow.session, account.ref)
                requested = desk.request_beyond_tier(uow.session, row, Staff(speaker, "agent"), terms,
                                                     "the debtor can do no better", moment, handoff_id=None,
                                                     conversation_id=conversation)
                assert requested is not None, "terms an agent may agree need no approval"
            else:
                agreements.record(uow, account.ref, terms, agreements.Actor(hand.tier, speaker), conversation)
        if requested is not None:
            later = moment + timedelta(minutes=self.rng.randint(15, 80))
            desk.approve(self._at_moment(later), requested.approval_id, SUPERVISOR)
        self.month["agreements"] += 1
        account.payments = {on: amounts for on, amounts in account.payments.items() if on < day}
        for steps in account.steps.values():  # what the debtor meant to do under the agreement now replaced
            steps.clear()
        then(day, terms)

    def _fits(self, hand: _Hand, ask: _Ask, deal: Negotiable) -> bool:
        """An approval needs terms beyond the agent's tier: a deep discount, or a long plan the balance allows."""
        if not hand.approval:
            return True
        if ask.kind == "settlement":
            return True
        tiers = deal.policy.tiers
        return (ask.kind == "plan" and not ask.fit
                and deal.balance / (tiers["agent"].max_plan_months + 1) >= tiers["supervisor"].min_installment)

    def _terms(self, ask: _Ask, hand: _Hand, deal: Negotiable) -> Terms:
        rng, policy, balance, currency, today = self.rng, deal.policy, deal.balance, deal.currency, deal.today
        tiers = policy.tiers
        if ask.kind == "plan":
            first_due = today + timedelta(days=rng.randint(3, 14))
            if hand.approval:
                longest = min(tiers["supervisor"].max_plan_months,
                              int(balance / tiers["supervisor"].min_installment))
                return plan_by_months(balance, rng.randint(tiers["agent"].max_plan_months + 1, longest),
                                      first_due, currency)
            months = rng.randint(*ask.months)
            while ask.fit and months > 1 and add_months(first_due, months - 1) > self.last_day - timedelta(days=6):
                months -= 1
            return nearest_plan(balance, policy, hand.tier, first_due, currency, months=months)
        if ask.kind == "settlement":
            bot, agent, top = (int(tiers[t].max_discount_pct) for t in ("bot", "agent", "supervisor"))
            low, high = {"bot": (min(5, bot), bot), "agent": (bot + 1, agent), "supervisor": (bot + 1, top)}[hand.tier]
            if hand.approval:
                low, high = agent + 1, top
            discount = Decimal(rng.randint(low, high))
            amount = round_up(balance * (HUNDRED - discount) / HUNDRED, currency)
            pay_by = today + timedelta(days=rng.randint(min(ask.min_days, policy.settlement_pay_within_days),
                                                        policy.settlement_pay_within_days))
            terms: Terms = SettlementTerms(amount, pay_by)
        else:
            share = Decimal(str(round(rng.uniform(*ask.share), 2)))
            amount = balance if share >= 1 else max(round_down(balance * share, currency), Decimal(1))
            pay_on = today + timedelta(days=rng.randint(min(ask.min_days, policy.promise_max_days),
                                                        policy.promise_max_days))
            terms = PromiseTerms(amount, pay_on)
        tier = "supervisor" if hand.approval else hand.tier
        problems = authority_problems(terms, balance, policy, tier, today, currency)
        assert not problems, f"generated terms the {tier} may not agree: {problems}"
        return terms

    def _conversation(self, uow: SqlUnitOfWork, account: _Account, channel: str, speaker: str,
                      moment: datetime) -> str | None:
        """An id that names the channel as the product's own would: a web chat's random id, the SMS conversation
        of the debtor's number, a REST sender's, a console call's; none for an agreement keyed in at the console."""
        rng = self.rng
        if channel == "web":
            return uuid.UUID(int=rng.getrandbits(128), version=4).hex
        if channel == "rest":
            return f"rest:app-{rng.getrandbits(48):012x}"
        if channel == "sms":
            if account.phone not in self.sms:
                self.sms[account.phone] = uuid.UUID(int=rng.getrandbits(128), version=4).hex
                uow.session.add(PhoneConversation(phone=account.phone, conversation_id=self.sms[account.phone],
                                                  created_at=moment - timedelta(minutes=rng.randint(5, 40))))
            return self.sms[account.phone]
        if channel == "call":
            row = account_row(uow.session, account.ref)
            started, ended = moment - timedelta(minutes=rng.randint(6, 15)), moment + timedelta(minutes=2)
            call = Call(account_id=row.id, agent=speaker, phone=account.phone, outcome="conversation",
                        disposition="agreement", started_at=started, ended_at=ended,
                        verified_at=started + timedelta(minutes=1), disclosure_at=started + timedelta(minutes=1),
                        validation_notice_at=started + timedelta(minutes=2))
            uow.session.add(call)
            uow.session.flush()
            conversation = f"call-{call.id}"
            audit.record(uow.session, "call_started", actor=speaker, account=row, conversation_id=conversation,
                         at=started, id=call.id)
            audit.record(uow.session, "call_ended", actor=speaker, account=row, conversation_id=conversation,
                         at=ended, outcome="conversation", disposition="agreement")
            return conversation
        return None

    # --- the days ----------------------------------------------------------------------------------------------

    def _bank_file(self, day: date, folder: Path) -> None:
        rows: list[tuple[str, str, str, str]] = []
        for account in self.accounts:
            for amount in account.payments.pop(day, []):
                rows.append((account.ref, str(amount), day.isoformat(), f"TXN-{day:%Y%m%d}-{len(rows) + 1:04d}"))
        typo = self.typos.get((day - self.first_day).days)
        if typo is not None:  # keyed by hand at the bank: DEM0-0007 is nobody's
            rows.append((self.accounts[typo].ref.replace("O", "0"), f"{self.rng.randint(20, 80)}.00", day.isoformat(),
                         f"TXN-{day:%Y%m%d}-{len(rows) + 1:04d}"))
        if not rows:
            return
        path = folder / f"bank-{day.isoformat()}.csv"
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(("account_ref", "amount", "paid_on", "reference"))
            writer.writerows(rows)
        moment = datetime.combine(day, time(23, 0), tzinfo=UTC)
        payments.import_payments(self._at_moment(moment), path, source=path.name)
        self.month["payments"] += len(rows)

    def run(self) -> None:
        # All of it in one locking transaction: the history is there whole or not at all, and SQLite commits once,
        # not once per use case. Each use case still reads its moment from the clock, so rows and audit entries are
        # stamped when they happened.
        self.uow = self.units(locking=True, clock=self.clock)
        with tempfile.TemporaryDirectory(prefix="demo-history-") as folder, self.uow:
            for day in _days(self.first_day, self.last_day):
                if day in self.placements:
                    self._place(day, self.placements[day], Path(folder))
                    self.month["placed"] += len(self.placements[day])
                for account in self.accounts:
                    for step in account.steps.pop(day, []):
                        step(day)
                self._bank_file(day, Path(folder))
                daily.apply(self._at_moment(datetime.combine(day, time(23, 15), tzinfo=UTC)), as_of=day)
                # The daily run and the payments import write in bulk, past the objects the session holds: read
                # them again tomorrow.
                self.uow.session.expire_all()
                if self.progress and (day == self.last_day or (day + timedelta(days=1)).day == 1):
                    self.progress(f"history {day:%Y-%m}: {self.month['placed']} accounts placed,"
                                  f" {self.month['agreements']} agreements, {self.month['payments']} payments")
                    self.month.clear()
        self.uow = None

    def summary(self) -> HistorySummary:
        with self.units() as uow:
            session = uow.session
            ours = select(Account.id).where(Account.account_ref.like(f"{PREFIX}%")).scalar_subquery()
            kinds: dict[str, dict[str, int]] = {}
            for kind, table in (("plan", Plan), ("settlement", Settlement), ("promise", Promise)):
                rows = session.execute(select(table.status, func.count()).where(table.account_id.in_(ours))
                                       .group_by(table.status)).all()
                kinds[kind] = {status: count for status, count in sorted(rows)}
            collected: dict[str, Decimal] = {}
            count = 0
            for currency, minor, n in session.execute(
                    select(Account.currency, func.sum(Payment.amount_minor), func.count(Payment.id))
                    .join(Account, Account.id == Payment.account_id)
                    .where(Payment.applied.is_(True), Account.account_ref.like(f"{PREFIX}%"))
                    .group_by(Account.currency).order_by(Account.currency)):
                collected[currency] = from_minor(minor, currency)
                count += n
            unmatched = session.scalar(select(func.count(Payment.id)).where(Payment.status == "unmatched")) or 0
            placed = session.scalar(select(func.count(Account.id)).where(Account.account_ref.like(f"{PREFIX}%"))) or 0
        return HistorySummary(placed, kinds, count, unmatched, collected, self.first_day, self.last_day)


def generate(units: Units, today: date, seed: int = 2026, accounts: int = 120,
             progress: Callable[[str], None] | None = None) -> HistorySummary:
    """Place `accounts` synthetic accounts (DEMO-0001, ...) with the demo creditors and live through the six
    months before `today` (history ends the day before). The demo policies must be imported; raises ValueError
    if they are not, or if the history is already there. `units` makes the units of work (`SqlUnitOfWork`)."""
    if not 1 <= accounts <= MAX_ACCOUNTS:
        raise ValueError(f"accounts must be from 1 to {MAX_ACCOUNTS}")
    history = _History(units, today, seed, accounts, progress)
    history.run()
    return history.summary()
