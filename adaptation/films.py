"""Where reference films come from: a folder or a zip holding NORMAL/ and PNEUMONIA/, each film one
(name, label, bytes). Both sources follow one layout rule, and a zip is judged from its headers before
a byte of it is unpacked: a hostile zip is refused whole, with a reason staff can act on."""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError

from scans.validation import format_size

CLASS_FOLDERS = {"NORMAL": "normal", "PNEUMONIA": "pneumonia"}
# A deflated X-ray shrinks a few times at most; a ratio beyond this is a bomb, not a film.
MAX_COMPRESSION_RATIO = 100
# What operating systems add to folders and zips: skipped without a word.
NOISE = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class Film:
    name: str  # relative to the folder or zip, for the list of refused films
    label: str | None  # "normal" or "pneumonia"; None when the layout refuses it
    refusal: str = ""
    read: callable = None  # () -> bytes

    @property
    def path(self) -> PurePosixPath:
        return PurePosixPath(self.name)


def label_for(parts: tuple[str, ...]) -> tuple[str | None, str]:
    """The label of a film at this relative path, or why the layout refuses it. One wrapper folder
    above NORMAL/ and PNEUMONIA/ is allowed (zipping a folder adds it)."""
    if len(parts) == 3 and parts[1] in CLASS_FOLDERS:
        parts = parts[1:]
    if len(parts) == 2 and parts[0] in CLASS_FOLDERS:
        return CLASS_FOLDERS[parts[0]], ""
    if any(part in CLASS_FOLDERS for part in parts[:-1]):
        return None, "inside a sub-folder: put films directly in NORMAL/ or PNEUMONIA/"
    return None, "not in a NORMAL/ or PNEUMONIA/ folder"


def is_noise(name: str) -> bool:
    return name.startswith("__MACOSX/") or PurePosixPath(name).name.startswith(".") or name.endswith(NOISE)


def films_in_folder(directory: Path) -> list[Film]:
    directory = Path(directory)
    if not any((directory / folder).is_dir() for folder in CLASS_FOLDERS):
        raise ValidationError(f"{directory} holds no NORMAL/ or PNEUMONIA/ folder.", code="layout")
    films = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):  # links to films are followed
        name = path.relative_to(directory).as_posix()
        if not is_noise(name):
            films.append(Film(name, *label_for(path.relative_to(directory).parts), read=path.read_bytes))
    return films


def check_zip(archive: zipfile.ZipFile) -> None:
    """Refuse the whole zip when its headers say it is dangerous or cannot be what we asked for."""
    entries = [entry for entry in archive.infolist() if not entry.is_dir() and not is_noise(entry.filename)]
    if len(entries) > settings.REFERENCE_ZIP_MAX_FILMS:
        raise ValidationError(
            f"The zip holds {len(entries)} files; the limit is {settings.REFERENCE_ZIP_MAX_FILMS}. Split it.",
            code="too_many",
        )
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise ValidationError(f"{entry.filename} is encrypted: zip the films without a password.", code="encrypted")
        name = entry.filename.replace("\\", "/")
        if name.startswith("/") or ".." in PurePosixPath(name).parts or ":" in name.split("/")[0]:
            raise ValidationError(f"{entry.filename!r} points outside the zip; nothing was imported.", code="traversal")
        if entry.compress_size and entry.file_size / entry.compress_size > MAX_COMPRESSION_RATIO:
            raise ValidationError(
                f"{entry.filename} would unpack to {format_size(entry.file_size)} from "
                f"{format_size(entry.compress_size)}: this looks like a zip bomb, so nothing was imported.",
                code="bomb",
            )
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > settings.REFERENCE_ZIP_MAX_UNPACKED_BYTES:
        raise ValidationError(
            f"The zip would unpack to {format_size(unpacked)}; the limit is "
            f"{format_size(settings.REFERENCE_ZIP_MAX_UNPACKED_BYTES)}. Split it.",
            code="too_big",
        )
    if not any(label_for(PurePosixPath(entry.filename).parts)[0] for entry in entries):
        raise ValidationError(
            "The zip holds no films in NORMAL/ or PNEUMONIA/ folders: zip a folder holding those two folders.",
            code="layout",
        )


def open_zip(file) -> zipfile.ZipFile:
    """The zip, checked; a ValidationError for anything that is not a safe zip of films."""
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        raise ValidationError("This is not a zip file we can read (or it is damaged).", code="not_zip") from error
    try:
        check_zip(archive)
    except ValidationError:
        archive.close()
        raise
    return archive


def films_in_zip(archive: zipfile.ZipFile) -> Iterator[Film]:
    for entry in archive.infolist():
        if entry.is_dir() or is_noise(entry.filename):
            continue
        label, refusal = label_for(PurePosixPath(entry.filename.replace("\\", "/")).parts)
        if stat.S_ISLNK(entry.external_attr >> 16):
            label, refusal = None, "a link, not a file"
        yield Film(entry.filename, label, refusal, read=_reader(archive, entry))


def _reader(archive: zipfile.ZipFile, entry: zipfile.ZipInfo):
    def read() -> bytes:
        # Never more than the upload limit and one byte, whatever the header claimed: the film's check
        # then refuses it as too big, and a lying header cannot fill the memory.
        with archive.open(entry) as stream:
            return stream.read(settings.SCAN_MAX_UPLOAD_BYTES + 1)

    return read
