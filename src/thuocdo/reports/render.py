"""Write a :class:`Report` as Markdown (+ SVG charts beside it), self-contained HTML, DOCX and PDF.

Markdown and HTML come from the Jinja2 templates in ``templates/``; the HTML embeds every chart as inline SVG
and loads nothing from the network, and its print style sheet (A4, Decree 30/2020/NĐ-CP margins, page numbers
from page 2) is what WeasyPrint lays out as the PDF. The DOCX is built by :mod:`thuocdo.reports.word`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path

import jinja2

from thuocdo.reports import decree30
from thuocdo.reports.model import Report

FORMATS = ("md", "html", "docx", "pdf")
CHART_DIR = "bieu-do"


class RenderError(RuntimeError):
    """A format cannot be written on this machine (names the missing piece and how to install it)."""


def file_stem(report: Report) -> str:
    return report.stem or f"bao-cao-nen-tang-so-{report.period}"


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("thuocdo.reports", "templates"),
                             autoescape=jinja2.select_autoescape(["html.j2"]), keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["mdcell"] = lambda v: str(v).replace("|", "\\|")
    return env


def letterhead(report: Report) -> dict[str, object]:
    """What every format prints of the Decree 30/2020 header and closing (see :mod:`thuocdo.reports.decree30`)."""
    return {"number": decree30.document_number(report), "quoc_hieu": decree30.QUOC_HIEU,
            "tieu_ngu": decree30.TIEU_NGU, "kinh_gui": decree30.kinh_gui(report),
            "recipients": decree30.recipients(report), "signature": decree30.signature(report),
            "name_placeholder": decree30.NAME_PLACEHOLDER, "meta": decree30.metadata(report)}


def to_markdown(report: Report, chart_dir: str = CHART_DIR) -> str:
    return _environment().get_template("report.md.j2").render(r=report, chart_dir=chart_dir, **letterhead(report))


def to_html(report: Report, svgs: dict[str, str] | None = None) -> str:
    from thuocdo.reports.charts import render_svg  # matplotlib loads when a chart is drawn, not with the CLI

    svgs = svgs if svgs is not None else {c.key: render_svg(c) for c in report.charts()}
    return _environment().get_template("report.html.j2").render(r=report, svgs=svgs, **letterhead(report))


def to_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        raise RenderError("Không tạo được PDF: cần gói Python weasyprint và thư viện Pango của hệ điều hành "
                          f"(apt-get install libpango-1.0-0 libpangoft2-1.0-0) ({exc}).") from exc
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def write(report: Report, out: Path, formats: Iterable[str] = FORMATS,
          on_step: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Write the report in each format into `out`; returns format → path."""
    out.mkdir(parents=True, exist_ok=True)
    formats = list(formats)
    stem = file_stem(report)
    written: dict[str, Path] = {}
    svgs: dict[str, str] = {}
    if {"md", "html", "pdf"} & set(formats):
        from thuocdo.reports.charts import render_svg

        if on_step:
            on_step("biểu đồ")
        svgs = {c.key: render_svg(c) for c in report.charts()}
    html = to_html(report, svgs) if {"html", "pdf"} & set(formats) else ""
    for fmt in formats:
        if on_step:
            on_step(fmt)
        path = out / f"{stem}.{fmt}"
        if fmt == "md":
            charts = out / CHART_DIR
            charts.mkdir(exist_ok=True)
            for key, svg in svgs.items():
                (charts / f"{key}.svg").write_text(svg, encoding="utf-8")
            path.write_text(to_markdown(report), encoding="utf-8")
        elif fmt == "html":
            path.write_text(html, encoding="utf-8")
        elif fmt == "docx":
            from thuocdo.reports.word import write_docx

            write_docx(report, path)
        elif fmt == "pdf":
            path.write_bytes(to_pdf(html))
        else:
            raise ValueError(fmt)
        written[fmt] = path
    return written
