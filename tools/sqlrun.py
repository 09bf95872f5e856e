#!/usr/bin/python3
"""sqlrun.py - runs an ape-dts style SQL script against MySQL/MariaDB or PostgreSQL.

Script syntax (shared/conformance/README.md): statements end with ';' at a line end,
'--' comment lines are dropped, a block fenced by three backticks is one statement.
Statements are sent in one client session (mariadb or psql), stopping at the first error.

usage: sqlrun.py --kind mysql|pg --url URL FILE...
"""
import argparse
import os
import subprocess
import sys
from urllib.parse import urlparse, unquote


def split_statements(text):
    stmts, cur, fenced = [], [], False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("```"):
            if fenced:
                stmts.append("\n".join(cur))
                cur = []
            fenced = not fenced
            continue
        if fenced:
            cur.append(line)
            continue
        if s.startswith("--") or not s:
            continue
        cur.append(line)
        if s.endswith(";"):
            stmts.append("\n".join(cur))
            cur = []
    if cur and "".join(cur).strip():
        stmts.append("\n".join(cur))
    out = []
    for st in stmts:
        st = st.strip()
        while st.endswith(";"):
            st = st[:-1].rstrip()
        if st:
            out.append(st)
    return out


def client_cmd(kind, url):
    u = urlparse(url)
    env = dict(os.environ)
    if kind == "mysql":
        cmd = ["mariadb", "--protocol=TCP", "-h", u.hostname or "127.0.0.1",
               "-P", str(u.port or 3306), "-u", unquote(u.username or "root"),
               "--default-character-set=utf8mb4", "--batch", "--skip-column-names"]
        if u.password:
            env["MYSQL_PWD"] = unquote(u.password)
        return cmd, env
    db = (u.path or "/postgres").lstrip("/") or "postgres"
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", u.hostname or "127.0.0.1",
           "-p", str(u.port or 5432), "-U", unquote(u.username or "postgres"), "-d", db]
    if u.password:
        env["PGPASSWORD"] = unquote(u.password)
    env["PGCLIENTENCODING"] = "UTF8"
    return cmd, env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["mysql", "pg"], required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    body = []
    for f in a.files:
        with open(f, encoding="utf-8") as fh:
            for st in split_statements(fh.read()):
                body.append(st + ";")
    cmd, env = client_cmd(a.kind, a.url)
    p = subprocess.run(cmd, input="\n".join(body) + "\n", text=True, env=env)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
