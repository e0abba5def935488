"""The Rasa server: `python -m bot.rasa_server` (what `python -m bot run` starts), in place of `rasa run`.

The same server `rasa run --enable-api` builds (rasa.core.run.serve_application), started in-process so
that its secret is read from the environment and never appears in argv (`ps`, /proc/PID/cmdline):
- it listens on 127.0.0.1 unless RASA_HOST says otherwise (a reverse proxy forwards the public paths);
- the HTTP API takes only a Bearer JWT (HS256) signed with RASA_TOKEN (`jwt_secret`); no `auth_token`, so
  no token is ever accepted in a URL. `bot.config.rasa_api_headers()` / `python -m bot api-token` mint one;
- no CORS (`cors=None`): no browser page may call the API with credentials. The socket.io channel answers
  its own allowed origins (bot/channels/webchat.py, bot.config.webchat_origins()).

Every conversation's events are published to Rasa's event broker, which the agent console reads live
(`event_broker_endpoint`): the SQL broker in a database beside ours by default, RabbitMQ when RABBITMQ_URL is set.

endpoints.yml sends ACTION_SERVER_TOKEN to the action server as a header; it is set here (in development
from bot.config's per-checkout secret) so that this module also runs on its own.

Two things Rasa 3.6 does on every action server call are done once here instead (bench/turn_profile.py showed
them as the largest share of a turn after the policies): a new aiohttp session, so a new TCP connection, per call
(`KeepAliveEndpointConfig`), and the compilation of the response's JSON schema, meta-schema check included, about
20 ms per call (`validate_action_responses_with_one_validator`). What is sent, checked and answered is the same.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from bot.config import (
    PROJECT_ROOT,
    SECRET_NAMES,
    ConfigError,
    EventBrokerSettings,
    database_url,
    event_broker_settings,
    refuse_unsafe_production,
    secret,
)

# What this process needs in production: the API's key, the action server's token, and the channels' secrets
# and Twilio account (every secret but the console's).
NEEDS = tuple(name for name in SECRET_NAMES if name != "CONSOLE_SECRET_KEY") + (
    "TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER")


# Idle connections to the action server are dropped after this long, before the action server (Sanic, 5 s
# keep-alive by default) closes its end, so no request is ever sent on a connection the server is closing.
ACTION_KEEPALIVE_SECONDS = 2.0


def keep_alive_endpoint(endpoint: Any) -> Any:
    """The action endpoint of endpoints.yml, lending every request one long-lived aiohttp session."""
    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import EndpointConfig

    class KeepAliveEndpointConfig(EndpointConfig):
        """Rasa's `request` opens and closes `self.session()` around each call; this session outlives it."""

        _shared: aiohttp.ClientSession | None = None
        _loop: asyncio.AbstractEventLoop | None = None

        def session(self) -> Any:
            shared, loop = self._shared, asyncio.get_running_loop()
            if shared is None or shared.closed or self._loop is not loop:  # a session belongs to one loop
                self._loop = loop
                auth = (aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                        if self.basic_auth else None)
                shared = self._shared = aiohttp.ClientSession(
                    headers=self.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                    connector=aiohttp.TCPConnector(keepalive_timeout=ACTION_KEEPALIVE_SECONDS))
            return _Lent(shared)

        async def close(self, *_args: Any) -> None:
            if self._shared is not None:
                await self._shared.close()

    copy = KeepAliveEndpointConfig(url=endpoint.url, params=endpoint.params, headers=endpoint.headers,
                                   basic_auth=endpoint.basic_auth, token=endpoint.token,
                                   token_name=endpoint.token_name, cafile=endpoint.cafile, **endpoint.kwargs)
    copy.type = endpoint.type
    return copy


