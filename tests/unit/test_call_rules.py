"""Call-assist's pure rules: what each utterance on a call warns of, for the debtor's words and the collector's."""
from __future__ import annotations

import pytest

from bot.domain import cues
from bot.domain.calls import CallFacts, Heard, assess, debtor_warnings, stops_talk_of_the_debt
from bot.presenters import call as words

TERMS = ("Northwind Bank", "Northwind Card Services", "1234.56", "1100.00")
NAMES = ("Jordan Avery", "Jordan")


def facts(**changes: object) -> CallFacts:
    base: dict[str, object] = {"verified": False, "disclosure_given": False, "outside_hours": None,
                               "debt_terms": TERMS, "debtor_names": NAMES}
    return CallFacts(**{**base, **changes})  # type: ignore[arg-type]


def agent(text: str, **changes: object) -> tuple[str, ...]:
    return assess(Heard("agent", text, "inform", 0.9), facts(**changes)).warnings


@pytest.mark.parametrize("text, code", [
    ("uh i lost my job in march and things are super tight", "hardship"),
    ("talk to my lawyer, i'm done", "attorney"),
    ("we filed chapter 13 last spring", "bankruptcy"),
    ("stop calling this number", "cease"),
    ("he passed away in june", "deceased"),
    ("wrong number buddy", "wrong_person"),
    ("that's not my account i never had a northwind card", "dispute"),
    ("i already paid that off in may", "already_paid"),
    ("this is harassment, i'm reporting you to the cfpb", "complain"),
])
def test_a_phrase_raises_its_warning_when_the_model_read_something_else(text, code):
    assert code in debtor_warnings(text, "inform", 0.9, NAMES)


@pytest.mark.parametrize("text, code", [
    ("i'm not filing for bankruptcy i just need time", "bankruptcy"),
    ("my brother is a lawyer and he says just pay it", "attorney"),
    ("do i need a lawyer for this", "attorney"),
    ("my dad passed last year and left me a little", "deceased"),
    ("i know i owe it, i just let it slide", "dispute"),
])
def test_negated_questions_and_other_peoples_news_raise_nothing_even_when_the_model_says_so(text, code):
    intent = {"bankruptcy": "bankruptcy", "attorney": "attorney", "deceased": "deceased", "dispute": "dispute"}[code]
    assert code not in debtor_warnings(text, intent, 0.95, NAMES)


def test_an_unsure_model_raises_nothing_on_its_own_and_wrong_person_must_be_surer():
    assert debtor_warnings("hmm ok", "bankruptcy", 0.45) == ()
    assert debtor_warnings("who's calling for him", "wrong_person", 0.8) == ()
    assert debtor_warnings("who's calling for him", "wrong_person", 0.9) == ("wrong_person",)


def test_the_debtor_saying_who_they_are_outweighs_a_wrong_person_reading():
    assert debtor_warnings("yeah this is jordan who's this", "wrong_person", 0.95, NAMES) == ()
    assert debtor_warnings("this is jordan's wife", "wrong_person", 0.95, NAMES) == ("wrong_person",)


def test_a_death_and_a_third_party_mean_the_speaker_is_not_the_debtor_for_the_rest_of_the_call():
    assert debtor_warnings("jordan passed away in march", "deceased", 0.9, NAMES) == ("deceased", "wrong_person")
    assert debtor_warnings("ok what do you need", "inform", 0.9, NAMES, third_party=True) == ("wrong_person",)
    assert debtor_warnings("hi it's jordan, i'm here now", "greet", 0.9, NAMES, third_party=True) == ()
    # said by a third party, "my dad died" is the debtor's death
    assert "deceased" in debtor_warnings("my dad died in february", "deceased", 0.9, NAMES, third_party=True)


def test_the_collector_speaking_of_the_debt_before_verification_is_a_slip():
    assert agent("hi, is this jordan avery?") == ()
    assert agent("i'm calling about your northwind bank account") == ("not_verified",)
    assert agent("you owe $1,234.56") == ("not_verified",)
    assert agent("she listed this number on her northwind card service") == ("not_verified",)
    assert agent("you owe $1,234.56", verified=True) == ()


def test_asking_for_payment_before_the_disclosure_is_a_slip_unless_it_came_first_in_the_same_breath():
    assert agent("can you pay something today?", verified=True) == ("no_disclosure",)
    assert agent("this is an attempt to collect a debt. can you pay something today?", verified=True) == ()
    assert agent("can you pay today? by the way this is a debt collector", verified=True) == ("no_disclosure",)
    assert agent("can you pay something today?", verified=True, disclosure_given=True) == ()
    assessed = assess(Heard("agent", "Northgate Services is a debt collector.", None, 0.0), facts(verified=True))
    assert assessed.disclosure_given and assessed.warnings == ()
    # said before the right party is verified, the disclosure itself tells a possible third party of a debt
    assert agent("Northgate Services is a debt collector.") == ("not_verified",)


def test_outside_the_window_every_utterance_says_so():
    late = facts(outside_hours="outside 08:00-21:00 in the debtor's zone (it is 22:30 there)")
    assert assess(Heard("debtor", "hello?", "greet", 0.9), late).warnings == ("outside_hours",)
    assert assess(Heard("agent", "can you pay now", "inform", 0.9), late).warnings == (
        "not_verified", "no_disclosure", "outside_hours")


def test_warnings_that_stop_collection_stop_the_offers_and_others_do_not():
    assert stops_talk_of_the_debt(["hardship", "attorney"])
    assert not stops_talk_of_the_debt(["hardship", "complain", "outside_hours"])


def test_every_warning_has_a_title_and_an_action_and_suggestions_put_first_things_first():
    from bot.domain.calls import WARNINGS

    assert [d["code"] for d in words.warning_details(WARNINGS)] == list(WARNINGS)
    unverified = words.SuggestionFacts(False, False, None, "USD", "Northgate", None, None, None)
    said = words.suggestions(unverified, ("wrong_person",), "wrong_person", "debtor")
    assert "wrong number" in said[0] and 2 <= len(said) <= 3
    assert not any("1,234" in line or "Northwind" in line for line in said)


def test_the_voicemail_says_nothing_of_the_debt():
    message = words.voicemail("ana", "Northgate Services", "1-800-555-0142")
    assert "1-800-555-0142" in message and "ana" in message
    assert not cues.asks_for_payment(message) and not cues.gives_disclosure(message)
    for word in ("debt", "collect", "balance", "owe", "account", "payment"):
        assert word not in message.lower()
