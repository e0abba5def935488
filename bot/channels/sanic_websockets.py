"""Sanic 21.12's websockets on Python 3.11.

Its `recv` and `recv_burst` hand a bare coroutine to `asyncio.wait`, which Python 3.11 refuses
(sanic-org/sanic#2377): every websocket stalls and socket.io clients fall back to long-polling.
The fix gives that module an `asyncio` whose `wait` wraps coroutines in tasks first; nothing else
in Sanic changes. Importing this module applies it.
"""
from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Coroutine, Iterable
from typing import Any

from sanic.server.websockets import impl


def _wait_accepting_coroutines(awaitables: Iterable[Any], *args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
    return asyncio.wait([asyncio.ensure_future(a) for a in awaitables], *args, **kwargs)


class _AsyncioForSanic(types.ModuleType):
    """asyncio, except that `wait` accepts coroutines as it did before Python 3.11."""

    wait = staticmethod(_wait_accepting_coroutines)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def apply() -> None:
    """Install the fix (once; on Python 3.11 and later only)."""
    if sys.version_info >= (3, 11) and not isinstance(impl.asyncio, _AsyncioForSanic):
        impl.asyncio = _AsyncioForSanic("asyncio")


apply()
