"""The Vietnamese dashboard: server-rendered pages over the same Service as the API.

Every figure comes from the Service (the metric tables, the index engine, the targets scorecard); this package
only chooses which periods a visitor may see, formats numbers the Vietnamese way and lays the tables out.
Visitors without an analyst key see published periods only, with panel figures from fewer than ``MIN_CELL``
panelists withheld (shown as "–"), exactly as the API and the reports do. Charts are inline SVG; the style
sheet and the font are served from ``/static``: the pages need no network.
"""

from __future__ import annotations

from thuocdo.web.dashboard.pages import mount

__all__ = ["mount"]
