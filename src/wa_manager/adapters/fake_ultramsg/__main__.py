"""``python -m wa_manager.adapters.fake_ultramsg``: run the fake UltraMsg in the foreground."""

from __future__ import annotations

import argparse
import sys
import time

from wa_manager.adapters.fake_ultramsg.chats import generate_chats, sample_chats
from wa_manager.adapters.fake_ultramsg.demo import demo_chats, demo_messages
from wa_manager.adapters.fake_ultramsg.server import FakeUltraMsg


def _seconds_range(text: str) -> tuple[float, float]:
    """``20,40`` -> (20.0, 40.0); one number means exactly that often."""
    try:
        low, _, high = text.partition(",")
        every = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN,MAX seconds, got {text!r}") from None
    if not 0 < every[0] <= every[1]:
        raise argparse.ArgumentTypeError(f"expected 0 < MIN <= MAX, got {text!r}")
    return every


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
    chats_group = parser.add_mutually_exclusive_group()
    chats_group.add_argument(
        "--chats", type=int, default=None, metavar="N", help="serve N generated chats"
    )
    chats_group.add_argument(
        "--demo", action="store_true", help="serve the demo's shop chats and their messages"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --chats")
    parser.add_argument("--webhook-url", default=None, help="post UltraMsg's webhooks here")
    parser.add_argument(
        "--inbound-every",
        type=_seconds_range,
        default=None,
        metavar="MIN,MAX",
        help="post an incoming message every MIN to MAX seconds (needs --webhook-url)",
    )
    options = parser.parse_args(argv)
    if options.demo:
        chats, messages = demo_chats(), demo_messages(time.time())
    elif options.chats is None:
        chats, messages = sample_chats(), {}
    else:
        chats, messages = generate_chats(options.chats, options.seed), {}
    try:
        fake = FakeUltraMsg(
            instance_id=options.instance,
            token=options.token,
            chats=chats,
            host=options.host,
            port=options.port,
            messages=messages,
            webhook_url=options.webhook_url,
            inbound_every=options.inbound_every,
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
