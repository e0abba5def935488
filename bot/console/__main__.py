"""`python -m bot.console --host 127.0.0.1 --port 8081`: the agent console (what `python -m bot run` starts).

Reads CONSOLE_PORT (default 8081), RASA_URL (the Rasa server's HTTP API, default http://127.0.0.1:5005),
RASA_TOKEN (signs the API's tokens) and CONSOLE_SECRET_KEY; with BOT_ENV=production it refuses to start while
either secret is missing or a default. Live updates come from Rasa's event broker (bot.config's settings).
"""
from __future__ import annotations

import argparse
import os
import sys

from aiohttp import web

from bot.config import ConfigError, refuse_unsafe_production, secret

NEEDS = ("CONSOLE_SECRET_KEY", "RASA_TOKEN")
PROGRAM = "python -m bot.console"


def main(argv: list[str] | None = None) -> int:
    """Serve the console until interrupted; the exit status."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("CONSOLE_PORT", "").strip() or "8081"),
                        help="port (CONSOLE_PORT; default 8081)")
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "").strip() or "http://127.0.0.1:5005",
                        help="the Rasa server's HTTP API (RASA_URL; default http://127.0.0.1:5005)")
    args = parser.parse_args(argv)
    refuse_unsafe_production(NEEDS, program=PROGRAM)

    from bot.config import event_broker_settings
    from bot.console.app import create_app
    from bot.console.feed import broker_events
    from bot.console.rasa_api import RasaApi

    try:
        settings = event_broker_settings()
        app = create_app(RasaApi(args.rasa_url, secret("RASA_TOKEN")), events=lambda: broker_events(settings))
    except (ConfigError, ValueError) as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 2
    print(f"agent console on http://{args.host}:{args.port}/ (Rasa at {args.rasa_url})", flush=True)
    # No access log: paths carry handoff ids and the console's users are audited by login instead.
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
