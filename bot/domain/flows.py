"""The conversation flows, the intents each one handles, and the intent lists the forms derive from them.

Each flow's intents are exactly those of its training file `data/nlu/<flow>.yml` (its rules and stories are in
`data/rules/<flow>.yml` and `data/stories/<flow>.yml`); a test holds this module and the files together. The
intent names are the SPEC's (section 6). A new flow is a tuple here, its data files and its service.
"""
from __future__ import annotations

# `inform` gives a value (a reference, a date of birth, a postcode; to later forms an amount, months, a date or a
# reason): it is the verification form's answer first, and answers the agreement and case forms too.
VERIFICATION = ("inform",)
INFORM = ("ask_balance",)  # what is owed, to whom, why (SPEC 2.3)
NEGOTIATION = ("request_payment_plan", "request_settlement", "pay_in_full", "promise_to_pay")
PROTECTIVE = ("dispute", "already_paid", "hardship", "stop_contact", "wrong_person", "attorney", "bankruptcy",
              "deceased", "update_contact")
HANDOFF = ("request_human", "complain")
CHITCHAT = ("greet", "goodbye", "affirm", "deny", "thank", "bot_challenge", "out_of_scope")

FLOWS: dict[str, tuple[str, ...]] = {
    "verification": VERIFICATION, "inform": INFORM, "negotiation": NEGOTIATION, "protective": PROTECTIVE,
    "handoff": HANDOFF, "chitchat": CHITCHAT,
}
INTENTS = frozenset(intent for intents in FLOWS.values() for intent in intents)

# The agreement each negotiation intent asks for (the agreement form's `agreement_type`).
AGREEMENT_TYPES = {
    "request_payment_plan": "plan", "request_settlement": "settlement", "promise_to_pay": "promise",
    "pay_in_full": "pay_in_full",
}
# The case each protective intent opens with the case form; `stop_contact` and `wrong_person` open none (they are
# recorded at once).
CASE_TOPICS = {
    "dispute": "dispute", "already_paid": "dispute", "hardship": "hardship", "attorney": "attorney",
    "bankruptcy": "bankruptcy", "deceased": "deceased", "update_contact": "update_contact",
}
# Protective intents that stop collection or say the person is not the debtor: even unverified, they are never read
# as a reference or a date of birth.
STOPS = frozenset({"stop_contact", "wrong_person", "attorney", "bankruptcy", "deceased"})
# Said whatever is being asked: their own rules answer them and the form carries on or ends.
_ASIDES = frozenset({"bot_challenge", "goodbye"})

# While a form asks its questions, any text is an answer except these intents, which their own rules handle.
VERIFICATION_INTERRUPTIONS = frozenset(HANDOFF) | STOPS | _ASIDES | {"deny"}
CASE_NOT_ANSWERS = frozenset(HANDOFF) | _ASIDES
AGREEMENT_NOT_ANSWERS = frozenset(INFORM) | frozenset(PROTECTIVE) | frozenset(HANDOFF) | _ASIDES | {"deny"}
# Said in passing during verification: the question is asked again without "that doesn't look like...".
SMALL_TALK = frozenset({"greet", "thank", "affirm"})


# The slots of an agreement being negotiated: cleared when one is settled, refused, or a person hands back.
AGREEMENT_SLOTS = ("agreement_type", "agreement_amount", "agreement_date", "pending_terms")
