"""The project's NLU pipeline (config.yml) on the public CLINC150 benchmark, against the published table.

Trains the `pipeline:` of config.yml (read from that file) on CLINC150 "Full" train + oos_train
(out-of-scope as a 151st intent, `oos`), then parses test + oos_test one utterance at a time, as
the server does. A FallbackClassifier prediction (nlu_fallback) or `oos` counts as out-of-scope.

Usage: .venv/bin/python bench/clinc150.py [--epochs N] [--data PATH] [--intents N] [--config PATH]
It takes minutes (training on 15,100 utterances, then 5,500 parses); progress goes to stderr.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data" / "clinc150" / "data_full.json"
OUT_OF_SCOPE = "oos"
FALLBACK = "nlu_fallback"

# Table 2 of Larson et al. (EMNLP 2019), "Full" split, oos-train (as in the data's README).
PUBLISHED: list[tuple[str, float, float]] = [
    ("Rasa (2019, spacy-sklearn pipeline)", 91.5, 45.3),
    ("DialogFlow", 91.7, 14.0),
    ("SVM", 91.0, 14.5),
    ("MLP", 93.5, 47.4),
    ("BERT", 96.9, 40.3),
]
# Classifiers whose training length is set in epochs (the only thing --epochs may change).
EPOCH_BASED = {"DIETClassifier", "ResponseSelector"}


def progress(text: str) -> None:
    print(f"[clinc150 {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def project_pipeline(config_path: Path, epochs: int | None) -> dict[str, Any]:
    """The NLU part of the project's config, with epochs overridden if asked and possible."""
    config = yaml.safe_load(config_path.read_text())
    pipeline = config["pipeline"]
    if epochs is not None:
        epoch_based = [c for c in pipeline if c["name"].split(".")[-1] in EPOCH_BASED or "epochs" in c]
        if not epoch_based:
            raise SystemExit("--epochs: the pipeline has no epoch-based classifier")
        for component in epoch_based:
            component["epochs"] = epochs
    return {key: config[key] for key in ("recipe", "language") if key in config} | {"pipeline": pipeline}


