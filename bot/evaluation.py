"""Scoring what the model and the rules make of held-out text: macro F1 of intents, and call-assist's warnings;
the one definition the tests and the benchmarks share."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.domain.calls import WARNINGS, CallFacts, Heard, Line, assess, line_after, names_of


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Macro F1 over the expected intents of (expected, predicted) pairs; a fallback counts as a miss."""
    true_positive: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for expected, got in pairs:
        actual[expected] += 1
        predicted[got] += 1
        true_positive[expected] += expected == got
    scores = []
    for intent in actual:
        precision = true_positive[intent] / predicted[intent] if predicted[intent] else 0.0
        recall = true_positive[intent] / actual[intent]
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


# --- call-assist warnings on held-out call transcripts (tests/data/call_transcripts.yml) -------------------

Parse = Callable[[str], tuple[str | None, float]]


@dataclass
class WarningScores:
    """Per warning code: utterances where it was expected and raised, raised but not expected, expected but missed;
    the outside-hours warning is counted per call (on its first utterance)."""

    true: Counter[str] = field(default_factory=Counter)
    false: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    def recall(self, code: str) -> float:
        found = self.true[code] + self.missed[code]
        return self.true[code] / found if found else 1.0

    def precision(self, code: str) -> float:
        raised = self.true[code] + self.false[code]
        return self.true[code] / raised if raised else 1.0

    def add(self, other: WarningScores) -> None:
        """Count another set's utterances in with these (figures over several sets together)."""
        for mine, theirs in ((self.true, other.true), (self.false, other.false), (self.missed, other.missed)):
            mine.update(theirs)
        self.misses.extend(other.misses)

    def table(self) -> str:
        rows = [f"{'warning':<14} {'expected':>8} {'raised':>6} {'recall':>6} {'precision':>9}"]
        for code in WARNINGS:
            rows.append(f"{code:<14} {self.true[code] + self.missed[code]:>8} {self.true[code] + self.false[code]:>6}"
                        f" {self.recall(code):>6.3f} {self.precision(code):>9.3f}")
        return "\n".join(rows)


def score_call_warnings(document: dict[str, Any], parse: Parse) -> WarningScores:
    """Replay each held-out call through call-assist's rules (`bot.domain.calls.assess`), the model reading each
    utterance as the console has it read (`parse`), and count the warnings against the labels."""
    account = document["account"]
    terms = (account["creditor"], account["original_creditor"], *account["amounts"])
    names = names_of(account["name"])
    scores = WarningScores()
    for call in document["calls"]:
        hour, minute = (int(part) for part in str(call.get("local_time", "10:30")).split(":"))
        outside = "outside the window" if not 8 <= hour < 21 else None
        verified = disclosed = represented = False
        line = Line()
        first = True
        for turn in call["turns"]:
            if turn.get("event") == "verified":
                verified = True
                continue
            speaker = "agent" if "agent" in turn else "debtor"
            text = str(turn[speaker])
            intent, confidence = parse(text)
            facts = CallFacts(verified=verified, disclosure_given=disclosed, outside_hours=outside, debt_terms=terms,
                              debtor_names=names, line=line, represented=represented)
            assessment = assess(Heard(speaker, text, intent, confidence), facts)
            disclosed = assessment.disclosure_given
            raised = set(assessment.warnings)
            if speaker == "debtor":
                line = line_after(line, text, raised)
                represented = represented or "attorney" in raised
            expected = set(turn.get("warnings") or [])
            if first:
                expected |= {"outside_hours"} if call.get("expect_outside_hours") else set()
                first = False
            else:
                raised.discard("outside_hours")
            for code in raised & expected:
                scores.true[code] += 1
            for code in raised - expected:
                scores.false[code] += 1
                scores.misses.append(f"{call['id']} extra {code:<13} [{intent}] {text}")
            for code in expected - raised:
                scores.missed[code] += 1
                scores.misses.append(f"{call['id']} MISSED {code:<12} [{intent}] {text}")
    return scores
