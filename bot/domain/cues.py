"""Phrase cues in what is said on a call, beside the NLU model's one intent per utterance.

A spoken turn often carries two things at once ("I lost my job and my lawyer told me not to talk to you"), and
a speech-to-text transcript is messier than chat; for the warnings that stop collection, a missed one costs far
more than an extra one, so these cues raise them too. The collector's own words are checked against the
disclosure and payment wording of a collections call. First written from the rules and the trade's wording;
then extended for what tests/data/call_transcripts.yml (the development set) and each later set, once measured
blind, showed missing (speech-to-text spellings, third parties, businesses answering, attorneys on the line,
typed shorthand). Who is speaking is decided from names (`says_they_are`, `someone_else_answers`) and carried
through the call by `bot.domain.calls.Line`. bench/call_assist.py measures them.
"""
from __future__ import annotations

import re

_FLAGS = re.I


def _any(*phrases: str) -> re.Pattern[str]:
    """One pattern matching any of the phrases (each a regular expression), case-insensitive."""
    return re.compile("|".join(phrases), _FLAGS)


# as transcribers write it ("my eternity is handling all my debts")
_LAWYER = r"(?:lawyers?|attorneys?|atty|att?ou?rne?ys?|lawers?|loyers?|solicitors?|eternity)"
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
        r"\b(?:never|don'?t|do not|didn'?t) (?:even |ever )?(?:had|have|opened|open|owned|own|signed up for|"
        r"applied for|"
        r"used|use)"
        r" (?:a |an |that |this |the |any )?(?:\w+ ){0,2}(?:card|account|loan)\b",
        r"\b(?:don'?t|do not|doesn'?t|does not|shouldn'?t|should not) owe\b",
        r"\bdisput\w*",
        r"\b(?:proof|prove|validat\w*|verification of (?:the|this) debt)\b",
        r"\b(?:see|send|show|mail) (?:me |us )?(?:the |some |my |a |that )?(?:statements?|paperwork|contract|"
        r"application|signature|documents?|itemi[sz]ation|breakdown|original bill)\b",
        r"\b(?:amount|balance|figure|number|interest|fees?)(?: is| are|'s|'re) (?:all )?(?:wrong|not right|incorrect|"
        r"made up|off)\b", r"\b(?:that|this|it)(?:'s| is) not (?:right|correct|accurate)\b",
        r"\b(?:want|need|get|request\w*) (?:to see )?(?:a |the |all the |all my |every |copies of |a copy of |some )?"
        r"(?:\w+ )?(?:statements|paperwork|contract|application|signature|itemi[sz]ation|breakdown|original bill)\b",
        r"\bitemi[sz]ed\b", r"\bbal(?:ance)? should (?:only )?be\b", r"\bnever had (?:it|that|one|this)\b",
        r"\bnever (?:been|was) (?:a |an )?(?:\w+ )?customer\b", r"\bbogus\b", r"\bsee it (?:on paper|in writing)\b",
        r"\b(?:purse|wallet|identity|id|social|ssn) (?:got |was )?stolen\b",
        r"\bstole my (?:identity|wallet|purse|social)\b",
        r"\bopened (?:\w+ ){0,4}(?:in|with|using) my (?:name|social|identity)\b",
        r"\bevery statement\b", r"\bshould (?:only )?be (?:more like|closer to|only|just)\b",
        r"\bwrong amount\b", r"\bidentity theft\b", r"\bstolen identity\b", r"\bused my (?:name|identity|social)\b",
        r"\bfraud\w*\b", r"\bnot (?:responsible|liable) for\b", r"\bnever signed\b",
        r"\b(?:don'?t|do not) have (?:anything|nothing|any account) with\b", r"\b(?:don'?t|do not) recogni[sz]e\b",
        r"\bnever heard of (?:this|that|the|your) (?:company|bank|debt|account|card|creditor)"),
    "already_paid": _any(
        r"\b(?:already|i|we|she|he|they) (?:paid|payed|pd|settled|cleared)\b",
        r"\b(?:already|i|we|she|he|they) sent\b(?! (?:(?:his|her|the|a|my|you|them|it) )?(?:death certificate|letters?|"
        r"papers|documents|paperwork|emails?|dispute|report|proof|cop(?:y|ies)|fax))",
        r"\bpd in full\b", r"\bzeroed out\b", r"\bsif\b",
        r"\bi (?:did|already) (?:send|pay|mail)\w*", r"\bsettled it\b",
        r"\bpaid (?:it|that|this|them|the \w+) (?:off|in full|already|back)\b", r"\bpaid (?:off|in full)\b",
        r"\b(?:have|got) (?:a |the )?receipts?\b", r"\bzero balance\b", r"\bpaying (?:it |this |that )?twice\b",
        r"\b(?:sent|mailed) (?:you |them |in )?(?:guys )?(?:a |the )?(?:check|cheque|payment|money order)\b",
        r"\b(?:never|not|nobody|wasn'?t|didn'?t|isn'?t)\b[^.,;]{0,25}\b(?:credited|applied|posted)\b",
        r"\bcame out of my (?:account|checking|savings|bank|paycheck)\b", r"\bcleared my (?:bank|account)\b",
        r"\b(?:not|isn'?t|wasn'?t) (?:been )?reflected\b",
        r"\b(?:didn'?t|never|not) (?:put|apply|applied|post|posted|credit|credited) (?:it )?(?:on|to) my "
        r"(?:balance|account)\b"),
    "hardship": _any(
        r"\b(?:lost|losing) (?:my|his|her|our) (?:job|work|income|house|home)\b", r"\bunemploy\w*", r"\blaid off\b",
        r"\bout of work\b", r"\bfurlough\w*", r"\bmedical\b", r"\b(?:in|out of) (?:the )?hospital\b",
        r"\bcan'?t afford\b", r"\bcannot afford\b", r"\bdisabilit\w*", r"\bdisabled\b", r"\bcancer\b", r"\bchemo\w*",
        r"\bsurgery\b", r"\bfixed income\b", r"\bsocial security\b",
        r"\bbarely (?:getting by|making it|scraping|surviv|keeping|keep|paying)", r"\bkeep(?:ing)? the lights on\b",
        r"\bliving paycheck\b", r"\bevict\w*",
        r"\bhomeless\b", r"\b(?:hours|pay) (?:got |were |was )?cut\b", r"\bno income\b", r"\bsick\b", r"\billness\b",
        r"\b(?:money|things)(?:'s| is| are)? (?:really |super |so )?tight\b", r"\bwhole income\b",
        r"\btapped out\b", r"\bnothing left (?:till|until|after|for|to)\b",
        r"\b(?:i'?m|we'?re|i am|we are) (?:flat |dead )?broke\b",
        r"\bbehind on (?:my |the |our )?(?:rent|bills|mortgage)\b", r"\bno (?:work|money|job)\b",
        r"\blet (?:me|him|her|us) go\b", r"\binsolvent\b", r"\bfuneral (?:took|bill|costs?|expenses|home is)\b"),
    "cease": _any(
        r"\b(?:stop|stopped|quit) (?:calling|callin|contacting|ringing|phoning|bothering|texting|harass\w*)\b",
        r"\b(?:don'?t|do not|never|no) (?:ever )?(?:call|calls|contact|phone|ring) (?:me|us|here|this number|again|"
        r"anymore|the office|my work|at work|this house)\b",
        r"\bcease\b", r"\bremove (?:my|this) (?:number|phone)\b",
        r"\btake (?:me|him|her|us|my number|this number) off\b", r"\bdo not call list\b",
        r"\bno (?:more )?(?:phone )?calls\b", r"\bstop the calls\b", r"\bnot to (?:call|contact) me\b",
        r"\b(?:letters|mail|writing|email) only\b", r"\bonly (?:by |in |through )?(?:mail|writing|letters?)\b",
        r"\bleav(?:e|ing) (?:me|us|him|her|them|my \w+)(?: the hell| the fuck)? alone\b",
        r"\bno further (?:calls|contact)\b",
        r"\b(?:atty|attorney|lawyer) only\b", r"\brevoke\w*\b", r"\bwithdraw (?:my )?consent\b",
        r"\blose (?:my|this) number\b",
        r"\b(?:don'?t|do not|never|no) (?:ever )?(?:call|contact|phone) (?:my client|him|her)\b",
        r"\bnot to (?:call|contact) (?:me|us|my client|him|her)\b", r"\b(?:don'?t|do not) do (?:phone )?calls\b",
        r"\bsend (?:it|everything|that|things|them) (?:to me )?(?:in|by|through) (?:the )?(?:mail|writing|post)\b",
        r"\b(?:wants?|asked|req\w*) (?:the |his |her |their |my )?(?:#|number|phone) (?:removed|taken off|deleted)\b",
        r"\b(?:not|don'?t|do not|never|no) (?:\w+ ){0,3}(?:call|contact|phone|ring)\w* (?:\w+ ){0,4}"
        r"(?:anymore|any more|no more|again)\b"),
    "attorney": _any(
        rf"\b(?:my|our|his|her|the) (?:\w+ )?(?:{_LAWYER}|legal (?:counsel|representatives?))\b(?! general)",
        r"\brepresented by\b", r"\brepresents? (?:me|us|him|her)\b", r"\bi represent\b", r"\batty\b",
        rf"\b(?:bankruptcy|bk|debt) {_LAWYER}\b", r"\bthe (?:lawyer|attorney) (?:say|said|says|told)\b",
        r"\b(?:have|got|hired|retained) (?:a|an) (?:lawyer|attorney)\b",
        r"\b(?:lawyer|attorney)(?:'s| is| are)? (?:handling|dealing|representing|taking care)\b",
        r"\b(?:talk|speak) to (?:my|the) (?:lawyer|attorney)\b", r"\bcounsel\b", r"\blaw (?:firm|office|group)\b",
        r"\blegal aid\b", r"\b\w+ (?:and|&) associates\b", r"\b(?:and|&) \w+ (?:law|attorneys|lawyers|legal)\b",
        r"\blaw offices? of\b",
        r"\b\w+ (?:law|legal)(?: (?:firm|group|office|associates))?\b(?= (?:is|are|has|handles|represents))",
        r"\b(?:llp|pllc|esq|esquire)\b", r"\blegal services\b", r"\bat \w+ (?:legal|law)\b", r"\batty only\b",
        r"\b(?:he|she|they) filed (?:the |my |our )?(?:whole )?(?:case|petition|bankruptcy|chapter)\b",
        r"\b(?:he|she|they)(?:'s| is| are) (?:doing|handling|filing) (?:the |our |my |his |her )?(?:chapter|bankruptcy|"
        r"bk|case)\b"),
    "bankruptcy": _any(
        r"\bbank ?rup\w*", r"\bchapter (?:7|13|seven|thirteen)\b", r"\bch\.? ?(?:7|13)\b", r"\btrustee\b",
        r"\bpetition\b", r"\bdischarged\b(?! from)", r"\bschedules\b", r"\bautomatic stay\b",
        r"\bfil(?:ed|ing|e) (?:for )?(?:ch|chapter|bk)\b", r"\bbk\b",
        r"\b(?:with|under|because of|there'?s|violat\w*) (?:the |a |an )?(?:automatic )?stay\b",
        r"\bcase (?:#|number|no\.?|num)\s*:?\s*\d{2}-?\s?\d{4,5}\b", r"\bdischarge\b(?! from)",
        r"\bschedule of (?:debts|creditors)\b", r"\blist of creditors\b", r"\bplan (?:got |was )?confirmed\b"),
    "deceased": _any(
        r"\bpas+(?:ed|t)? (?:away|on)\b", r"\b(?:he|she|they) (?:has |have )?passed\b", r"\bdied\b", r"\bdeath\b",
        r"\bdeceased\b", r"\b(?:is|'s) dead\b", r"\bfuneral\b", r"\bestate\b",
        r"\b(?:my|the|our) late\b(?! (?:fees?|charges?|stuff|payments?|notice|penalt\w+|interest|ones?|shift|night))",
        r"\bexecut(?:or|rix)\b", r"\bno longer (?:with us|alive|living)\b", r"\bnot with us\b",
        r"\b(?:his|her) passing\b", r"\bburied\b", r"\bobituar\w*", r"\bprobate\b", r"\bin the ground\b",
        r"\b(?:he|she|my (?:boy|girl|son|daughter|husband|wife|brother|sister))(?:'s| is| has) (?:been )?gone\b"
        r"(?! (?:out|to|for|away|home|since|all|a|on|back|off|now|till|until))",
        r"\b(?:we|i) lost (?:him|her)\b", r"\b(?:his|her) (?:memorial|wake|burial|ashes|headstone|grave)\b",
        r"\b(?:service|memorial|mass) for (?:him|her)\b",
        r"\b(?:he|she) went (?:\w+ )?(?:sudden\w*|quick\w*|peaceful\w*)",
        r"\b(?:it|cancer|covid|the \w+) (?:finally )?took (?:her|him)\b",
        r"\b(?:handling|executing|probating) (?:the|his|her) will\b",
        r"\bgod rest (?:him|her|his soul|her soul)\b", r"\brest in peace\b", r"\b(?:is|'s) with (?:god|the lord)\b",
        r"\b(?:his|her) will (?:named|left|says)\b"),
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
        rf"^(?:hi |hello )?(?:this is )?(?:\w+ ){{1,3}}{_BUSINESS}\b",
        r"\b(?:let me|i'?ll|i will) (?:go )?(?:get|grab) (?:him|her)\b", r"\b(?:he|she)(?:'s| is) coming\b",
        r"^(?:uh |um |ok |okay )?(?:he|she) (?:says|said)\b",
        r"\b(?:he|she)(?:'s| is) (?:at work|at school|at church|sleeping|asleep|in the shower|out right now)\b",
        r"\b(?:it'?s|phone'?s?) for (?:you|him|her)\b", r"\b3rd (?:pty|party)\b|\bthird party\b",
        r"\bdeb(?:tor)?(?:'s| is)? not (?:home|here|in|avail\w*)\b",
        r"\b(?:want|looking for|calls? for) (?:the|some) other\b"),
    "complain": _any(
        r"\bharass\w*", r"\breport (?:you|this|your)\b", r"\bcfpb\b", r"\bbbb\b", r"\bbetter business\b",
        r"\battorney general\b", r"\bconsumer (?:financial|protection)\b", r"\bsue (?:you|your)\b", r"\bf+u+c+k\w*",
        r"\bf\*+\w*", r"\bshit\w*", r"\bbullshit\b", r"\bidiot\w*", r"\bmorons?\b", r"\bcomplain\w*", r"\brude\b",
        r"\[ ?_+ ?\]", r"\billegal\b", r"\bthreat\w*", r"\bhow dare\b", r"\bsick (?:and tired|of (?:you|this|these))\b",
        r"\bleeches\b", r"\bvultures?\b", r"\bhow many times\b", r"\btold you (?:\w+ )?(?:times|already|before)\b",
        r"\bcalled (?:me |here )?(?:\w+ )?(?:times|twice)\b", r"\bat night\b", r"\bin the morning\b", r"\bwho calls\b",
        r"\bthis (?:late|early|hour)\b", r"\bthe hell\b", r"\bcrack of dawn\b",
        r"\b(?:second|third|fourth|fifth|\w+th) time (?:you|y'?all|you guys) (?:called|call)",
        r"\b(?:second|third|fourth|fifth) (?:agency|company|collector)\b",
        r"\b(?:second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th)) (?:time|call)s?\b",
        r"\bnot even (?:\w+ )?(?:o'?clock|[5-8](?::\d\d)?(?: ?am)?)\b", r"\b(?:keep|keeps|kept) (?:on )?calling\b",
        r"\byou people (?:keep|always|never|have|call)\b", r"\bcall(?:s|ed|ing)? and call\b",
        r"\b(?:calls?|calling|called)\b[^.]{0,30}\b(?:every (?:single )?day|all the time|nonstop|constantly)\b",
        r"\blike a normal person\b", r"\bare you (?:serious|kidding)\b", r"\b(?:with|of|from) you people\b",
        r"\byou people are\b", r"\birate\b", r"\bupset\b", r"\bleech\w*"),
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
    "deceased": _any(
        r"\bmy (?:dad|father|mom|mother|uncle|aunt|grandma|grandpa|grandmother|grandfather|wife|husband)\b"
        r"[^.,;!?]{0,20}\b(?:passed|died|death|funeral)", r"\bdied laughing\b", r"\breal estate\b",
        r"\b(?:battery|phone|cell|car|line|signal|engine)\b(?: \w+){0,4}(?:'s| is) (?:dead|gone|dying)\b"),
    "bankruptcy": _any(
        r"\b(?:thought|thinking|think) about (?:filing )?(?:for )?bankruptcy\b",
        r"\b(?:could|should|might|can) (?:just )?file (?:for )?bankruptcy\b",
        r"\bmy (?:buddy|friend|cousin|brother|sister|co-?worker|neighbou?r) (?:\w+ )?(?:filed|went)\b"),
    "dispute": _any(
        r"\bi know i owe\b", r"\bnot saying i (?:don'?t|do not) owe\b",
        r"\bnot saying it'?s not mine\b(?![^.]{0,40}\bbut\b)",
        r"\bi know (?:the \w+ |it |this |that )?(?:is|'s) mine\b",
        r"\b(?:email|send|fax|mail)\b[^.]{0,30}\bto disputes\b", r"\b(?:what )?(?:about )?if i disput\w*",
        r"\b(?:can|could|should) i disput\w*"),
    "hardship": _any(r"\b(?:pass(?:ed)? away|died|die)\b[^.,;]{0,12}\b(?:of|from)\b",  # a death's cause
                     r"\bfinally took (?:her|him)\b"),
    "attorney": _any(
        r"\bshould (?:i |we )?(?:be )?(?:get|getting|hire|hiring|call|calling) (?:a |an )?(?:lawyer|attorney)\b",
        r"\bnot (?:calling|getting|hiring|going to (?:get|hire|call)) (?:a |an )?(?:lawyer|attorney)\b",
        r"\bnot (?:a |my )?(?:lawyer|attorney)s?\b", r"\battorney general\b",
        r"\b(?:do|should) i (?:need to |have to )?(?:need|get|call|hire) (?:a |an )?(?:lawyer|attorney)\b",
        r"\b(?:lawyer|attorney) for (?:my|the|our) (?:divorce|house|closing|custody|will)\b",
        r"\bget (?:a |an )?(?:lawyer|attorney) and sue\b",
        r"\bmy \w+(?: is|'s) an? (?:lawyer|attorney|paralegal|law student)\b"),
    "complain": _any(r"\b(?:not|never) (?:mad|angry|upset) (?:at|with) you\b"),
    # paying for something else, or an if: "I just paid off my truck", "if I paid it all at once"
    "already_paid": _any(
        r"\b(?:once|when) (?:it'?s|it is) paid\b",
        r"\bpaid (?:my|the|our) (?:car note|rent|mortgage|electric|light bill|phone bill|insurance|truck|car)\b",
        r"\bpaid (?:cash )?(?:off |for )(?:my|the|a|his|her|our) "
        r"(?!card|account|balance|debt|bill|loan|visa|credit)\w+",
        r"\bif (?:i|we) (?:paid|pay) (?:it |this |that )?(?:all|in full|the whole|today|now|at once|off)\b"),
    # a time to call, not a stop: "don't call me this early again, call after six"; nor "stop, hold on, let me
    # pull over"
    "cease": _any(
        r"\b(?:don'?t|do not|never) (?:ever )?call (?:me |here |us )?(?:this (?:early|late)|so (?:early|late)|"
        r"at (?:this hour|night|the crack of dawn)|before|after|during|on (?:the )?weekends?|in the morning)\b",
        r"\bstop(?:,? stop)?,? (?:sorry,? )?(?:hold on|wait|let me|one sec)\b"),
}

