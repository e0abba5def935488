"""Fixtures the stack tests share (a fixture imported from a test module reads to linters as redefined)."""
import pytest

from bot.launcher import Stack


@pytest.fixture
def demo(demo_stack: Stack) -> Stack:
    """The running servers with the demo portfolio imported (tests/conftest.py's `demo_stack`)."""
    return demo_stack
