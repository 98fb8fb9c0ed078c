"""Export files in a directory: one per session, collision-free names, never overwritten.

Used by ``prune(archive_dir=...)`` and ``sessiondb export --all``. Session ids are
free-form strings, file names are not, so:

* the name is the id with anything but ``A-Z a-z 0-9 - _ .`` replaced by ``_`` (and a
  leading dot too: no hidden files). When that changed the id (``team:a`` and ``team/a``
  would both be ``team_a``), when the id has capitals (``Run`` and ``run`` are one file
  on macOS and Windows) or when it is too long for a file name, eight hex digits of the
  SHA-256 of the exact id are added (``team_a-3f2c8a1b``): the same id always gets the
  same name, and different ids get different names (should two ever share one, the
  next rule still keeps both);
* an existing file is never replaced: a name already taken (an earlier archive of a
  session with the same id, a re-run of ``export --all``) gets ``~2``, ``~3``... before
  its extension;
* the content goes to a ``.partial`` file first, is flushed to disk and only then
  renamed to its name, so a crash never leaves a truncated export under a real name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path

__all__ = ["file_stem", "write_new_file"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# Room for the hash, a "~N" and the extension within the usual 255-byte name limit.
_MAX_STEM = 200


def file_stem(session_id: str) -> str:
    """The file name (without extension) for ``session_id``: readable, and distinct for
    distinct ids (see the module docstring)."""
    safe = _UNSAFE.sub("_", session_id)[:_MAX_STEM]
    if safe.startswith("."):
        safe = "_" + safe[1:]  # no hidden files (and no "." or "..")
    if safe == session_id and session_id.lower() == session_id:
        return safe
    digest = hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe}-{digest}"


def write_new_file(directory: Path, session_id: str, extension: str, text: str) -> Path:
    """Write ``text`` to a new file for ``session_id`` in ``directory``; return its path.

    Never replaces an existing file. Raises OSError (naming the file) when it cannot
    be written; then no file of that name is left behind.
    """
    stem = file_stem(session_id)
    data = text.encode("utf-8")
    number = 1
    while True:
        target = directory / (
            f"{stem}{extension}" if number == 1 else f"{stem}~{number}{extension}"
        )
        try:
            # Exclusive create reserves the name: two writers can never pick the same one.
            reserved = open(target, "xb")  # noqa: SIM115 - closed right away
        except FileExistsError:
            number += 1
            continue
        reserved.close()
        break
    partial = target.with_name(target.name + ".partial")
    try:
        with open(partial, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, target)  # replaces only the empty file reserved above
    except OSError:
        for leftover in (partial, target):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise
    return target
