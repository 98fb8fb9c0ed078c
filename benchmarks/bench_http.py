"""HTTP benchmark: append and last-50 over the /v1 API on loopback, next to in-process.

Standalone (not a test): ``.venv/bin/python benchmarks/bench_http.py [--url URL] [-n N]``.
Starts ``sessiondb serve`` (uvicorn, one worker) in a child process on a free loopback
port over a fresh database, then measures with keep-alive httpx clients:

* append: one message per request (POST /v1/sessions/{id}/messages), each client on its
  own session;
* last-50: GET /v1/sessions/{id}/messages?last=50 on a session of 10,000 messages;

with 1 client and with 8 concurrent clients (8 processes, so the client side does not
share one GIL), and the same two operations called in-process on the store. Prints a
Markdown table (per-request latency median/p95, throughput, and CPU time per request:
of this process in-process, of the server process over HTTP, which stays meaningful on a
loaded machine) and writes it to benchmarks/results/http.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import sessiondb

HERE = Path(__file__).parent
ITEM = {"role": "user", "content": "x" * 200}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    code = f"from sessiondb.server import run; run({url!r}, host='127.0.0.1', port={port})"
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/sessions?limit=1").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) the process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_worker(args: tuple[str, str, str, int]) -> list[float]:
    """Run ``n`` requests of one kind; return each one's latency in seconds."""
    base, kind, session_id, n = args
    times = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(n):
            start = time.perf_counter()
            if kind == "append":
                r = client.post(f"/v1/sessions/{session_id}/messages", json={"items": [ITEM]})
            else:
                r = client.get(f"/v1/sessions/{session_id}/messages", params={"last": 50})
            times.append(time.perf_counter() - start)
            assert r.status_code in (200, 201), r.text
    return times


def summarize(
    label: str, clients: int, times: list[float], wall: float, cpu: float
) -> dict[str, object]:
    times = sorted(times)
    return {
        "cpu_ms": cpu / len(times) * 1000,
        "what": label,
        "clients": clients,
        "requests": len(times),
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": times[int(len(times) * 0.95) - 1] * 1000,
        "per_s": len(times) / wall,
    }


def in_process(store: sessiondb.Store, n: int, big: str) -> list[dict[str, object]]:
    sid = store.create_session(title="in-process append").id
    rows = []
    for label, call in (
        ("append (in-process)", lambda: store.append(sid, ITEM)),
        ("last-50 (in-process)", lambda: store.messages(big, last=50)),
    ):
        times = []
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        cpu = time.process_time() - cpu
        rows.append(summarize(label, 1, times, time.perf_counter() - wall, cpu))
    return rows


def over_http(
    base: str, pid: int, store: sessiondb.Store, n: int, big: str
) -> list[dict[str, object]]:
    rows = []
    with mp.get_context("spawn").Pool(8) as pool:
        for clients in (1, 8):
            for kind in ("append", "last-50"):
                jobs = []
                for _ in range(clients):
                    sid = store.create_session(title="http append").id if kind == "append" else big
                    jobs.append((base, kind, sid, n // clients if clients > 1 else n))
                wall, cpu = time.perf_counter(), cpu_seconds(pid)
                results = pool.map(http_worker, jobs)
                wall, cpu = time.perf_counter() - wall, cpu_seconds(pid) - cpu
                times = [t for r in results for t in r]
                rows.append(summarize(f"{kind} (HTTP)", clients, times, wall, cpu))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="store URL (default: a fresh SQLite file)")
    parser.add_argument("-n", type=int, default=800, help="requests per measurement")
    parser.add_argument("--out", default=str(HERE / "results" / "http.md"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or str(Path(tmp) / "bench.db")
        store = sessiondb.connect(url)
        big = store.create_session(title="10k messages").id
        for start in range(0, 10_000, 1000):
            store.append(big, [{"role": "user", "content": f"m{start + i}"} for i in range(1000)])
        port = free_port()
        server = start_server(url, port)
        try:
            rows = in_process(store, args.n, big) + over_http(
                f"http://127.0.0.1:{port}", server.pid, store, args.n, big
            )
        finally:
            server.terminate()
            server.wait(10)
            store.close()

    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"# HTTP vs in-process ({backend}, {os.cpu_count()} CPUs, loopback, uvicorn 1 worker)",
        "",
        f"Load average during the run: {load}. Latency and throughput follow the machine's",
        "load; CPU ms/request (server process for HTTP) is the steadier figure.",
        "",
        "| operation | clients | requests | median ms | p95 ms | requests/s | CPU ms/request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['what']} | {r['clients']} | {r['requests']} | {r['median_ms']:.3f} |"
            f" {r['p95_ms']:.3f} | {r['per_s']:,.0f} | {r['cpu_ms']:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
