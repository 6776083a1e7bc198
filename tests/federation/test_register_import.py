"""A register import (over HTTP, or ``floki-core import`` beside a stopped appliance)
reaches the trust hub as one ``register.imported`` event, kept with the merge."""

from __future__ import annotations

import json

from floki_core import cli
from tests.federation.conftest import NatsHub, Sites, committed_seq, drained

EQUIP = (
    "Equipment No,Description,Manufacturer,Model,Serial No\r\n"
    "E1,Bladder scanner,Verathon,BladderScan Prime,BS1\r\n"
    "E2,Infusion pump,BD,Alaris GP,P2\r\n"
)


def toml(section: dict[str, object]) -> str:
    def value(v: object) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return f'"{v}"' if isinstance(v, str) else str(v)

    return "[federation]\n" + "".join(f"{k} = {value(v)}\n" for k, v in section.items())


async def test_imports_reach_the_hub_as_one_event_each(nats_hub: NatsHub, sites: Sites) -> None:
    await nats_hub.make_stream()
    settings = nats_hub.federation("north")
    async with sites.run("north", settings) as floki:
        headers = {**await floki.headers("engineer"), "Content-Type": "text/csv"}
        resp = await floki.client.post("/api/v1/assets/import", data=EQUIP, headers=headers)
        assert resp.status == 200, await resp.text()
        await drained(floki)
    # The appliance stopped, the next export is imported from the command line.
    (sites.root / "north" / "floki.toml").write_text(toml(settings))
    (sites.root / "register.csv").write_text(EQUIP.replace("BS1", "BS1-REPLACED"))
    command = ["--data-dir", sites.root / "north", "import-assets"]
    assert cli.main([str(a) for a in [*command, sites.root / "register.csv"]]) == 0
    async with sites.run("north", settings) as floki:
        await drained(floki)
        last = await committed_seq(floki)
    imports = [
        json.loads(m.data)
        for m in await nats_hub.read_stream()
        if m.subject == "floki.site.north.events.register.imported"
    ]
    assert [i["data"] for i in imports] == [
        {"created": 2, "updated": 0, "unchanged": 0, "skipped": 0},
        {"created": 0, "updated": 1, "unchanged": 1, "skipped": 0},
    ]
    assert imports[-1]["seq"] == last
