"""May we contact this debtor now, on this channel? The contact rules as data, one set per jurisdiction.

Which flags and statuses stop collection is the account's own (bot.domain.accounts), the same in every jurisdiction.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from bot.domain.accounts import FINISHED, NOT_COLLECTING, PAUSING_FLAGS, STOPPING_FLAGS

RULES_FILE = Path(__file__).with_name("contact_rules.yml")
_STOPPING, _PAUSING = frozenset(STOPPING_FLAGS), frozenset(PAUSING_FLAGS)


@dataclass(frozen=True)
class ContactRules:
    name: str
    window_start: time
    window_end: time
    max_call_attempts: int
    attempt_window: timedelta
    quiet_after_conversation: timedelta
    opt_out_notice_channels: frozenset[str]


@cache
def rule_set(name: str = "us_reg_f") -> ContactRules:
    """The named jurisdiction's rule set, read once from contact_rules.yml."""
    raw = yaml.safe_load(RULES_FILE.read_text())[name]
    return ContactRules(
        name=name,
        window_start=time.fromisoformat(raw["window_start"]),
        window_end=time.fromisoformat(raw["window_end"]),
        max_call_attempts=int(raw["max_call_attempts"]),
        attempt_window=timedelta(days=raw["attempt_window_days"]),
        quiet_after_conversation=timedelta(days=raw["quiet_days_after_conversation"]),
        opt_out_notice_channels=frozenset(raw["opt_out_notice_channels"]),
    )


@dataclass(frozen=True)
class ContactSituation:
    """What the rules look at; every time is timezone-aware (stored in UTC)."""

    channel: str  # call | sms | email
    debtor_timezone: str
    account_status: str
    flags: frozenset[str]  # active flags: cease, attorney, bankruptcy, deceased, deceased_reported
    opted_out_channels: frozenset[str]
    call_attempts: Sequence[datetime] = ()
    last_phone_conversation: datetime | None = None
    # A service message about an agreement that has just ended well (thanks for a completed plan): it may reach an
    # account that is paid or settled; everything else still applies.
    service: bool = False


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str  # why not, or "allowed"
    needs_opt_out_notice: bool = False
    # which rule refused: stopped | paused | opted_out | outside_hours | attempts | recent_conversation, and
    # (bot.services.contact) unknown_number | wrong_number; "" when allowed
    rule: str = ""


def outside_window(now: datetime, timezone: str, rules: ContactRules) -> str | None:
    """Why `now` is outside the contact window in `timezone`, or None when it is inside."""
    local = now.astimezone(ZoneInfo(timezone))
    if rules.window_start <= local.time() < rules.window_end:
        return None
    return (f"outside {rules.window_start:%H:%M}-{rules.window_end:%H:%M} in the debtor's zone"
            f" (it is {local:%H:%M} there)")


def may_contact(situation: ContactSituation, now: datetime, rules: ContactRules) -> Verdict:
    """The one check every outbound path calls before it contacts anyone."""
    stopped = sorted(situation.flags & _STOPPING)
    if stopped:
        return Verdict(False, f"collection stopped: {', '.join(stopped)}", rule="stopped")
    paused = sorted(situation.flags & _PAUSING)  # collection waits for a person's decision (a reported death)
    if paused:
        return Verdict(False, f"collection paused: {', '.join(paused)}", rule="paused")
    if situation.account_status in NOT_COLLECTING and not (situation.service and situation.account_status in FINISHED):
        return Verdict(False, f"collection paused: account {situation.account_status}", rule="paused")
    if situation.channel in situation.opted_out_channels:
        return Verdict(False, f"opted out of {situation.channel}", rule="opted_out")
    outside = outside_window(now, situation.debtor_timezone, rules)
    if outside:
        return Verdict(False, outside, rule="outside_hours")
    if situation.channel == "call":
        recent = [t for t in situation.call_attempts if now - rules.attempt_window < t <= now]
        if len(recent) >= rules.max_call_attempts:
            return Verdict(False, f"{len(recent)} call attempts in the last {rules.attempt_window.days} days",
                           rule="attempts")
        conversation = situation.last_phone_conversation
        if conversation and now - conversation < rules.quiet_after_conversation:
            return Verdict(False, f"a phone conversation within the last {rules.quiet_after_conversation.days} days",
                           rule="recent_conversation")
    return Verdict(True, "allowed", needs_opt_out_notice=situation.channel in rules.opt_out_notice_channels)
