"""A collector's phone call, as pure rules: what each thing said on it calls for. (Whether it may be made at all is
the one outbound check, `compliance.may_contact`, on the channel "call".)

Facts are gathered by `bot.services.calls`; these functions decide. The debtor's words are read by the NLU model
the assistant uses (its intent) and, because one utterance on a phone often says two things ("I lost my job and
my lawyer says..."), by the phrase cues of `bot.domain.cues` too: either raises a warning. The collector's own
words are checked for the three slips the law punishes (SPEC sections 7 and 8).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain import cues
from bot.domain.console import names_the_debt

CONVERSATION = "conversation"  # the outcome after which no call may follow for a while (SPEC section 7)
OUTCOMES = ("no_answer", "voicemail", "wrong_party", CONVERSATION)
SPEAKERS = ("debtor", "agent")
CHECKLIST = ("verified", "disclosure_given", "validation_notice")

# What the debtor's intent (SPEC section 6) warns of, by warning code (SPEC section 8).
INTENT_WARNINGS = {
    "dispute": "dispute", "already_paid": "already_paid", "hardship": "hardship", "stop_contact": "cease",
    "attorney": "attorney", "bankruptcy": "bankruptcy", "deceased": "deceased", "wrong_person": "wrong_person",
    "complain": "complain",
}
AGENT_SLIPS = ("not_verified", "no_disclosure", "outside_hours")
WARNINGS = (*INTENT_WARNINGS.values(), *AGENT_SLIPS)
# Warnings after which nothing more about the debt may be said on this call.
STOPPING_WARNINGS = frozenset({"cease", "attorney", "bankruptcy", "deceased", "wrong_person", "dispute"})
# An intent this unsure is not trusted to raise a warning on its own (the cues still may). The model learnt
# wrong_person from chat, where a caller naming someone ("this is Jordan", "who's calling for Jordan") is rare; on
# the phone it is how every call starts, so that intent alone must be surer.
MIN_INTENT_CONFIDENCE = 0.5
MIN_CONFIDENCE_OF = {"wrong_person": 0.85}


# --- each thing said ----------------------------------------------------------------------------------

def names_of(full_name: str) -> tuple[str, ...]:
    """The debtor's full and first name, as a caller says them: "yes this is Jordan" on the phone is them."""
    full = " ".join(full_name.split())
    return (full, full.split()[0]) if full else ()


@dataclass(frozen=True)
class Line:
    """Who is speaking at the debtor's end, as the call's earlier words showed."""

    third_party: bool = False  # someone other than the debtor (their last words raised wrong_person)
    representative: bool = False  # ...who is the debtor's attorney, or their office, speaking for them


def line_after(before: Line, text: str, warnings: Iterable[str]) -> Line:
    """Who is on the line after a debtor-side utterance that raised `warnings`: the debtor once their words raise
    no wrong_person (they came to the phone); else a third party, the attorney from the moment they say so."""
    if "wrong_person" not in set(warnings):
        return Line()
    return Line(third_party=True, representative=before.representative or cues.speaks_as_representative(text))


def line_of(debtor_side: Iterable[tuple[str, Iterable[str]]]) -> Line:
    """Who is on the line after the debtor-side utterances of a call so far, each (text, warnings raised)."""
    line = Line()
    for text, warnings in debtor_side:
        line = line_after(line, text, warnings)
    return line


@dataclass(frozen=True)
class CallFacts:
    """Where the call stands when something is said, as `bot.services.calls` gathers it."""

    verified: bool  # the person checked the reference and date of birth against the account
    disclosure_given: bool  # the debt-collector disclosure was said (or ticked) earlier on the call
    outside_hours: str | None  # why the debtor's local time is outside the contact window, or None
    debt_terms: tuple[str, ...]  # what names this debt: the creditors' names and the amounts on file
    debtor_names: tuple[str, ...] = ()  # the debtor's full and first name: "yes this is Jordan" is them
    line: Line = Line()  # who has been speaking at the debtor's end
    represented: bool = False  # an attorney was named earlier on this call ("call her, not me" then means them)


