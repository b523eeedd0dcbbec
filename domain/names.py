"""One name per band and album: the key under which spellings of one name are counted
together, and which spelling is shown (docs/adr/0007-one-name-per-band.md).

The key is Unicode's identifier-comparison form, NFKC_Casefold (UAX #31, UAX #44's
``NFKC_Casefold`` property), with every run of whitespace collapsed to one space:
``Mayfield`` in full-width letters, ``MAYFIELD`` and ``Mayfield  `` are one band. Python's standard
library has no NFKC_Casefold, so it is built from its parts: default-ignorable code points
removed, then NFKC(casefold(NFKC(text))); the test suite checks it against ICU's
NFKC_Casefold for every assigned code point and for arbitrary strings.

The spelling shown for a key is the one of its counted vote with the least ``event_id``
(UUIDv7: the earliest by the command service's clock), so every fold of the log, live or
rebuilt, in any interleaving of partitions and batches, shows the same spelling.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache

from domain.readmodel import split_album_field

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 14-16): removed by
# NFKC_Casefold. Most are already refused in names (domain.validation refuses control and
# format characters except ZWJ and ZWNJ); the rest (variation selectors, the combining
# grapheme joiner, Hangul fillers, ZWJ, ZWNJ) change no name a person reads.
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# Names repeat: keys are memoized like domain.validation's checks (bounded, short text).
CACHE_SIZE = 8192
CACHEABLE_TEXT = 256


def _name_key(name: str) -> str:
    if name.isascii():  # fast path: ASCII needs no normalization and holds no ignorable
        return " ".join(name.lower().split())
    text = unicodedata.normalize("NFKC", _DEFAULT_IGNORABLE.sub("", name))
    text = unicodedata.normalize("NFKC", text.casefold())
    stripped = _DEFAULT_IGNORABLE.sub("", text)  # NFKC can map to an ignorable (U+FFA0)
    if stripped != text:
        text = unicodedata.normalize("NFC", stripped)
    return " ".join(text.split())


_name_key_cached = lru_cache(maxsize=CACHE_SIZE)(_name_key)


def name_key(name: str) -> str:
    """The canonical key of a band or album name: NFKC_Casefold, whitespace collapsed.
    Idempotent: ``name_key(name_key(x)) == name_key(x)``."""
    if len(name) <= CACHEABLE_TEXT:
        return _name_key_cached(name)
    return _name_key(name)


def first_spelling(shown: tuple[str, str] | None, event_id: str, spelling: str) -> tuple[str, str]:
    """The (event_id, spelling) to show after a counted vote: the least event_id wins."""
    if shown is None or event_id < shown[0]:
        return event_id, spelling
    return shown


ShownBand = tuple[str, int, list[tuple[str, int]]]  # band, votes, [(album, votes)]


def shown_tallies(
    bands: Mapping[str, int], albums: Mapping[str, int], names: Mapping[str, str]
) -> list[ShownBand]:
    """The tallies as shown: counts by key (the read model's ``bands``, ``albums``) under
    each key's spelling (its ``names``; the key itself if it has none)."""
    by_band: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for field, votes in albums.items():
        band, album = split_album_field(field)
        by_band[band].append((names.get(field, album), votes))
    return [(names.get(band, band), votes, by_band[band]) for band, votes in bands.items()]
