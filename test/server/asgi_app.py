"""An ASGI app for uvicorn (Debian's python3-uvicorn), run by
test/e2e/test_deferred.py: asyncio runs the app in a later turn of its loop
than the one that read the request.

GET /burn?ms=N burns N ms of the thread's CPU in asgi_burn, through
hashlib.pbkdf2_hmac (a C function, PKCS5_PBKDF2_HMAC in libcrypto, whose
name the report shows; the Python frames show as the interpreter's).
GET /sleep?ms=N awaits asyncio.sleep for N ms. Anything else answers at
once."""

import asyncio
import hashlib
import time
from urllib.parse import parse_qs


def asgi_burn(ms):
    deadline = time.thread_time() + ms / 1000
    while time.thread_time() < deadline:
        hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 200)


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    query = parse_qs(scope["query_string"].decode())
    ms = int(query.get("ms", ["10"])[0])
    if scope["path"] == "/burn":
        asgi_burn(ms)
    elif scope["path"] == "/sleep":
        await asyncio.sleep(ms / 1000)
    body = b"done %s\n" % scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})