# The debtor's attorney (or their office) speaking for the debtor: every line of theirs warns of the attorney.
_REPRESENTATIVE = _any(
    r"\bi represent\b", r"\bmy client\b", r"\bon behalf of (?:my client|mr|mrs|ms|miss)\b",
    rf"\b(?:i'?m|i am|this is) (?!my |our |not )(?:(?:his|her|their|the|an?) )?(?:\w+ )?(?:{_LAWYER}|counsel|"
    r"paralegal)\b",
    r"^(?:\w+ ){0,3}law (?:office|offices|firm|group)\b",
    r"\bcalling (?:from|on behalf of) (?:the |a )?(?:law|legal)\b")
# Once the debtor has named an attorney: "call her, not me", "she's got all my accounts", "his number is..."
_TO_THE_REPRESENTATIVE = _any(
    r"\b(?:call|contact|talk to|speak (?:to|with)|go through|deal with) (?:him|her|them|(?:his|her|their) office)\b",
    r"\b(?:he|she|they)(?:'s| has| have|'ve)(?: got)? (?:all |the )?(?:of )?(?:my|the) (?:accounts|debts|paperwork|"
    r"cases?|files?|bills)\b", r"\b(?:his|her|their) (?:number|phone|office|email|address|name) is\b",
    r"\b(?:calls?|communication|everything|mail|letters?) (?:go|goes|should go|needs? to go) (?:to|through) "
    r"(?:him|her|them|(?:his|her|their) office)\b")
