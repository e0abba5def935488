"""`python -m bot.web --host 127.0.0.1 --port 8080 --rasa-url http://127.0.0.1:5005`: the page server."""
from __future__ import annotations

import argparse
import sys

from aiohttp import web

from bot.web.server import create_app


def main(argv: list[str] | None = None) -> int:
    """Serve the chat page until interrupted; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bot.web", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005",
                        help="the Rasa server as the browser reaches it (its socket.io channel)")
    args = parser.parse_args(argv)
    try:
        app = create_app(args.rasa_url)
    except (ValueError, FileNotFoundError) as error:
        print(f"bot.web: {error}", file=sys.stderr)
        return 2
    print(f"web chat page on http://{args.host}:{args.port}/ (chat via {args.rasa_url})", flush=True)
    # No access log: reminder links carry account references in their query strings.
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
