"""BSNs at rest: a keyed hash for matching, AES-GCM for showing; the key comes from the environment.

The database never holds a BSN in plain text. Per client row it holds
- `bsn_hmac`: HMAC-SHA256 of the BSN (hex), for matching: one BSN per snapshot (a unique index),
  and looking up which clients had a BSN (`store.clients_by_bsn`);
- `bsn_enc`: the BSN encrypted with AES-256-GCM, a random 96-bit nonce, the client's pseudonym as
  associated data (a ciphertext moved to another client does not decrypt), as
  `v2:<key id>:<base64url(nonce + ciphertext + tag)>`, for the documents that must show it.

Both keys are derived from one secret, `SETTLEMENT_BSN_KEY`: a slow, salted scrypt of it (about
50 ms and 16 MB, once per process) and from that HKDF-SHA256 (separate `info` per purpose), and so
is the key id: 8 hex digits that say which key encrypted a BSN. Testing a guessed secret against a
stolen database (its key id, a ciphertext's tag or a keyed hash) costs a scrypt per guess. A
secret must look generated: at least 32 characters, 20 of them different, none a quarter of it,
and no white space or comma, which separate the earlier secrets of a rotation in
`SETTLEMENT_BSN_OLD_KEYS`; decryption picks the key by its id (the current one, then the old
ones), and `settle rekey` re-encrypts and re-hashes everything with the current key.

Format v1 (before 2026-12) derived the keys by HKDF alone, so its key id let a dictionary attack
test a guess in microseconds: v1 values are still read (with any of the keys) and `settle rekey`
rewrites them as v2. A weak secret is accepted only in SETTLEMENT_BSN_OLD_KEYS, to rotate away.

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
FORMAT = "v2"
LEGACY = "v1"
MIN_DISTINCT = 20                   # different characters in a secret (a generated one has about 31)
NONCE_BYTES = 12
HMAC_LENGTH = 64  # hex digits of HMAC-SHA256
ENC_LENGTH = 120  # room for "v1:" + 8 + ":" + base64url of 12 + 9 + 16 bytes (52 characters)

#: Used by `settle demo` when no key is set, and said so. Public: never use it for real data.
DEMO_KEY = "settlement-DEMONSTRATION-key-public-never-use-it-for-real-BSNs"

#: What a Dataset read without decrypting holds in Client.bsn: not nine digits, cannot be mistaken.
HIDDEN = "[BSN not decrypted]"

GENERATE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"  # Debian 12 has no `python`
_SALT = b"settlement/bsn/1"
_SCRYPT_SALT = b"settlement/bsn/2 scrypt"
_SPLIT = re.compile(r"[\s,]+")  # a valid secret holds neither


def _error(message: str) -> Exception:
    """A user's mistake (exit status 1, one sentence)."""
    return UserError(message)


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=b"settlement bsn " + purpose).derive(secret)


def _stretch(secret: str) -> bytes:
    """The slow, salted master key of format v2 (scrypt, N=2^14, r=8: 16 MB)."""
    return hashlib.scrypt(secret.encode("utf-8"), salt=_SCRYPT_SALT, n=1 << 14, r=8, p=1, maxmem=64 << 20, dklen=32)


@dataclass(frozen=True)
class Key:
    """One secret's derived keys, in one format (v2: stretched by scrypt; v1: HKDF alone)."""

    id: str
    mac_key: bytes
    aead: AESGCM
    format: str = FORMAT

    @staticmethod
    @lru_cache(maxsize=16)
    def derive(secret: str) -> "Key":
        master = _stretch(secret)
        return Key(_derive(master, b"key id").hex()[:8], _derive(master, b"hmac-sha256"),
                   AESGCM(_derive(master, b"aes-256-gcm")), FORMAT)

    @staticmethod
    @lru_cache(maxsize=16)
    def legacy(secret: str) -> "Key":
        """The keys format v1 derived from `secret`, to read what was stored before v2."""
        raw = secret.encode("utf-8")
        return Key(_derive(raw, b"key id").hex()[:8], _derive(raw, b"hmac-sha256"),
                   AESGCM(_derive(raw, b"aes-256-gcm")), LEGACY)

    def digest(self, bsn: str) -> str:
        return hmac.new(self.mac_key, bsn.encode("ascii"), hashlib.sha256).hexdigest()


def _aad(client: str) -> bytes:
    return b"settlement bsn v1|" + client.encode("utf-8")


class Keyring:
    """The current key (hashes and encrypts) and the old ones (decrypt only, until `settle rekey`)."""

    def __init__(self, current: str, old: tuple[str, ...] = ()):
        self.current = Key.derive(current)
        #: (format, key id) -> key: every secret in both formats (v1 values are read until rekeyed)
        self.keys = {(FORMAT, self.current.id): self.current}
        for secret in old:
            k = Key.derive(secret)
            self.keys.setdefault((FORMAT, k.id), k)
        for secret in (current, *old):
            k = Key.legacy(secret)
            self.keys.setdefault((LEGACY, k.id), k)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f"{fmt}:{i}" for fmt, i in self.keys)

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

    def key_id(self, token: str) -> tuple[str, str] | None:
        parts = token.split(":")
        return (parts[0], parts[1]) if len(parts) == 3 and parts[0] in (FORMAT, LEGACY) else None

    def key_of(self, token: str) -> Key | None:
        """The key that encrypted a stored BSN (by the id in its token), None when unknown."""
        found = self.key_id(token)
        return self.keys.get(found) if found is not None else None

    def knows(self, token: str) -> bool:
        return self.key_id(token) in self.keys

    def is_current(self, token: str) -> bool:
        return self.key_id(token) == (FORMAT, self.current.id)

    def decrypt(self, token: str, client: str) -> str:
        """The BSN; a one-sentence error (naming the key, never a number) when it cannot be read."""
        parts = token.split(":")
        if len(parts) != 3 or parts[0] not in (FORMAT, LEGACY):
            raise _error(f"the stored BSN of client {client} is not in the form {FORMAT}:<key id>:<data>; "
                         f"was the database altered?")
        key = self.keys.get((parts[0], parts[1]))
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


def weakness(secret: str) -> str | None:
    """Why `secret` is not a key of enough entropy (the form the generator prints), or None."""
    if _SPLIT.search(secret):
        return (f"it holds white space or a comma, which separate the keys in {OLD_KEYS_ENV} (a passphrase, "
                f"not a generated key)")
    if len(set(secret)) < MIN_DISTINCT:
        return f"it has {len(set(secret))} different characters (a generated key has about 30; at least {MIN_DISTINCT})"
    top = max(secret.count(c) for c in set(secret))
    if top * 4 > len(secret):
        return "one character makes up more than a quarter of it"
    return None


def _strong(value: str) -> str:
    """SETTLEMENT_BSN_KEY, refused when weak: it hashes and encrypts every new BSN."""
    why = weakness(value)
    if why is not None:
        raise _error(f"{KEY_ENV} is too weak to protect BSNs: {why}; make a new key ({GENERATE}), and if this "
                     f"database holds BSNs stored with the weak one, put that in {OLD_KEYS_ENV} and run `settle rekey`")
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
    return _keyring(_strong(_secret(current, KEY_ENV)), tuple(_secret(s, OLD_KEYS_ENV) for s in old))


@lru_cache(maxsize=8)
def _keyring(current: str, old: tuple[str, ...]) -> Keyring:
    return Keyring(current, old)


def use_demo_key_if_unset() -> bool:
    """`settle demo`: set the public demonstration key when no key is set; True when it did."""
    if has_key():
        return False
    os.environ[KEY_ENV] = DEMO_KEY
    return True
