#!/usr/bin/env python3
"""Reference remote worker for the storage control plane (Python 3.11+, stdlib only).

It speaks the whole worker protocol and is the template for real workers:

* serves the designated routes of the services it is started for (today the
  Query Interpreter's POST /parse/sql), answering exactly as the control plane
  does: same status, same JSON (the contract suite checks it), so the control
  plane passes the answer on (``X-Served-By`` says who served it);
* registers with the control plane (POST /workers/register), heartbeats, and
  registers again when told it expired (404);
* leases jobs of the types it takes (POST /jobs/lease), renews the lease while
  working, posts results (POST /jobs/:id/complete) or failures (/fail);
* job types: ``column-stats`` (reads a sample through the control plane and
  posts per-column statistics: null fraction, min/max, distinct values with an
  estimate for the table, most common values, equi-depth histograms; see
  column_stats.py) and ``retention-sweep`` (asks the tenant node to drop the
  tenant's data past its TTL);
* on SIGTERM/SIGINT stops taking work, deregisters and exits 0.

Every call to the control plane carries ``Authorization: Bearer $WORKER_TOKEN``
(an API key with role ``service``). Forwarded calls from the control plane carry
the per-registration forward token it handed out; once registered, the worker
refuses designated routes without it.

    WORKER_TOKEN=cpk_... python3 services/worker.py --port 9101 \\
        --service query-interpreter --jobs column-stats,retention-sweep \\
        --control-plane http://127.0.0.1:8081 --tenant-node http://127.0.0.1:8000

    # the column-stats computation alone, on NDJSON records (benches, checks):
    python3 services/worker.py --column-stats-from sample.ndjson --table-rows 1000000

Test-only knobs: --delay-ms (slow answers), --job-delay-ms (slow jobs),
--log-requests (one log line per served request).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from column_stats import column_stats
from parse_sql_route import Answer, parse_sql_route

VERSION = "2.0.0"
JOB_TYPES = ("column-stats", "retention-sweep")
SERVICE_IDS = ("auth-gateway", "tenant-node", "operation-node", "cbo-engine", "metadata-catalog", "monitoring",
               "query-interpreter")
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def log(event: str, **fields: Any) -> None:
    """One JSON line per event on stderr (stdout carries only the 'listening' line)."""
    line = {"time": int(time.time() * 1000), "event": event, **fields}
    print(json.dumps(line, default=str), file=sys.stderr, flush=True)


class HttpError(Exception):
    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status
        self.body = body


class ControlPlaneClient:
    """Calls into the control plane with the worker's service credential."""

    def __init__(self, base_url: str, token: str | None, timeout_s: float = 10.0):
        self.base = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def call(self, method: str, url_or_path: str, body: Any = None, headers: dict[str, str] | None = None,
             raw: bool = False) -> tuple[int, Any]:
        status, payload, _ = self.call_with_headers(method, url_or_path, body, headers)
        if raw:
            return status, payload
        return status, (json.loads(payload) if payload else None)

    def call_with_headers(self, method: str, url_or_path: str, body: Any = None,
                          headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        url = url_or_path if url_or_path.startswith("http") else self.base + url_or_path
        data = None if body is None else json.dumps(body).encode()
        h = {"accept": "application/json"}
        if data is not None:
            h["content-type"] = "application/json"
        if self.token:
            h["authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as res:
                payload = res.read()
                return res.status, payload, {k.lower(): v for k, v in res.headers.items()}
        except urllib.error.HTTPError as err:
            raise HttpError(err.code, err.read().decode("utf-8", "replace")) from None


# ---------------------------------------------------------------- routes

def route_parse_sql(ctx: "Ctx") -> tuple[int, Any] | Answer:
    """query-interpreter POST /parse/sql: the control plane's parser, its answers and its 400s (parse_sql_route.py)."""
    return parse_sql_route(ctx.body)


# The designated routes this worker implements to the contract, by service. A
# service without any (every other one: their answers come from state the
# control plane holds) may still be named with --service to take jobs.
ROUTES: dict[str, list[tuple[str, str, Callable[["Ctx"], tuple[int, Any] | Answer]]]] = {
    "query-interpreter": [("POST", "/parse/sql", route_parse_sql)],
}


class Ctx:
    def __init__(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]], body: bytes):
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        self.query = query
        self.body = body
        # As the control plane does: the caller's X-Request-Id when it is sane, a new one otherwise.
        rid = self.headers.get("x-request-id", "")
        self.request_id = rid if SANE_REQUEST_ID.fullmatch(rid) else str(uuid.uuid4())


# ---------------------------------------------------------------- worker

