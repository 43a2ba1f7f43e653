"""Artifact listings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mltrail.entities._wire import compact


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One entry of an artifact listing: a path relative to the listed root, and its size for files."""

    path: str
    is_dir: bool
    file_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form (``file_size`` absent for directories)."""
        return compact({"path": self.path, "is_dir": self.is_dir, "file_size": self.file_size})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileInfo:
        """Build from the wire form."""
        size = data.get("file_size")
        return cls(
            path=data["path"], is_dir=bool(data.get("is_dir", False)), file_size=None if size is None else int(size)
        )
