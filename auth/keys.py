"""Where the field-encryption keys come from: settings, else `$DATA_DIR/keys.env`.

`FIELD_KEYS` / `FIELD_KEY_CURRENT` / `BLIND_INDEX_KEY` in the environment (or `.env`) win and
nothing is ever written then. A value missing there is read from the key file; on a fresh
machine, where neither exists, fresh keys are generated once into that file (mode 0600) so
`crm serve` works out of the box and the next start reads the same keys. Losing the file
means losing every encrypted field: it has to be backed up like the database.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
from pathlib import Path

from pydantic import SecretStr

from auth.crypto import MIN_INDEX_KEY_BYTES, CryptoError, KeyRing
from settings import Settings

__all__ = ["KEY_FILE_NAME", "key_file", "load_or_create"]

KEY_FILE_NAME = "keys.env"
_NAMES = ("FIELD_KEYS", "FIELD_KEY_CURRENT", "BLIND_INDEX_KEY")
_LINE = re.compile(r"\s*([A-Z_]+)\s*=\s*(.*?)\s*")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")

log = logging.getLogger("crm.keys")


def key_file(settings: Settings) -> Path:
    return settings.data_dir.expanduser().resolve() / KEY_FILE_NAME


def load_or_create(settings: Settings) -> tuple[KeyRing, bytes]:
    """The SM4 key ring and the blind-index key; `CryptoError` for unusable configuration."""
    spec, index_hex = _reveal(settings.field_keys), _reveal(settings.blind_index_key)
    current = settings.field_key_current
    if spec is None or index_hex is None:
        path = key_file(settings)
        stored = _read(path)
        if stored is None:
            if spec is not None or index_hex is not None:
                raise CryptoError(
                    f"FIELD_KEYS and BLIND_INDEX_KEY must be set together (no {path} to "
                    "complete them from)")
            stored = _create(path)
        if spec is None and current is None and stored.get("FIELD_KEY_CURRENT"):
            # Only with the file's own FIELD_KEYS: it names a version of that ring.
            current = _version(stored["FIELD_KEY_CURRENT"], path)
        spec = spec or stored.get("FIELD_KEYS")
        index_hex = index_hex or stored.get("BLIND_INDEX_KEY")
        if spec is None or index_hex is None:
            raise CryptoError(f"{path} lacks FIELD_KEYS or BLIND_INDEX_KEY")
    ring = KeyRing.parse(spec, current)
    index_key = _index_key(index_hex)
    if any(index_key == ring.key(version) for version in ring.versions):
        raise CryptoError("BLIND_INDEX_KEY must not be one of the SM4 field keys")
    return ring, index_key


def _reveal(value: SecretStr | None) -> str | None:
    text = value.get_secret_value().strip() if value is not None else ""
    return text or None


def _version(text: str, path: Path) -> int:
    if not text.isdigit() or int(text) < 1:
        raise CryptoError(f"FIELD_KEY_CURRENT in {path} must be a positive integer")
    return int(text)


def _index_key(text: str) -> bytes:
    if not _HEX.fullmatch(text) or len(text) < 2 * MIN_INDEX_KEY_BYTES:
        raise CryptoError(
            f"BLIND_INDEX_KEY must be at least {2 * MIN_INDEX_KEY_BYTES} hex characters")
    return bytes.fromhex(text)


def _read(path: Path) -> dict[str, str] | None:
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise CryptoError(f"cannot read the key file {path}: {error.strerror}") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        log.warning("key file %s is readable by other users; chmod 600 it", path)
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.fullmatch(line)
        if match is not None and match.group(1) in _NAMES:
            values[match.group(1)] = match.group(2).strip("'\"")
    return values


def _create(path: Path) -> dict[str, str]:
    """Write fresh keys without ever replacing a key file: when two processes race on a fresh
    machine, the second links nothing and reads the first one's keys."""
    try:
        return _write_new(path)
    except OSError as error:
        raise CryptoError(f"cannot create the key file {path} ({error.strerror}); set "
                          "FIELD_KEYS and BLIND_INDEX_KEY instead") from None


def _write_new(path: Path) -> dict[str, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Graph CRM field-encryption keys, generated on first start.\n"
        "# BACK THIS FILE UP: without it the encrypted contact fields cannot be read.\n"
        "# To rotate: add a version (FIELD_KEYS=1:<old>,2:<new>), restart every instance,\n"
        "# then run `crm keys rotate`. Keep BLIND_INDEX_KEY unchanged.\n"
        f"FIELD_KEYS=1:{KeyRing.generate_key()}\n"
        f"BLIND_INDEX_KEY={secrets.token_hex(32)}\n"
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
            log.warning("generated new field-encryption keys in %s; back this file up", path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
    stored = _read(path)
    if stored is None:
        raise CryptoError(f"the key file {path} vanished right after it was written")
    return stored
