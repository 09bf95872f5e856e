#!/usr/bin/python3
"""fault_matrix.py - hits the servers under a running `tideline run` with the faults of a
real environment and measures what tideline does about them (issue #15, and #19's
durability trial).

    tools/fault_matrix.py [--kinds mysql,pg,mongo,ferretdb] [--faults LIST] [--trials N]
                          [--seed S] [--rows N] ...       (--help for every knob)

It starts its own throwaway servers (tools/servers/<script>.sh, a source and a target per
database kind, ports --port-base + 80..87, data in a private directory) because it kills,
restarts and freezes them: the shared test servers are never touched. Per kind it loads
the crash tests' dataset (tests/crash/_lib.sh: a 300,000-row keyed table, a composite-key,
a nullable-unique-key, a keyless and a large-row table; for Mongo an ObjectId collection
and one with every _id type), copies it once undisturbed to calibrate, then runs trials.

A trial: empty target, fresh task (parallel_type table|chunk, parallel_size 1-3,
checkpoint_interval_secs from --ckpt), `tideline run` in the background, and at a random
moment of the copy one fault on the source or the target server:

  restart    SIGKILL the server (its main process and its children), wait --down seconds,
             start it again on the same data directory and port (`<script>.sh start`)
  freeze     SIGSTOP the server and its children, SIGCONT after --freeze seconds
  kill-conn  end tideline's sessions on the server side: MySQL KILL, PostgreSQL
             pg_terminate_backend, Mongo: the server's end of each connection destroyed
             (ss -K on the server port: the client sees a reset); 1-3 times, 0.3 s apart
  tcp-reset  destroy tideline's end of each connection (ss -K on the peer port: the kernel
             aborts the socket and sends the server a RST); 1-3 times
  durable    (#19) SIGKILL the TARGET server right after a checkpoint record appears in
             position.log, with the server's asynchronous commit (PostgreSQL
             synchronous_commit=off as tools/servers/postgres.sh starts it; MariaDB
             innodb_flush_log_at_trx_commit=2), restart it, and see whether rows whose
             position was recorded are gone
  outlast    a restart whose downtime (--outlast) exceeds the task's retry window (the
             trial sets [pipeline] retry_max_secs=--outlast-window): the run must end with
             the retry budget's message ("gave up after ...") and a rerun must finish

The run is then waited for (at most --deadline seconds after the fault ended: longer is a
hang, and the run is killed); if it did not finish it is run again (up to 3 times) to
prove the data exact; then the target is compared with the source per table (row count,
distinct identities, ordered content digest: tests/crash/_lib.sh's cr_compare; for Mongo a
digest of the raw BSON documents in _id order).

Per trial it prints: whether the run finished in the same process, how many reruns the
data needed, rows lost, duplicates, tables differing, a hang, the time to recover (from
the fault's end to the first position or finished record written after it by the run that
completed the copy; its resolution is the checkpoint interval) and the time the fault cost
beyond its own duration (wall time to a finished copy - undisturbed copy time - fault
time). At the end a table per fault kind x database. Exit status 1 when any trial lost or
duplicated a row, left a table different, hung, or never finished; with --require-same
also when a run that a fault hit did not finish by itself (what a retrying engine must do).

Restarts on the in-memory Mongo test server (tools/mongo_test_server.py) are not faults
but data loss, so `restart`, `durable` and `outlast` are left out for kind `mongo` (they
run on `ferretdb`, whose SQLite files survive). Servers are signalled only through the pid
files their scripts write in this tool's directory; after a SIGKILL the tool removes the
pid/lock files a dead (possibly zombie, not yet reaped) server left, as a reboot would, so
that `<script>.sh start` starts it again instead of taking the zombie for a live server.

Needs Debian's python3 with pymongo (for Mongo kinds), the mariadb and psql clients, and
`ss` with socket-destroy support (CONFIG_INET_DIAG_DESTROY; checked at start: without it
the kill-conn (Mongo) and tcp-reset faults are left out with a note).
"""

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRASH_LIB = os.path.join(ROOT, "tests", "crash", "_lib.sh")
ALL_FAULTS = ("restart", "freeze", "kill-conn", "tcp-reset", "durable", "outlast")
DEFAULT_FAULTS = ("restart", "freeze", "kill-conn", "tcp-reset", "durable")
DB_NAME = "tl_fault"

# kind -> server script, port offsets (source, target) from the port base, chunk support
KINDS = {
    "mysql": {"script": "mariadb", "ports": (80, 81), "chunk": True, "persistent": True},
    "pg": {"script": "postgres", "ports": (82, 83), "chunk": True, "persistent": True},
    "mongo": {"script": "mongo", "ports": (84, 85), "chunk": False, "persistent": False},
    "ferretdb": {"script": "ferretdb", "ports": (86, 87), "chunk": False, "persistent": True},
}


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class ToolError(Exception):
    pass


# ------------------------------------------------------------------------------ processes

