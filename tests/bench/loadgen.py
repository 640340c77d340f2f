"""A small HTTP/1.1 load generator for the benchmarks: keep-alive connections on raw
asyncio streams (lighter than an HTTP client library, so it measures the server).

    python -m tests.bench.loadgen URL --seconds 10 --connections 32 [--token T]

Each request POSTs one customer with a unique id; prints one JSON line with the number
of 2xx answers, the other statuses, throughput and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


async def worker(
    host: str,
    port: int,
    path: str,
    token: str,
    deadline: float,
    n: int,
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.monotonic() < deadline:
            i += 1
            body = json.dumps(
                {
                    "id": f"w{n}-{i}",
                    "email": f"w{n}-{i}@example.com",
                    "email_consent": {"state": "subscribed"},
                }
            ).encode()
            started = time.perf_counter()
            status = await post(reader, writer, host, path, token, body)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def post(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    path: str,
    token: str,
    body: bytes,
) -> int:
    """One JSON POST on a keep-alive connection, its answer read whole; the status."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def main(url: str, seconds: float, connections: int, token: str) -> dict[str, float]:
    parts = urlsplit(url)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(
        *(
            worker(
                parts.hostname or "127.0.0.1",
                parts.port or 80,
                parts.path,
                token,
                deadline,
                n,
                latencies,
                statuses,
            )
            for n in range(connections)
        )
    )
    elapsed = time.monotonic() - started
    latencies.sort()
    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000

    return {
        "ok": ok,
        "other": sum(statuses.values()) - ok,
        "per_second": ok / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--token", default="demo-token")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.url, args.seconds, args.connections, args.token))))
