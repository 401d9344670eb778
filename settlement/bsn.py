"""BSNs at rest: a keyed hash for matching, AES-GCM for showing; the key comes from the environment.

The database never holds a BSN in plain text. Per client row it holds
- `bsn_hmac`: HMAC-SHA256 of the BSN (hex), for matching: one BSN per snapshot (a unique index),
  and looking up which clients had a BSN (`store.clients_by_bsn`);
- `bsn_enc`: the BSN encrypted with AES-256-GCM, a random 96-bit nonce, the client's pseudonym as
  associated data (a ciphertext moved to another client does not decrypt), as
  `v1:<key id>:<base64url(nonce + ciphertext + tag)>`, for the documents that must show it.

Both keys are derived from one secret, `SETTLEMENT_BSN_KEY`, with HKDF-SHA256 (separate `info`
per purpose), and so is the key id: 8 hex digits that say which key encrypted a BSN without
revealing anything of it. During a rotation the earlier secrets are in `SETTLEMENT_BSN_OLD_KEYS`
(separated by commas or white space); decryption picks the key by its id (the current one, then
the old ones), and `settle rekey` re-encrypts and re-hashes everything with the current key.

Nothing here puts a BSN in an exception or a message: errors name the key, the client's pseudonym
at most, never the number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import UserError

KEY_ENV = "SETTLEMENT_BSN_KEY"
OLD_KEYS_ENV = "SETTLEMENT_BSN_OLD_KEYS"
MIN_KEY_LENGTH = 32
FORMAT = "v1"
NONCE_BYTES = 12
HMAC_LENGTH = 64  # hex digits of HMAC-SHA256
ENC_LENGTH = 120  # room for "v1:" + 8 + ":" + base64url of 12 + 9 + 16 bytes (52 characters)

#: Used by `settle demo` when no key is set, and said so. Public: never use it for real data.
DEMO_KEY = "settlement-DEMONSTRATION-key-public-never-use-it-for-real-BSNs"

#: What a Dataset read without decrypting holds in Client.bsn: not nine digits, cannot be mistaken.
HIDDEN = "[BSN not decrypted]"

GENERATE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"  # Debian 12 has no `python`
_SALT = b"settlement/bsn/1"
_SPLIT = re.compile(r"[\s,]+")


def _error(message: str) -> Exception:
    """A user's mistake (exit status 1, one sentence)."""
    return UserError(message)


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=b"settlement bsn " + purpose).derive(
        secret.encode("utf-8"))


@dataclass(frozen=True)
class Key:
    """One secret's derived keys."""

    id: str
    mac_key: bytes
    aead: AESGCM

    @staticmethod
    @lru_cache(maxsize=16)
    def derive(secret: str) -> "Key":
        return Key(_derive(secret, b"key id").hex()[:8], _derive(secret, b"hmac-sha256"),
                   AESGCM(_derive(secret, b"aes-256-gcm")))

    def digest(self, bsn: str) -> str:
        return hmac.new(self.mac_key, bsn.encode("ascii"), hashlib.sha256).hexdigest()


def _aad(client: str) -> bytes:
    return b"settlement bsn v1|" + client.encode("utf-8")


class Keyring:
    """The current key (hashes and encrypts) and the old ones (decrypt only, until `settle rekey`)."""

    def __init__(self, current: str, old: tuple[str, ...] = ()):
        self.current = Key.derive(current)
        self.keys = {self.current.id: self.current}
        for secret in old:
            k = Key.derive(secret)
            self.keys.setdefault(k.id, k)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.keys)

    def digest(self, bsn: str) -> str:
        """The keyed hash of a BSN with the current key: what `bsn_hmac` holds."""
        return self.current.digest(bsn)

    def digests(self, bsn: str) -> list[str]:
        """The keyed hash with every key: a look-up also finds rows not yet re-keyed."""
        return [k.digest(bsn) for k in self.keys.values()]

    def encrypt(self, bsn: str, client: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self.current.aead.encrypt(nonce, bsn.encode("ascii"), _aad(client))
        return f"{FORMAT}:{self.current.id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii').rstrip('=')}"

    def key_id(self, token: str) -> str | None:
        parts = token.split(":")
        return parts[1] if len(parts) == 3 and parts[0] == FORMAT else None

    def knows(self, token: str) -> bool:
        return self.key_id(token) in self.keys

    def is_current(self, token: str) -> bool:
        return self.key_id(token) == self.current.id

    def decrypt(self, token: str, client: str) -> str:
        """The BSN; a one-sentence error (naming the key, never a number) when it cannot be read."""
        parts = token.split(":")
        if len(parts) != 3 or parts[0] != FORMAT:
            raise _error(f"the stored BSN of client {client} is not in the form {FORMAT}:<key id>:<data>; "
                         f"was the database altered?")
        key = self.keys.get(parts[1])
        if key is None:
            raise _error(wrong_key_message())
        try:
            raw = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
            return key.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(client)).decode("ascii")
        except (InvalidTag, ValueError):
            raise _error(f"the stored BSN of client {client} fails its integrity check: it was altered or "
                         f"moved from another client") from None


def wrong_key_message() -> str:
    return (f"the stored BSNs were encrypted with a key that is neither {KEY_ENV} nor one of {OLD_KEYS_ENV}: "
            f"set {KEY_ENV} to the key they were stored with (or, after a rotation, add that key to "
            f"{OLD_KEYS_ENV} and run `settle rekey`)")


def missing_key_message(purpose: str, new_database: bool = False) -> str:
    """`new_database`: nothing is stored yet, so a new key is what is wanted; otherwise only the key
    the stored BSNs were encrypted with can read them, and a new one would be refused."""
    if new_database:
        return (f"{KEY_ENV} is not set, and {purpose} needs it: this database holds no BSNs yet, so make a new "
                f"key (export {KEY_ENV}=$({GENERATE})) and keep it safe: every later command on this database "
                f"needs the same key (see README, 'BSN at rest')")
    return (f"{KEY_ENV} is not set, and {purpose} needs it: set it to the key this database's BSNs were stored "
            f"with (a new key cannot read them; see README, 'BSN at rest')")


def _secret(value: str, name: str) -> str:
    value = value.strip()
    if len(value) < MIN_KEY_LENGTH:
        raise _error(f"{name} is too short ({len(value)} characters; at least {MIN_KEY_LENGTH}), so it cannot be "
                     f"a key a database was made with; a new key: {GENERATE}")
    return value


def has_key() -> bool:
    return bool(os.environ.get(KEY_ENV, "").strip())


def keyring(purpose: str, new_database: bool = False) -> Keyring:
    """The keyring of the environment; a one-sentence error naming SETTLEMENT_BSN_KEY without it.

    `purpose` completes the sentence: "<purpose> needs it", e.g. "`settle load` (it stores BSNs)".
    `new_database`: the database holds no BSNs yet (the sentence then says to make a key)."""
    current = os.environ.get(KEY_ENV, "").strip()
    if not current:
        raise _error(missing_key_message(purpose, new_database))
    old = tuple(s for s in _SPLIT.split(os.environ.get(OLD_KEYS_ENV, "")) if s)
    return _keyring(_secret(current, KEY_ENV), tuple(_secret(s, OLD_KEYS_ENV) for s in old))


@lru_cache(maxsize=8)
def _keyring(current: str, old: tuple[str, ...]) -> Keyring:
    return Keyring(current, old)


def use_demo_key_if_unset() -> bool:
    """`settle demo`: set the public demonstration key when no key is set; True when it did."""
    if has_key():
        return False
    os.environ[KEY_ENV] = DEMO_KEY
    return True
