#!/usr/bin/env python3
"""Local stand-in for the IBM Cloud IAM token endpoint (stdlib only).

    python3 dev/iam_token_server.py --port 9001 --api-key-file .run/s3/api_key

POST /identity/token with the form
``grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=<key>`` answers like IBM IAM:
200 with {access_token, refresh_token, token_type: "Bearer", expires_in, expiration, scope}
when the key equals the one in --api-key-file, else 400 with IBM's error shape
({errorCode: "BXNIM0415E", errorMessage: "Provided API key could not be found."}).
GET /health answers 200 "ok" (used by dev/s3.sh to wait until ready).
The key file is read on every request, so it can be rotated without a restart.
"""

import argparse
import base64
import hmac
import json
import secrets
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
TOKEN_LIFETIME_S = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def fake_jwt(now: int) -> str:
    """A JWT-shaped access token (unsigned; nothing here verifies it)."""
    header = {"alg": "RS256", "typ": "JWT", "kid": "orderflow-local"}
    claims = {
        "iam_id": "iam-ServiceId-orderflow-local",
        "sub": "ServiceId-orderflow-local",
        "iss": "http://127.0.0.1/identity",
        "grant_type": APIKEY_GRANT,
        "scope": "ibm openid",
        "iat": now,
        "exp": now + TOKEN_LIFETIME_S,
        "jti": str(uuid.uuid4()),
    }
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(32)]
    return ".".join(b64url(p) for p in parts)


class Handler(BaseHTTPRequestHandler):
    server_version = "orderflow-local-iam/1"
    api_key_file = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        sys.stderr.write("iam: %s - %s\n" % (self.address_string(), format % args))

    def send_json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, status: int, code: str, message: str) -> None:
        self.send_json(status, {
            "errorCode": code,
            "errorMessage": message,
            "context": {
                "requestId": str(uuid.uuid4()),
                "requestType": "incoming.Identity_Token",
                "host": "127.0.0.1",
                "startTime": time.strftime("%d.%m.%Y %H:%M:%S:000 GMT", time.gmtime()),
            },
        })

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        if self.path == "/health":
            data = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_error_json(404, "BXNIM0404E", "Not found: " + self.path)

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        if self.path.split("?", 1)[0] != "/identity/token":
            self.send_error_json(404, "BXNIM0404E", "Not found: " + self.path)
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        grant_type = (form.get("grant_type") or [""])[0]
        api_key = (form.get("apikey") or [""])[0]
        if grant_type != APIKEY_GRANT:
            self.send_error_json(400, "BXNIM0308E", "Unsupported grant type: " + grant_type)
            return
        if not api_key:
            self.send_error_json(400, "BXNIM0109E", "Property missing or empty. Property: apikey")
            return
        with open(self.api_key_file, encoding="utf-8") as f:
            expected = f.read().strip()
        if not hmac.compare_digest(api_key.encode(), expected.encode()):
            self.send_error_json(400, "BXNIM0415E", "Provided API key could not be found.")
            return
        now = int(time.time())
        self.send_json(200, {
            "access_token": fake_jwt(now),
            "refresh_token": "not_supported",
            "ims_user_id": 0,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_S,
            "expiration": now + TOKEN_LIFETIME_S,
            "scope": "ibm openid",
        })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--api-key-file", required=True)
    args = parser.parse_args()
    with open(args.api_key_file, encoding="utf-8") as f:
        if not f.read().strip():
            sys.exit("iam: cannot start: api key file %s is empty" % args.api_key_file)
    Handler.api_key_file = args.api_key_file
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    sys.stderr.write("iam: listening on http://%s:%d/identity/token\n" % (args.host, args.port))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