@dataclass(frozen=True)
class Heard:
    speaker: str  # debtor | agent
    text: str
    intent: str | None
    confidence: float


@dataclass(frozen=True)
class Assessment:
    warnings: tuple[str, ...]  # codes this utterance raises, in WARNINGS order
    disclosure_given: bool  # the checklist item after this utterance
    asks_for_payment: bool
    names_the_debt: bool


def _ordered(codes: Iterable[str]) -> tuple[str, ...]:
    found = set(codes)
    return tuple(code for code in WARNINGS if code in found)


def debtor_warnings(text: str, intent: str | None, confidence: float, names: tuple[str, ...] = (),
                    line: Line = Line(), represented: bool = False, verified: bool = False) -> tuple[str, ...]:
    """What the words at the debtor's end warn of: their intent, when the model is sure enough and the words do
    not void it, every phrase cue, and who is speaking (`line`, or these words: "I'm his son", "I represent him")."""
    speaks_as_debtor = cues.says_they_are(text, names)
    codes = _said(text, intent, confidence, names, third_party=line.third_party)
    if not line.third_party and not speaks_as_debtor and (
            "wrong_person" in codes or cues.someone_else_answers(text, names)):
        codes = _said(text, intent, confidence, names, third_party=True) | {"wrong_person"}  # "I'm his son. dad died"
    if not speaks_as_debtor and (line.representative or cues.speaks_as_representative(text)):
        codes |= {"attorney", "wrong_person"}
    if represented and cues.points_to_representative(text):
        codes.add("attorney")
    # Whoever says the debtor died is not the debtor (once verified, the one speaking is: a death they speak of is
    # someone else's); and someone who is not the debtor stays so for the rest of the call unless they say they
    # are (the debtor came to the phone): nothing of the debt may be said to them.
    if ("deceased" in codes and not verified) or (line.third_party and not speaks_as_debtor):
        codes.add("wrong_person")
    elif speaks_as_debtor:
        codes.discard("wrong_person")
    return _ordered(codes)


def _said(text: str, intent: str | None, confidence: float, names: tuple[str, ...], third_party: bool) -> set[str]:
    """The intent's warning (sure enough, not voided by the words) and the phrase cues'."""
    from_intent = INTENT_WARNINGS.get(intent or "")
    if from_intent and confidence < MIN_CONFIDENCE_OF.get(from_intent, MIN_INTENT_CONFIDENCE):
        from_intent = None
    if from_intent and (cues.vetoed(from_intent, text, third_party) or cues.negated(from_intent, text)
                        or (from_intent == "wrong_person" and cues.says_they_are(text, names))):
        from_intent = None
    return {*([from_intent] if from_intent else []), *cues.debtor_cues(text, third_party)}


def assess(heard: Heard, facts: CallFacts) -> Assessment:
    """The warnings one utterance raises and the disclosure checklist after it.

    The collector's slips: anything about the debt before the debtor is verified (not_verified); asking for
    payment before the debt-collector disclosure, unless the disclosure comes first in the same breath
    (no_disclosure); and, for every utterance, a debtor's local time outside the contact window (outside_hours).
    """
    codes: list[str] = ["outside_hours"] if facts.outside_hours else []
    if heard.speaker == "debtor":
        codes += debtor_warnings(heard.text, heard.intent, heard.confidence, facts.debtor_names, facts.line,
                                 facts.represented, facts.verified)
        return Assessment(_ordered(codes), facts.disclosure_given, False, False)
    discloses = cues.gives_disclosure(heard.text)
    asks = cues.asks_for_payment(heard.text)
    about_debt = names_the_debt(heard.text, facts.debt_terms) or asks
    if about_debt and not facts.verified:
        codes.append("not_verified")
    if asks and not facts.disclosure_given and not cues.discloses_before_asking(heard.text):
        codes.append("no_disclosure")
    return Assessment(_ordered(codes), facts.disclosure_given or discloses, asks, about_debt)


def stops_talk_of_the_debt(raised: Iterable[str]) -> bool:
    """Whether a warning raised on this call means no more talk of the debt (and so no offers) on it."""
    return any(code in STOPPING_WARNINGS for code in raised)