# A voicemail greeting, and whose: "hey this is tasha, leave it at the beep" is not the debtor's mailbox.
_GREETING = _any(r"\b(?:can'?t|cannot|unable to) (?:come|get) to the phone\b", r"\byou'?ve reached\b",
                 r"\bleave (?:a|your|me a|us a) (?:message|msg)\b", r"\b(?:at|after) the (?:beep|tone)\b",
                 r"\bvoice ?mail\b", r"\bmailbox\b")
_GREETING_NAMES = re.compile(r"\b(?:this is|you'?ve reached|it'?s)\s+(?:the\s+)?([a-z]+)", _FLAGS)
# A name given that is not the debtor's: "my name is paul", "buckeye tire and brake this is lou" (a business or a
# household answering), "a letter addressed to my sister dana" (who speaks is her relative).
_MY_NAME = re.compile(r"\bmy name(?:'s| is) ([a-z]+)", _FLAGS)
_ANSWERING_AS = re.compile(r"^(?!(?:hi|hello|hey|yes|yeah|yep|um|uh|ok|okay|well|so|no|oh|look|listen|dude|man|"
                           r"honestly|god|wow|and|but)\b)(?:[\w']+ ){1,4}this is ([a-z]+)$", _FLAGS)
_NOT_A_NAME = frozenset({"ridiculous", "crazy", "insane", "nuts", "unbelievable", "harassment", "bullshit", "wrong",
                         "fine", "it", "him", "her", "me", "about", "why", "what", "serious", "ok", "good"})
