"""Phrase cues in what is said on a call, beside the NLU model's one intent per utterance.

A spoken turn often carries two things at once ("I lost my job and my lawyer told me not to talk to you"), and
a speech-to-text transcript is messier than chat; for the warnings that stop collection, a missed one costs far
more than an extra one, so these cues raise them too. The collector's own words are checked against the
disclosure and payment wording of a collections call. First written from the rules and the trade's wording;
then extended for what tests/data/call_transcripts.yml (the development set) and, once measured blind,
call_transcripts_heldout.yml showed missing (speech-to-text spellings, third parties, businesses answering).
bench/call_assist.py measures them.
"""
from __future__ import annotations

import re

_FLAGS = re.I


def _any(*phrases: str) -> re.Pattern[str]:
    """One pattern matching any of the phrases (each a regular expression), case-insensitive."""
    return re.compile("|".join(phrases), _FLAGS)


_LAWYER = r"(?:lawyers?|attorneys?|atty|att?ou?rne?ys?|lawers?|loyers?|solicitors?)"  # as transcribers write it
_RELATIVE = (r"(?:(?:mother|father|sister|brother|son|daughter)[- ]in[- ]law|"
             r"wife|husband|mom|mother|dad|father|son|daughter|roommate|sister|brother|partner|girlfriend|"
             r"boyfriend|neighbou?r|aunt|uncle|grandson|granddaughter|grandmother|grandfather|fiance|cousin|"
             r"caregiver|nephew|niece|ex)")
_BUSINESS = (r"(?:dental|auto body|body shop|clinic|law office|office|residence|plumbing|salon|pharmacy|garage|"
             r"insurance|realty)")

