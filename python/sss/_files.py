"""Safe output files: a set of files appears whole or not at all.

:func:`write_set` writes every file of a set to a hidden temporary file in
the output folder (created exclusively, so an existing file or symlink there
is never written through), then renames them all onto their final names
(``os.replace``: an existing symlink is replaced, not followed). If anything
fails or is interrupted (KeyboardInterrupt, or SIGTERM turned into SystemExit
by the command line) before the set is complete, the temporary files are
removed and the files of the set already renamed are taken back: the earlier
run's file under that name is put back (kept as a hidden hard link until the
set is whole), or, where there was none or the file system has no hard links,
the new file is removed. So the final names hold the earlier set or the new
one, never a mixture. Files of an earlier run that belong to the same set name but
not to the new set (e.g. ``NAME_layer7.png`` after a run with fewer layers)
are removed once the new set is in place.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

__all__ = ["check_name", "write_set", "atomic_write", "output_folder"]


def check_name(name) -> str:
    """Return `name` if it is a plain file-name stem (no directory parts), else
    raise ValueError: outputs must stay inside the output folder."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    bad = (not name or name in (".", "..") or "\0" in name or "/" in name
           or (os.sep in name) or (os.altsep is not None and os.altsep in name))
    if bad:
        raise ValueError(f"name must be a plain file name stem without directory parts "
                         f"(outputs are written inside the output folder), got {name!r}")
    return name


def _write_temp(folder: Path, final: str, data: bytes, temps: list) -> None:
    """Write `data` to a new hidden temporary of `final` in `folder`, listed in
    `temps` *before* it is created: an interrupt (Ctrl-C, or the SIGINT a
    --jobs batch sends its workers) that lands between the file's creation
    and the caller's bookkeeping must still find it to remove."""
    # Created exclusively (never through an existing file or symlink) with mode
    # 0o666, which the kernel narrows by the process's umask: the finished file
    # gets the permissions any other new file would (tempfile.mkstemp's 0o600
    # would leave outputs readable by their owner only).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / f".{final}.{secrets.token_hex(4)}.part"
        temps.append(tmp)  # removing a name never created is harmless
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            temps.pop()  # another writer's file: not ours to remove
            continue
    else:
        raise FileExistsError(f"no free temporary name for {final} in {folder}")
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _backup(target: Path) -> Path | None:
    """A hidden hard link to the file (or symlink) at `target`, so that an
    interrupted set can put it back; None if there is none, or the file
    system cannot link (the earlier file is then removed on failure, not
    restored)."""
    if not os.path.lexists(target):
        return None
    for _ in range(100):
        link = target.parent / f".{target.name}.{secrets.token_hex(4)}.old"
        try:
            os.link(target, link, follow_symlinks=False)
            return link
        except FileExistsError:
            continue
        except OSError:  # no hard links here (e.g. FAT, some network shares)
            return None
    return None


def _restore(target: Path, backup: Path | None) -> None:
    """Put the earlier file `backup` back at `target`, or remove `target`
    where there was none (or no backup could be made)."""
    if backup is None:
        _remove([target])
        return
    try:
        if os.path.samestat(os.lstat(backup), os.lstat(target)):
            return  # the rename never happened: `target` still is the earlier file
    except FileNotFoundError:
        pass
    try:
        os.replace(backup, target)
    except FileNotFoundError:
        _remove([target])


def _remove(paths) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def write_set(folder, files: dict[str, bytes], *, stale: re.Pattern | None = None) -> list[Path]:
    """Write `files` (final file name -> contents) into `folder` as one set.

    Either every file is in place when this returns, or (on any exception,
    KeyboardInterrupt included) none of the final names holds a file of the
    set: the temporary files are removed, and the final files already renamed
    are replaced by the files they replaced (or removed where there were
    none), so that no mixture of old and new files remains. Files in `folder` whose
    names match `stale` and are not in `files` are removed after the set is
    in place (an earlier run's leftovers), and so are this set's hidden
    temporaries that a run killed outright left behind (older than ten
    minutes). Returns the final paths.
    """
    out = Path(os.fspath(folder))
    for name in files:
        check_name(name)
        target = out / name
        if target.is_dir() and not target.is_symlink():
            raise IsADirectoryError(f"cannot write {target}: it is a directory")
    temps: list[Path] = []
    done: list[Path] = []
    backups: dict[Path, Path] = {}  # final path -> a hard link to the file it replaces
    try:
        for name, data in files.items():
            _write_temp(out, name, data, temps)
        for name in files:  # the set's earlier files, kept until the new set is whole
            backup = _backup(out / name)
            if backup is not None:
                backups[out / name] = backup
        for tmp, name in zip(list(temps), files):
            # listed before the rename: an interrupt landing right after it must
            # still take the new file back (putting the backup back, or removing
            # the target where there was none, is right whether or not the
            # rename happened)
            done.append(out / name)
            os.replace(tmp, out / name)
            temps.remove(tmp)
    except BaseException:
        _remove(temps)
        for target in done:  # back to what was there before, or nothing
            _restore(target, backups.get(target))
        _remove(backups.values())
        raise
    _remove(backups.values())
    keep = set(files)
    with os.scandir(out) as entries:
        names = [e.name for e in entries]
    if stale is not None:
        _remove(out / n for n in names if n not in keep and stale.fullmatch(n))
    _remove_abandoned(out, names, keep)
    return done


#: the hidden temporary names of write_set: .FINAL.XXXXXXXX.part (being written)
#: and .FINAL.XXXXXXXX.old (an earlier file kept until the set is whole)
_TEMPORARY = re.compile(r"\.(?P<final>.+)\.[0-9a-f]{8}\.(?:part|old)")
#: seconds after which a temporary of a name just written is taken as abandoned
_ABANDONED_AFTER = 600.0


def _remove_abandoned(out: Path, names, finals) -> None:
    """Remove the temporaries of the names in `finals` that a run killed
    outright (SIGKILL, power loss) left behind, once they are older than
    :data:`_ABANDONED_AFTER` (a younger one may belong to another process
    writing the same set right now)."""
    import time

    now = time.time()
    for n in names:
        m = _TEMPORARY.fullmatch(n)
        if m is None or m.group("final") not in finals:
            continue
        try:
            # ctime: a hard link made now has its file's old mtime but a new ctime
            if now - os.lstat(out / n).st_ctime > _ABANDONED_AFTER:
                os.unlink(out / n)
        except FileNotFoundError:
            pass


def atomic_write(path, data: bytes) -> Path:
    """Write one file atomically (see :func:`write_set`)."""
    p = Path(os.fspath(path))
    return write_set(p.parent, {p.name: data})[0]


@contextlib.contextmanager
def output_folder(path: Path):
    """Create `path` (and missing parents) for the duration of the block; the
    folders created here are removed again if nothing was written into them
    (the block failed, was interrupted or had nothing to write), so a failed
    run or save leaves no trace. A folder that existed before is kept. Raises
    OSError when the folder cannot be created."""
    created = []
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        created.append(p)
        p = p.parent
    Path(path).mkdir(parents=True, exist_ok=True)
    try:
        yield Path(path)
    finally:
        for d in created:  # deepest first
            try:
                d.rmdir()  # only an empty folder
            except OSError:
                break
