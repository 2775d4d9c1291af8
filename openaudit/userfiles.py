"""Files a user points openaudit at (policies, profiles, baselines, saved reports, token files):
read whole or refused, never more than a cap.

The cap is on the bytes read, not on what `stat` says: /dev/zero, a FIFO or /proc files report a
size of 0 and never end. Anything but a regular file (a directory, a device, a FIFO, a socket) is
refused before it is read; a FIFO is opened without waiting for a writer. JSON is parsed with its
nesting bounded. Every refusal is a ConfigFileError naming the file (exit 2).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

from openaudit.errors import ConfigFileError

MAX_JSON_DEPTH = 200  # a report nests ~10 deep; the hub's JSON a little more


def read_capped(path: str | os.PathLike[str], cap: int, *, what: str = "file") -> bytes:
    """The bytes of the regular file `path`, at most `cap`; ConfigFileError otherwise."""
    shown = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ConfigFileError(shown, f"{what} not found") from None
    except IsADirectoryError:
        raise ConfigFileError(shown, f"is a directory, not a {what}") from None
    except OSError as e:
        raise ConfigFileError(shown, f"cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ConfigFileError(shown, f"is a directory, not a {what}")
        if not stat.S_ISREG(st.st_mode):
            raise ConfigFileError(shown, f"is not a regular file (a device, pipe or socket); not read as a {what}")
        return _read_fd(fd, cap, shown, what)
    finally:
        os.close(fd)


def _read_fd(fd: int, cap: int, shown: str, what: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
        except BlockingIOError:  # a non-blocking descriptor with nothing yet (stdin from a slow pipe)
            import select

            select.select([fd], [], [], 30)
            continue
        except OSError as e:
            raise ConfigFileError(shown, f"cannot read: {e.strerror or e}") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > cap:
            raise ConfigFileError(shown, f"{what} larger than {cap} bytes; not read")


def read_text_capped(path: str | os.PathLike[str], cap: int, *, what: str = "file") -> str:
    try:
        return read_capped(path, cap, what=what).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigFileError(str(path), f"not UTF-8 text (byte {e.start})") from None


def loads_json(text: str | bytes, shown: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON with its nesting bounded: deeper than `max_depth` (or than the parser's recursion limit)
    is a ConfigFileError, never a RecursionError."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if too_deep(raw, max_depth):
        raise ConfigFileError(shown, f"invalid JSON: nested more than {max_depth} deep")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise ConfigFileError(shown, f"invalid JSON: {e.msg}", line=e.lineno) from None
    except RecursionError:
        raise ConfigFileError(shown, "invalid JSON: nested too deeply") from None
    except UnicodeDecodeError as e:
        raise ConfigFileError(shown, f"not UTF-8 text (byte {e.start})") from None


def too_deep(raw: bytes, limit: int) -> bool:
    """Whether JSON `raw` nests brackets more than `limit` deep (strings skipped). All in C: strings
    and every byte but brackets are dropped (re.sub, bytes.translate), then innermost pairs are
    removed one level a pass, `limit` passes at most. Brackets that do not pair up (invalid JSON)
    are left to the parser to report."""
    bare = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    if b"[" * (limit + 1) in bare or b"{" * (limit + 1) in bare:  # the usual bomb: one bracket repeated
        return True
    for _ in range(limit):
        if not bare:
            return False
        bare, n = _PAIR.subn(b"", bare)
        if n == 0:
            return False  # unbalanced: not valid JSON, which the parser says
    return bool(bare) and _PAIR.search(bare) is not None


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_PAIR = re.compile(rb"\[\]|\{\}")


def read_token_file(spec: str) -> str:
    """A Hub token from a file (`-`: standard input): the first line, stripped. Refused when empty,
    when it is not a regular file or stdin, or when larger than 4 KB."""
    if spec == "-":
        data = _read_fd(sys.stdin.fileno(), 4096, "--token-file -", "token file")
        shown = "--token-file - (standard input)"
    else:
        data = read_capped(spec, 4096, what="token file")
        shown = spec
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(shown, "not UTF-8 text; expected a Hub token") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ConfigFileError(shown, "empty; expected a Hub token on its first line")
    token = lines[0]
    if any(c.isspace() or not c.isprintable() for c in token):
        raise ConfigFileError(shown, "the first line is not a token (it holds spaces or control characters)")
    return token


def is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