_NOT_NAMES = frozenset({"the", "a", "an", "not", "no", "me", "us", "my", "our", "your", "voicemail", "mailbox",
                        "nobody", "unavailable", "available", "currently", "sorry"})

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
    r"|\bresolve (?:this|it|the balance) today\b|\bclear (?:this|it|the balance)\b|\bpay in full\b"
    r"|\bif you (?:can|could) (?:do|pay|make|put|manage)\b|\bmake (?:a |any )?(?:small |partial |good faith )?payment\b"
    r"|\b(?:what|which) card\b|\btoday'?s payment\b|\bwe (?:take|accept) (?:cards|credit|debit|checks)\b"
    r"|\bcover (?:some|part|all) of (?:it|the balance)\b|\bpay (?:online|by phone|over the phone)\b"
    r"|\b(?:get|have) (?:a |the )?payment (?:set up|arranged|scheduled)\b|\bdo (?:a |an )?(?:\w+ )?payment\b"
    r"|\bhow about (?:\$?\d+|(?:a |one |two |three |four |five |six |seven |eight |nine )?(?:hundred|thousand)|"
    r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?: dollars)?)\b",
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


_ITS_ME = re.compile(r"\b(?:it'?s|that'?s) me\b|\bthis is (?:him|he|she)\b(?=\s*(?:$|[,.!?]|speaking|who|what))|"
                     r"^(?:yeah |yes |yep )?speaking\b", _FLAGS)


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
    return bool(_ITS_ME.search(text)) and not _NOT_THEM.search(text)


