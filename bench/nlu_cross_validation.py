"""Cross-validation of the project's NLU pipeline (config.yml) on the project's own training data.

Runs `rasa test nlu --cross-validation` and summarises the reports it writes: accuracy and F1 over
the folds (mean and spread, from Rasa's log), macro F1 and per-intent F1 on the pooled test folds
(intent_report.json), and what the FallbackClassifier would cost: `rasa test` undoes fallback
predictions, so the effect of the threshold is computed here from the predictions' confidences
(an utterance whose top intent is below the threshold gets the clarifying question, which counts as
a miss, as it does in tests/test_nlu.py).

Usage: .venv/bin/python bench/nlu_cross_validation.py [--folds 5] [--out results/nlu-cross-validation]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))
from bot.evaluation import macro_f1  # noqa: E402 - the project is importable once on the path

FOLD_LINE = re.compile(r"\b(train|test) (Accuracy|F1-score|Precision): ([0-9.]+) \(([0-9.]+)\)")
FALLBACK = "nlu_fallback"


def fallback_threshold(config: Path) -> float | None:
    for component in yaml.safe_load(config.read_text())["pipeline"]:
        if component["name"].split(".")[-1] == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return None


def run_rasa(args: argparse.Namespace) -> list[str]:
    """Runs the cross-validation, echoing Rasa's output as progress; returns its lines."""
    command = [sys.executable, "-m", "rasa", "test", "nlu", "--cross-validation", "--folds", str(args.folds),
               "--config", str(args.config), "--nlu", str(args.data), "--out", str(args.out), "--successes"]
    if not args.plot:
        command.append("--no-plot")
    print("running: " + " ".join(command), file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    lines: list[str] = []
    with subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            sys.stderr.write(line)
    if process.returncode:
        raise SystemExit(f"rasa test nlu failed with exit code {process.returncode}")
    (args.out / "rasa_output.log").write_text("".join(lines))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--config", type=Path, default=Path("config.yml"))
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=Path("results/nlu-cross-validation"))
    parser.add_argument("--plot", action="store_true", help="let Rasa draw its confusion matrix and histogram")
    parser.add_argument("--report-only", action="store_true", help="summarise an earlier run's reports")
    args = parser.parse_args()
    os.chdir(PROJECT_ROOT)
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    lines = (args.out / "rasa_output.log").read_text().splitlines() if args.report_only else run_rasa(args)
    elapsed = time.perf_counter() - started

    print(f"\nNLU cross-validation, {args.folds} folds, {args.config} on {args.data}"
          + ("" if args.report_only else f" ({elapsed / 60:.1f} min)"))
    print("  over the folds (Rasa's figures: mean (standard deviation); F1 and precision weighted by support)")
    for match in FOLD_LINE.finditer("\n".join(line.rstrip("\n") for line in lines)):
        dataset, metric, mean, spread = match.groups()
        print(f"    {dataset:<5} {metric:<10} {float(mean):.3f} ({float(spread):.3f})")

    report = json.loads((args.out / "intent_report.json").read_text())
    intents = {name: values for name, values in report.items()
               if isinstance(values, dict) and name not in ("macro avg", "weighted avg", "micro avg")}
    print("  pooled test folds (intent_report.json; fallback predictions undone by Rasa)")
    print(f"    accuracy {report['accuracy']:.3f}   macro F1 {report['macro avg']['f1-score']:.3f}"
          f"   weighted F1 {report['weighted avg']['f1-score']:.3f}")
    print("  per-intent F1 (worst first), support, and the most frequent confusion")
    for name, values in sorted(intents.items(), key=lambda item: item[1]["f1-score"]):
        confused = values.get("confused_with") or {}
        worst = max(confused.items(), key=lambda item: item[1], default=None)
        print(f"    {name:<24} {values['f1-score']:.3f}  {int(values['support']):>4}"
              + (f"   -> {worst[0]} x{worst[1]}" if worst else ""))

    predictions = []
    for file in ("intent_successes.json", "intent_errors.json"):
        path = args.out / file
        if path.exists():
            predictions += json.loads(path.read_text())
    if predictions:
        threshold = fallback_threshold(args.config)
        print(f"  with the FallbackClassifier (top confidence below the threshold -> {FALLBACK}, a miss;"
              f" ambiguity_threshold not applied); config threshold {threshold}")
        for other in sorted({0.2, 0.3, 0.4, 0.5, 0.6} | ({threshold} if threshold else set())):
            pairs = [(p["intent"], p["intent_prediction"]["name"]
                      if p["intent_prediction"]["confidence"] >= other else FALLBACK) for p in predictions]
            falling = sum(got == FALLBACK for _, got in pairs) / len(pairs)
            wrong_caught = sum(1 for p in predictions if p["intent_prediction"]["confidence"] < other
                               and p["intent_prediction"]["name"] != p["intent"])
            wrong = sum(1 for p in predictions if p["intent_prediction"]["name"] != p["intent"])
            print(f"    {other:.2f}{' *' if other == threshold else '  '} macro F1 {macro_f1(pairs):.3f}"
                  f"   accuracy {sum(e == g for e, g in pairs) / len(pairs):.3f}"
                  f"   fallback on {100 * falling:4.1f} % of utterances,"
                  f" catching {wrong_caught} of {wrong} misclassifications")
    print(f"  reports: {args.out}/")


if __name__ == "__main__":
    main()
