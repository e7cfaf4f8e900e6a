"""``python -m wa_manager.adapters.fake_ultramsg``: run the fake UltraMsg in the foreground."""

from __future__ import annotations

import argparse
import sys

from wa_manager.adapters.fake_ultramsg.chats import generate_chats, sample_chats
from wa_manager.adapters.fake_ultramsg.server import FakeUltraMsg


def main(argv: list[str] | None = None) -> int:
    """Parse the options, print the base URL, serve until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m wa_manager.adapters.fake_ultramsg",
        description="A fake UltraMsg API on loopback, for the demo and for tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    parser.add_argument("--instance", default="instance12345", help="the instance id to accept")
    parser.add_argument("--token", default="fake-token", help="the token to accept")
    parser.add_argument(
        "--chats", type=int, default=None, metavar="N", help="serve N generated chats"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --chats")
    options = parser.parse_args(argv)
    chats = sample_chats() if options.chats is None else generate_chats(options.chats, options.seed)
    try:
        fake = FakeUltraMsg(
            instance_id=options.instance,
            token=options.token,
            chats=chats,
            host=options.host,
            port=options.port,
        ).start()
    except (OSError, ValueError) as error:
        print(f"error: cannot start the fake UltraMsg: {error}", file=sys.stderr)
        return 1
    print(fake.base_url, flush=True)
    print(
        f"instance {options.instance}, {len(chats)} chats; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