# debtor cues, by warning code (SPEC section 8)
_DEBTOR = {
    "dispute": _any(
        r"\bnot (?:my|mine|his|her|our) (?:debt|account|card|bill|loan)s?\b",
        r"\b(?:isn'?t|is not|ain'?t|not) mine\b",
        r"\b(?:never|don'?t|do not|didn'?t) (?:had|have|opened|open|owned|own|signed up for|applied for|used|use)"
        r" (?:a |an |that |this |the |any )?(?:\w+ ){0,2}(?:card|account|loan)\b",
        r"\b(?:don'?t|do not|doesn'?t|does not|shouldn'?t|should not) owe\b",
        r"\bdisput\w*",
        r"\b(?:proof|prove|validat\w*|verification of (?:the|this) debt)\b",
        r"\b(?:see|send|show|mail) (?:me |us )?(?:the |some |my |a |that )?(?:statements?|paperwork|contract|"
        r"application|signature|documents?|itemi[sz]ation|breakdown|original bill)\b",
        r"\b(?:amount|balance|figure|number|interest|fees?) (?:is|are|'s|'re) (?:wrong|not right|incorrect|made up)\b",
        r"\bwrong amount\b", r"\bidentity theft\b", r"\bstolen identity\b", r"\bused my (?:name|identity|social)\b",
        r"\bfraud\w*\b", r"\bnot (?:responsible|liable) for\b", r"\bnever signed\b",
        r"\b(?:don'?t|do not) have (?:anything|nothing|any account) with\b", r"\b(?:don'?t|do not) recogni[sz]e\b",
        r"\bnever heard of (?:this|that|the|your) (?:company|bank|debt|account|card|creditor)"),
    "already_paid": _any(
        r"\b(?:already|i|we|she|he|they) (?:paid|payed|settled|cleared|sent)\b",
        r"\bi (?:did|already) (?:send|pay|mail)\w*", r"\bsettled it\b",
        r"\bpaid (?:it|that|this|them|the \w+) (?:off|in full|already|back)\b", r"\bpaid (?:off|in full)\b",
        r"\b(?:have|got) (?:a |the )?receipts?\b", r"\bzero balance\b", r"\bpaying (?:it |this |that )?twice\b",
        r"\b(?:sent|mailed) (?:you |them |in )?(?:guys )?(?:a |the )?(?:check|cheque|payment|money order)\b"),
    "hardship": _any(
        r"\b(?:lost|losing) (?:my|his|her|our) (?:job|work|income|house|home)\b", r"\bunemploy\w*", r"\blaid off\b",
        r"\bout of work\b", r"\bfurlough\w*", r"\bmedical\b", r"\b(?:in|out of) (?:the )?hospital\b",
        r"\bcan'?t afford\b", r"\bcannot afford\b", r"\bdisabilit\w*", r"\bdisabled\b", r"\bcancer\b", r"\bchemo\w*",
        r"\bsurgery\b", r"\bfixed income\b", r"\bsocial security\b",
        r"\bbarely (?:getting by|making it|scraping|surviv|keeping|paying)", r"\bliving paycheck\b", r"\bevict\w*",
        r"\bhomeless\b", r"\b(?:hours|pay) (?:got |were |was )?cut\b", r"\bno income\b", r"\bsick\b", r"\billness\b",
        r"\b(?:money|things)(?:'s| is| are)? (?:really |super |so )?tight\b", r"\bwhole income\b"),
    "cease": _any(
        r"\b(?:stop|stopped|quit) (?:calling|callin|contacting|ringing|phoning|bothering|texting|harass\w*)\b",
        r"\b(?:don'?t|do not|never|no) (?:ever )?(?:call|calls|contact|phone|ring) (?:me|us|here|this number|again|"
        r"anymore|the office|my work|at work|this house)\b",
        r"\bcease\b", r"\bremove (?:my|this) (?:number|phone)\b",
        r"\btake (?:me|him|her|us|my number|this number) off\b", r"\bdo not call list\b",
        r"\bno (?:more )?(?:phone )?calls\b", r"\bstop the calls\b", r"\bnot to (?:call|contact) me\b",
        r"\b(?:letters|mail|writing|email) only\b", r"\bonly (?:by |in |through )?(?:mail|writing|letters?)\b",
        r"\bleav(?:e|ing) (?:me|us) alone\b", r"\brevoke\w*\b", r"\bwithdraw (?:my )?consent\b",
        r"\blose (?:my|this) number\b"),
    "attorney": _any(
        rf"\b(?:my|our|his|her|the) (?:\w+ )?(?:{_LAWYER}|legal (?:counsel|representatives?))\b(?! general)",
        r"\brepresented by\b", r"\brepresents? (?:me|us|him|her)\b", r"\bi represent\b", r"\batty\b",
        rf"\b(?:bankruptcy|bk|debt) {_LAWYER}\b", r"\bthe (?:lawyer|attorney) (?:say|said|says|told)\b",
        r"\b(?:have|got|hired|retained) (?:a|an) (?:lawyer|attorney)\b",
        r"\b(?:lawyer|attorney)(?:'s| is| are)? (?:handling|dealing|representing|taking care)\b",
        r"\b(?:talk|speak) to (?:my|the) (?:lawyer|attorney)\b", r"\bcounsel\b", r"\blaw (?:firm|office|group)\b",
        r"\blegal aid\b", r"\b\w+ (?:and|&) associates\b", r"\b(?:and|&) \w+ law\b", r"\blaw offices? of\b",
        r"\b\w+ (?:law|legal)(?: (?:firm|group|office|associates))?\b(?= (?:is|are|has|handles|represents))"),
    "bankruptcy": _any(
        r"\bbank ?rup\w*", r"\bchapter (?:7|13|seven|thirteen)\b", r"\bch\.? ?(?:7|13)\b", r"\btrustee\b",
        r"\bpetition\b", r"\bdischarged\b(?! from)", r"\bschedules\b", r"\bautomatic stay\b",
        r"\bfil(?:ed|ing|e) (?:for )?(?:ch|chapter|bk)\b", r"\bbk\b"),
    "deceased": _any(
        r"\bpas+(?:ed|t)? (?:away|on)\b", r"\b(?:he|she|they) (?:has |have )?passed\b", r"\bdied\b", r"\bdeath\b",
        r"\bdeceased\b", r"\b(?:is|'s) dead\b", r"\bfuneral\b", r"\b(?:my|the|our) late\b", r"\bestate\b",
        r"\bexecut(?:or|rix)\b", r"\bno longer (?:with us|alive|living)\b", r"\bnot with us\b",
        r"\b(?:his|her) passing\b", r"\bburied\b", r"\bobituar\w*"),
    "wrong_person": _any(
        r"\bwrong (?:number|person|guy|house|people)\b",
        r"\bno (?:one|body) (?:here )?(?:by that name|lives here|named|here)\b",
        r"\bthere(?:'s| is) no \w+(?: \w+)? (?:here|at this number|living here)\b",
        r"\bnobody (?:here )?by that name\b", r"\bnever heard of (?:him|her|them|a |any |that (?:name|person))",
        r"\b(?:don'?t|do not) know (?:any|a|him|her|who|them|that person|this person)\b",
        r"\b(?:he|she)(?:'s| is|s)? (?:not|no) (?:here|home|in|available|around)\b",
        r"\b(?:he|she) (?:doesn'?t|does not|don'?t) live here\b", r"\bnot the person you\b",
        r"\b(?:new|just got this) number\b", r"\bmoved out\b",
        rf"\b(?:i'?m|i am|this is|it'?s) (?:his|her|their|the|\w+'s) {_RELATIVE}\b",
        rf"^(?:uh |um )?(?:his|her) {_RELATIVE}(?: here| speaking| and i\b|$)",
        rf"\b{_RELATIVE} (?:answered|says)\b", r"\bbusiness (?:line|number|phone)\b", r"\b(?:this|it) is a business\b",
        r"\byou'?ve reached\b", rf"^(?:hi |hello )?(?:this is )?(?:\w+ ){{1,3}}{_BUSINESS}\b"),
    "complain": _any(
        r"\bharass\w*", r"\breport (?:you|this|your)\b", r"\bcfpb\b", r"\bbbb\b", r"\bbetter business\b",
        r"\battorney general\b", r"\bconsumer (?:financial|protection)\b", r"\bsue (?:you|your)\b", r"\bf+u+c+k\w*",
        r"\bf\*+\w*", r"\bshit\w*", r"\bbullshit\b", r"\bidiot\w*", r"\bmorons?\b", r"\bcomplain\w*", r"\brude\b",
        r"\[ ?_+ ?\]", r"\billegal\b", r"\bthreat\w*", r"\bhow dare\b", r"\bsick (?:and tired|of (?:you|this|these))\b",
        r"\bleeches\b", r"\bvultures?\b", r"\bhow many times\b", r"\btold you (?:\w+ )?(?:times|already|before)\b",
        r"\bcalled (?:me |here )?(?:\w+ )?(?:times|twice)\b", r"\bat night\b", r"\bin the morning\b", r"\bwho calls\b",
        r"\bthis (?:late|early|hour)\b", r"\bthe hell\b", r"\bcrack of dawn\b",
        r"\b(?:second|third|fourth|fifth|\w+th) time (?:you|y'?all|you guys) (?:called|call)"),
}
# A cue (or the intent) for these is void where the clause says the opposite ("I'm not filing bankruptcy", "no
# lawyer yet", "I'm not disputing anything").
_NEGATABLE = frozenset({"attorney", "bankruptcy", "deceased", "hardship", "dispute"})
# A negation counts up to three words before the phrase, within its clause ("no, talk to my lawyer" and "I'm not
# talking to you, my lawyer told me..." are not negated).
_NEGATION_BEFORE = re.compile(
    r"\b(?:not|never|don'?t|dont|won'?t|wont|isn'?t|aren'?t|without|haven'?t|hasn'?t|didn'?t|wasn'?t|weren'?t)"
    r"((?:\s+[\w']+){0,3})\s*$", _FLAGS)
