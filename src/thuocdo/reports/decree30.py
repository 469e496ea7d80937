"""The first and last lines of an administrative report under Decree 30/2020/NĐ-CP, worked out once for every
renderer (HTML and PDF, Markdown, DOCX): the number and symbol (*số, ký hiệu*) built from the issuing body's
abbreviation, the addressees after "Kính gửi", the recipients under "Nơi nhận", the signer's block and the
document's metadata.

The report model may carry the issuing body, the addressees and the signer (``issuer``, ``issuer_unit``,
``addressees``, ``signer_title``, ``signer_name``); whatever it leaves empty falls back to the defaults here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from thuocdo.reports.model import Report

QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"

#: the document type's abbreviation in the symbol (Decree 30/2020, Appendix III)
KIND_CODES = {"BÁO CÁO": "BC", "KẾ HOẠCH": "KH", "THÔNG BÁO": "TB", "TỜ TRÌNH": "TTr", "QUYẾT ĐỊNH": "QĐ",
              "CÔNG VĂN": ""}
#: addressees when the report names none: the ministries and the provinces, to whom the seed report is sent
DEFAULT_ADDRESSEES = ("Các bộ, cơ quan ngang bộ, cơ quan thuộc Chính phủ",
                      "Ủy ban nhân dân các tỉnh, thành phố trực thuộc Trung ương")
#: words left out of an abbreviation ("BỘ THÔNG TIN VÀ TRUYỀN THÔNG" → "BTTTT")
_FUNCTION_WORDS = frozenset({"VÀ", "VỀ", "CỦA", "CÁC", "THUỘC", "-", "–"})
#: a standing body signs for the committee it serves: its symbol is the committee's ("UBQGCĐS" in the seed)
_ACTING_FOR = ("CƠ QUAN THƯỜNG TRỰC CỦA ",)
#: bodies whose symbol is fixed by usage rather than by the initials of their full name
_FIXED = (("ỦY BAN NHÂN DÂN", "UBND"), ("HỘI ĐỒNG NHÂN DÂN", "HĐND"))
#: "Như trên" stands for the addressees; "Lưu" is the file copy: neither is a real recipient
_NOT_RECIPIENTS = ("như trên", "lưu")


def _base_letter(ch: str) -> str:
    """A capital letter without its tone and vowel marks; Đ stays Đ (it is a letter of its own)."""
    return "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))


def abbreviation(body: str) -> str:
    """The abbreviation of an issuing body's name used in a document's symbol.

    >>> abbreviation("BỘ THÔNG TIN VÀ TRUYỀN THÔNG")
    'BTTTT'
    >>> abbreviation("CƠ QUAN THƯỜNG TRỰC CỦA ỦY BAN QUỐC GIA VỀ CHUYỂN ĐỔI SỐ")
    'UBQGCĐS'
    >>> abbreviation("Bộ Khoa học và Công nghệ")
    'BKHCN'
    >>> abbreviation("ỦY BAN NHÂN DÂN TỈNH THỪA THIÊN HUẾ")
    'UBND'
    """
    name = " ".join(unicodedata.normalize("NFC", body).upper().split())
    for prefix in _ACTING_FOR:
        name = name.removeprefix(prefix)
    for prefix, fixed in _FIXED:
        if name.startswith(prefix):
            return fixed
    return "".join(_base_letter(w[0]) for w in name.split() if w not in _FUNCTION_WORDS and w[0].isalpha())


def issuing_body(report: Report) -> str:
    """The body that issues the report: the second, bold line of the header when there is one (the first names
    the body it reports to), else the first."""
    return report.issuer_unit or report.issuer


def document_number(report: Report) -> str:
    """"Số: …/BC-UBQGCĐS": the report's number (kept as given, "…" when it has none) and a symbol made of the
    document type's and the issuing body's abbreviations, so the two can never disagree."""
    text = report.number.removeprefix("Số:").strip()
    number = text.split("/", 1)[0].strip() if "/" in text else ""
    kind = KIND_CODES.get(report.kind.upper(), "")
    code = abbreviation(issuing_body(report))
    return f"Số: {number or '…'}/{kind + '-' if kind else ''}{code}"


def addressees(report: Report) -> list[str]:
    return list(report.addressees) or list(DEFAULT_ADDRESSEES)


def _is_recipient(line: str) -> bool:
    return not line.strip().lower().startswith(_NOT_RECIPIENTS)


def recipients(report: Report) -> list[str]:
    """The lines under "Nơi nhận", each ending with ";" and the last with ".": the addressees by name (not a
    bare "Như trên"), then the report's other recipients, then the file copy ("Lưu: VT.")."""
    named = [a.rstrip(";.") for a in addressees(report)]
    others = [r.rstrip(";.") for r in report.recipients if _is_recipient(r) and r.rstrip(";.") not in named]
    kept = [r.rstrip(";.") for r in report.recipients if r.strip().lower().startswith("lưu")] or ["Lưu: VT"]
    lines = named + others + kept
    return [f"{line};" for line in lines[:-1]] + [f"{lines[-1]}."]


def _default_title(report: Report) -> str:
    body = issuing_body(report).upper()
    parent = report.issuer.upper()
    if body.startswith("ỦY BAN NHÂN DÂN"):
        return "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH"
    if parent.startswith("BỘ ") or body.startswith("BỘ "):
        return "BỘ TRƯỞNG"
    if body.startswith("SỞ "):
        return "GIÁM ĐỐC"
    return "THỦ TRƯỞNG CƠ QUAN"


@dataclass(frozen=True)
class Signature:
    title: list[str]  # lines of the signer's authority and position, upper case ("KT. BỘ TRƯỞNG", "THỨ TRƯỞNG")
    name: str  # the signer's full name; empty: a placeholder is printed for the analyst to sign over


#: printed where the signer's name goes when none was given
NAME_PLACEHOLDER = "(Ký, ghi rõ họ và tên)"


def signature(report: Report) -> Signature:
    title = report.signer_title or _default_title(report)
    return Signature([line.strip().upper() for line in title.splitlines() if line.strip()], report.signer_name.strip())


def kinh_gui(report: Report) -> list[str]:
    """The lines of the "Kính gửi" block: one line for one addressee, else "Kính gửi:" and one line each."""
    names = addressees(report)
    if len(names) == 1:
        return [f"Kính gửi: {names[0].rstrip(';.')}."]
    return ["Kính gửi:"] + [f"- {n.rstrip(';.')};" for n in names[:-1]] + [f"- {names[-1].rstrip(';.')}."]


def metadata(report: Report) -> dict[str, str]:
    """The document's properties (DOCX core properties, PDF metadata): the issuing body as author."""
    body = issuing_body(report)
    author = f"{report.issuer} – {report.issuer_unit}" if report.issuer_unit else report.issuer
    return {"author": author, "title": f"{report.kind.capitalize()}: {report.title}", "subject": report.title,
            "keywords": "; ".join(("báo cáo", "chuyển đổi số", abbreviation(body))),
            "category": report.kind.capitalize(), "comments": f"{document_number(report)}; {report.date_line}",
            "language": "vi-VN"}
