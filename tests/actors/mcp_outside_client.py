"""An outside MCP client in its own process (asyncio, the official MCP SDK, real HTTP).

Usage: python mcp_outside_client.py URL TOKEN ALLOWED_URI DENIED_URI — prints one JSON object:
what the SDK listed and read with the token, the HTTP status of the denied read, and what the
server answered without a token. Used by tests/actors/test_mcp_outside_client.py.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


async def main(url: str, token: str, allowed: str, denied: str) -> dict:
    statuses: list[int] = []

    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    out: dict = {}
    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=30,
                                  event_hooks={"response": [record]}) as http:
        async with Client(streamable_http_client(url, http_client=http), cache=None) as client:
            out["resources"] = [str(r.uri) for r in (await client.list_resources()).resources]
            out["read"] = (await client.read_resource(allowed)).contents[0].text
            try:
                await client.read_resource(denied)
                out["denied"] = "read succeeded"
            except MCPError as error:
                out["denied"] = {"status": statuses[-1], "code": error.code, "message": error.message}
    async with httpx2.AsyncClient(timeout=30) as bare:
        probe = await bare.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "resources/list"},
                                headers={"accept": "application/json, text/event-stream"})
        out["anonymous"] = {"status": probe.status_code, "www_authenticate": probe.headers.get("www-authenticate")}
        challenge = probe.headers.get("www-authenticate", "")
        metadata_url = challenge.split('resource_metadata="', 1)[1].split('"', 1)[0]
        out["metadata_url"] = metadata_url
        out["metadata"] = (await bare.get(metadata_url)).json()
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:5]))))
