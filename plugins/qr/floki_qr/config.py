"""Settings of ``[plugin.qr]``: one subsection per concern."""

from __future__ import annotations

import msgspec

from floki_qr.labels import LabelSettings
from floki_qr.pages import PageSettings
from floki_qr.scanner import ScannerSettings


class QrSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    labels: LabelSettings = msgspec.field(default_factory=LabelSettings)
    pages: PageSettings = msgspec.field(default_factory=PageSettings)
    scanners: ScannerSettings = msgspec.field(default_factory=ScannerSettings)
