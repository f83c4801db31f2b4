"""Sign-in, sessions and CSRF tokens.

* Sessions are a signed cookie (HMAC-SHA256 with the store's secret key): a random session id,
  the signed-in user (if any) and the time it was issued.  Nothing about patients is in it.
* Every form carries a CSRF token derived from the session id; a POST without the right token is
  refused.  The JSON API takes only ``application/json`` bodies, which a cross-site form cannot
  send.
* Passwords are checked against argon2 hashes (argon2-cffi).  Make a hash with
  ``python -m eligimatch.web.security hash-password``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import sys
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["Session", "SessionCodec", "hash_password", "verify_password"]

COOKIE = "eligimatch_session"
_hasher = PasswordHasher()
# checked when the user is unknown, so a wrong name takes as long as a wrong password
_DUMMY = _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(users: dict[str, str], name: str, password: str) -> bool:
    stored = users.get(name)
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Session:
    sid: str
    user: str | None
    issued: int


class SessionCodec:
    def __init__(self, secret: bytes, max_age_s: int) -> None:
        self._key = secret
        self.max_age_s = max_age_s

    def _sign(self, payload: bytes) -> str:
        return (
            base64.urlsafe_b64encode(hmac.new(self._key, payload, hashlib.sha256).digest())
            .decode()
            .rstrip("=")
        )

    def new(self, user: str | None = None) -> Session:
        return Session(secrets.token_urlsafe(18), user, int(time.time()))

    def encode(self, s: Session) -> str:
        payload = json.dumps([s.sid, s.user, s.issued], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + self._sign(payload)

    def decode(self, cookie: str | None) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        body, sig = cookie.rsplit(".", 1)
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(sig, self._sign(payload)):
            return None
        try:
            sid, user, issued = json.loads(payload)
        except (ValueError, TypeError):
            return None
        if not isinstance(sid, str) or not isinstance(issued, int):
            return None
        if time.time() - issued > self.max_age_s:
            return None
        return Session(sid, user if isinstance(user, str) else None, issued)

    def csrf_token(self, s: Session) -> str:
        return self._sign(b"csrf\0" + s.sid.encode())

    def csrf_ok(self, s: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token(s))


def _main(argv: list[str]) -> int:
    """``python -m eligimatch.web.security hash-password``: read a password, print its hash."""
    import getpass

    if argv != ["hash-password"]:
        print("usage: python -m eligimatch.web.security hash-password", file=sys.stderr)
        return 2
    first = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline()
    first = first.rstrip("\n")
    if sys.stdin.isatty() and getpass.getpass("again: ") != first:
        print("eligimatch: error: the passwords differ", file=sys.stderr)
        return 2
    if not first:
        print("eligimatch: error: empty password", file=sys.stderr)
        return 2
    print(hash_password(first))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
