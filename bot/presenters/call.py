"""English texts of the call screen: each warning and what to do about it, replies to suggest in the collector's
voice, the voicemail a collector may leave, and the draft of the call's note. Built from domain data alone."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.domain.money import format_money

# (title, the action to take), by warning code
WARNING_TEXTS: dict[str, tuple[str, str]] = {
    "dispute": ("Dispute", "Stop collecting. Open a dispute with their reason; collection pauses until it is "
                           "resolved and validation is sent in writing."),
    "already_paid": ("Says already paid", "Ask when, how and to whom they paid, and for a receipt. Open a dispute "
                                          "(already paid) if the payment is not on file."),
    "hardship": ("Hardship", "Acknowledge it. Offer the gentlest plan you may (longest term, lowest instalment) "
                             "and note the circumstances."),
    "cease": ("Cease request", "Confirm you will stop contacting them, set the cease flag, and end the call. Say "
                               "nothing more about the debt."),
    "attorney": ("Represented by an attorney", "Ask for the attorney's name and number, set the attorney flag, and "
                                               "end the call. All contact goes through the attorney."),
    "bankruptcy": ("Bankruptcy", "Ask for the case number, chapter and court, set the bankruptcy flag, and stop "
                                 "collecting. Do not ask for payment."),
    "deceased": ("Debtor deceased", "Offer condolences. Ask for the executor or estate contact; say nothing "
                                    "about the debt to this person."),
    "wrong_person": ("Not the debtor", "Stop. Say nothing of the debt or who you are collecting for; apologise, "
                                       "mark the number as wrong party if it is not theirs, and end the call."),
    "complain": ("Complaint or anger", "Stay calm; acknowledge their frustration, don't argue, offer to note the "
                                       "complaint or to have a supervisor call back."),
    "not_verified": ("You spoke of the debt before verification", "Say nothing about the debt until the right "
                                                                 "party is verified (reference and date of birth)."),
    "no_disclosure": ("Payment asked before the disclosure", "Give the debt-collector disclosure before asking for "
                                                              "payment."),
    "outside_hours": ("Outside contact hours", "It is outside 08:00-21:00 where the debtor is: end the call unless "
                                               "they called you or asked to be called now."),
}


def warning_details(codes: Sequence[str]) -> list[dict[str, str]]:
    """The codes as the screen shows them: code, title and the action to take."""
    return [{"code": code, "title": WARNING_TEXTS[code][0], "action": WARNING_TEXTS[code][1]} for code in codes]


def disclosure(agency: str) -> str:
    """The debt-collector disclosure, as the assistant says it."""
    return (f"{agency} is a debt collector. This is an attempt to collect a debt, and any information obtained will "
            f"be used for that purpose.")


def voicemail(agent: str, business: str, phone: str) -> str:
    """A limited-content message (Regulation F, 12 CFR 1006.2(j)): a business name that does not say it collects
    debts, a request to reply, a person to reply to and a number; nothing about the debt or the debtor."""
    return f"Hello, this is {agent} calling from {business}. Please call me back at {phone}. Thank you."


@dataclass(frozen=True)
class SuggestionFacts:
    verified: bool
    disclosure_given: bool
    balance: Decimal | None  # only once verified
    currency: str
    agency: str
    creditor: str | None  # only once verified
    lowest_monthly: Decimal | None  # the longest plan the collector may offer
    floor: Decimal | None  # the lowest settlement the collector may accept


_FOR_WARNING = {
    "wrong_person": ["I'm sorry for the trouble. I must have the wrong number; I'll make a note. Have a good day.",
                     "My apologies. Could you tell me if this number belongs to someone else? I'll update our "
                     "records."],
    "deceased": ["I'm very sorry for your loss. Could you tell me who is handling the estate, and how to reach them?",
                 "I'm sorry to hear that. There's nothing you need to do today; may I have the executor's name and "
                 "number?"],
    "attorney": ["Thank you for telling me. Could I have your attorney's name and phone number? We'll contact them "
                 "from now on.",
                 "Understood. I'll note that you're represented and we'll deal with your attorney directly."],
    "cease": ["Understood. I'll note your request and we will stop calling you about this.",
              "I've noted that you want us to stop contacting you. You'll get one written confirmation."],
    "bankruptcy": ["Thank you. Could you give me the case number, the chapter and the court it was filed in?",
                   "Understood. I'll note the bankruptcy and we'll stop collection while it is reviewed."],
    "dispute": ["I understand you dispute this. I'll record the dispute and we'll pause collection while we send "
                "you verification in writing.",
                "Could you tell me what is wrong: that it isn't yours, the amount, or that it's been paid?"],
    "already_paid": ["Thanks for letting me know. When did you pay, how, and to whom? A receipt would help us "
                     "match it.",
                     "I don't see that payment yet. I'll note it and look into it; do you have a confirmation "
                     "number?"],
    "complain": ["I'm sorry this has been frustrating. I'm here to help and I'll listen; what would help most?",
                 "I understand you're upset. Would you like me to note a complaint, or have a supervisor call you "
                 "back?"],
}


def suggestions(facts: SuggestionFacts, raised: Sequence[str], intent: str | None, speaker: str) -> list[str]:
    """Two or three replies for what was just said, in the collector's voice, most pressing first: what the
    warnings call for, then what the checklist still lacks, then the next step of the negotiation."""
    said: list[str] = []
    for code in raised:
        said += _FOR_WARNING.get(code, [])
    if not facts.verified:
        said.append("Before I go on, can you confirm the account reference and your date of birth?")
    elif not facts.disclosure_given:
        said.append("Thank you. Before we continue: " + disclosure(facts.agency))
    elif speaker == "debtor" and not any(code in _FOR_WARNING for code in raised):
        said += _negotiating(facts, intent)
    if "hardship" in raised and facts.verified and facts.lowest_monthly is not None:
        said.insert(0, f"I'm sorry to hear that. We could spread it out, for example "
                       f"{format_money(facts.lowest_monthly, facts.currency)} a month. Would that be manageable?")
    return list(dict.fromkeys(said))[:3] or ["Go on, I'm listening.", "Is there anything else I can help with?"]


def _negotiating(facts: SuggestionFacts, intent: str | None) -> list[str]:
    balance = format_money(facts.balance, facts.currency) if facts.balance is not None else "the balance"
    if intent == "ask_balance":
        return [f"The balance is {balance}, owed to {facts.creditor}.",
                "Would you like to pay in full, or set up a plan?"]
    if intent == "request_settlement" and facts.floor is not None:
        return ["Let me see what I can do. If you can pay in one go, I can look at a reduced amount.",
                "What lump sum could you manage, and by when?"]
    if intent in ("request_payment_plan", "hardship") and facts.lowest_monthly is not None:
        return [f"We can set up monthly payments; the lowest I can go is "
                f"{format_money(facts.lowest_monthly, facts.currency)} a month.",
                "How much could you manage each month?"]
    if intent == "promise_to_pay":
        return ["Thank you. What date can you make that payment?", "And how much will you pay on that date?"]
    if intent in ("affirm", "pay_in_full"):
        return ["Great, I'll record that now and read the terms back to you.",
                "Would you like the payment instructions by text or email?"]
    return [f"The balance is {balance}. How would you like to take care of it today?",
            "Would a monthly plan help?"]


def summary(agent: str, account_ref: str, intents: Counter[str], raised: Sequence[str], offers: Sequence[str],
            outcome: str | None, recorded: Sequence[str]) -> str:
    """The draft of the call's note: what was said by intent, warnings raised, offers made and the outcome."""
    lines = [f"Call on {account_ref} by {agent}. Outcome: {(outcome or 'not set').replace('_', ' ')}."]
    if intents:
        lines.append("Debtor said: " + ", ".join(f"{name.replace('_', ' ')}" + (f" (x{count})" if count > 1 else "")
                                                 for name, count in intents.most_common()) + ".")
    lines.append("Warnings: " + (", ".join(WARNING_TEXTS[c][0].lower() for c in raised) if raised else "none")
                 + ".")
    if offers:
        lines.append("Offered: " + "; ".join(o.rstrip(".") for o in offers) + ".")
    lines.append("Agreed: " + ("; ".join(r.rstrip(".") for r in recorded) if recorded else "nothing") + ".")
    return "\n".join(lines)
