"""read_ahead_server: a server that reads all of a client's pipelined
requests before it answers any, for reqprof's end-to-end tests, run by
Debian's python3 under reqprof.

Servers are free to read as far ahead as they like, and reqprof keeps
room for only so many requests read ahead of their responses (256 KiB a
connection, preload/pending.h). This one reads until the client shuts
down its side, then answers every request in order with 200 and its
target as the body, and closes. Listens on 127.0.0.1 only, prints
"listening on PORT", one connection at a time; exits on SIGTERM.

Usage: python3 read_ahead_server.py
"""

import signal
import socket
import sys


def serve(connection):
    data = b""
    while True:
        chunk = connection.recv(1 << 20)
        if not chunk:
            break
        data += chunk
    answers = []
    for head in data.split(b"\r\n\r\n")[:-1]:
        target = head.split(b" ")[1]
        answers.append(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                       % (len(target), target))
    connection.sendall(b"".join(answers))
    connection.close()


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print("listening on %d" % listener.getsockname()[1], flush=True)
    while True:
        connection, _ = listener.accept()
        serve(connection)


if __name__ == "__main__":
    main()