class Worker:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.services = [s for s in args.service.split(",") if s]
        for s in self.services:
            if s not in SERVICE_IDS:
                raise SystemExit(f"unknown service {s}; services: {', '.join(SERVICE_IDS)} (routes served: {', '.join(ROUTES)})")
        self.job_types = [t for t in args.jobs.split(",") if t]
        for t in self.job_types:
            if t not in JOB_TYPES:
                raise SystemExit(f"unknown job type {t}; known: {', '.join(JOB_TYPES)}")
        self.base_id = args.id or f"{socket.gethostname()}-{os.getpid()}"
        self.cp = ControlPlaneClient(args.control_plane, os.environ.get("WORKER_TOKEN")) if args.control_plane else None
        self.tenant_node = args.tenant_node
        self.stopping = threading.Event()
        self.registrations: dict[str, dict[str, Any]] = {}  # service -> {id, forwardToken, heartbeatIntervalMs}
        self.forward_tokens: set[str] = set()
        self.lock = threading.Lock()
        self.jobs_in_flight = 0
        self.routes = {(m, p): fn for s in self.services for (m, p, fn) in ROUTES.get(s, [])}
        self.server: ThreadingHTTPServer | None = None
        self.public_url = ""

    # -- identity
    def id_for(self, service: str) -> str:
        return self.base_id if len(self.services) == 1 else f"{self.base_id}.{service}"

    @property
    def served_by(self) -> str:
        return self.base_id

    # -- registration and heartbeats
    def register(self, service: str) -> None:
        assert self.cp is not None
        body = {
            "id": self.id_for(service),
            "service": service,
            "url": self.public_url,
            "routes": [{"method": m, "path": p} for (m, p, _) in ROUTES.get(service, [])],
            # Job types are taken once per process: declared with the first service only.
            "jobTypes": self.job_types if service == self.services[0] else [],
            "capacity": self.args.capacity,
            "version": VERSION,
        }
        _, reg = self.cp.call("POST", "/workers/register", body)
        with self.lock:
            old = self.registrations.get(service)
            if old:
                self.forward_tokens.discard(old["forwardToken"])
            self.registrations[service] = reg
            self.forward_tokens.add(reg["forwardToken"])
        log("registered", service=service, id=reg["id"], ttlMs=reg["ttlMs"])

    def register_all(self) -> None:
        for service in self.services:
            while not self.stopping.is_set():
                try:
                    self.register(service)
                    break
                except (HttpError, OSError) as err:
                    log("register_failed", service=service, error=str(err))
                    self.stopping.wait(1.0)

    def heartbeat_loop(self) -> None:
        assert self.cp is not None
        while not self.stopping.is_set():
            interval = min((r["heartbeatIntervalMs"] for r in self.registrations.values()), default=1000) / 1000
            if self.stopping.wait(interval):
                return
            for service in self.services:
                reg = self.registrations.get(service)
                if not reg:
                    continue
                try:
                    self.cp.call("POST", f"/workers/{reg['id']}/heartbeat", {"inFlightJobs": self.jobs_in_flight})
                except HttpError as err:
                    if err.status == 404:  # expired: register again
                        log("heartbeat_expired", service=service)
                        try:
                            self.register(service)
                        except (HttpError, OSError) as err2:
                            log("register_failed", service=service, error=str(err2))
                    else:
                        log("heartbeat_failed", status=err.status, error=str(err))
                except OSError as err:
                    log("heartbeat_failed", error=str(err))

    def deregister(self) -> None:
        if not self.cp:
            return
        for service, reg in list(self.registrations.items()):
            try:
                self.cp.timeout_s = 2.0
                self.cp.call("DELETE", f"/workers/{reg['id']}")
                log("deregistered", service=service, id=reg["id"])
            except (HttpError, OSError) as err:
                log("deregister_failed", service=service, error=str(err))

    # -- jobs
    def job_loop(self) -> None:
        assert self.cp is not None
        service = self.services[0]
        while not self.stopping.is_set():
            reg = self.registrations.get(service)
            if not reg:
                self.stopping.wait(0.2)
                continue
            try:
                status, lease = self.cp.call("POST", "/jobs/lease", {
                    "workerId": reg["id"], "types": self.job_types, "leaseMs": self.args.lease_ms})
            except (HttpError, OSError) as err:
                log("lease_failed", error=str(err))
                self.stopping.wait(1.0)
                continue
            if status == 204 or not lease:
                self.stopping.wait(self.args.poll_ms / 1000)
                continue
            self.run_job(lease)

    def run_job(self, lease: dict[str, Any]) -> None:
        assert self.cp is not None
        job, lease_id = lease["job"], lease["leaseId"]
        log("job_started", job=job["id"], type=job["type"], attempt=job["attempts"])
        self.jobs_in_flight += 1
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.args.lease_ms / 3000):
                try:
                    self.cp.call("POST", f"/jobs/{job['id']}/renew", {"leaseId": lease_id, "leaseMs": self.args.lease_ms})
                except (HttpError, OSError) as err:
                    log("renew_failed", job=job["id"], error=str(err))

        renewer = threading.Thread(target=renew, daemon=True)
        renewer.start()
        try:
            if self.args.job_delay_ms:
                time.sleep(self.args.job_delay_ms / 1000)
            if job["type"] == "column-stats":
                result = self.column_stats(job, lease_id)
            else:
                result = self.retention_sweep(job, lease_id)
            _, ack = self.cp.call("POST", f"/jobs/{job['id']}/complete", {"leaseId": lease_id, "result": result})
            log("job_completed", job=job["id"], type=job["type"], duplicate=ack.get("duplicate"))
        except JobFailure as err:
            self.report_failure(job, lease_id, str(err), err.retriable)
        except HttpError as err:
            # 4xx from a call we make is our mistake or a refusal: do not retry forever.
            self.report_failure(job, lease_id, str(err), err.status >= 500 or err.status == 429)
        except Exception as err:  # noqa: BLE001 - a job must never kill the worker
            self.report_failure(job, lease_id, f"{type(err).__name__}: {err}", True)
        finally:
            done.set()
            self.jobs_in_flight -= 1

    def report_failure(self, job: dict[str, Any], lease_id: str, error: str, retriable: bool) -> None:
        log("job_failed", job=job["id"], type=job["type"], error=error, retriable=retriable)
        try:
            self.cp.call("POST", f"/jobs/{job['id']}/fail", {"leaseId": lease_id, "error": error[:2000], "retriable": retriable})
        except (HttpError, OSError) as err:
            log("fail_report_failed", job=job["id"], error=str(err))

    def column_stats(self, job: dict[str, Any], lease_id: str) -> dict[str, Any]:
        """Statistics of the leased sample (column_stats.py); the sample answer says how many rows the table has."""
        p = job["payload"]
        q = urllib.parse.urlencode({"leaseId": lease_id, "limit": p.get("sampleRows", 1000)})
        _, raw, headers = self.cp.call_with_headers("GET", f"/jobs/{job['id']}/sample?{q}", headers={"accept": "application/x-ndjson"})
        rows = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        table_rows = headers.get("x-table-rows")
        return column_stats(rows, int(table_rows) if table_rows and table_rows.isdigit() else None)

    def retention_sweep(self, job: dict[str, Any], lease_id: str) -> dict[str, Any]:
        p = job["payload"]
        if not self.tenant_node:
            raise JobFailure("this worker was started without --tenant-node", retriable=False)
        before = p.get("before")
        if before is None:
            before = int(time.time() * 1000) - int(p["ttlSeconds"]) * 1000
        body: dict[str, Any] = {"before": before}
        if p.get("table"):
            body["table"] = p["table"]
        try:
            # A service key acts on tenant data only inside the job it holds: name the job and lease.
            _, res = self.cp.call("POST", self.tenant_node.rstrip("/") + "/data/retention/sweep", body,
                                  headers={"x-tenant-id": p["tenant"], "x-job-id": job["id"], "x-job-lease": lease_id})
        except HttpError as err:
            if err.status == 404:
                raise JobFailure("the tenant node has no POST /data/retention/sweep", retriable=False) from None
            raise
        return {"partitionsDropped": int(res.get("partitionsDropped", 0)), "rowsDeleted": int(res.get("rowsDeleted", 0))}

    # -- HTTP side
    def authorized(self, headers: dict[str, str]) -> bool:
        if not self.forward_tokens:
            return True  # not registered with a control plane: anyone may call (standalone/static mode)
        auth = headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth[7:].strip() in self.forward_tokens

    def make_handler(self) -> type[BaseHTTPRequestHandler]:
        worker = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the control plane pools connections
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms Nagle/delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet access log
                pass

            def reply(self, status: int, body: Any, request_id: str | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.send_header("x-worker-id", worker.served_by)
                if request_id:
                    self.send_header("x-request-id", request_id)
                self.end_headers()
                self.wfile.write(data)

            def error(self, ctx: Ctx, status: int, code: str, message: str) -> None:
                self.reply(status, Answer(status, code, message).body(ctx.request_id), ctx.request_id)

            def handle_any(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urllib.parse.urlsplit(self.path)
                ctx = Ctx(self, urllib.parse.parse_qs(parsed.query), body)
                if parsed.path == "/health" and method == "GET":
                    status = "draining" if worker.stopping.is_set() else "ok"
                    return self.reply(503 if worker.stopping.is_set() else 200,
                                      {"status": status, "worker": worker.served_by, "version": VERSION,
                                       "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                                       "services": worker.services, "jobTypes": worker.job_types})
                fn = worker.routes.get((method, parsed.path))
                if fn is None:
                    if any(p == parsed.path for (_, p) in worker.routes):
                        return self.error(ctx, 405, "method_not_allowed", f"{method} is not allowed on {parsed.path}")
                    return self.error(ctx, 404, "not_found", f"route {method} {parsed.path} not found")
                if not worker.authorized(ctx.headers):
                    return self.error(ctx, 401, "unauthorized", "forwarded calls need the control plane's forward token")
                # As the plane does: a body that is not UTF-8 is refused, never decoded with replacement characters.
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError:
                    return self.error(ctx, 400, "invalid_encoding", "the request body is not valid UTF-8")
                if worker.args.log_requests:
                    log("request", method=method, path=parsed.path, requestId=ctx.request_id,
                        traceparent=ctx.headers.get("traceparent"), tenant=ctx.headers.get("x-tenant-id"),
                        principal=ctx.headers.get("x-principal"))
                if worker.args.delay_ms:
                    time.sleep(worker.args.delay_ms / 1000)
                out = fn(ctx)
                if isinstance(out, Answer):
                    return self.reply(out.status, out.body(ctx.request_id), ctx.request_id)
                status, payload = out
                self.reply(status, payload, ctx.request_id)

            def do_GET(self) -> None:  # noqa: N802
                self.handle_any("GET")

            def do_POST(self) -> None:  # noqa: N802
                self.handle_any("POST")

            def do_PUT(self) -> None:  # noqa: N802
                self.handle_any("PUT")

            def do_DELETE(self) -> None:  # noqa: N802
                self.handle_any("DELETE")

        return Handler

    def run(self) -> int:
        ThreadingHTTPServer.daemon_threads = True
        self.server = ThreadingHTTPServer((self.args.host, self.args.port), self.make_handler())
        port = self.server.server_address[1]
        self.public_url = self.args.public_url or f"http://{self.args.host}:{port}"
        print(json.dumps({"event": "listening", "port": port, "url": self.public_url, "id": self.base_id}), flush=True)
        serve = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        serve.start()

        def on_signal(signum: int, _frame: Any) -> None:
            log("signal", signal=signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

        threads = []
        if self.cp:
            self.register_all()
            threads.append(threading.Thread(target=self.heartbeat_loop, daemon=True))
            if self.job_types:
                threads.append(threading.Thread(target=self.job_loop, daemon=True))
            for t in threads:
                t.start()
        self.stopping.wait()
        # Clean shutdown: leave the registry first so no new work is sent, then stop serving.
        self.deregister()
        for t in threads:
            t.join(timeout=5)
        self.server.shutdown()
        self.server.server_close()
        log("stopped")
        return 0


class JobFailure(Exception):
    def __init__(self, message: str, retriable: bool = True):
        super().__init__(message)
        self.retriable = retriable


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Reference remote worker for the storage control plane")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on the 'listening' line)")
    p.add_argument("--public-url", help="URL the control plane should call (default http://host:port)")
    p.add_argument("--id", help="worker id (default hostname-pid); shown in X-Served-By")
    p.add_argument("--service", default="query-interpreter",
                   help=f"comma-separated services to register for (routes served: {', '.join(f'{s}: ' + ', '.join(f'{m} {r}' for m, r, _ in rs) for s, rs in ROUTES.items())}; others: jobs only)")
    p.add_argument("--control-plane", help="Operation Node URL for register/heartbeat/jobs (omit to run standalone)")
    p.add_argument("--tenant-node", help="Tenant Node URL (retention sweeps)")
    p.add_argument("--jobs", default="", help=f"comma-separated job types to take: {', '.join(JOB_TYPES)}")
    p.add_argument("--capacity", type=int, default=8, help="concurrent forwarded calls this worker takes")
    p.add_argument("--lease-ms", type=int, default=30000, help="job lease asked for (renewed at a third of it)")
    p.add_argument("--poll-ms", type=int, default=500, help="wait between empty job polls")
    p.add_argument("--delay-ms", type=int, default=0, help="test knob: delay every route answer")
    p.add_argument("--job-delay-ms", type=int, default=0, help="test knob: delay every job")
    p.add_argument("--log-requests", action="store_true", help="test knob: log request id, trace and caller of every served request")
    p.add_argument("--column-stats-from", metavar="FILE",
                   help="compute the column-stats result of NDJSON records in FILE ('-' = stdin), print it and exit")
    p.add_argument("--table-rows", type=int, help="with --column-stats-from: rows of the whole table (distinct estimate)")
    return p.parse_args(argv)


def stats_from_file(path: str, table_rows: int | None) -> int:
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with stream:
        rows = [json.loads(line) for line in stream if line.strip()]
    print(json.dumps(column_stats(rows, table_rows)))
    return 0


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)  # the parser recurses per nesting level (at most 64 levels, ~10 frames each)
    _args = parse_args(sys.argv[1:])
    if _args.column_stats_from:
        sys.exit(stats_from_file(_args.column_stats_from, _args.table_rows))
    sys.exit(Worker(_args).run())
