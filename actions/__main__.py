"""The action server: `python -m actions` (what `python -m bot run` starts).

rasa_sdk's own app (`rasa_sdk.endpoint.create_app`, as `python -m rasa_sdk` builds it), with three
differences, because the action server trusts the tracker its caller sends (a caller that sends
`verified: true` is told the balance) and so must only ever hear from our Rasa server:
- it listens on 127.0.0.1 unless ACTION_HOST says otherwise;
- it sends no CORS headers (rasa_sdk allows every origin by default), so no web page can call it;
- every request but `GET /health` must carry `Authorization: Bearer <ACTION_SERVER_TOKEN>`, the header
  Rasa sends from endpoints.yml (`action_endpoint.headers`); one middleware checks it.

The secret comes from the environment (or, in development, bot.config's per-checkout secret), never argv.
"""
from __future__ import annotations

import argparse
import hmac
import logging
import os
from typing import TYPE_CHECKING, Any

from bot.config import refuse_unsafe_production, secret

if TYPE_CHECKING:
    from sanic import HTTPResponse, Request, Sanic

logger = logging.getLogger(__name__)
OPEN_PATHS = frozenset({"/health"})  # the launcher's readiness probe; says nothing but "ok"


def create_app(token: str, action_package: str = "actions") -> Sanic:
    """rasa_sdk's app for `action_package`, without CORS, refusing callers that lack the shared secret."""
    from rasa_sdk.endpoint import create_app as create_sdk_app
    from sanic import response

    if not token:
        raise ValueError("the action server needs a non-empty ACTION_SERVER_TOKEN")
    app = create_sdk_app(action_package, cors_origins=None)  # None: sanic-cors matches no origin
    expected = f"Bearer {token}".encode()

    async def require_shared_secret(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS and request.method in ("GET", "HEAD"):
            return None
        provided = request.headers.get("Authorization", "").encode()
        if hmac.compare_digest(provided, expected):  # constant time: the comparison gives nothing away
            return None
        return response.json({"error": "the action server only answers the Rasa server"}, status=401,
                             headers={"WWW-Authenticate": "Bearer"})

    app.register_middleware(require_shared_secret, "request")

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        # rasa_sdk's own handler echoes the whole request (the tracker: a debtor's messages) into the response,
        # which Rasa then logs; the traceback stays in this server's log and Rasa learns only that it failed.
        status = getattr(exception, "status_code", 500)  # Sanic's own (404, 405...) keep their status
        if status >= 500:
            logger.error("action server error on %s %s", request.method, request.path, exc_info=exception)
        return response.json({"error": type(exception).__name__}, status=status)

    @app.listener("before_server_start")
    async def check_first(running_app: Sanic, _loop: Any) -> None:
        # sanic-cors puts its own middleware first as the server starts (it answers OPTIONS by itself, with an
        # empty 200): the check goes in front of it, so that nothing at all is answered without the secret.
        running_app.request_middleware.remove(require_shared_secret)
        running_app.request_middleware.appendleft(require_shared_secret)

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("ACTION_HOST", "").strip() or "127.0.0.1",
                        help="interface to listen on (ACTION_HOST; default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTION_PORT", "5055")),
                        help="port (ACTION_PORT; default 5055)")
    args = parser.parse_args(argv)
    refuse_unsafe_production(["ACTION_SERVER_TOKEN"], program="python -m actions")

    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
    from rasa_sdk.plugin import plugin_manager

    # What `python -m rasa_sdk` does around its app (rasa_sdk.__main__ and rasa_sdk.endpoint.run).
    utils.configure_colored_logging(logging.INFO)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), None, logging.INFO, None)
    utils.update_sanic_log_level()
    app = create_app(secret("ACTION_SERVER_TOKEN"))
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    logger.info("Action server on http://%s:%d (Bearer token required)", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
