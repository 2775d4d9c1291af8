"""Where each output of a run goes: decided and checked before the first request, then written through
or refused, never destroying what was there.

- `-o -` is stdout.
- A character device or a FIFO (`/dev/null`, `/dev/stdout`, a named pipe) is written directly: it is
  never replaced by a regular file, also when the run is root.
- A symbolic link is followed: what is written is its target (replaced atomically, the link kept), as
  `>` in a shell does. Refusing would break the common `report.json -> reports/2025-06-01.json` set-up.
- A regular file is replaced atomically (a temporary file beside it, then a rename). A new file gets
  `0666 & ~umask`, as a shell's `>` would give it; an existing one keeps its mode.
- A folder (`--format site`, `--format badge -o DIR`) has its contents replaced whole, and so only
  when it is empty, missing or an earlier openaudit output (marked with `MARKER`), unless `force`. The
  folder itself stays (`-o .` leaves a shell standing in it where it was).

`-o` binds to the `-f` before it; an `-o` with no `-f` of its own takes the format its extension names
(`EXTENSIONS`); an extension that names another format than the one given is refused. Every refusal is a
`CannotWrite` (exit 2) raised before the audit starts: `openaudit: cannot write PATH: reason`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from openaudit.errors import UsageError

if TYPE_CHECKING:
    from openaudit.report import Report

# An output file's extension -> the format it holds (used when no --format is given for it).
EXTENSIONS = {".json": "json", ".html": "html", ".htm": "html", ".md": "md", ".markdown": "md",
              ".sarif": "sarif", ".xml": "junit", ".svg": "badge", ".yaml": "mof-yaml", ".yml": "mof-yaml"}
# Formats written as a folder of files (badge: unless -o names one .svg file).
TREES = ("site", "badge")
# The file every folder openaudit writes holds: a folder with it may be replaced on the next run.
MARKER = ".openaudit-site"

Kind = Literal["stdout", "device", "file", "tree"]


class CannotWrite(UsageError):
    """An output that cannot be written, or must not be (exit 2)."""

    def __init__(self, path: object, reason: str) -> None:
        from openaudit.repoid import shown

        super().__init__(f"cannot write {shown(str(path), 300)}: {reason}")


@dataclass(frozen=True)
class Output:
    fmt: str
    kind: Kind
    path: Path | None = None  # where the bytes go (a link's target, resolved); None for stdout
    given: str = "-"  # the path as the user gave it, for messages


def pair(formats: list[str] | None, outputs: list[str] | list[Path] | None, order: list[str] | None,
         default: str = "terminal") -> list[tuple[str, str | None]]:
    """(format, output or None) in the order given. `order` lists "format" and "output" once per
    occurrence on the command line; without it (a caller that did not record one) outputs pair with
    formats by position."""
    fmts, outs = list(formats or []), [str(o) for o in outputs or []]
    if not fmts and not outs:
        return [(default, None)]
    if order is None or order.count("format") != len(fmts) or order.count("output") != len(outs):
        order = [x for i in range(max(len(fmts), len(outs)))
                 for x in (["format"] if i < len(fmts) else []) + (["output"] if i < len(outs) else [])]
    pairs: list[list[str | None]] = []
    fi = oi = 0
    for what in order:
        if what == "format":
            pairs.append([fmts[fi], None])
            fi += 1
            continue
        out = outs[oi]
        oi += 1
        if pairs and pairs[-1][1] is None:
            pairs[-1][1] = out
        else:
            pairs.append([_format_of(out), out])
    return [(str(f), o) for f, o in pairs]


def _format_of(out: str) -> str:
    for suffix in reversed(Path(out).suffixes):
        if suffix.lower() in EXTENSIONS:
            return EXTENSIONS[suffix.lower()]
    raise CannotWrite(out, "no --format before this --output, and its extension names none; put "
                      "'--format FORMAT' before it (or name it .json, .html, .md, .sarif, .xml or .svg)")


def _mismatch(fmt: str, out: str) -> str | None:
    """What is wrong when the file's extension names another format than the one asked for."""
    named = [EXTENSIONS[s.lower()] for s in Path(out).suffixes if s.lower() in EXTENSIONS]
    if not named or fmt in named or fmt not in _known():
        return None
    return (f"--format {fmt} would go into a {Path(out).suffix} file, which names the {named[-1]} format; "
            f"give it '--format {named[-1]}' or another name")


