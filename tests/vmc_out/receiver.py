#!/usr/bin/env python3
"""A VMC receiver for tests, built on python-osc (an OSC implementation that is not Kagura's).

Listens on 127.0.0.1 (port from argv[1], default 0: the OS picks one) and prints one JSON line
per datagram: {"size": bytes, "messages": [[address, arg, ...], ...]}, messages in order, nested
bundles flattened. The first line is {"port": P}. Floats are the float32 values sent, as JSON
numbers. A datagram python-osc cannot read is printed as {"size": bytes, "error": "..."}.
"""

import json
import socket
import sys

from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage


def flatten(dgram):
    if OscBundle.dgram_is_bundle(dgram):
        out = []
        for content in OscBundle(dgram):
            out.extend(flatten(content.dgram))
        return out
    message = OscMessage(dgram)
    return [[message.address, *message.params]]


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", port))
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    while True:
        dgram = sock.recv(65536)
        try:
            line = {"size": len(dgram), "messages": flatten(dgram)}
        except Exception as e:  # noqa: BLE001 - report anything python-osc refuses
            line = {"size": len(dgram), "error": repr(e)}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