def nlu_yaml(examples: list[tuple[str, str]]) -> str:
    """Rasa NLU training data (format 3.1) for (text, intent) pairs."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in examples:
        # One example a line; stray brackets would read as entity annotations.
        by_intent.setdefault(intent, []).append(" ".join(text.split()).replace("[", "(").replace("]", ")"))
    document = {"version": "3.1", "nlu": [{"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)}
                                          for intent, texts in by_intent.items()]}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=10_000)


def load_splits(path: Path, intents: int | None) -> dict[str, list[tuple[str, str]]]:
    raw = json.loads(path.read_text())
    splits = {name: [(text, label) for text, label in raw[name]] for name in ("train", "oos_train", "test", "oos_test")}
    if intents:  # a quick run on the first N intents, to check the script itself
        keep = sorted({label for _, label in splits["train"]})[:intents]
        for name in ("train", "test"):
            splits[name] = [(t, label) for t, label in splits[name] if label in keep]
    return splits


async def parse_all(model_path: str, texts: list[str]) -> tuple[list[dict[str, Any]], float]:
    """Parses every text through the loaded model, one at a time; returns results and seconds spent."""
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    await agent.parse_message("warm up")  # the first parse pays for lazy set-up
    results, spent = [], 0.0
    for done, text in enumerate(texts, 1):
        start = time.perf_counter()
        results.append(await agent.parse_message(text))
        spent += time.perf_counter() - start
        if done % 500 == 0 or done == len(texts):
            progress(f"parsed {done}/{len(texts)} ({1000 * spent / done:.1f} ms each)")
    return results, spent


def top_intent(result: dict[str, Any]) -> tuple[str, float]:
    """The best intent other than the fallback, with its confidence, to see other thresholds."""
    for entry in result.get("intent_ranking") or [result["intent"]]:
        if entry["name"] != FALLBACK:
            return entry["name"], float(entry["confidence"])
    return FALLBACK, 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=PROJECT_ROOT / "config.yml")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, help="override epochs of an epoch-based classifier")
    parser.add_argument("--intents", type=int, help="use only the first N intents (a quick check)")
    args = parser.parse_args()

    os.chdir(PROJECT_ROOT)  # the pipeline names project-relative paths (models/spacy_en)
    # No training cache: a cached component from an earlier run would make the training time meaningless.
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    sys.path.insert(0, str(PROJECT_ROOT))  # custom components live in bot/
    from rasa.model_training import train_nlu
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # Rasa logs every parse at debug level otherwise; our own progress lines go to stderr.
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    config = project_pipeline(args.config, args.epochs)
    splits = load_splits(args.data, args.intents)
    progress("pipeline: " + ", ".join(c["name"].split(".")[-1] for c in config["pipeline"]))
    with tempfile.TemporaryDirectory(prefix="clinc150-") as scratch:
        work = Path(scratch)
        (work / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        train = splits["train"] + [(t, OUT_OF_SCOPE) for t, _ in splits["oos_train"]]
        (work / "nlu.yml").write_text(nlu_yaml(train))
        progress(f"training on {len(train)} utterances, {len({i for _, i in train})} intents")
        start = time.perf_counter()
        model = train_nlu(str(work / "config.yml"), str(work / "nlu.yml"), str(work / "models"),
                          fixed_model_name="clinc150")
        training = time.perf_counter() - start
        if not model:
            raise SystemExit("training failed")
        progress(f"trained in {training:.0f} s")
        tests = splits["test"] + [(t, OUT_OF_SCOPE) for t, _ in splits["oos_test"]]
        results, parsing = asyncio.run(parse_all(model, [t for t, _ in tests]))

    threshold = next((float(c.get("threshold", 0.3)) for c in config["pipeline"]
                      if c["name"].split(".")[-1] == "FallbackClassifier"), None)
    expected = [label for _, label in tests]
    predicted = [r["intent"]["name"] or FALLBACK for r in results]
    ranked = [top_intent(r) for r in results]

    def rates(labels: list[str]) -> tuple[float, float]:
        in_scope = [p == e for p, e in zip(labels, expected, strict=True) if e != OUT_OF_SCOPE]
        out_scope = [p in (OUT_OF_SCOPE, FALLBACK) for p, e in zip(labels, expected, strict=True) if e == OUT_OF_SCOPE]
        return 100 * sum(in_scope) / len(in_scope), 100 * sum(out_scope) / len(out_scope)

    accuracy, recall = rates(predicted)
    print(f"\nCLINC150 Full (train + oos_train -> test + oos_test), pipeline of {args.config.name}"
          + (f", epochs {args.epochs}" if args.epochs else "")
          + (f", first {args.intents} intents only" if args.intents else ""))
    print(f"  in-scope accuracy     {accuracy:5.1f} %   ({sum(e != OUT_OF_SCOPE for e in expected)} utterances)")
    print(f"  out-of-scope recall   {recall:5.1f} %   ({sum(e == OUT_OF_SCOPE for e in expected)} utterances;"
          f" fallback threshold {threshold})")
    print(f"  training              {training:5.0f} s")
    print(f"  parse per utterance   {1000 * parsing / len(tests):5.1f} ms")
    print("\n  vs the published table (Larson et al. 2019, Full, oos-train): this run minus theirs")
    print(f"  {'classifier':<38} {'in-scope':>9} {'delta':>7} {'oos recall':>11} {'delta':>7}")
    for name, their_accuracy, their_recall in PUBLISHED:
        print(f"  {name:<38} {their_accuracy:9.1f} {accuracy - their_accuracy:+7.1f} "
              f"{their_recall:11.1f} {recall - their_recall:+7.1f}")
    print("\n  other fallback thresholds (same model; top intent below the threshold -> out-of-scope;"
          " ambiguity_threshold not applied)")
    for other in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        labels = [name if confidence >= other else FALLBACK for name, confidence in ranked]
        a, r = rates(labels)
        print(f"    {other:.1f}: in-scope {a:5.1f}  oos recall {r:5.1f}")


if __name__ == "__main__":
    main()