def proc_state(pid):
    """The state letter of pid ('R', 'S', 'T', 'Z', ...), None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2]


def proc_running(pid):
    """True while pid exists and is not a zombie (a zombie only waits to be reaped)."""
    return proc_state(pid) not in (None, "Z", "X")


def proc_children(pid):
    """Pids whose parent is pid (PostgreSQL's backends and helper processes)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rindex(")") + 2:].split()
        if len(rest) > 1 and rest[1] == str(pid):
            out.append(int(name))
    return out


class Server:
    """One throwaway server started by this tool with tools/servers/<script>.sh."""

    def __init__(self, kind, role, port, base_dir):
        self.kind, self.role, self.port = kind, role, port
        self.script = KINDS[kind]["script"]
        self.dir = base_dir
        self.frozen = []

    @property
    def url(self):
        if self.kind == "mysql":
            return "mysql://root:@127.0.0.1:%d" % self.port
        if self.kind == "pg":
            return "postgres://postgres:@127.0.0.1:%d/postgres" % self.port
        return "mongodb://127.0.0.1:%d" % self.port

    def _script_path(self):
        return os.path.join(ROOT, "tools", "servers", self.script + ".sh")

    def start(self):
        r = subprocess.run(["bash", self._script_path(), "start", self.dir, str(self.port)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise ToolError("cannot start %s %s on port %d: %s" % (
                self.kind, self.role, self.port, (r.stderr or r.stdout).strip()[-600:]))

    def stop(self):
        self.thaw()
        subprocess.run(["bash", self._script_path(), "stop", self.dir],
                       capture_output=True, text=True)

    def _pid_file(self):
        sub = {"mariadb": "mariadb-%d/pid", "postgres": "pg-%d/postmaster.pid",
               "mongo": "mongo-%d/pid", "ferretdb": "ferretdb-%d/pid"}[self.script]
        return os.path.join(self.dir, sub % self.port)

    def pid(self):
        try:
            with open(self._pid_file()) as f:
                pid = int(f.readline().strip())
        except (OSError, ValueError):
            return None
        return pid if proc_running(pid) else None

    def processes(self):
        """The main pid and its children (children only matter for PostgreSQL)."""
        pid = self.pid()
        if pid is None:
            raise ToolError("%s %s on port %d: no live process in %s" % (
                self.kind, self.role, self.port, self._pid_file()))
        return pid, proc_children(pid)

    def freeze(self):
        main, kids = self.processes()
        os.kill(main, signal.SIGSTOP)       # first, so it cannot start new children
        kids = proc_children(main)
        for p in kids:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        self.frozen = kids + [main]

    def thaw(self):
        for p in self.frozen:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.frozen = []

    def crash(self):
        """SIGKILL to the server and its children; waits until none runs any more and removes
        the pid/lock files the dead server left (a zombie would pass for a live server)."""
        main, _ = self.processes()
        os.kill(main, signal.SIGKILL)
        pids = [main] + proc_children(main)
        for p in pids[1:]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        t0 = time.monotonic()
        while any(proc_running(p) for p in pids):
            if time.monotonic() - t0 > 20:
                raise ToolError("%s %s on port %d survived SIGKILL" % (self.kind, self.role, self.port))
            time.sleep(0.02)
        self.frozen = []
        stale = [self._pid_file()]
        if self.script == "postgres":
            stale.append(os.path.join(self.dir, "pg-%d" % self.port, ".s.PGSQL.%d.lock" % self.port))
        for f in stale:
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass


def ss_kill(filt):
    """Destroys the established TCP sockets matching the ss filter; returns how many."""
    r = subprocess.run(["ss", "-K", "-tnH", "state", "established", filt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise ToolError("ss -K failed: %s" % r.stderr.strip())
    return sum(1 for line in r.stdout.splitlines() if line.strip())


def ss_kill_works():
    """Whether this kernel and our privileges let ss -K destroy a socket (a loopback test pair)."""
    import socket
    srv = socket.socket()
    try:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        c = socket.create_connection(("127.0.0.1", port))
        s, _ = srv.accept()
        try:
            ss_kill("( dport = :%d )" % port)
        except ToolError:
            return False
        try:
            c.send(b"x")
            c.settimeout(1)
            c.recv(1)
            return False
        except OSError:
            return True
        finally:
            c.close()
            s.close()
    finally:
        srv.close()


# ------------------------------------------------------------------------------ databases

class SqlData:
    """MySQL/PostgreSQL dataset, target reset and comparison: tests/crash/_lib.sh's
    cr_dataset / cr_reset_target / cr_compare, called through bash."""

    def __init__(self, kind, src, dst, work, rows):
        self.kind, self.src, self.dst, self.work, self.rows = kind, src, dst, work, rows
        os.makedirs(work, exist_ok=True)

    def _lib(self, script, *args, check=True):
        # (sourcing the library resets CR_KIND, CR_DB, CR_WORK and CR_NAME: set them after it)
        env = dict(os.environ, FM_KIND=self.kind, FM_DB=DB_NAME, FM_WORK=self.work,
                   CR_BIG_ROWS=str(self.rows), TL_SRC=ROOT)
        if self.kind == "mysql":
            env.update(TL_MYSQL_SRC_URL=self.src.url, TL_MYSQL_DST_URL=self.dst.url)
        else:
            env.update(TL_PG_SRC_URL=self.src.url, TL_PG_DST_URL=self.dst.url)
        prelude = 'source "$0"; CR_KIND=$FM_KIND CR_DB=$FM_DB CR_WORK=$FM_WORK CR_NAME=fault-$FM_KIND; '
        r = subprocess.run(["bash", "-c", prelude + script, CRASH_LIB] + list(args), env=env,
                           capture_output=True, text=True)
        if check and r.returncode != 0:
            raise ToolError("%s: %s failed: %s" % (self.kind, script.split()[0],
                                                   (r.stderr + r.stdout).strip()[-800:]))
        return r

    def filter_key(self):
        return ("do_dbs", DB_NAME) if self.kind == "mysql" else ("do_tbs", DB_NAME + ".*")

    def create(self):
        self._lib("cr_dataset")

    def reset_target(self):
        self._lib("cr_reset_target")

    def compare(self, label):
        """(lost, duplicates, tables differing, detail text)."""
        r = self._lib('cr_compare "$1"; echo "FAULT_RESULT $CR_LOST $CR_DUPS $CR_MISM"', label, check=False)
        m = re.search(r"FAULT_RESULT (\d+) (\d+) (\d+)", r.stdout)
        if not m:
            raise ToolError("%s: comparing failed: %s" % (self.kind, (r.stderr + r.stdout)[-800:]))
        detail = "\n".join(l for l in r.stdout.splitlines() if not l.startswith("FAULT_RESULT"))
        return int(m.group(1)), int(m.group(2)), int(m.group(3)), detail

    def drop(self):
        self._lib("cr_drop_db src; cr_drop_db dst", check=False)

    def set_async_commit(self, server, on):
        """PostgreSQL: synchronous_commit off (on=True: a commit returns before its WAL is
        flushed, as tools/servers/postgres.sh starts the servers) or on, for the sessions
        that start afterwards (kept across restarts). MariaDB: innodb_flush_log_at_trx_commit 2 or 1 (SET GLOBAL; its
        command line gives 2 again after a restart: a process kill loses nothing with 2)."""
        if self.kind == "mysql":
            sql = "SET GLOBAL innodb_flush_log_at_trx_commit = %d" % (2 if on else 1)
            cmd = ["mariadb", "--no-defaults", "--protocol=TCP", "-h127.0.0.1", "-P%d" % server.port,
                   "-uroot", "-e", sql]
        else:
            # (a role setting: the server's command line outranks ALTER SYSTEM, not this)
            cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.url, "-c",
                   "ALTER ROLE postgres SET synchronous_commit = %s" % ("off" if on else "on")]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise ToolError("%s: cannot set the commit mode of the %s: %s" % (
                self.kind, server.role, r.stderr.strip()))

    def kill_sessions(self, server):
        """Ends every client session on server but this tool's own; returns how many."""
        if self.kind == "mysql":
            base = ["mariadb", "--no-defaults", "--protocol=TCP", "-h127.0.0.1", "-P%d" % server.port,
                    "-uroot", "-N", "-B", "--connect-timeout=5"]
            r = subprocess.run(base + ["-e", "SELECT ID FROM information_schema.PROCESSLIST WHERE "
                                       "ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Binlog Dump') "
                                       "AND USER NOT IN ('system user', 'event_scheduler')"],
                               capture_output=True, text=True, timeout=30)
            ids = [i for i in r.stdout.split() if i.isdigit()]
            if ids:
                subprocess.run(base + ["--force", "-e", "".join("KILL %s;" % i for i in ids)],
                               capture_output=True, text=True, timeout=30)
            return len(ids)
        r = subprocess.run(["psql", "-X", "-qtA", "-d", server.url, "-c",
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"],
                           capture_output=True, text=True, timeout=30)
        try:
            return int(r.stdout.strip() or 0)
        except ValueError:
            return 0


class MongoData:
    """Mongo dataset (as tests/crash/mongo_kill.sh: ObjectId documents, and one collection
    with every _id type in BSON order), target reset and a raw-BSON comparison."""

    COLLS = ("big", "mixed")

    def __init__(self, kind, src, dst, work, rows):
        self.kind, self.src, self.dst, self.work, self.rows = kind, src, dst, work, rows
        self.src_summary = None

    @staticmethod
    def _client(url):
        from pymongo import MongoClient
        return MongoClient(url, serverSelectionTimeoutMS=20000, socketTimeoutMS=120000)

    def filter_key(self):
        return ("do_dbs", DB_NAME)

    def _stores(self, value):
        """Whether the source stores value (FerretDB 1.x has no Decimal128, MinKey, MaxKey and
        drops the connection on them): an insert into a scratch collection, on its own client."""
        c = self._client(self.src.url)
        try:
            c[DB_NAME].probe.insert_one({"v": value})
            return True
        except Exception:   # whatever the server does with a type it lacks
            return False
        finally:
            c.close()

    def create(self):
        import datetime
        from bson import Binary, Decimal128, Int64, MaxKey, MinKey, ObjectId, Timestamp
        t0 = time.monotonic()
        c = self._client(self.src.url)
        c.drop_database(DB_NAME)
        c.close()
        has_dec = self._stores(Decimal128("1.5"))
        has_minmax = self._stores(MinKey()) and self._stores(MaxKey())
        c = self._client(self.src.url)
        try:
            c.drop_database(DB_NAME)
            db = c[DB_NAME]
            base = 0x648195af9aa9cadd41a90000
            docs = [{"_id": ObjectId("%024x" % (base + i)), "n": i, "name": "doc %d" % i,
                     "tags": ["a", "b", i % 7],
                     "nested": {"x": i * 1.5, "d": Decimal128(str(i) + ".25") if has_dec else i + 0.25}}
                    for i in range(self.rows)]
            for i in range(0, len(docs), 10000):
                db.big.insert_many(docs[i:i + 10000], ordered=False)
            mixed = [MinKey(), 1, Int64(2), 2.5, Decimal128("3.5"), "a", "b", {"k": 1}, {"k": 2},
                     Binary(b"\x01"), Binary(b"\x02", 5), ObjectId("648195af9aa9cadd41a9dcb1"), False,
                     True, datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 2), Timestamp(5, 1),
                     MaxKey()]
            mixed = [v for v in mixed if (has_dec or not isinstance(v, Decimal128)) and
                     (has_minmax or not isinstance(v, (MinKey, MaxKey)))]
            db.mixed.insert_many([{"_id": v, "i": i, "pad": "x" * 100} for i, v in enumerate(mixed)])
        finally:
            c.close()
        self.reset_target()
        self.src_summary = self._summary(self.src)
        log("%s: dataset %s: big %d documents + mixed (%d _id types%s), %.0f s" % (
            self.kind, DB_NAME, self.rows, len(mixed),
            "" if has_dec and has_minmax else "; the server stores no Decimal128/MinKey/MaxKey",
            time.monotonic() - t0))

    def reset_target(self):
        c = self._client(self.dst.url)
        try:
            c.drop_database(DB_NAME)
        finally:
            c.close()

    def _summary(self, server):
        import hashlib
        from bson.codec_options import CodecOptions
        from bson.raw_bson import RawBSONDocument
        opts = CodecOptions(document_class=RawBSONDocument)
        c = self._client(server.url)
        out = {}
        try:
            for coll in self.COLLS:
                h, n = hashlib.sha256(), 0
                ids = set()
                for d in c[DB_NAME].get_collection(coll, codec_options=opts).find().sort("_id", 1):
                    h.update(d.raw)
                    n += 1
                    ids.add(bytes(d.raw))
                out[coll] = (n, len(ids), h.hexdigest())
        finally:
            c.close()
        return out

    def compare(self, label):
        dst = self._summary(self.dst)
        lost = dups = mism = 0
        lines = []
        for coll, (sn, sd, sh) in self.src_summary.items():
            dn, dd, dh = dst[coll]
            lo, du = max(0, sn - dn), max(0, dn - sn, (dn - dd) - (sn - sd))
            bad = sh != dh
            lost, dups, mism = lost + lo, dups + du, mism + bad
            if lo or du or bad:
                lines.append("  %-8s %-8s source %7d docs  target %7d docs  lost %d dups %d digest %s" % (
                    label, coll, sn, dn, lo, du, "DIFFERENT" if bad else "equal"))
        return lost, dups, mism, "\n".join(lines)

    def drop(self):
        for s in (self.src, self.dst):
            try:
                c = self._client(s.url)
                c.drop_database(DB_NAME)
                c.close()
            except Exception:   # a cleanup: the servers are stopped next anyway
                pass

    def set_async_commit(self, server, on):
        """Nothing to set: the Mongo test server keeps data in memory only, FerretDB (SQLite)
        loses no commit on a process kill."""

    def kill_sessions(self, server):
        # the server's end of every connection: the client sees a reset
        return ss_kill("( sport = :%d )" % server.port)


# ------------------------------------------------------------------------------ runs

class Run:
    """One `tideline run` of a trial's task, in the background."""

    def __init__(self, tool, trial_dir, n, extra_env=None):
        self.out = os.path.join(trial_dir, "run%d.out" % n)
        env = dict(os.environ, **(extra_env or {}))
        with open(self.out, "w") as f:
            self.proc = subprocess.Popen([tool.tideline, "run", "task.ini"], cwd=trial_dir, stdout=f,
                                         stderr=subprocess.STDOUT, env=env)
        self.t0 = time.monotonic()

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        if self.alive():
            self.proc.kill()
        return self.proc.wait()

    def tail(self, n=3):
        try:
            with open(self.out) as f:
                lines = [l.rstrip() for l in f if l.strip()]
        except OSError:
            return ""
        return " | ".join(lines[-n:])


def record_size(trial_dir):
    """Bytes in position.log + finished.log: grows with every position or finished record."""
    total = 0
    for name in ("position.log", "finished.log"):
        try:
            total += os.path.getsize(os.path.join(trial_dir, "logs", name))
        except OSError:
            pass
    return total


class Trial:
    FIELDS = ("n", "kind", "fault", "side", "mode", "par", "ckpt")

    def __init__(self, **kw):
        self.__dict__.update(kw)
        self.at = self.dur = 0.0
        self.hit = False          # the fault came while the first run was copying
        self.rc1 = None
        self.same = False
        self.reruns = 0
        self.final_rc = None
        self.lost = self.dups = self.mism = 0
        self.hang = False
        self.recover = None
        self.cost = None
        self.retries = 0          # "transient failure, retry" lines of the runs (a retrying build)
        self.deadlines = 0        # connections the per-batch deadline gave up
        self.gave_up = False      # a run ended saying its retry budget was spent
        self.note = ""


def parse_range(text, what):
    m = re.fullmatch(r"\s*([0-9.]+)\s*(?:-\s*([0-9.]+))?\s*", text)
    if not m:
        raise SystemExit("%s: expected SECONDS or LO-HI, got %r" % (what, text))
    lo = float(m.group(1))
    hi = float(m.group(2)) if m.group(2) else lo
    if hi < lo:
        raise SystemExit("%s: %s is an empty range" % (what, text))
    return lo, hi


def parse_list(text, allowed, what):
    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if allowed is not None and x not in allowed]
    if bad or not items:
        raise SystemExit("%s: unknown %s (choose from %s)" % (what, ",".join(bad) or "empty list",
                                                            ",".join(allowed)))
    return items


class Tool:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.tideline = args.tideline
        self.results = []
        self.notes = []
        self.servers = []
        self.datasets = []
        self.ss_ok = ss_kill_works()
        if not self.ss_ok:
            self.notes.append("ss -K cannot destroy sockets here (kernel without "
                              "CONFIG_INET_DIAG_DESTROY, or no CAP_NET_ADMIN): tcp-reset and "
                              "Mongo kill-conn left out")

    # --------------------------------------------------------------------- setup

    def fault_applies(self, kind, fault):
        if fault in ("restart", "durable", "outlast") and not KINDS[kind]["persistent"]:
            return "the in-memory Mongo test server loses its data on a restart (run it on ferretdb)"
        if fault == "tcp-reset" and not self.ss_ok:
            return "no ss -K"
        if fault == "kill-conn" and kind in ("mongo", "ferretdb") and not self.ss_ok:
            return "no ss -K"
        return None

    def start_servers(self, kind):
        base = self.a.port_base
        pair = []
        for role, off in zip(("source", "target"), KINDS[kind]["ports"]):
            s = Server(kind, role, base + off, self.srv_dir)
            s.start()
            self.servers.append(s)
            pair.append(s)
        return pair

    def task_file(self, trial_dir, data, mode, par, ckpt, extra=()):
        src, dst = data.src, data.dst
        db_type = {"mysql": "mysql", "pg": "pg"}.get(data.kind, "mongo")
        fk, fv = data.filter_key()
        sections = {
            "extractor": [("db_type", db_type), ("url", src.url), ("extract_type", "snapshot"),
                          ("batch_size", "2000"), ("parallel_type", mode), ("parallel_size", str(par))],
            "sinker": [("db_type", db_type), ("url", dst.url), ("sink_type", "write"), ("batch_size", "500")],
            "filter": [(fk, fv)],
            "pipeline": [("checkpoint_interval_secs", str(ckpt))],
            "runtime": [("log_level", "info"), ("log_dir", os.path.join(trial_dir, "logs"))],
            "resumer": [("resume_type", "from_log")],
            "global": [("task_id", "fault_%s" % data.kind)],
        }
        if data.kind in ("mongo", "ferretdb"):
            sections["extractor"] = [kv for kv in sections["extractor"] if kv[0] != "parallel_type"]
        for item in list(self.a.task) + list(extra):
            sk, _, v = item.partition("=")
            sec, _, key = sk.partition(".")
            entries = [kv for kv in sections.setdefault(sec, []) if kv[0] != key]
            sections[sec] = entries + [(key, v)]
        os.makedirs(trial_dir, exist_ok=True)
        with open(os.path.join(trial_dir, "task.ini"), "w") as f:
            for sec, kvs in sections.items():
                f.write("[%s]\n" % sec)
                for k, v in kvs:
                    f.write("%s=%s\n" % (k, v))

    def calibrate(self, data):
        """One undisturbed copy: the copy time the fault moments are drawn from, and a check
        that the setup copies exactly before any fault is blamed."""
        d = os.path.join(self.work, "%s-calibrate" % data.kind)
        self.task_file(d, data, "table", 2, 1)
        t0 = time.monotonic()
        r = Run(self, d, 1)
        rc = r.proc.wait()
        secs = time.monotonic() - t0
        if rc != 0:
            raise ToolError("%s: the undisturbed calibration run failed (exit %d): %s" % (data.kind, rc, r.tail()))
        lost, dups, mism, detail = data.compare("calibrate")
        if lost or dups or mism:
            raise ToolError("%s: the undisturbed copy differs from the source:\n%s" % (data.kind, detail))
        log("%s: undisturbed copy %.2f s, target equals source" % (data.kind, secs))
        return secs

    # --------------------------------------------------------------------- one trial

    def apply_fault(self, t, data, server, run, trial_dir):
        """Applies t.fault to server while run copies; returns the monotonic time it ended."""
        rng = self.rng
        if t.fault in ("restart", "outlast"):
            lo, hi = self.a.down if t.fault == "restart" else self.a.outlast
            t.dur = rng.uniform(lo, hi)
            server.crash()
            time.sleep(t.dur)
            server.start()
            return time.monotonic()
        if t.fault == "freeze":
            t.dur = rng.uniform(*self.a.freeze)
            server.freeze()
            try:
                time.sleep(t.dur)
            finally:
                server.thaw()
            return time.monotonic()
        if t.fault in ("kill-conn", "tcp-reset"):
            times = rng.randint(1, 3)
            killed = []
            for i in range(times):
                if i:
                    time.sleep(0.3)
                if t.fault == "kill-conn":
                    killed.append(data.kill_sessions(server))
                else:
                    killed.append(ss_kill("( dport = :%d )" % server.port))
            t.note = "killed %s" % "+".join(str(k) for k in killed)
            return time.monotonic()
        if t.fault == "durable":
            # right after a checkpoint: the first new record once the moment has come
            size = record_size(trial_dir)
            deadline = time.monotonic() + 60
            while run.alive() and time.monotonic() < deadline:
                now = record_size(trial_dir)
                if now != size:
                    break
                time.sleep(0.002)
            else:
                t.note = "no checkpoint seen"
            if not run.alive():
                return time.monotonic()
            t.dur = rng.uniform(0.2, 1.0)
            server.crash()
            time.sleep(t.dur)
            server.start()
            return time.monotonic()
        raise AssertionError(t.fault)

    def wait_run(self, t, run, trial_dir, since):
        """Waits for run to end, at most --deadline s after `since` (or after the run's start,
        whichever is later). Sets t.recover to the time from `since` to the run's first new
        record (or its successful end) when the run finishes. Returns the exit status, None on
        a hang (the run is killed)."""
        deadline = max(since, run.t0) + self.a.deadline
        size0 = record_size(trial_dir)
        first = None
        while run.alive():
            if first is None and record_size(trial_dir) != size0:
                first = time.monotonic() - since
            if time.monotonic() > deadline:
                run.kill()
                return None
            time.sleep(0.05)
        rc = run.proc.wait()
        if rc == 0:
            t.recover = first if first is not None else time.monotonic() - since
        return rc

    def trial(self, n, kind, fault, data, copy_secs):
        rng = self.rng
        side = "dst" if fault == "durable" else rng.choice(self.a.sides)
        # durable: checkpoints at most a second apart, or the copy may end before one
        ckpts = self.a.ckpt if fault != "durable" else ([c for c in self.a.ckpt if c <= 1] or [0])
        t = Trial(n=n, kind=kind, fault=fault, side=side, mode=rng.choice(self.modes_for(kind)),
                  par=rng.choice(self.a.par), ckpt=rng.choice(ckpts))
        server = data.src if t.side == "src" else data.dst
        if fault == "durable":
            data.set_async_commit(server, True)
        try:
            # a copy that ends before its fault proves nothing: again, with an earlier moment
            frac = 0.7
            for attempt in range(4):
                trial_dir = os.path.join(self.work, "%s-%s-%d%s" % (kind, fault, n, "abcd"[attempt] if attempt else ""))
                data.reset_target()
                t.at = rng.uniform(0.05, frac) * copy_secs
                if self._trial(t, data, server, trial_dir, copy_secs, last=attempt == 3):
                    return t
                frac /= 2
        finally:
            if fault == "durable":
                data.set_async_commit(server, False)

    def _trial(self, t, data, server, trial_dir, copy_secs, last):
        """One attempt of trial t; False when the copy ended (well) before the fault came,
        unless this is the last attempt."""
        n = t.n
        self.task_file(trial_dir, data, t.mode, t.par, t.ckpt,
                       ["pipeline.retry_max_secs=%d" % self.a.outlast_window] if t.fault == "outlast" else [])
        start = time.monotonic()
        run = Run(self, trial_dir, 1)
        time.sleep(t.at)
        t.hit = run.alive()
        fault_t0 = time.monotonic()
        if t.hit:
            try:
                fault_end = self.apply_fault(t, data, server, run, trial_dir)
            finally:
                server.thaw()
        else:
            if run.proc.wait() == 0 and not last:
                return False
            fault_end = fault_t0
            t.note = "the copy ended before the fault" if run.proc.returncode == 0 else "the run failed before the fault"
        fault_secs = fault_end - fault_t0
        # a fault that ended the run while the server was still down: the server is back now
        rc = self.wait_run(t, run, trial_dir, fault_end)
        t.rc1 = rc
        t.same = rc == 0
        if rc is None:
            t.hang = True
        runs = 1
        while rc != 0 and runs < 4:
            runs += 1
            t.reruns += 1
            r = Run(self, trial_dir, runs)
            rc = self.wait_run(t, r, trial_dir, fault_end)
            if rc is None:
                t.hang = True
        t.final_rc = rc
        if rc == 0:
            t.cost = max(0.0, time.monotonic() - start - copy_secs - fault_secs)
        t.lost, t.dups, t.mism, detail = data.compare("trial%d" % n)
        if (t.lost or t.dups or t.mism or t.hang or rc != 0) and detail:
            t.note = (t.note + "; " if t.note else "") + "see %s" % trial_dir
            with open(os.path.join(trial_dir, "compare.txt"), "w") as f:
                f.write(detail + "\n")
        self.count_log(t, trial_dir)
        if t.rc1 not in (0, None):
            why = self.first_error(trial_dir)
            if why:
                t.note = (t.note + "; " if t.note else "") + why
        return True

    @staticmethod
    def count_log(t, trial_dir):
        """Retries, deadline firings and a spent retry budget, from default.log and run1.out."""
        try:
            with open(os.path.join(trial_dir, "logs", "default.log"), errors="replace") as f:
                for line in f:
                    if "transient failure, retry" in line:
                        t.retries += 1
                    elif "batch_timeout_secs): connection given up" in line:
                        t.deadlines += 1
        except OSError:
            pass
        try:
            with open(os.path.join(trial_dir, "run1.out"), errors="replace") as f:
                t.gave_up = any("error:" in line and "gave up after" in line for line in f)
        except OSError:
            pass

    @staticmethod
    def first_error(trial_dir):
        try:
            with open(os.path.join(trial_dir, "run1.out")) as f:
                for line in f:
                    if "error:" in line:
                        return line.split("error:", 1)[1].strip()[:110]
        except OSError:
            pass
        return ""

    def modes_for(self, kind):
        return [m for m in self.a.modes if m == "table" or KINDS[kind]["chunk"]] or ["table"]

    # --------------------------------------------------------------------- output

    HEAD = "%-4s %-8s %-9s %-4s %-5s %3s %4s %6s %5s %-6s %-4s %5s %6s %-5s %6s %5s %4s %-4s %7s %6s  %s"

    def print_head(self):
        print(self.HEAD % ("#", "kind", "fault", "side", "mode", "par", "ckpt", "at_s", "dur_s", "run1",
                           "same", "retry", "reruns", "final", "lost", "dups", "mism", "hang", "recov_s", "cost_s",
                           "note"), flush=True)

    def print_trial(self, t):
        def word(rc):
            return {None: "hang", 0: "done", 1: "failed"}.get(rc, "rc%s" % rc)
        print(self.HEAD % (t.n, t.kind, t.fault, t.side, t.mode, t.par, t.ckpt, "%.2f" % t.at, "%.1f" % t.dur,
                           word(t.rc1), "yes" if t.same else ("-" if not t.hit else "no"),
                           "%d%s" % (t.retries, "d" * min(t.deadlines, 3)), t.reruns,
                           word(t.final_rc), t.lost, t.dups, t.mism, "HANG" if t.hang else "-",
                           "-" if t.recover is None else "%.1f" % t.recover,
                           "-" if t.cost is None else "%.1f" % t.cost, t.note), flush=True)

    def summary(self):
        print()
        print("== fault matrix: seed %d, big table %d rows (Mongo %d documents), deadline %.0f s" % (
            self.a.seed, self.a.rows, self.a.mongo_rows, self.a.deadline))
        fmt = "%-9s %-8s %6s %4s %12s %7s %6s %5s %5s %5s %5s %6s %9s %9s %8s"
        print(fmt % ("fault", "kind", "trials", "hit", "same-proc", "retries", "rerun", "lost", "dups", "mism",
                     "hangs", "failed", "recov_med", "recov_max", "cost_med"))
        bad = False
        for fault in self.a.faults:
            for kind in self.a.kinds:
                ts = [t for t in self.results if t.fault == fault and t.kind == kind]
                why = self.fault_applies(kind, fault)
                if not ts:
                    if why:
                        print(fmt % (fault, kind, "n/a", "", "", "", "", "", "", "", "", "", "", "", "") + "  " + why)
                    continue
                hit = [t for t in ts if t.hit]
                same = sum(t.same for t in hit)
                rec = [t.recover for t in ts if t.recover is not None]
                cost = [t.cost for t in ts if t.cost is not None]
                lost, dups, mism = sum(t.lost for t in ts), sum(t.dups for t in ts), sum(t.mism for t in ts)
                hangs = sum(t.hang for t in ts)
                failed = sum(t.final_rc != 0 for t in ts)
                print(fmt % (fault, kind, len(ts), len(hit),
                             "%d (%3.0f%%)" % (same, 100.0 * same / len(hit) if hit else 0.0),
                             sum(t.retries for t in ts), sum(t.reruns > 0 for t in ts), lost, dups, mism, hangs,
                             failed, "%.1f" % statistics.median(rec) if rec else "-",
                             "%.1f" % max(rec) if rec else "-",
                             "%.1f" % statistics.median(cost) if cost else "-"))
                if lost or dups or mism or hangs or failed or not hit:
                    bad = True
                if self.a.require_same and fault != "outlast" and same < len(hit):
                    bad = True
                if fault == "outlast":
                    # an outage past the retry window: the first run must end, saying so
                    clear = sum(t.gave_up and t.rc1 not in (0, None) for t in hit)
                    print("%-9s %-8s %s of %d first runs ended with the retry budget's message "
                          "(\"gave up after …\"), then a rerun finished" % ("", "", clear, len(hit)))
                    if clear < len(hit):
                        bad = True
        print("  same-proc: trials whose first run finished by itself, of those the fault hit while copying;")
        print("  retries: transient failures the runs survived (per trial: a 'd' per connection the per-batch")
        print("  deadline gave up); rerun: trials that needed another run; lost/dups: rows; mism: tables whose")
        print("  content digest differs;")
        print("  recov: fault end -> first record written after it by the run that finished (s);")
        print("  cost: time to a finished copy beyond the undisturbed copy and the fault itself (s);")
        print("  a line without hits (every copy ended before its fault) fails: it proves nothing")
        for note in self.notes:
            print("  note: " + note)
        return bad

    # --------------------------------------------------------------------- main

    def run(self):
        self.srv_dir = os.path.join(self.base, "servers")
        self.work = os.path.join(self.base, "work")
        os.makedirs(self.srv_dir, exist_ok=True)
        os.makedirs(self.work, exist_ok=True)
        os.chmod(self.base, 0o755)   # postgres.sh runs the server as user postgres under root
        os.chmod(self.srv_dir, 0o755)
        log("seed %d, tideline %s, servers and work files in %s" % (self.a.seed, self.tideline, self.base))
        self.print_head_done = False
        n = 0
        for kind in self.a.kinds:
            faults = [f for f in self.a.faults if not self.fault_applies(kind, f)]
            if not faults:
                continue
            src, dst = self.start_servers(kind)
            log("%s: source %s, target %s" % (kind, src.url, dst.url))
            cls = SqlData if kind in ("mysql", "pg") else MongoData
            rows = self.a.rows if cls is SqlData else self.a.mongo_rows
            data = cls(kind, src, dst, os.path.join(self.work, kind + "-data"), rows)
            self.datasets.append(data)
            data.create()
            # every fault but `durable` tests reconnecting and resuming, not #19: a target
            # that keeps what it acknowledged (the durable trials switch that off)
            data.set_async_commit(dst, False)
            copy_secs = self.calibrate(data)
            if not self.print_head_done:
                self.print_head()
                self.print_head_done = True
            for fault in faults:
                for _ in range(self.a.trials):
                    n += 1
                    t = self.trial(n, kind, fault, data, copy_secs)
                    self.results.append(t)
                    self.print_trial(t)
            if not self.a.keep:
                data.drop()
                src.stop()
                dst.stop()
        return self.summary()

    def cleanup(self):
        for s in self.servers:
            try:
                s.stop()
            except Exception as e:   # keep stopping the others
                print("warning: stopping %s %s: %s" % (s.kind, s.role, e), file=sys.stderr)
        if self.a.keep:
            print("work files kept in %s (servers stopped)" % self.base)
        elif self.own_base:
            shutil.rmtree(self.base, ignore_errors=True)


def find_tideline():
    for c in (os.environ.get("TL_BIN"), os.path.join(ROOT, "build", "tideline"),
              os.path.join(ROOT, "build-asan", "tideline")):
        if c and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def main(argv):
    p = argparse.ArgumentParser(description="Fault injection under `tideline run` (issue #15, #19); "
                                "see the top of this file for what each fault does.")
    have_ferret = subprocess.run(["bash", os.path.join(ROOT, "tools", "servers", "ferretdb.sh"), "path"],
                                 capture_output=True).returncode == 0
    p.add_argument("--kinds", default="mysql,pg,mongo" + (",ferretdb" if have_ferret else ""),
                   help="database kinds (mysql,pg,mongo,ferretdb)")
    p.add_argument("--faults", default=",".join(DEFAULT_FAULTS), help="fault kinds: " + ",".join(ALL_FAULTS))
    p.add_argument("--trials", type=int, default=5, help="trials per fault kind per database (default 5)")
    p.add_argument("--seed", type=int, default=None, help="random seed (printed; default from the clock)")
    p.add_argument("--sides", default="src,dst", help="which server a fault hits: src,dst")
    p.add_argument("--modes", default="table,chunk", help="parallel_type values (chunk: MySQL/PG only)")
    p.add_argument("--par", default="1,2,3", help="parallel_size values")
    p.add_argument("--ckpt", default="0,1,5", help="checkpoint_interval_secs values")
    p.add_argument("--rows", type=int, default=300000, help="rows of the big table (MySQL/PG, >= 200000)")
    p.add_argument("--mongo-rows", type=int, default=60000, help="documents of the big Mongo collection")
    p.add_argument("--down", default="0.5-3", help="restart: seconds the server stays down (LO-HI)")
    p.add_argument("--freeze", default="1-5", help="freeze: seconds the server stays stopped (LO-HI)")
    p.add_argument("--outlast", default="16-20", help="outlast: seconds the server stays down (LO-HI)")
    p.add_argument("--outlast-window", type=int, default=8,
                   help="outlast: the trial's retry_max_secs, shorter than --outlast (default 8)")
    p.add_argument("--deadline", type=float, default=120.0,
                   help="seconds a run may take after the fault ended before it counts as a hang")
    p.add_argument("--task", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="extra task-file keys (repeatable), e.g. the retry settings of a retrying build")
    p.add_argument("--require-same", action="store_true",
                   help="fail unless every run a fault hit finished in the same process")
    p.add_argument("--port-base", type=int, default=int(os.environ.get("TL_PORT_BASE", "23300")),
                   help="servers on ports base+80..87 (default $TL_PORT_BASE or 23300)")
    p.add_argument("--dir", default=None, help="servers and work files here (default a new /tmp dir)")
    p.add_argument("--tideline", default=find_tideline(), help="the tideline binary (default $TL_BIN, build/)")
    p.add_argument("--keep", action="store_true", help="keep the work files (servers are stopped)")
    a = p.parse_args(argv)
    a.kinds = parse_list(a.kinds, tuple(KINDS), "--kinds")
    a.faults = parse_list(a.faults, ALL_FAULTS, "--faults")
    a.sides = parse_list(a.sides, ("src", "dst"), "--sides")
    a.modes = parse_list(a.modes, ("table", "chunk"), "--modes")
    try:
        a.par = [int(x) for x in parse_list(a.par, None, "--par")]
        a.ckpt = [int(x) for x in parse_list(a.ckpt, None, "--ckpt")]
    except ValueError:
        raise SystemExit("--par and --ckpt take comma-separated numbers")
    a.down = parse_range(a.down, "--down")
    a.freeze = parse_range(a.freeze, "--freeze")
    a.outlast = parse_range(a.outlast, "--outlast")
    if a.outlast_window >= a.outlast[0]:
        raise SystemExit("--outlast-window must be shorter than the --outlast downtime")
    for item in a.task:
        if not re.fullmatch(r"[a-z_]+\.[a-z_]+=.*", item):
            raise SystemExit("--task: %r is not SECTION.KEY=VALUE" % item)
    if a.trials < 1:
        raise SystemExit("--trials must be at least 1")
    if a.rows < 200000 and any(k in ("mysql", "pg") for k in a.kinds):
        raise SystemExit("--rows must be at least 200000 (tests/crash/_lib.sh's dataset)")
    if not a.tideline or not os.access(a.tideline, os.X_OK):
        raise SystemExit("no tideline binary (build it, or pass --tideline / TL_BIN)")
    a.tideline = os.path.abspath(a.tideline)
    if "ferretdb" in a.kinds and not have_ferret:
        raise SystemExit("--kinds ferretdb: FerretDB is not built (tools/install-deps.sh, Go >= 1.24)")
    if a.seed is None:
        a.seed = int(time.time()) % 100000
    tool = Tool(a)
    if a.dir:
        tool.base, tool.own_base = os.path.abspath(a.dir), False
        os.makedirs(tool.base, exist_ok=True)
    else:
        tool.base, tool.own_base = tempfile.mkdtemp(prefix="tl-faults-"), True

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        bad = tool.run()
    except ToolError as e:
        print("fault_matrix: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fault_matrix: interrupted", file=sys.stderr)
        return 130
    finally:
        tool.cleanup()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
