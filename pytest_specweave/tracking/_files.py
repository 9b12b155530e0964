"""File-system helpers of the experiment store: atomic writes, the store lock, safe names, hashing.

Stdlib only. Every OSError leaves here as a StoreError that names the path.
"""

from __future__ import annotations

import errno
import itertools
import json
import math
import os
import re
import time
import unicodedata
from pathlib import Path

from ..errors import StoreError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows and other platforms without flock
    fcntl = None

_O_BINARY = getattr(os, "O_BINARY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_tmp_counter = itertools.count()

# ----------------------------------------------------------------------------------------------
# Errors


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError):
        if err.strerror:
            return err.strerror
        if err.errno:
            return os.strerror(err.errno)
    return str(err) or type(err).__name__


def store_error(action: str, path: Path | str, err: BaseException) -> StoreError:
    """'cannot write /x/metrics.json: No space left on device' — the path always named."""
    return StoreError(f"cannot {action} {path}: {_reason(err)}")


# ----------------------------------------------------------------------------------------------
# Symbolic links: the store never follows one where it writes, moves, deletes or reads its own files

LINK_REFUSED = "it is a symbolic link, and the store never follows one"


class SymlinkRefused(OSError):
    """A symbolic link where the store reads or writes its own files (an OSError: callers report it)."""

    def __init__(self, path):
        super().__init__(errno.ELOOP, LINK_REFUSED, str(path))

    def __str__(self) -> str:
        return LINK_REFUSED


def is_link(path) -> bool:
    try:
        return os.path.islink(path)
    except (OSError, ValueError):
        return False


def refuse_link(path, action: str = "write") -> None:
    """StoreError naming `path` when it is a symbolic link."""
    if is_link(path):
        raise StoreError(f"refusing to {action} {path}: {LINK_REFUSED}")


def _nofollow_error(path, err: OSError) -> OSError:
    if err.errno in (errno.ELOOP, errno.EMLINK) or is_link(path):
        return SymlinkRefused(path)
    return err


def open_nofollow(path, flags: int, mode: int = 0o644) -> int:
    """os.open that refuses a symbolic link as the last component (SymlinkRefused, an OSError)."""
    if not _O_NOFOLLOW and is_link(path):
        raise SymlinkRefused(path)
    try:
        return os.open(path, flags | _O_NOFOLLOW | _O_BINARY | _O_CLOEXEC, mode)
    except OSError as err:
        raise _nofollow_error(path, err) from err


def read_bytes(path) -> bytes:
    """A file's bytes, never through a symbolic link (SymlinkRefused)."""
    fd = open_nofollow(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        return f.read()


# ----------------------------------------------------------------------------------------------
# JSON with non-finite numbers

NONFINITE_TAGS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def tag_float(x: float):
    """A float as valid JSON: itself when finite, else the string "NaN", "Infinity" or "-Infinity"."""
    if x - x == 0.0:
        return x
    if x != x:
        return "NaN"
    return "Infinity" if x > 0 else "-Infinity"


def untag_float(x) -> float:
    """Inverse of tag_float: the strings "NaN"/"Infinity"/"-Infinity" and numbers -> float."""
    if isinstance(x, str):
        try:
            return NONFINITE_TAGS[x]
        except KeyError:
            return float(x)
    return float(x)


# ----------------------------------------------------------------------------------------------
# Text that is not valid Unicode
#
# A str may hold lone surrogates ('\udc80': what a file name that is not UTF-8 decodes to). UTF-8
# cannot encode them, so such text is refused where a user gives it (check_text: a ValueError
# naming what it is), and turned into visible backslash escapes wherever it is read or must be
# kept (clean_text): no file the store writes or reads can then fail to encode.


def check_text(what: str, text: str) -> str:
    """`text` itself when UTF-8 can encode it; else a ValueError naming `what` and the character."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"{what} {text!r:.80} is not valid Unicode: it holds the lone surrogate {text[err.start]!r} at"
            f" position {err.start} (a file name decoded with the wrong encoding gives such text)"
        ) from None
    return text


def clean_text(text: str) -> str:
    """`text` with each lone surrogate written as its backslash escape ('a\udc80b' -> 'a\\udc80b')."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


# Terminal colour and cursor codes (CSI `ESC [ ... m`, OSC `ESC ] ... BEL`, other escapes):
# libraries colour their messages (MLflow's warnings); reports are files and must not carry them.
_TERMINAL_CODE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]?")


