"""A small but real OpenID Connect provider for tests, served by http.server on 127.0.0.1.

It publishes discovery and its RSA keys, answers /authorize by redirecting back with a code
(as a provider does once the person has signed in there), and at /token checks the client's
secret, the code, the redirect URI and the PKCE verifier before returning an ID token signed
with a key made for the test. Knobs on `Provider` make it misbehave one way at a time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "lessonbank"
CLIENT_SECRET = "provider-secret-for-tests"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    """The provider's state. Reset per test; set a knob to make the next sign-in go wrong."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.issuer = ""  # set once the server has a port
        self.reset()

    def reset(self) -> None:
        self.username = "casey"  # who signs in at the provider
        self.claims: dict[str, Any] = {}  # extra or replaced claims; None removes one
        self.error = ""  # /authorize answers with this error instead of a code
        self.nonce = ""  # put this nonce in the ID token instead of the one asked for
        self.tamper = ""  # "payload": edit the signed token; "key": sign with a key not published
        self.id_token = True  # include an ID token in the token response
        self.announced_issuer = ""  # discovery names this issuer instead of its own
        self.codes: dict[str, dict[str, str]] = {}
        self.paths: list[str] = []  # every request it was sent, in order
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []

    def id_token_for(self, grant: dict[str, str]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"sub-{self.username}",
            "aud": grant["client_id"],
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce or grant["nonce"],
            "preferred_username": self.username,
            "email": f"{self.username}@example.org",
            "email_verified": True,
        }
        claims.update(self.claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.other_key if self.tamper == "key" else self.key
        token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
        if self.tamper == "payload":  # another user's name under the original signature
            header, _, signature = token.split(".")
            edited = _b64(json.dumps({**claims, "preferred_username": "ada"}).encode())
            token = f"{header}.{edited}.{signature}"
        return token

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.announced_issuer or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }


class _Handler(BaseHTTPRequestHandler):
    provider: Provider  # set on the subclass made for each server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, Any] | None = None, **headers: str) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.provider.paths.append(url.path)
        if url.path == "/.well-known/openid-configuration":
            self._send(200, self.provider.metadata())
        elif url.path == "/jwks":
            self._send(200, {"keys": [self.provider.key.as_dict(private=False)]})
        elif url.path == "/authorize":
            self._authorize(query)
        else:
            self._send(404, {"error": "not_found"})

    def _authorize(self, query: dict[str, str]) -> None:
        provider = self.provider
        provider.authorize_requests.append(query)
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            self._send(400, {"error": "invalid_request"})
            return
        back: dict[str, str] = {"state": query.get("state", "")}
        if provider.error:
            back["error"] = provider.error
            back["error_description"] = "<b>Call 555-0100 to unlock your account</b>"
        else:
            code = secrets.token_urlsafe(16)
            provider.codes[code] = query
            back["code"] = code
        self._send(302, Location=f"{query['redirect_uri']}?{urlencode(back)}")

    def do_POST(self) -> None:
        self.provider.paths.append(urlparse(self.path).path)
        if urlparse(self.path).path != "/token":
            self._send(404, {"error": "not_found"})
            return
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        provider = self.provider
        provider.token_requests.append(form)
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._send(401, {"error": "invalid_client"})
            return
        grant = provider.codes.pop(form.get("code", ""), None)  # a code works once
        verifier = form.get("code_verifier", "")
        challenge = _b64(hashlib.sha256(verifier.encode()).digest())
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant["redirect_uri"]
            or grant.get("code_challenge_method") != "S256"
            or challenge != grant.get("code_challenge")
        ):
            self._send(400, {"error": "invalid_grant"})
            return
        body: dict[str, Any] = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer"}
        body["expires_in"] = 300
        if provider.id_token:
            body["id_token"] = provider.id_token_for(grant)
        self._send(200, body, Cache_Control="no-store")


class ProviderServer:
    """The provider listening on 127.0.0.1 on a free port, in a daemon thread, until `stop`."""

    def __init__(self) -> None:
        self.provider = Provider()
        handler = type("Handler", (_Handler,), {"provider": self.provider})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.provider.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