_CLAUSE_BREAK = re.compile(r"\b(?:but|and|so|because|cause|when|then|my|you|your|i|he|she|they|it)\b", _FLAGS)
# ...and for these where it is plainly about someone else, or a question: "my dad passed", "do I need a lawyer?"
_NOT_ABOUT_THE_DEBT = {
    "deceased": re.compile(r"\bmy (?:dad|father|mom|mother|uncle|aunt|grandma|grandpa|grandmother|grandfather)\b"
                           r"[^.,;!?]{0,20}\b(?:passed|died|death|funeral)|\bdied laughing\b|\breal estate\b", _FLAGS),
    "bankruptcy": re.compile(r"\b(?:thought|thinking|think) about (?:filing )?(?:for )?bankruptcy\b", _FLAGS),
    "dispute": re.compile(r"\bi know i owe\b|\bnot saying i (?:don'?t|do not) owe\b", _FLAGS),
    "hardship": re.compile(r"\b(?:pass(?:ed)? away|died|die) (?:in|at|of|from)\b", _FLAGS),  # a death's cause
    "attorney": re.compile(r"\bshould (?:get|hire|call) (?:a |an )?(?:lawyer|attorney)\b|\bnot (?:a |my )?(?:lawyer|"
                           r"attorney)s?\b|\battorney general\b|"
                           r"\b(?:do|should) i (?:need to |have to )?(?:need|get|call|hire) (?:a |an )?"
                           r"(?:lawyer|attorney)\b|\b(?:lawyer|attorney) for (?:my|the|our) (?:divorce|house|closing|"
                           r"custody|will)\b|\bmy \w+ (?:is|'s) a "
                           r"(?:lawyer|attorney)\b|\bget (?:a |an )?(?:lawyer|attorney) and sue\b", _FLAGS),
}

# the collector's words
_DISCLOSURE = re.compile(
    r"\bdebt collect(?:or|ion agency|ing agency)\b|\battempt(?:ing)? to collect (?:a|the|this|your)? ?debt\b"
    r"|\binformation (?:obtained|we obtain|we get|you give)[^.]{0,30}\bused for (?:that|this) purpose\b"
    r"|\bcollect(?:ing)? a debt\b",
    _FLAGS)