def plain_text(text: str) -> str:
    """`text` without terminal escape codes ('\\x1b[33mwarning\\x1b[0m' -> 'warning')."""
    return _TERMINAL_CODE.sub("", text) if "\x1b" in text else text


MAX_DEPTH = 100  # of nested arrays/objects in a file the store reads (what it writes is far shallower)


class TooDeep(ValueError):
    pass


def _too_deep() -> TooDeep:
    return TooDeep(f"too deeply nested (more than {MAX_DEPTH} levels of arrays or objects)")


def clean_json(value, depth: int = 0):
    """Parsed JSON with every string made encodable (clean_text); TooDeep (a ValueError) past MAX_DEPTH."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise _too_deep()
        return [clean_json(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise _too_deep()
        return {clean_text(k): clean_json(v, depth + 1) for k, v in value.items()}
    return value


def load_json(data):
    """json.loads that raises only ValueError (too deeply nested included) and returns encodable text."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise _too_deep() from None
    return clean_json(value)


def dump_json(obj) -> bytes:
    """Strict JSON (NaN/inf refused: callers tag them first), indented, UTF-8, newline-terminated.

    Text that UTF-8 cannot encode (a lone surrogate that got past the checks) is written as its
    backslash escape rather than failing the write.
    """
    text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(clean_json(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def read_json(path: Path):
    """Parsed JSON of a file; OSError and ValueError propagate (callers decide what 'unreadable' means).

    Too deeply nested JSON is a ValueError; lone surrogates in its strings are made visible escapes.
    """
    return load_json(read_bytes(path))


# ----------------------------------------------------------------------------------------------
# Writing


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def tmp_name(path: Path, suffix: str = ".tmp") -> Path:
    """A fresh temporary name beside `path`, holding this process's pid (see remove_orphans)."""
    return path.parent / f".{path.name}.{os.getpid()}.{next(_tmp_counter)}{suffix}"


def create_new(path: Path) -> int:
    """A descriptor of a new file; never an existing file, never through a symbolic link."""
    return open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a part.

    A temporary file in the same folder, then os.replace. On failure the temporary file is removed,
    the previous file is untouched, and a StoreError names `path`.
    """
    tmp = path.parent / f".{path.name}.{os.getpid()}.{next(_tmp_counter)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_BINARY | _O_CLOEXEC, 0o644)
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise store_error("write", path, err) from err


def open_append(path: Path) -> int:
    """An O_APPEND file descriptor: each os.write reaches the OS at once, lines never interleave.

    Never through a symbolic link: a StoreError naming the path.
    """
    try:
        return open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    except OSError as err:
        raise store_error("open", path, err) from err


def append_text(path: Path, text: str) -> None:
    fd = open_append(path)
    try:
        write_all(fd, text.encode("utf-8"))
    except OSError as err:
        raise store_error("write", path, err) from err
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------------
# The store lock


class StoreLock:
    """An exclusive, inter-process lock on a store (held for milliseconds: numbering, archiving).

    fcntl.flock on `experiments/.lock` where available (released by the OS if the holder dies).
    Elsewhere an O_EXCL lock file `experiments/.lock.excl` holding "pid host time", retried with a
    short back-off; a lock file whose process is gone (same host) or older than `stale_after`
    seconds is broken.
    """

    def __init__(self, root: Path, timeout: float = 60.0, stale_after: float = 120.0):
        self.root = root
        self.timeout = timeout
        self.stale_after = stale_after
        self._fd: int | None = None
        self._excl: Path | None = None

    def __enter__(self) -> "StoreLock":
        if fcntl is not None:
            path = self.root / ".lock"
            try:
                fd = open_nofollow(path, os.O_RDWR | os.O_CREAT)
            except OSError as err:
                raise store_error("open the store lock", path, err) from err
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as err:
                os.close(fd)
                raise store_error("lock", path, err) from err
            self._fd = fd
        else:
            self._acquire_excl()
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
        if self._excl is not None:
            try:
                os.unlink(self._excl)
            except OSError:
                pass
            self._excl = None

    def _acquire_excl(self) -> None:
        from . import _runinfo

        path = self.root / ".lock.excl"
        deadline = time.monotonic() + self.timeout
        delay = 0.001
        while True:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_BINARY, 0o644)
            except FileExistsError:
                if self._is_stale(path, _runinfo) and self._break_stale(path, _runinfo):
                    continue
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"cannot lock {path}: held by another process for over {self.timeout:.0f} s"
                        " (delete the file if no tracking process is running)"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
                continue
            except OSError as err:
                raise store_error("lock", path, err) from err
            try:
                write_all(fd, f"{os.getpid()} {_runinfo.host()} {time.time()}".encode())
            finally:
                os.close(fd)
            self._excl = path
            return

    def _break_stale(self, path: Path, runinfo) -> bool:
        """Remove a stale lock file, judged again under a second lock so that two waiters that both
        saw it stale cannot remove a fresh lock taken in between. True when it was removed."""
        breaker = path.with_name(path.name + ".break")
        try:
            fd = os.open(breaker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o644)
        except FileExistsError:
            try:
                if time.time() - breaker.stat().st_mtime > 10:  # its holder died mid-break
                    os.unlink(breaker)
            except OSError:
                pass
            return False
        except OSError:
            return False
        os.close(fd)
        try:
            if self._is_stale(path, runinfo):
                os.unlink(path)
                return True
            return False
        except OSError:
            return False
        finally:
            try:
                os.unlink(breaker)
            except OSError:
                pass

    def _is_stale(self, path: Path, runinfo) -> bool:
        try:
            text = path.read_text(encoding="utf-8", errors="replace").split()
            age = time.time() - path.stat().st_mtime
        except OSError:
            return False  # just released, or unreadable: retry
        if age > self.stale_after:
            return True
        if len(text) >= 2 and text[1] == runinfo.host():
            try:
                return not runinfo.pid_alive(int(text[0]))
            except ValueError:
                return False
        return False


# ----------------------------------------------------------------------------------------------
# Safe names

_EXP_PREFIX = re.compile(r"^exp-\d+-(?=.)", re.IGNORECASE)
_DASHES = re.compile(r"-{2,}")
MAX_SLUG = 64


def _short_hash(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:6]


def _safe_chars(text: str, keep: str) -> str:
    """NFKC, then every character that is not a letter/digit (any script) or in `keep` -> '-'."""
    text = unicodedata.normalize("NFKC", text)
    out = []
    for ch in text:
        if ch.isalnum() or ch in keep:
            out.append(ch)
        else:
            out.append("-")
    return _DASHES.sub("-", "".join(out))


def experiment_name(name: str) -> str:
    """The name as recorded: whitespace trimmed and a leading 'exp-NNN-' dropped ('exp-001-eda' -> 'eda')."""
    if not isinstance(name, str):
        raise TypeError(f"experiment name must be a string, got {type(name).__name__}")
    clean = _EXP_PREFIX.sub("", name.strip())
    if not clean.strip():
        raise ValueError("experiment name must not be empty")
    return check_text("experiment name", clean)


def slugify(name: str) -> str:
    """A folder-safe slug: lowercased, letters/digits kept, single dots between them kept, others -> '-'.

    Never empty, never '.'/'..', at most MAX_SLUG characters. When characters had to be dropped
    wholesale (nothing usable left) or the slug was cut, a short hash of the name keeps distinct
    names apart.
    """
    slug = _safe_chars(name.lower(), ".")
    slug = re.sub(r"\.{2,}", "-", slug)
    slug = re.sub(r"-\.|\.-", "-", slug)
    slug = _DASHES.sub("-", slug).strip(".-")
    if not slug:
        return "x-" + _short_hash(name)
    if len(slug) > MAX_SLUG:
        slug = slug[: MAX_SLUG - 7].rstrip(".-") + "-" + _short_hash(name)
    return slug


RESERVED = frozenset({"params.json", "metrics.json", "meta.json", "notes.md", "logs", "history", "evidence"})


def safe_relpath(filename) -> str:
    """A user-given artifact filename as a safe relative POSIX path inside the experiment folder.

    '/' and '\\' separate folders; '', '.', '..' parts and leading dots are dropped; odd characters
    become '-'. 'plots/roc.png' stays; '../../etc/passwd' becomes 'etc/passwd'. The store's own
    files (params.json, metrics.json, meta.json, notes.md, logs/, history/) are refused.
    """
    if isinstance(filename, os.PathLike):
        filename = os.fspath(filename)
    if not isinstance(filename, str):
        raise TypeError(f"artifact filename must be a string or path, got {type(filename).__name__}")
    parts = []
    for part in re.split(r"[\\/]+", filename):
        part = _safe_chars(part, "._-+=@,").strip(".-").strip()
        if part and part not in (".", ".."):
            if len(part) > 150:
                stem, dot, suffix = part.rpartition(".")
                part = (stem[:120] + "." + suffix[:20]) if dot and stem else part[:150]
            parts.append(part)
    if not parts:
        raise ValueError(f"artifact filename {filename!r} has no usable characters")
    if parts[0].lower() in RESERVED:
        raise ValueError(f"artifact filename {filename!r} is one of the store's own files; choose another name")
    return "/".join(parts)


# ----------------------------------------------------------------------------------------------
# What a killed writer leaves: temporary files and folders named after its process

# atomic_write's ".name.PID.N.tmp", a copy's ".name.PID.tmp"/".tmpdir", a new folder's ".tmp-NAME-PID"
_TMP_NAME = re.compile(r"^\..+?\.(\d+)(?:\.\d+)?\.tmp(?:dir)?$|^\.tmp-.+-(\d+)$")


def tmp_owner(name: str) -> int | None:
    """The pid in a temporary name the store makes, or None for any other name."""
    m = _TMP_NAME.match(name)
    if not m:
        return None
    return int(m.group(1) or m.group(2))


def remove_orphans(folder: Path, recurse: bool = True) -> list[str]:
    """Remove the store's temporary files and folders under `folder` whose writer process is gone.

    Symbolic links are never followed (a link with such a name is removed as a link). Returns the
    paths removed. Call under the store lock.
    """
    import shutil

    from . import _runinfo

    removed = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in list(dirnames) + filenames:
            pid = tmp_owner(name)
            if pid is None or pid == os.getpid() or _runinfo.pid_alive(pid):
                continue
            path = os.path.join(dirpath, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
                removed.append(path)
            except OSError:
                continue
            if name in dirnames:
                dirnames.remove(name)
        if not recurse:
            break
    return removed


def inside(folder: Path, rel: str) -> Path:
    """folder/rel, checked (symlinks resolved) to stay inside folder."""
    dest = folder / rel
    base = folder.resolve()
    resolved = dest.resolve()
    if resolved != base and base not in resolved.parents:
        raise StoreError(f"refusing to write {dest}: it resolves outside the experiment folder {base}")
    return dest


# ----------------------------------------------------------------------------------------------
# Hashing

CHUNK = 1 << 20


def sha256_file(path: Path) -> tuple[str, int]:
    import hashlib

    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(CHUNK)
            if not block:
                break
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def sha256_tree(folder: Path) -> tuple[str, int, int]:
    """(digest, total bytes, file count) of a folder: sha256 over sorted 'relpath sha256' lines."""
    import hashlib

    lines = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            digest, size = sha256_file(p)
            total += size
            lines.append(f"{p.relative_to(folder).as_posix()} {digest}\n")
    lines.sort()
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest(), total, len(lines)


class HashingWriter:
    """A binary file wrapper that hashes what is written through it (pickle.dump target)."""

    def __init__(self, f):
        import hashlib

        self._f = f
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.hash.update(data)
        n = len(memoryview(data).cast("B")) if not isinstance(data, bytes) else len(data)
        self.size += n
        self._f.write(data)
        return n
