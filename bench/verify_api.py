"""Verification API throughput: requests/s and p99 latency of ``/api/v1/certificates/{token}``
on a database of a million certificates, against a bare FastAPI endpoint in the same run.

Both are served the same way (uvicorn, the same number of worker processes) and loaded the
same way (wrk from Debian, random tokens from a Lua script, keep-alive connections), one after
the other on this machine. The public rate limit is turned off for the run (it would answer
429 to a single load generator), which the output says.

Usage (from the repository root)::

    .venv/bin/python bench/verify_api.py --certificates 1000000 --workers 2 --duration 15

Needs ``wrk`` (``apt-get install wrk``) and the PostgreSQL server of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from cloud_bridge.store import make_engine, migrate
from tests.support.net import free_port, wait_for_port
from tests.support.postgres import fresh_schema

ROOT = Path(__file__).resolve().parents[1]
CERTIFICATE = {
    "token": "t", "serial": "JL01-20261124-1", "style": "style1",
    "template_version": "MARA-2025-4", "product_code": "jiucai", "product_name": "韭菜",
    "quantity": 50, "unit": "kg", "origin_code": "220122", "origin_detail": "三村二组",
    "producer_id": "p-0001", "promisor_name": "张三丰", "promisor_phone": "13812341234",
    "promise": "我承诺生产销售的食用农产品：未使用禁用农药、兽药及其他化合物；"
               "使用的常规农药、兽药残留不超标。",
    "basis": ["自行检测合格"],
    "tests": [{"reading_id": "0123456789abcdef0123456789abcdef", "analyte_code": "procymidone",
               "analyte_name": "腐霉利", "kit_id": "kit-pcm", "kit_lot": "L2401",
               "call": "negative", "t_c_ratio": 1.12}],
    "issued_at": "2026-11-24T08:00:00Z", "time_synced": True, "station_id": "JL01",
    "place_code": "220122", "verify_url": "http://127.0.0.1:8080/c/t", "sources": [],
}
LUA = """
math.randomseed(os.time())
request = function()
  local n = math.random(1, %d)
  return wrk.format("GET", string.format("/api/v1/certificates/tok%%019d", n))
end
"""


def fill(url: str, count: int) -> float:
    """A million certificates (and their ledger rows) made by the database itself."""
    migrate(url)
    engine = make_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO devices (id, public_key, station_id, place_code, state, enrolled_at, "
            "updated_at, roster_version) VALUES ('kiosk-bench', :key, 'JL01', '220122', "
            "'enrolled', now(), now(), 0)"), {"key": "A" * 43})
        conn.execute(text(
            "INSERT INTO ledger (device_id, seq, msg_id, kind, action, subject, kiosk_time, "
            "time_synced, boot_id, mono_ms, received_at, payload) "
            "SELECT 'kiosk-bench', i, md5(i::text), 'certificate', 'issued', "
            "'tok' || lpad(i::text, 19, '0'), now(), true, md5('boot'), i, now(), "
            "'\\x7b7d'::bytea FROM generate_series(1, :n) AS i"), {"n": count})
        conn.execute(text(
            "INSERT INTO certificates (token, serial, device_id, seq, origin, status, style, "
            "product_code, product_name, quantity, unit, origin_code, producer_id, station_id, "
            "place_code, issued_at, time_synced, recorded_at, data) "
            "SELECT 'tok' || lpad(i::text, 19, '0'), 'JL01-20261124-' || i, 'kiosk-bench', i, "
            "'kiosk', 'issued', 'style1', 'jiucai', '韭菜', 50, 'kg', '220122', 'p-0001', "
            "'JL01', '220122', now(), true, now(), CAST(:doc AS jsonb) "
            "FROM generate_series(1, :n) AS i"),
            {"n": count, "doc": json.dumps(CERTIFICATE, ensure_ascii=False)})
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def serve(cmd: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    wait_for_port(port, timeout=60)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    if proc.stderr:
        proc.stderr.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live children, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def load(port: int, lua: Path, duration: int, connections: int, threads: int, pid: int
         ) -> tuple[float, float, float]:
    """Run wrk; returns (requests/s, p99 ms, server CPU µs per request)."""
    base = ["wrk", f"-t{threads}", f"-c{connections}", "--latency", "-s", str(lua)]
    subprocess.run([*base, "-d3s", f"http://127.0.0.1:{port}"], check=True,
                   capture_output=True)  # warm-up: caches, pools, JIT-free Python imports
    cpu_before = cpu_seconds(pid)
    out = subprocess.run([*base, f"-d{duration}s", f"http://127.0.0.1:{port}"], check=True,
                         capture_output=True, text=True).stdout
    cpu = cpu_seconds(pid) - cpu_before
    if "Non-2xx" in out:
        raise RuntimeError(f"errors during the run:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None
    value = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, value, cpu / requests * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--certificates", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32],
                        help="wrk connections; one measurement each (default 8 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, fresh_schema() as url:
        took = fill(url, args.certificates)
        print(f"database: {args.certificates} certificates made in {took:.0f}s")
        lua = Path(tmp) / "tokens.lua"
        lua.write_text(LUA % args.certificates)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        port = free_port()
        bare = serve([sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench"),
                      "bare_app:app", "--port", str(port), "--workers", str(args.workers),
                      "--log-level", "warning", "--no-access-log"], port, env)
        try:
            bare_runs = [load(port, lua, args.duration, c, args.threads, bare.pid)
                         for c in args.connections]
        finally:
            stop(bare)
        port = free_port()
        api_env = {**env, "NONGAN_BRIDGE_DATABASE__URL": url,
                   "NONGAN_BRIDGE_DATABASE__POOL_SIZE": "10",
                   "NONGAN_BRIDGE_API__PUBLIC_RATE_PER_MINUTE": "0"}
        api = serve([sys.executable, "-m", "nongan", "bridge", "serve", "--port", str(port),
                     "--workers", str(args.workers)], port, api_env)
        try:
            api_runs = [load(port, lua, args.duration, c, args.threads, api.pid)
                        for c in args.connections]
        finally:
            stop(api)
    print(f"wrk -t{args.threads} -d{args.duration}s, uvicorn --workers {args.workers}, "
          f"random tokens of {args.certificates}; rate limit off for the run")
    for c, bare_run, api_run in zip(args.connections, bare_runs, api_runs, strict=True):
        (b_rps, b_p99, b_cpu), (a_rps, a_p99, a_cpu) = bare_run, api_run
        print(f"-c{c:<3} bare FastAPI constant:      {b_rps:7.0f} req/s, p99 {b_p99:6.1f} ms, "
              f"server CPU {b_cpu:5.0f} µs/req")
        print(f"-c{c:<3} /api/v1/certificates/{{t}}: {a_rps:7.0f} req/s, p99 {a_p99:6.1f} ms, "
              f"server CPU {a_cpu:5.0f} µs/req  -> {a_rps / b_rps:.2f} of the bare rate, "
              f"{b_cpu / a_cpu:.2f} by CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
