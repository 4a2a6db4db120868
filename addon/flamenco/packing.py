"""Packing a .blend with its dependencies using BAT (no bpy).

Two ways out: `copy_pack` writes a BAT pack into a folder on shared storage;
`shaman_pack` only lists which local file goes where in the pack, so the
Shaman uploader can send them. .blend files whose paths BAT rewrites live in
a temporary folder until the `with` block ends.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from .shaman_client import PackedFile
from .vendor import import_bat


class PackError(Exception):
    """Packing failed; the message is for the artist."""


@dataclass
class Pack:
    blendfile: str  # the packed .blend, relative to the pack root, with / separators
    files: list[PackedFile] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    root: Path | None = None  # the pack folder, for copy packs


def _collecting_packer_class():
    """Packer subclass that records transfers instead of copying (made once BAT is loaded)."""
    bat = import_bat()
    transfer = bat.pack.transfer

    class Collector(transfer.FileTransferer):
        def __init__(self) -> None:
            super().__init__()
            self.collected: list[tuple[Path, PurePath]] = []

        def run(self) -> None:
            for src, dst, _action in self.iter_queue():
                self.collected.append((src, dst))

    class CollectingPacker(bat.pack.Packer):
        collector: Collector | None = None

        def _create_file_transferer(self):
            self.collector = Collector()
            return self.collector

    return CollectingPacker


def _check_inside(blendfile: Path, project: Path) -> None:
    try:
        blendfile.absolute().relative_to(project.absolute())
    except ValueError:
        raise PackError(f"{blendfile} is not inside the project folder {project}") from None


@contextlib.contextmanager
def shaman_pack(blendfile: Path, project: Path, *, relative_only: bool = True) -> Iterator[Pack]:
    """List the pack's files; they stay readable until the block ends."""
    _check_inside(blendfile, project)
    bat = import_bat()
    packer_class = _collecting_packer_class()
    with tempfile.TemporaryDirectory(prefix="flamenco-pack-") as tmp:
        target = Path(tmp, "pack")
        packer = packer_class(blendfile, project, str(target), relative_only=relative_only)
        try:
            with packer:
                packer.strategise()
                packer.execute()
                files = [PackedFile(Path(src), PurePath(dst).relative_to(target).as_posix())
                         for src, dst in packer.collector.collected]
                yield Pack(blendfile=PurePath(packer.output_path).relative_to(target).as_posix(), files=files,
                           missing=sorted(packer.missing_files))
        except bat.pack.Aborted as exc:
            raise PackError(f"packing was aborted: {exc}") from None
        finally:
            bat.blendfile.close_all_cached()


def copy_pack(blendfile: Path, project: Path, target: Path, *, relative_only: bool = True) -> Pack:
    """Copy the .blend and its dependencies into `target` (a new folder on shared storage)."""
    _check_inside(blendfile, project)
    bat = import_bat()
    target.mkdir(parents=True, exist_ok=False)
    packer = bat.pack.Packer(blendfile, project, str(target), relative_only=relative_only)
    try:
        with packer:
            packer.strategise()
            packer.execute()
            packed = Path(packer.output_path)
            return Pack(blendfile=packed.relative_to(target).as_posix(), missing=sorted(packer.missing_files),
                        root=target)
    except bat.pack.Aborted as exc:
        raise PackError(f"packing was aborted: {exc}") from None
    except bat.pack.transfer.FileTransferError as exc:
        raise PackError(f"could not copy {len(exc.files_remaining)} files to {target}: {exc}") from None
    finally:
        bat.blendfile.close_all_cached()