def speaks_as_representative(text: str) -> bool:
    """Whether the speaker presents as the debtor's attorney or their office ("I'm an attorney, I represent
    Mr Santos", "law office of Gary Feld"); not "I'm not a lawyer"."""
    text = _clean(text)
    return any(not _negated(text, m.start()) for m in _REPRESENTATIVE.finditer(text))


def points_to_representative(text: str) -> bool:
    """Whether the words send the collector to someone else ("call her not me"): the attorney, once named."""
    return bool(_TO_THE_REPRESENTATIVE.search(_clean(text)))


def someone_else_answers(text: str, names: tuple[str, ...]) -> bool:
    """Whether the words show someone other than the debtor speaking, by the names in them: a voicemail greeting
    naming someone and not the debtor (their own, or an unnamed one, is no sign), a name given that is not the
    debtor's, or the debtor named as the speaker's relative ("my sister dana")."""
    text = _clean(text)
    mine = {part.lower() for name in names for part in name.split()}
    debtor_named = bool(mine) and re.search(rf"\b(?:{'|'.join(map(re.escape, mine))})\b", text, re.I) is not None
    if _GREETING.search(text):
        named = {m.group(1).lower() for m in _GREETING_NAMES.finditer(text)} - _NOT_NAMES
        if named and not debtor_named:
            return True
    given = [m.group(1).lower() for m in (_MY_NAME.search(text), _ANSWERING_AS.search(text)) if m]
    if any(name not in mine and name not in _NOT_A_NAME for name in given):
        return True
    first = [name.split()[0] for name in names if name.split()]
    return any(re.search(rf"\bmy {_RELATIVE} {re.escape(name)}\b", text, re.I) for name in first)


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
