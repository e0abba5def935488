"""The Rasa server: `python -m bot.rasa_server` (what `python -m bot run` starts), in place of `rasa run`.

The same server `rasa run --enable-api` builds (rasa.core.run.serve_application), started in-process so
that its secret is read from the environment and never appears in argv (`ps`, /proc/PID/cmdline):
- it listens on 127.0.0.1 unless RASA_HOST says otherwise (a reverse proxy forwards the public paths);
- the HTTP API takes only a Bearer JWT (HS256) signed with RASA_TOKEN (`jwt_secret`); no `auth_token`, so
  no token is ever accepted in a URL. `bot.config.rasa_api_headers()` / `python -m bot api-token` mint one;
- no CORS (`cors=None`): no browser page may call the API with credentials. The socket.io channel answers
  its own allowed origins (bot/channels/webchat.py, bot.config.webchat_origins()).

endpoints.yml sends ACTION_SERVER_TOKEN to the action server as a header; it is set here (in development
from bot.config's per-checkout secret) so that this module also runs on its own.
"""
from __future__ import annotations

import argparse
import os
import sys

from bot.config import PROJECT_ROOT, SECRET_NAMES, database_url, refuse_unsafe_production, secret

# What this process needs in production: the API's key, the action server's token, and the channels' secrets
# and Twilio account (every secret but the console's).
NEEDS = tuple(name for name in SECRET_NAMES if name != "CONSOLE_SECRET_KEY") + (
    "TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER")


def main(argv: list[str] | None = None) -> int:
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

    serve_application(
        model_path=args.model, interface=args.host, port=args.port, credentials=args.credentials,
        endpoints=AvailableEndpoints.read_endpoints(args.endpoints), enable_api=True,
        auth_token=None, jwt_secret=api_key, jwt_method="HS256", cors=None,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
