"""DICOM attribute values as text: decoded by the dataset's character set whatever VR they came in (UN
included), and cut to their VR's length with a marker where kept."""

from __future__ import annotations

from pydicom import Dataset
from pydicom.charset import TEXT_VR_DELIMS, convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

CUT = "…"  # ends a value that was longer than its VR allows
# PS3.5 Table 6.2-1, in characters; UC, UR and UT are unbounded and not listed.
MAX_CHARS = {
    "AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64, "LT": 10240, "SH": 16,
    "ST": 1024, "TM": 16, "UI": 64,
}  # fmt: skip
# A person's name: 64 characters in each of its three component groups (alphabetic, ideographic, phonetic).
PN_GROUP_CHARS, PN_GROUPS = 64, 3
# Text VRs hold one value in which a backslash is text; in the others it separates values.
FREE_TEXT_VRS = frozenset({"LT", "ST", "UT"})


def value_vr(element: DataElement) -> str:
    """The VR the value really has: a UN element of a known attribute has the attribute's own."""
    if element.VR == "UN" and not element.tag.is_private:
        try:
            return dictionary_VR(element.tag)
        except KeyError:
            return "UN"
    return element.VR


def full_text(dataset: Dataset, keyword: str) -> str:
    """The attribute's whole value as text, "" when absent or empty; several values joined by a backslash."""
    element = dataset.data_element(keyword) if keyword in dataset else None
    if element is None or element.value is None:
        return ""
    vr, value = value_vr(element), element.value
    if isinstance(value, bytes):  # sent as UN (pydicom keeps a long UN value as bytes)
        return _decoded(value, vr, convert_encodings(dataset.get("SpecificCharacterSet")))
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(item) for item in value).strip()
    return str(value).strip()


def kept_text(dataset: Dataset, keyword: str, limit: int | None = None) -> str:
    """The value as it may be kept: its VR's length at most (and `limit`, a column's), cut with CUT."""
    element = dataset.data_element(keyword) if keyword in dataset else None
    text = full_text(dataset, keyword)
    if element is not None and value_vr(element) == "PN":
        groups = text.split("=")[:PN_GROUPS]
        text = "=".join(_cut(group, PN_GROUP_CHARS) for group in groups)
    elif element is not None:
        text = _cut(text, MAX_CHARS.get(value_vr(element)))
    return _cut(text, limit)


def _decoded(value: bytes, vr: str, encodings: list[str]) -> str:
    value = value.rstrip(b"\x00 ")
    if vr == "PN":
        return str(PersonName(value, encodings)).strip()
    delimiters = TEXT_VR_DELIMS if vr in FREE_TEXT_VRS else TEXT_VR_DELIMS | {0x5C}
    return decode_bytes(value, encodings, delimiters).strip()


def _cut(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - len(CUT)] + CUT
