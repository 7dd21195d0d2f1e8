#!/usr/bin/env python3
"""Opens N keep-alive connections through an HTTP proxy, makes one request on each, then holds
them all idle until it is ended (bench/peers/run.sh reads the proxy's RSS meanwhile).

usage: idle_clients.py PROXY_PORT URL N
Prints "ready N" once every connection has had its full response; exits 1 if any request fails.
"""
import asyncio
import resource
import sys

OPENING_AT_ONCE = 128  # below the proxies' listen backlogs, so no SYN waits for a retry


async def one(port: int, request: bytes, gate: asyncio.Semaphore):
    async with gate:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise RuntimeError("status " + status.decode())
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return reader, writer


async def main():
    port, url, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    host = url.split("/")[2]
    request = f"GET {url} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: purser-bench\r\n\r\n".encode()
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    held = await asyncio.gather(*(one(port, request, gate) for _ in range(n)))
    print(f"ready {len(held)}", flush=True)
    await asyncio.Event().wait()  # until SIGTERM; the kernel closes the connections


if __name__ == "__main__":
    asyncio.run(main())
