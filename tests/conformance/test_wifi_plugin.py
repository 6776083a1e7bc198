"""floki-wifi as one plugin: it loads through its entry point, starts on an empty
``[plugin.wifi]`` and documents every key of every feed's table. (Each feed's own module
runs the source and route checks and leaves these plugin-wide ones to this one.)"""

from __future__ import annotations

from floki_core.conformance import PluginConformance


class TestWifiPluginConformance(PluginConformance):
    plugin = "wifi"
    documentation = (
        "docs/wifi.md",
        "docs/wifi-syslog.md",
        "docs/wifi-radius.md",
        "docs/wifi-meraki-spaces.md",
        "docs/wifi-demo.md",
    )