_PAYMENT_ASK = re.compile(
    r"\b(?:can|could|would|will|are) you (?:be able to )?(?:pay|make (?:a )?payment|put (?:down|something)"
    r"|settle|set up|do (?:a )?(?:payment|\$?\d))|\bmake a payment\b|\bpay (?:today|now|it|this|that|something|"
    r"the (?:balance|full|amount|whole))\b|\bpayment (?:today|now|arrangement|plan)\b|\bhow much can you\b"
    r"|\b(?:card|debit|routing|bank account) (?:number|details|info)\b|\btake (?:a|your) (?:card|payment)\b"
    r"|\b(?:put|get) (?:something|anything|a payment) (?:down|in|toward)\b|\btake care of (?:this|it|that|the "
    r"balance)|\b(?:can|could) we (?:set|get|do|work out|put)\b|\bget (?:that|it|this) (?:paid|settled|resolved)\b"
    r"|\bset up (?:a )?payment|\bwould\b[^.?]{0,40}\b(?:a month|monthly|per month)\b[^.?]{0,15}\bwork\b"
    r"|\bresolve (?:this|it|the balance) today\b|\bclear (?:this|it|the balance)\b|\bpay in full\b",
    _FLAGS)


def _clean(text: str) -> str:
    return " ".join((text or "").replace("\u2019", "'").replace("\u2018", "'").split())


def _negated(text: str, start: int) -> bool:
    before = re.split(r"[.,;!?]", text[max(0, start - 60):start])[-1]
    match = _NEGATION_BEFORE.search(before)
    return match is not None and not _CLAUSE_BREAK.search(match.group(1))


def debtor_cues(text: str, third_party: bool = False) -> list[str]:
    """The warning codes whose phrases the debtor's words contain (and that no veto voids)."""
    text = _clean(text)
    found = []
    for code, pattern in _DEBTOR.items():
        matches = list(pattern.finditer(text))
        if code in _NEGATABLE:
            matches = [m for m in matches if not _negated(text, m.start())]
        if matches and not vetoed(code, text, third_party):
            found.append(code)
    return found


def vetoed(code: str, text: str, third_party: bool = False) -> bool:
    """Whether the words void a warning of `code`, whoever raised it: it is about someone else, or a question.
    Said by a third party (someone other than the debtor answered), "my dad died" is the debtor's death."""
    if third_party and code == "deceased":
        return False
    veto = _NOT_ABOUT_THE_DEBT.get(code)
    return bool(veto and veto.search(_clean(text)))


_NOT_THEM = re.compile(rf"\b(?:not|isn'?t) (?:your|the|him|her)\b|'s {_RELATIVE}\b|\b(?:his|her) {_RELATIVE}\b", _FLAGS)


def says_they_are(text: str, names: tuple[str, ...]) -> bool:
    """Whether the speaker says they are the person named ("yes this is Jordan", "Jordan speaking"), which no
    model reading of them as the wrong person outweighs; "this is Jordan's wife" is not."""
    text = _clean(text)
    for name in names:
        if not name:
            continue
        named = re.escape(name)
        if re.search(rf"\b(?:this is|it'?s|i'?m|i am|yes|yeah|yep|speaking)\b[^.?!]{{0,12}}\b{named}\b(?!'s|s\b)"
                     rf"|(?:^|\b(?:yes|yeah|yep|hi|hello),? ){named} (?:here|speaking)\b|\byou'?ve reached {named}\b",
                     text, re.I) and not _NOT_THEM.search(text):
            return True
    return False


def gives_disclosure(text: str) -> bool:
    """Whether the collector said they are a debt collector (the Reg F / FDCPA 'mini-Miranda')."""
    return bool(_DISCLOSURE.search(_clean(text)))


def asks_for_payment(text: str) -> bool:
    """Whether the collector asked for payment or for the means to pay."""
    return bool(_PAYMENT_ASK.search(_clean(text)))


def discloses_before_asking(text: str) -> bool:
    """Whether the disclosure comes before the ask in the same utterance."""
    text = _clean(text)
    disclosure, ask = _DISCLOSURE.search(text), _PAYMENT_ASK.search(text)
    return disclosure is not None and (ask is None or disclosure.start() < ask.start())


def negated(code: str, text: str) -> bool:
    """Whether every phrase of `code` in the words is negated ("I'm not disputing anything"): an intent the model
    read from them is then void too. False when no phrase of the code is there (the model may know better)."""
    if code not in _NEGATABLE:
        return False
    text = _clean(text)
    matches = list(_DEBTOR[code].finditer(text))
    return bool(matches) and all(_negated(text, m.start()) for m in matches)
