"""Keys for matching names as people type them: Unicode NFC, case, diacritics, prefixes.

>>> fold_diacritics("Đắk Lắk")
'Dak Lak'
>>> province_key("TP. Hồ Chí Minh") == province_key("ho chi minh")
True
>>> province_key("Tỉnh Bà Rịa - Vũng Tàu")
'bariavungtau'
>>> loose_key("https://www.VnExpress.net/")
'vnexpressnet'
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_NON_ALNUM: Final = re.compile(r"[^0-9a-z]+")
_URL_PREFIX: Final = re.compile(r"^(?:https?://)?(?:www\.)?")
# Leading words of a province name that say its kind, not which one it is.
_PROVINCE_PREFIXES: Final = (("thanh", "pho"), ("thu", "do"), ("tinh",), ("tp",))
_PROVINCE_SUFFIXES: Final = (("city",), ("province",))


def nfc(text: str) -> str:
    """The text in Unicode NFC with surrounding whitespace removed."""
    return unicodedata.normalize("NFC", text).strip()


def fold_diacritics(text: str) -> str:
    """The text without Vietnamese diacritics: NFD, combining marks dropped, đ/Đ as d/D."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def exact_key(text: str) -> str:
    """Case-insensitive key that keeps diacritics and punctuation (ids, aliases, domains)."""
    return nfc(text).casefold()


def loose_key(text: str) -> str:
    """Key without diacritics, case, URL scheme, ``www.`` or punctuation."""
    folded = fold_diacritics(nfc(text)).lower()
    folded = _URL_PREFIX.sub("", folded).rstrip("/")
    return _NON_ALNUM.sub("", folded)


def province_key(text: str) -> str:
    """Key of a province name: :func:`loose_key` without "Tỉnh", "Thành phố", "TP." or "city"."""
    words = _NON_ALNUM.sub(" ", fold_diacritics(nfc(text)).lower()).split()
    for prefix in _PROVINCE_PREFIXES:
        if len(words) > len(prefix) and tuple(words[: len(prefix)]) == prefix:
            words = words[len(prefix):]
            break
    for suffix in _PROVINCE_SUFFIXES:
        if len(words) > len(suffix) and tuple(words[-len(suffix):]) == suffix:
            words = words[: -len(suffix)]
            break
    return "".join(words)
