#!/usr/bin/env python3
"""The runtime matrix's scenario for Python clients, configured only as a user would: the proxy from
http_proxy/HTTPS_PROXY, trust from SSL_CERT_FILE / REQUESTS_CA_BUNDLE (`purser ca env`).

usage: agent.py requests|httpx|httpx-async|aiohttp|urllib HTTP_BASE HTTPS_BASE
Prints one JSON line per step with what the client received (see scenario.md).
"""
import asyncio
import hashlib
import json
import sys

JSON_BODY = b'{"task":"summarise","items":[1,2,3],"note":"paid retry must carry me"}'
BIG_BODY = b"0123456789" * 100000  # 1,000,000 bytes: under the testnet's 1 MiB body limit


def steps(http, https):
    """(name, method, url, body, content type): the same list in every agent script."""
    return [
        ("http_get", "GET", http + "/weather", None, None),
        ("https_get", "GET", https + "/weather", None, None),
        ("post_json", "POST", https + "/echo", JSON_BODY, "application/json"),
        ("post_1mb", "POST", https + "/echo", BIG_BODY, "application/octet-stream"),
        ("stream", "GET", https + "/stream", None, None),
        ("after_stream", "GET", https + "/weather", None, None),
        ("free", "GET", https + "/free", None, None),
        ("declined", "GET", https + "/premium", None, None),
    ]


def report(name, body_sent, status, headers, chunks, conn):
    body = b"".join(chunks)
    line = {
        "step": name,
        "status": status,
        "decision": headers.get("purser-decision") or "",
        "paid": headers.get("purser-paid") or "",
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "events": sum(1 for l in body.split(b"\n") if l.startswith(b"data:")),
        "chunks": len(chunks),
    }
    if conn is not None:
        line["conn"] = str(conn)
    if body_sent is not None:
        line["sent_length"] = len(body_sent)
        line["sent_sha256"] = hashlib.sha256(body_sent).hexdigest()
    print(json.dumps(line), flush=True)


def failed(name, e):
    print(json.dumps({"step": name, "error": f"{type(e).__name__}: {e}"}), flush=True)


def run_requests(plan):
    import requests
    with requests.Session() as s:  # one pool: the step after the stream reuses its connection
        for name, method, url, body, ctype in plan:
            try:
                hdrs = {"Content-Type": ctype} if ctype else {}
                r = s.request(method, url, data=body, headers=hdrs, stream=True, timeout=60)
                sock = r.raw._connection.sock if r.raw._connection else None
                conn = sock.getsockname()[1] if sock else None
                chunks = [c for c in r.iter_content(chunk_size=None) if c]
                report(name, body, r.status_code, {k.lower(): v for k, v in r.headers.items()}, chunks, conn)
            except Exception as e:  # noqa: BLE001 - the report names the failure, the test judges it
                failed(name, e)


def httpx_conn(r):
    stream = r.extensions.get("network_stream")
    return stream.get_extra_info("client_addr")[1] if stream else None


def run_httpx(plan):
    import httpx
    with httpx.Client(timeout=60) as c:
        for name, method, url, body, ctype in plan:
            try:
                hdrs = {"Content-Type": ctype} if ctype else {}
                with c.stream(method, url, content=body, headers=hdrs) as r:
                    conn = httpx_conn(r)
                    chunks = [b for b in r.iter_bytes() if b]
                    report(name, body, r.status_code, r.headers, chunks, conn)
            except Exception as e:  # noqa: BLE001
                failed(name, e)


async def run_httpx_async(plan):
    import httpx
    async with httpx.AsyncClient(timeout=60) as c:
        for name, method, url, body, ctype in plan:
            try:
                hdrs = {"Content-Type": ctype} if ctype else {}
                async with c.stream(method, url, content=body, headers=hdrs) as r:
                    conn = httpx_conn(r)
                    chunks = [b async for b in r.aiter_bytes() if b]
                    report(name, body, r.status_code, r.headers, chunks, conn)
            except Exception as e:  # noqa: BLE001
                failed(name, e)


async def run_aiohttp(plan):
    import aiohttp
    # trust_env=True: aiohttp reads the proxy variables (and SSL_CERT_FILE) only when asked to.
    async with aiohttp.ClientSession(trust_env=True, timeout=aiohttp.ClientTimeout(total=60)) as s:
        for name, method, url, body, ctype in plan:
            try:
                hdrs = {"Content-Type": ctype} if ctype else {}
                async with s.request(method, url, data=body, headers=hdrs) as r:
                    transport = r.connection.transport if r.connection else None
                    conn = transport.get_extra_info("sockname")[1] if transport else None
                    chunks = [b async for b in r.content.iter_any() if b]
                    report(name, body, r.status, {k.lower(): v for k, v in r.headers.items()}, chunks, conn)
            except Exception as e:  # noqa: BLE001
                failed(name, e)


def run_urllib(plan):
    import urllib.error
    import urllib.request
    # urlopen sends "Connection: close": each step is a new connection, so no "conn" is reported.
    for name, method, url, body, ctype in plan:
        try:
            req = urllib.request.Request(url, data=body, method=method)
            if ctype:
                req.add_header("Content-Type", ctype)
            try:
                r = urllib.request.urlopen(req, timeout=60)
            except urllib.error.HTTPError as e:  # a 402 is an answer, not a failure
                r = e
            with r:
                chunks = list(iter(lambda: r.read1(65536), b""))
                report(name, body, r.status, {k.lower(): v for k, v in r.headers.items()}, chunks, None)
        except Exception as e:  # noqa: BLE001
            failed(name, e)


def main():
    client, http, https = sys.argv[1:4]
    plan = steps(http, https)
    runners = {
        "requests": lambda: run_requests(plan),
        "httpx": lambda: run_httpx(plan),
        "httpx-async": lambda: asyncio.run(run_httpx_async(plan)),
        "aiohttp": lambda: asyncio.run(run_aiohttp(plan)),
        "urllib": lambda: run_urllib(plan),
    }
    runners[client]()


if __name__ == "__main__":
    main()
