#!/usr/bin/env python3
"""A scripted vhost-user back-end (server side) for the protocol-error tests.

usage: vhost-user-peer.py SOCK SCENARIO...

Listens on SOCK and serves one connection per scenario, in order, then serves
the last connection well until the front-end hangs up.  A scenario answers
like a correct back-end (no data path: the rings are never touched) until its
trigger request arrives, then misbehaves and reads on without answering until
the front-end closes the connection (so only the front-end can end it):

  unsolicited:REQ   after REQ (the last ring's SET_VRING_ENABLE), send the
                    front-end a message it never asked for
  badsize:REQ       reply to REQ with a 4-byte payload instead of 8
  badreq:REQ        reply to REQ naming another request
  badflags:REQ      reply to REQ without the reply flag
  nack:REQ          REPLY_ACK: acknowledge REQ with a failure status
  cut:REQ           send half a reply header to REQ, then close
  good              never misbehave

Message layout: QEMU docs/interop/vhost-user.rst ("Message specification").
Prints "peer: scenario N (NAME) done" after each connection.
"""
import os
import socket
import struct
import sys

REQ = {1: "GET_FEATURES", 2: "SET_FEATURES", 3: "SET_OWNER", 5: "SET_MEM_TABLE", 8: "SET_VRING_NUM",
       9: "SET_VRING_ADDR", 10: "SET_VRING_BASE", 11: "GET_VRING_BASE", 12: "SET_VRING_KICK",
       13: "SET_VRING_CALL", 15: "GET_PROTOCOL_FEATURES", 16: "SET_PROTOCOL_FEATURES", 17: "GET_QUEUE_NUM",
       18: "SET_VRING_ENABLE"}
NUM = {v: k for k, v in REQ.items()}
VERSION, REPLY, NEED_REPLY = 1, 1 << 2, 1 << 3
HDR = struct.Struct("<III")
F_VERSION_1, F_PROTOCOL = 1 << 32, 1 << 30
F_MRG_RXBUF, F_EVENT_IDX, F_INDIRECT = 1 << 15, 1 << 29, 1 << 28
P_MQ, P_REPLY_ACK = 1 << 0, 1 << 3


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        part, fds, _, _ = socket.recv_fds(c, n - len(buf), 8)
        for fd in fds:
            os.close(fd)
        if not part:
            return None
        buf += part
    return buf


def linger(c):
    """Swallow whatever comes until the front-end hangs up."""
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(c, 4096, 8)
        except ConnectionResetError:  # it closed with our reply unread
            return
        for fd in fds:
            os.close(fd)
        if not data:
            return


def serve(c, scenario):
    """Serve one connection; returns when the scenario is done or the peer left."""
    kind, _, trigger = scenario.partition(":")
    trig = NUM.get(trigger, -1)
    state = {}
    while True:
        h = recv_exact(c, HDR.size)
        if h is None:
            return
        req, flags, size = HDR.unpack(h)
        payload = recv_exact(c, size) if size else b""
        if payload is None:
            return
        reply = None
        if req == NUM["GET_FEATURES"]:
            reply = struct.pack("<Q", F_VERSION_1 | F_PROTOCOL | F_MRG_RXBUF | F_EVENT_IDX | F_INDIRECT)
        elif req == NUM["GET_PROTOCOL_FEATURES"]:
            reply = struct.pack("<Q", P_MQ | P_REPLY_ACK)
        elif req == NUM["GET_QUEUE_NUM"]:
            reply = struct.pack("<Q", 1)
        elif req == NUM["GET_VRING_BASE"]:
            idx, _ = struct.unpack("<II", payload)
            reply = struct.pack("<II", idx, state.get(idx, 0))
        elif flags & NEED_REPLY:
            reply = struct.pack("<Q", 0)
        if req == NUM["SET_VRING_BASE"]:
            idx, num = struct.unpack("<II", payload)
            state[idx] = num
        if req == trig:
            if kind == "unsolicited":
                if reply is not None:
                    c.sendall(HDR.pack(req, VERSION | REPLY, len(reply)) + reply)
                if not (req == NUM["SET_VRING_ENABLE"] and struct.unpack("<II", payload)[0] == 0):
                    c.sendall(HDR.pack(4242, VERSION, 8) + struct.pack("<Q", 0))
                    return linger(c)
                continue
            if reply is None:
                reply = struct.pack("<Q", 0)
            if kind == "badsize":
                c.sendall(HDR.pack(req, VERSION | REPLY, 4) + reply[:4])
            elif kind == "badreq":
                c.sendall(HDR.pack(req + 1, VERSION | REPLY, len(reply)) + reply)
            elif kind == "badflags":
                c.sendall(HDR.pack(req, VERSION, len(reply)) + reply)
            elif kind == "nack":
                c.sendall(HDR.pack(req, VERSION | REPLY, 8) + struct.pack("<Q", 1))
            elif kind == "cut":
                c.sendall(HDR.pack(req, VERSION | REPLY, len(reply))[:6])
                c.shutdown(socket.SHUT_WR)
            return linger(c)
        if reply is not None:
            c.sendall(HDR.pack(req, VERSION | REPLY, len(reply)) + reply)


def main():
    path, scenarios = sys.argv[1], sys.argv[2:]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    print("peer: listening", flush=True)
    for i, sc in enumerate(scenarios):
        c, _ = s.accept()
        serve(c, sc)
        c.close()
        print(f"peer: scenario {i + 1} ({sc}) done", flush=True)
    s.close()


if __name__ == "__main__":
    main()