def event_broker_endpoint(settings: EventBrokerSettings) -> Any:
    """The `event_broker` endpoint for Rasa (its own SQLEventBroker or PikaEventBroker), the database made ready.

    Set from the environment (bot.config.event_broker_settings), not endpoints.yml, so that this server started on
    its own and the stack publish where the console reads. For RabbitMQ, Rasa publishes to the fanout exchange
    `settings.exchange` and declares the durable queue `settings.queue` bound to it, which the console consumes.
    """
    from urllib.parse import urlsplit

    from rasa.utils.endpoints import EndpointConfig

    if settings.kind == "sql":
        from bot.storage.tracker_store import prepare_sql_event_broker

        prepare_sql_event_broker(settings.url, settings.schema)
        return EndpointConfig(url=settings.url, type="sql")
    if not settings.queue:  # Rasa would declare a durable server-named queue nobody reads
        raise ConfigError("RabbitMQ: the Rasa server needs a queue name (RABBITMQ_QUEUE)")
    parts = urlsplit(settings.url)
    # Rasa's broker builds its connection URL from these and keeps the URL's own credentials when they match, so
    # they are passed as the URL spells them (percent-encoded); RabbitMQ's defaults when the URL has none.
    credentials = parts.netloc.rpartition("@")[0]
    username, _, password = credentials.partition(":") if credentials else ("guest", "", "guest")
    return EndpointConfig(url=settings.url, type="pika", username=username, password=password,
                          port=parts.port or (5671 if parts.scheme == "amqps" else 5672),
                          queues=[settings.queue], exchange_name=settings.exchange)


class _Lent:
    """`async with` a session without closing it on the way out."""

    def __init__(self, session: Any):
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *_exc: Any) -> None:
        return None


def validate_action_responses_with_one_validator() -> None:
    """RemoteAction checks each response with `jsonschema.validate`, which checks the (constant) schema against
    its meta-schema and compiles a validator every time; this compiles it once and raises the same error."""
    from jsonschema.exceptions import ValidationError, best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            error = best_match(validator.iter_errors(result))
            if error is not None:
                raise error
            return True
        except ValidationError as e:  # Rasa's own message, as RemoteAction._validate_action_result words it
            e.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result


def main(argv: list[str] | None = None) -> int:
    """Serve Rasa as `rasa run --enable-api` would, with the settings above; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bot.rasa_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("RASA_HOST", "").strip() or "127.0.0.1",
                        help="interface to listen on (RASA_HOST; default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT", "5005")),
                        help="port (RASA_PORT; default 5005)")
    parser.add_argument("--model", default=str(PROJECT_ROOT / "models" / "collections.tar.gz"))
    parser.add_argument("--endpoints", default=str(PROJECT_ROOT / "endpoints.yml"))
    parser.add_argument("--credentials", default=str(PROJECT_ROOT / "credentials.yml"))
    args = parser.parse_args(argv)
    refuse_unsafe_production(NEEDS, program="python -m bot.rasa_server")
    if not os.path.exists(args.model):
        print(f"no trained model at {args.model}: run `make train`", file=sys.stderr)
        return 1

    api_key = secret("RASA_TOKEN")
    # endpoints.yml expands these; the launcher sets them, a standalone start gets the same defaults.
    os.environ["ACTION_SERVER_TOKEN"] = secret("ACTION_SERVER_TOKEN")
    os.environ.setdefault("ACTION_PORT", "5055")
    os.environ.setdefault("DATABASE_URL", database_url())

    # What `rasa run` does before serving (rasa.__main__.main), minus its argument parsing.
    import rasa.utils.io
    import rasa.utils.tensorflow.environment as tf_env
    from rasa.core.run import serve_application
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    log_level = None  # as `rasa run` without -v: LOG_LEVEL, else INFO
    configure_logging_and_warnings(log_level, None, warn_only_once=True, filter_repeated_logs=True)
    tf_env.setup_tf_environment()
    rasa.utils.io.configure_colored_logging(log_level)
    configure_structlog(log_level)
    sys.path.insert(1, str(PROJECT_ROOT))  # custom channels and components by module path

    endpoints = AvailableEndpoints.read_endpoints(args.endpoints)
    endpoints.event_broker = event_broker_endpoint(event_broker_settings())  # the console's live feed
    listeners = []
    if endpoints.action is not None:
        endpoints.action = keep_alive_endpoint(endpoints.action)
        listeners.append((endpoints.action.close, "after_server_stop"))
    validate_action_responses_with_one_validator()

    serve_application(
        model_path=args.model, interface=args.host, port=args.port, credentials=args.credentials,
        endpoints=endpoints, enable_api=True, auth_token=None, jwt_secret=api_key, jwt_method="HS256", cors=None,
        server_listeners=listeners,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
