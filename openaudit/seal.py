"""A key of this user's own that seals what the cache keeps (snapshot entries, organisation listings,
licence matches: openaudit.sources.cache, openaudit.run.workers), so that an entry written elsewhere (a CI cache
restored from another branch, a shared folder) or edited is read again or recomputed, not believed.

The key is `OPENAUDIT_CACHE_KEY` when set (a CI secret: then entries sealed by earlier jobs are
used again), else 32 random bytes in the user's data folder (platformdirs: not the cache folder,
which is what gets shared), made on first use, readable by the user only. No key can be had (a
read-only home): nothing is sealed, every derived entry is recomputed, and snapshot entries are
checked against the Hub's blob ids where it lists them, else used unverified.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import threading
from functools import cache
from hashlib import sha256
from pathlib import Path
from typing import Any

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


_lock = threading.Lock()


@cache
def local_key() -> bytes | None:
    """This user's sealing key (see the module), or None when none can be had."""
    with _lock:  # threads of one run reading the cache at once: one makes the key, the others read it
        return _local_key()


def _local_key() -> bytes | None:
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
    # Written whole under a temporary name, then linked into place (never replacing a key another
    # process made first): no reader ever sees a key file half written.
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process made it first: that one is the key
            pass
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(tmp, path)
        return _read_key(path)
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def seal(data: bytes) -> str | None:
    """The seal of `data` under this user's key; None without a key."""
    key = local_key()
    return hmac.new(key, data, sha256).hexdigest() if key is not None else None


def sealed(data: bytes, tag: object) -> bool:
    """Whether `tag` is the seal of `data` under this user's key (False without a key)."""
    want = seal(data)
    return want is not None and isinstance(tag, str) and hmac.compare_digest(want, tag)


NAMED = 3  # entries a cache names on stderr per kind and run; the report's cache field names every one


def note_distrust(lock: threading.Lock, into: dict[str, str], key: str, why: str, *, cache: str,
                  root: object, log: Any) -> None:
    """Record that a cache entry was not believed (`into`: refetched or unverified, by key) and say so on
    stderr: the first NAMED of a kind named, then one line for the rest, so a poisoned cache of thousands
    of entries cannot flood a CI log."""
    with lock:
        fresh = key not in into
        into[key] = why
        n = len(into)
    if not fresh or n > NAMED + 1:
        return
    if n <= NAMED:
        log.warning("%s: %s (%s)", cache, why, root)
    else:
        log.warning("%s: further entries like these are not named here; each subject's cache field in the "
                    "report says so (%s)", cache, root)
