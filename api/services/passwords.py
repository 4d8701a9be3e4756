"""Passwords of the web sign-in: scrypt, stored as `scrypt$n$r$p$salt_b64$hash_b64`.

A user whose `password_hash` is empty (every user made by `healthmatch users add`) cannot sign
in to the pages until `healthmatch users set-password` gives them one; API keys are unaffected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from api.services.errors import InvalidInput

N, R, P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_LENGTH = 10
MAX_LENGTH = 1024  # scrypt cost does not grow with length, but keep inputs sane


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES, maxmem=2**26
    )


def check_strength(password: str) -> None:
    """`InvalidInput` for a password too short or too long to be accepted."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"a password may have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, N, R, P)
    b64 = base64.b64encode
    return f"scrypt${N}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; False for an empty or malformed hash."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or len(password) > MAX_LENGTH:
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
        if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
            return False
        digest = _scrypt(password, salt, n, r, p)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(digest, expected)


# verified against when the e-mail is unknown, so that both cases take as long
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
