"""Archives for tests: a ``.tar.gz`` of given members, written in the order given."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["write_tgz"]


def write_tgz(path: Path, members: Mapping[str, bytes]) -> Path:
    """A gzip-compressed tar at ``path`` holding ``members`` (name -> bytes, regular files, in
    the mapping's order; names are written as given, unsafe ones included); returns ``path``."""
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path
