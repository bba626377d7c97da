"""A server that reads two requests, then works for each and answers it, as
a batching event loop (haproxy) does: the test of issue 11, item 4, run by
test/e2e/test_deferred.py.

It accepts two connections, lets both requests arrive, reads both in one
turn of its epoll loop, then for each in the order read burns ms (the
query's ms=) of the thread's CPU in batch_burn (through hashlib.pbkdf2_hmac:
PKCS5_PBKDF2_HMAC in the reports) and sends its answer, whose body says
its place: "first" or "second". The first one's burn comes after both
reads and before any write, so the bytes cannot tell whose it is; the
second one's comes after the first's answer, and ends in its own.

Usage: batch_server.py   (prints "listening on PORT")"""

import hashlib
import selectors
import socket
import time
from urllib.parse import parse_qs, urlsplit

# Time for both clients' requests to arrive before the loop looks.
ARRIVAL_SECONDS = 0.05


def batch_burn(ms):
    deadline = time.thread_time() + ms / 1000
    while time.thread_time() < deadline:
        hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 200)


def answer(connection, request, place):
    target = request.split(b" ")[1].decode()
    query = parse_qs(urlsplit(target).query)
    batch_burn(int(query.get("ms", ["10"])[0]))
    body = place.encode() + b"\n"
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                       b"Connection: close\r\n\r\n%s" % (len(body), body))


def serve_pair(listener):
    connections = [listener.accept()[0] for _ in range(2)]
    time.sleep(ARRIVAL_SECONDS)
    with selectors.EpollSelector() as loop:
        for connection in connections:
            loop.register(connection, selectors.EVENT_READ)
        ready = []
        while len(ready) < len(connections):
            ready += [key.fileobj for key, _ in loop.select(timeout=5)
                      if key.fileobj not in ready]
        requests = [(connection, connection.recv(65536)) for connection in ready]
        for (connection, request), place in zip(requests, ("first", "second")):
            answer(connection, request, place)
        for connection in connections:
            loop.unregister(connection)
            connection.close()


def main():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print("listening on %d" % listener.getsockname()[1], flush=True)
    while True:
        serve_pair(listener)


main()