def _known() -> dict[str, str]:
    from openaudit.render import FORMATS

    return FORMATS


def plan(pairs: list[tuple[str, str | None]], force: bool = False) -> list[Output]:
    """Check every (format, output) before anything is read: the formats exist, at most one goes to
    stdout, each path can be written and is not something that must not be replaced."""
    known = _known()
    for fmt, _ in pairs:
        if fmt not in known:
            raise UsageError(f"unknown format '{fmt}'; available: {', '.join(sorted(known))}")
    planned: list[Output] = []
    for fmt, out in pairs:
        if out is not None and out != "-" and (why := _mismatch(fmt, out)):
            raise CannotWrite(out, why)
        planned.append(_check(fmt, out, force))
    to_stdout = [o.fmt for o in planned if o.kind == "stdout"]
    if len(to_stdout) > 1:
        raise UsageError(f"formats {', '.join(to_stdout)} would all go to stdout: give each an --output")
    if "html" in to_stdout and sys.stdout.isatty():  # a page's markup is no use on a terminal
        raise UsageError("--format html writes a page to open in a browser: give it --output FILE.html")
    seen: dict[Path, str] = {}
    for o in planned:
        if o.path is not None and o.kind != "device":
            if o.path in seen:
                raise CannotWrite(o.given, f"it is given twice (also for --format {seen[o.path]})")
            seen[o.path] = o.fmt
    return planned


def _is_tree(fmt: str, out: str | None) -> bool:
    return fmt == "site" or (fmt == "badge" and out is not None and out != "-" and
                             Path(out).suffix.lower() != ".svg")


def check(fmt: str, out: str | None) -> Output:
    """One output of one file (or stdout), checked: for commands with a single output (`diff`)."""
    if out is not None and out != "-" and (why := _mismatch(fmt, out)):
        raise CannotWrite(out, why)
    return _check(fmt, out, False)


def put_text(o: Output, text: str) -> None:
    """Write one text output checked by `check`."""
    from openaudit.sources.store import stage_file

    if o.kind == "stdout":
        _put(text, o)
        return
    assert o.path is not None
    try:
        tmp = stage_file(o.path if o.kind == "file" else Path(tempfile.gettempdir()) / "openaudit-output", text)
        try:
            _put(tmp, o)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as e:
        raise CannotWrite(o.given, e.strerror or str(e)) from None


def _check(fmt: str, out: str | None, force: bool) -> Output:
    if out is None or out == "-":
        if fmt == "site":
            raise UsageError("--format site writes a directory: give it --output DIR")
        return Output(fmt, "stdout")
    if "\x00" in out:
        raise CannotWrite(out, "the name holds a NUL character")
    given = Path(out).expanduser()
    try:
        st: os.stat_result | None = os.stat(given)  # through links
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise CannotWrite(out, e.strerror or str(e)) from None
    tree = _is_tree(fmt, out)
    # /dev/stdout, /dev/fd/N, /proc/self/fd/N name an open file of this process: written to, whatever it is.
    opened = str(given.absolute()).startswith(("/dev/fd/", "/dev/std", "/proc/"))
    if st is not None and (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode) or opened):
        if tree:
            raise CannotWrite(out, f"--format {fmt} writes a folder, and this is a device")
        if not os.access(given, os.W_OK):
            raise CannotWrite(out, "permission denied")
        return Output(fmt, "device", given, out)
    real = Path(os.path.realpath(given))  # a link is followed: its target is what gets written
    if st is not None and not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise CannotWrite(out, "not a regular file, a folder, a character device or a pipe")
    if tree:
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise CannotWrite(out, f"--format {fmt} writes a folder, and this is a file")
        if st is not None:
            _check_replaceable(real, out, force)
            if not os.access(real, os.W_OK | os.X_OK):
                why = "read-only file system" if _read_only(real) else "permission denied"
                raise CannotWrite(out, f"the folder is not writable ({why})")
        else:
            _check_folder_for(real, out)
        return Output(fmt, "tree", real, out)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise CannotWrite(out, f"it is a folder; --format {fmt} writes one file")
    _check_folder_for(real, out)
    return Output(fmt, "file", real, out)


