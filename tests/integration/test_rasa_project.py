"""The Rasa project itself: its data validates, and the dialogue test stories hold on the trained model."""
import os
import subprocess
import sys

from bot.config import PROJECT_ROOT
from bot.launcher import MODEL
from tests.support import ARTEFACTS

ENV = {**os.environ, "ACTION_PORT": "5055", "DATABASE_URL": "sqlite://", "PYTHONPATH": str(PROJECT_ROOT)}


def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rasa", *args], cwd=PROJECT_ROOT, env=ENV, capture_output=True,
                          text=True, timeout=900)


def test_training_data_and_domain_validate_without_warnings():
    result = rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_dialogue_stories_are_predicted_without_error():
    assert MODEL.exists(), "`make test` trains the model before the tests"
    out = ARTEFACTS / "rasa-test-core"
    result = rasa("test", "core", "--model", str(MODEL), "--stories", "tests/stories", "--out", str(out),
                  "--fail-on-prediction-errors")
    failed = (out / "failed_test_stories.yml")
    detail = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, detail + result.stdout[-3000:] + result.stderr[-3000:]
