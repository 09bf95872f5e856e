#!/usr/bin/python3
"""mongo_bench.py - MongoDB helper for tools/bench: generates the benchmark documents and
measures pymongo peers against a server.

  mongo_bench.py load    --url U --db D --coll C --n N   fill D.C with N generated docs;
                                                         prints "<n> <bson_bytes>"
  mongo_bench.py ceiling --url U --db D --coll C --n N   the same N docs built in memory
                                                         first, then timed insert_many
                                                         (ordered=False); prints "<n> <secs>"
  mongo_bench.py copy    --url U --to V --db D --coll C  find() on U + insert_many on V in
                                                         10,000-doc batches, timed; prints
                                                         "<n> <secs>"
  mongo_bench.py upsert  --url U --db D --coll C --n N   like ceiling, but as unordered bulk
                                                         writes of ReplaceOne(_id, doc,
                                                         upsert=True) in batches of --batch
                                                         (what tideline sends); prints
                                                         "<n> <secs>"
  mongo_bench.py count   --url U --db D --coll C         prints the document count
  mongo_bench.py drop    --url U --db D                  drops database D

Documents are deterministic (ObjectId built from the index; int32, int64, double,
string, date, bool, nested document, array), about 200 BSON bytes each, so the source
load and the ceiling measurement write the very same bytes.
"""

import argparse
import datetime
import sys
import time

import bson
import pymongo
from bson.int64 import Int64
from bson.objectid import ObjectId

EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def make_doc(i):
    return {
        "_id": ObjectId(b"\x65\x00\x00\x00" + i.to_bytes(8, "big")),
        "n": i,
        "big": Int64(i * 1_000_003),
        "score": i * 1.25,
        "name": "customer-%08d" % i,
        "email": "c%d@example.com" % i,
        "active": i % 3 != 0,
        "created": EPOCH + datetime.timedelta(seconds=i),
        "addr": {"city": "city-%d" % (i % 1000), "zip": "%05d" % (i % 100000)},
        "tags": ["t%d" % (i % 7), "t%d" % (i % 11)],
        "note": "x" * (i % 40),
    }


def docs(n):
    return [make_doc(i) for i in range(n)]


def client(url):
    return pymongo.MongoClient(url, directConnection=True, serverSelectionTimeoutMS=10000)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cmd", choices=["load", "ceiling", "upsert", "copy", "count", "drop"])
    ap.add_argument("--url", required=True)
    ap.add_argument("--to")
    ap.add_argument("--db", default="bench")
    ap.add_argument("--coll", default="docs")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--batch", type=int, default=200)
    a = ap.parse_args()
    c = client(a.url)
    coll = c[a.db][a.coll]
    if a.cmd == "load":
        c.drop_database(a.db)
        total, batch = 0, []
        for i in range(a.n):
            d = make_doc(i)
            total += len(bson.encode(d))
            batch.append(d)
            if len(batch) == 10000:
                coll.insert_many(batch, ordered=False)
                batch = []
        if batch:
            coll.insert_many(batch, ordered=False)
        print(a.n, total)
    elif a.cmd == "ceiling":
        c.drop_database(a.db)
        ds = docs(a.n)
        t0 = time.perf_counter()
        coll.insert_many(ds, ordered=False)
        print(a.n, "%.3f" % (time.perf_counter() - t0))
    elif a.cmd == "upsert":
        c.drop_database(a.db)
        ops = [pymongo.ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs(a.n)]
        t0 = time.perf_counter()
        for i in range(0, len(ops), a.batch):
            coll.bulk_write(ops[i:i + a.batch], ordered=False)
        print(a.n, "%.3f" % (time.perf_counter() - t0))
    elif a.cmd == "copy":
        dst = client(a.to)
        dst.drop_database(a.db)
        out = dst[a.db][a.coll]
        t0 = time.perf_counter()
        n, batch = 0, []
        for d in coll.find({}, batch_size=10000):
            batch.append(d)
            if len(batch) == 10000:
                out.insert_many(batch, ordered=False)
                n += len(batch)
                batch = []
        if batch:
            out.insert_many(batch, ordered=False)
            n += len(batch)
        print(n, "%.3f" % (time.perf_counter() - t0))
    elif a.cmd == "count":
        print(coll.count_documents({}))
    elif a.cmd == "drop":
        c.drop_database(a.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
