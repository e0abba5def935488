"""What the test tiers share: databases, the running servers, the command line in-process."""

from bot.config import PROJECT_ROOT

ARTEFACTS = PROJECT_ROOT / "test-artifacts"  # logs of the servers, screenshots: kept after a run for a look
