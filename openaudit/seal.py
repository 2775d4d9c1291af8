"""A key of this user's own that seals what the cache derives (licence matches), so that an entry
written elsewhere (a CI cache restored from another branch, a shared folder) is recomputed, not
believed.

The key is `OPENAUDIT_CACHE_KEY` when set (a CI secret: then entries sealed by earlier jobs are
used again), else 32 random bytes in the user's data folder (platformdirs: not the cache folder,
which is what gets shared), made on first use, readable by the user only. No key can be had (a
read-only home): nothing is sealed, and every derived entry is recomputed.
"""

from __future__ import annotations

import hmac
import os
import secrets
from functools import cache
from hashlib import sha256
from pathlib import Path

KEY_ENV = "OPENAUDIT_CACHE_KEY"
KEY_FILE = "cache-key"


def key_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("openaudit")) / KEY_FILE


def _read_key(path: Path) -> bytes | None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    return data if len(data) >= 32 else None


@cache
def local_key() -> bytes | None:
    """This user's sealing key (see the module), or None when none can be had."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8", "surrogatepass")
    path = key_path()
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
        finally:
            os.close(fd)
        return _read_key(path)
    except FileExistsError:  # another process made it first
        try:
            return _read_key(path)
        except OSError:
            return None
    except OSError:
        return None


def seal(data: bytes) -> str | None:
    """The seal of `data` under this user's key; None without a key."""
    key = local_key()
    return hmac.new(key, data, sha256).hexdigest() if key is not None else None


def sealed(data: bytes, tag: object) -> bool:
    """Whether `tag` is the seal of `data` under this user's key (False without a key)."""
    want = seal(data)
    return want is not None and isinstance(tag, str) and hmac.compare_digest(want, tag)
