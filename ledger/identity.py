"""Personal data at rest: national ID numbers encrypted with the library's AES cipher.

Rule: the plain number exists only in memory while a command runs; events hold
`base64(nonce + tag + ciphertext)` from eventsourcing's AESCipher (AES-GCM),
and anything shown to a person is masked. The key comes from settings.
"""

from __future__ import annotations

from base64 import b64decode, b64encode

from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment


def new_key() -> str:
    """A fresh 256-bit key, base64, for settings or the key file."""
    return AESCipher.create_key(32)


class IdentityCipher:
    def __init__(self, key: str) -> None:
        self._cipher = AESCipher(Environment("dangphi", {AESCipher.CIPHER_KEY: key}))

    def encrypt(self, plain: str) -> str:
        return b64encode(self._cipher.encrypt(plain.encode("utf8"))).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self._cipher.decrypt(b64decode(token)).decode("utf8")
