"""Names of new increments: the slug made from a title, and the next free number in a folder.

An increment folder is `NNNN-slug`. The slug is lowercase ASCII letters, digits and single dashes,
at most SLUG_LENGTH characters, cut at a word boundary. The next number is one more than the
highest in use, counting the folders of the increments folder itself and those of its
`_`-prefixed subfolders (SpecWeave moves finished increments to `_archive/`, dropped ones to
`_abandoned/`): a number is never given twice.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

SLUG_LENGTH = 40
MAX_NUMBER = 9999
NUMBERED = re.compile(r"^(\d{4})[A-Z]?-")  # 0002E-slug, 0002G-slug (SpecWeave: imported work) use number 2 too
# Letters that Unicode does not decompose into an ASCII letter plus marks.
_SPELLED = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
                          "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D",
                          "ı": "i"})


def slugify(title: str, max_length: int = SLUG_LENGTH) -> str:
    """'Fraud detection (card payments)!' -> 'fraud-detection-card-payments'; '' when nothing is usable.

    Accents are dropped (é -> e), every run of other characters becomes one dash, dashes are trimmed
    from both ends, and a slug longer than `max_length` is cut at the last dash that keeps it within
    the limit (a single word longer than that is cut at the limit).
    """
    text = unicodedata.normalize("NFKD", title.translate(_SPELLED))
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > max_length:
        cut = slug.rfind("-", 0, max_length + 1)
        slug = slug[:cut] if cut > 0 else slug[:max_length]
    return slug.strip("-")


def increment_numbers(folder: Path) -> dict[int, list[Path]]:
    """The numbers in use in an increments folder: {number: [folders]}, archived ones included."""
    used: dict[int, list[Path]] = {}
    if not folder.is_dir():
        return used
    places = [folder] + sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("_"))
    for place in places:
        for child in sorted(place.iterdir()):
            found = NUMBERED.match(child.name)
            if found and child.is_dir():
                used.setdefault(int(found.group(1)), []).append(child)
    return used


def next_number(folder: Path) -> int:
    """One more than the highest number in use in `folder` (1 when there is none)."""
    used = increment_numbers(folder)
    return max(used, default=0) + 1


def parse_number(text: str) -> int | None:
    """'43' or '0043' -> 43; None for anything else (including 0 and numbers above 9999)."""
    text = text.strip()
    if not re.fullmatch(r"\d{1,4}", text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_NUMBER else None
