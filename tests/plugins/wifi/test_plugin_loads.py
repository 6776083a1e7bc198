async def test_wifi_plugin_loads(floki):
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("admin"))
    body = await resp.json()
    names = [p["name"] for p in body["items"]]
    assert "wifi" in names, names