def _check_replaceable(folder: Path, out: str, force: bool) -> None:
    if folder == Path(folder.anchor) or folder == Path.home():
        raise CannotWrite(out, "a site replaces its folder whole; give it a folder of its own")
    try:
        names = os.listdir(folder)
    except OSError as e:
        raise CannotWrite(out, e.strerror or str(e)) from None
    if names and MARKER not in names and not force:
        raise CannotWrite(out, "the folder is not empty and openaudit did not write it; its contents would be "
                          "replaced (give an empty or new folder, or --force to replace it whole)")


def _check_folder_for(real: Path, out: str) -> None:
    """The folder the output goes into (or the nearest that exists, where the missing ones would be
    made) must be a folder this process may create files in. os.access tells root the truth too: it
    reports read-only file systems, and root may write into a folder without write bits."""
    parent = real.parent
    while not parent.exists():
        if parent == parent.parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise CannotWrite(out, f"{parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        why = "read-only file system" if _read_only(parent) else "permission denied"
        raise CannotWrite(out, f"folder {parent} is not writable ({why})")


def check_folder(folder: Path) -> None:
    """A folder that files will be written into (made if missing): writable, or CannotWrite."""
    real = Path(os.path.realpath(folder))
    if real.is_dir():
        if not os.access(real, os.W_OK | os.X_OK):
            why = "read-only file system" if _read_only(real) else "permission denied"
            raise CannotWrite(folder, f"the folder is not writable ({why})")
        return
    _check_folder_for(real, str(folder))


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _new_file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _renderer(o: Output, details: bool) -> Callable[[Report], str | bytes | Iterable[bytes]]:
    """The terminal view on stdout takes the terminal's width and colours; anywhere else 120 columns
    and no colour."""
    from openaudit.render import stream

    if o.fmt != "terminal":
        return stream(o.fmt)
    from openaudit.render import terminal

    on_screen = o.kind == "stdout"
    width = terminal.terminal_width() if on_screen else 120
    colour = on_screen and terminal.use_colour()
    return lambda report: terminal.render(report, width=width, details=details, color=colour)


def write(report: Report, outputs: list[Output], details: bool = False) -> None:
    """Render every format first, then put each in place: nothing is written when a renderer fails.
    Bytes (JSON) are rendered in chunks straight into a temporary file, so an organisation's report is
    never held whole in memory. `details`: the terminal view's evidence behind each verdict."""
    from openaudit.sources.store import stage_file

    badge_too_many(outputs, len(report.subjects))
    staged: list[tuple[str | Path, Output]] = []
    try:
        for o in outputs:
            if o.kind == "tree":  # written as it is rendered, into a folder beside (or inside) the one given
                staged.append((_stage_tree(report, o), o))
                continue
            data = _renderer(o, details)(report)
            if o.kind == "stdout" and isinstance(data, str):
                staged.append((data, o))  # text to stdout keeps the terminal's encoding
            elif o.kind == "file":
                assert o.path is not None
                try:
                    staged.append((stage_file(o.path, data), o))
                except OSError as e:
                    raise CannotWrite(o.given, e.strerror or str(e)) from None
            else:
                staged.append((stage_file(Path(tempfile.gettempdir()) / "openaudit-output", data), o))
        for item, o in staged:
            try:
                _put(item, o)
            except BrokenPipeError:
                raise
            except OSError as e:
                raise CannotWrite("stdout" if o.kind == "stdout" else o.given, e.strerror or str(e)) from None
    finally:
        import shutil

        for item, _ in staged:
            if isinstance(item, Path):
                if item.is_dir() and not item.is_symlink():  # a tree not moved into place
                    shutil.rmtree(item, ignore_errors=True)
                else:
                    item.unlink(missing_ok=True)


def _tree_files(report: Report, fmt: str) -> Iterator[tuple[str, str]]:
    """A folder format's files (relative path, text), rendered one at a time (`site`: a model's page each)."""
    from importlib import import_module

    from openaudit import __version__

    mod, _, fn = {"site": "openaudit.render.site:site_pages",
                  "badge": "openaudit.render.badge:badge_files"}[fmt].partition(":")
    files = getattr(import_module(mod), fn)(report)
    yield from files.items() if isinstance(files, dict) else files
    yield MARKER, (f"Written by openaudit {__version__} (--format {fmt}). openaudit replaces this folder "
                   "whole on its next run into it; keep nothing else here.\n")


def _stage_tree(report: Report, o: Output) -> Path:
    """The folder output's files written, as they are rendered, into a new hidden folder: inside the
    folder given when it exists (its contents are replaced, `replace_contents`), else beside it (renamed
    into place, `swap_in`). `_put` moves it in; nothing of the folder given changes before."""
    from openaudit.render.site import stage_tree, write_tree

    assert o.path is not None
    if o.path.is_dir():
        stage = o.path / f".openaudit-new-{os.getpid()}"
        write_tree(stage, _tree_files(report, o.fmt))
        return stage
    return stage_tree(o.path, _tree_files(report, o.fmt))


def _put(item: str | Path, o: Output) -> None:
    import shutil

    if o.kind == "tree":
        assert o.path is not None and isinstance(item, Path)
        if item.parent == o.path:
            _move_in(item, o.path)
        else:
            from openaudit.render.site import swap_in

            swap_in(item, o.path)
    elif isinstance(item, str):
        sys.stdout.write(item)
        sys.stdout.flush()
    elif o.kind == "stdout":
        sys.stdout.flush()
        with open(item, "rb") as fh:
            shutil.copyfileobj(fh, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    elif o.kind == "device":
        assert o.path is not None
        # O_APPEND: /dev/stdout redirected to a file (`>>` or `>`) keeps what is already in it.
        fd = os.open(o.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "wb") as out, open(item, "rb") as fh:
            shutil.copyfileobj(fh, out)
    else:
        assert o.path is not None
        _set_mode(item, o.path)
        os.replace(item, o.path)


def replace_contents(folder: Path, files: dict[str, str]) -> None:
    """Replace what `folder` holds by `files` (relative path -> text), keeping the folder itself: a
    shell standing in it (`-o .`) stays where it was. The new tree is written whole beside the old
    one inside the folder first; then the old entries are moved aside and the new ones moved in (a
    rename each), and the old removed. A failure before the swap leaves the folder as it was."""
    from openaudit.render.site import write_tree

    stage = folder / f".openaudit-new-{os.getpid()}"
    write_tree(stage, files)
    _move_in(stage, folder)


def _move_in(stage: Path, folder: Path) -> None:
    """`replace_contents`' swap: what `folder` holds moved aside, what `stage` (inside it) holds moved in."""
    import shutil

    trash = folder / f".openaudit-old-{os.getpid()}"
    try:
        trash.mkdir()
        for name in os.listdir(folder):
            if name not in (stage.name, trash.name):
                os.rename(folder / name, trash / name)
        for name in os.listdir(stage):
            os.rename(stage / name, folder / name)
    except BaseException:
        if trash.is_dir():  # put back what was moved aside, where nothing new took its place
            for name in os.listdir(trash):
                with contextlib.suppress(OSError):
                    if not (folder / name).exists():
                        os.rename(trash / name, folder / name)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)


def _set_mode(tmp: Path, target: Path) -> None:
    """The staged file takes the mode (and, for root, the owner) of the file it replaces, or a new
    file's mode."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        os.chmod(tmp, _new_file_mode())
        return
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    if hasattr(os, "geteuid") and os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
        with contextlib.suppress(OSError):
            os.chown(tmp, st.st_uid, st.st_gid)


def badge_too_many(outputs: Iterable[Output], subjects: int) -> None:
    """One .svg file holds one badge."""
    for o in outputs:
        if o.fmt == "badge" and o.kind in ("file", "device") and subjects > 1:
            raise UsageError("several models give several badges: pass --output DIR instead of a .svg file")
        if o.fmt == "badge" and o.kind == "stdout" and subjects > 1:
            raise UsageError("several models give several badges: pass --output DIR (one .svg per model)")
