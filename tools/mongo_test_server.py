#!/usr/bin/python3
"""mongo_test_server.py - a MongoDB wire-protocol test server for tideline's tests.

No real mongod can be installed on the test machines, so this stands in for one:

- the front is python3-mockupdb (socket accept loop, one thread per connection,
  OP_QUERY handshake parsing, OP_MSG framing); its OP_MSG parser is replaced by one
  that keeps every document's raw BSON bytes, so documents round-trip byte for byte
  (int32/int64/double, decimal128, binary subtypes incl. 3/4, dates, timestamps,
  regex, MinKey/MaxKey, nested documents and arrays);
- the engine stores each collection as a dict keyed by a BSON comparison key of _id
  (O(1) _id lookups, MongoDB's equality: 1 == 1.0 == NumberLong(1)), orders with
  BSON cross-type ordering (MinKey < null < numbers < strings < objects < arrays <
  binary < ObjectId < bool < date < timestamp < regex < MaxKey) and keeps unique
  indexes as dicts (no rescans);
- python3-mongomock supplies what is not on the hot path: general query matching
  (filter_applies), update operators ($set, $setOnInsert, $inc, ...) and
  aggregation stages other than $match/$group/$count/$skip/$limit/$sort.

Commands: hello/isMaster, ping, buildInfo, getParameter, getCmdLineOpts,
listDatabases, listCollections, create, drop, dropDatabase, insert, update (operators,
replacements, upserts), delete, find (+ getMore, killCursors), count, aggregate,
createIndexes, listIndexes, dropIndexes, serverStatus (host, pid), endSessions. Requests are served one at a
time (mockupdb holds one lock), so the engine needs no locking of its own.

Usage: /usr/bin/python3 tools/mongo_test_server.py --port P [--pidfile F] [--log F]
Binds 127.0.0.1 only; runs until SIGTERM/SIGINT. Data lives in memory only.
"""

import argparse
import calendar
import datetime
import decimal
import math
import os
import random
import signal
import socket
import struct
import threading
import time
import traceback

import bson
import mockupdb
import mongomock
import pymongo.errors
from bson.binary import Binary, UuidRepresentation
from bson.code import Code
from bson.codec_options import CodecOptions
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.raw_bson import RawBSONDocument
from bson.regex import Regex
from bson.timestamp import Timestamp
from mongomock import aggregate as mm_aggregate
from mongomock import filtering as mm_filtering

# UNSPECIFIED: binary subtypes 3 and 4 stay Binary (the default would turn subtype 4
# into a UUID and re-encode it as subtype 3).
PY_OPTS = CodecOptions(document_class=dict, tz_aware=False,
                       uuid_representation=UuidRepresentation.UNSPECIFIED)
RAW_OPTS = CodecOptions(document_class=RawBSONDocument,
                        uuid_representation=UuidRepresentation.UNSPECIFIED)

OP_REPLY = 1
OP_QUERY = 2004
OP_MSG = 2013
MSG_MORE_TO_COME = 2
MSG_CHECKSUM = 1

MAX_BSON = 16 * 1024 * 1024
MAX_MESSAGE = 48000000
MAX_WRITE_BATCH = 100000
BATCH_BYTES = MAX_BSON - 64 * 1024   # documents per reply batch, leaves room for the envelope
DEFAULT_FIRST_BATCH = 101
CURSOR_IDLE_SECS = 600
SYSTEM_DBS = ('admin', 'local', 'config')


class CommandError(Exception):
    """A command failure reported as {ok:0, errmsg, code, codeName}."""

    def __init__(self, code, name, msg):
        super().__init__(msg)
        self.code = code
        self.code_name = name


# ---------------------------------------------------------------------------
# BSON ordering keys


_EPOCH = datetime.datetime(1970, 1, 1)


def _date_ms(dt):
    if dt.tzinfo is not None:
        dt = dt.replace(tzinfo=None) - dt.utcoffset()
    return calendar.timegm(dt.timetuple()) * 1000 + dt.microsecond // 1000


def _num_key(v):
    if isinstance(v, float) and math.isnan(v):
        return (10, 0)
    return (10, 1, v)


def _dec_key(v):
    d = v.to_decimal()
    if d.is_nan():
        return (10, 0)
    return (10, 1, d)


def _doc_key(v):
    items = []
    for k, x in v.items():
        kx = bkey(x)
        items.append((kx[0], k, kx))
    return (20, tuple(items))


def _list_key(v):
    return (25, tuple(bkey(x) for x in v))


_KEY_BY_TYPE = {
    type(None): lambda v: (5,),
    bool: lambda v: (40, int(v)),
    int: _num_key,
    Int64: _num_key,
    float: _num_key,
    Decimal128: _dec_key,
    str: lambda v: (15, v),
    dict: _doc_key,
    list: _list_key,
    tuple: _list_key,
    bytes: lambda v: (30, len(v), 0, v),
    Binary: lambda v: (30, len(v), v.subtype, bytes(v)),
    ObjectId: lambda v: (35, v.binary),
    datetime.datetime: lambda v: (45, _date_ms(v)),
    Timestamp: lambda v: (47, v.time, v.inc),
    Regex: lambda v: (50, v.pattern if isinstance(v.pattern, str) else v.pattern.decode(), v.flags),
    Code: lambda v: (60 if v.scope is None else 65, str(v), repr(v.scope)),
    MinKey: lambda v: (-1,),
    MaxKey: lambda v: (127,),
}


def bkey(v):
    """A tuple ordering and hashing like MongoDB compares BSON values.

    The first element is the canonical type rank, so values of different types never
    compare their payloads; numbers of every width share rank 10 (hash(1) ==
    hash(1.0) == hash(Decimal(1)), as MongoDB's _id equality wants).
    """
    f = _KEY_BY_TYPE.get(type(v))
    if f is not None:
        return f(v)
    if isinstance(v, bool):
        return (40, int(v))
    if isinstance(v, Binary):
        return _KEY_BY_TYPE[Binary](v)
    if isinstance(v, Code):
        return _KEY_BY_TYPE[Code](v)
    if isinstance(v, (int, float)):
        return _num_key(v)
    if isinstance(v, str):
        return (15, str(v))
    if isinstance(v, bytes):
        return (30, len(v), 0, bytes(v))
    if isinstance(v, RawBSONDocument):
        return _doc_key(bson.decode(v.raw, PY_OPTS))
    if isinstance(v, dict):
        return _doc_key(v)
    if isinstance(v, DBRef):
        return (55, v.collection, bkey(v.id))
    if isinstance(v, datetime.datetime):
        return (45, _date_ms(v))
    if isinstance(v, decimal.Decimal):
        return (10, 0) if v.is_nan() else (10, 1, v)
    return (100, repr(v))


MISSING = object()


def resolve(doc, path):
    """Value at a dotted path of a decoded document, MISSING when absent."""
    cur = doc
    for part in path.split('.'):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return MISSING
    return cur


def to_py(v):
    """RawBSONDocument (and lists of them) to plain Python values."""
    if isinstance(v, RawBSONDocument):
        return bson.decode(v.raw, PY_OPTS)
    if isinstance(v, list):
        return [to_py(x) for x in v]
    return v


def raw_of(v):
    if isinstance(v, RawBSONDocument):
        return v.raw
    return bson.encode(v, codec_options=PY_OPTS)


def enc(doc):
    return bson.encode(doc, codec_options=PY_OPTS)


# ---------------------------------------------------------------------------
# Storage


class Entry(object):
    """One stored document: its exact bytes, its _id and the _id's ordering key."""
    __slots__ = ('raw', 'idv', 'idk', '_py')

    def __init__(self, raw, idv, idk, py=None):
        self.raw = raw
        self.idv = idv
        self.idk = idk
        self._py = py

    def py(self):
        if self._py is None:
            self._py = bson.decode(self.raw, PY_OPTS)
        return self._py

    def drop_cache(self):
        self._py = None


class Index(object):
    def __init__(self, name, key, unique, spec):
        self.name = name
        self.key = key          # [(field, direction)]
        self.unique = unique
        self.spec = spec        # the listIndexes document (without v/ns bookkeeping)
        self.map = {}           # unique: index key tuple -> _id key

    def ukey(self, doc):
        parts = []
        for field, _ in self.key:
            v = resolve(doc, field)
            parts.append((5,) if v is MISSING else bkey(v))
        return tuple(parts)


class Collection(object):
    def __init__(self, db, name, options=None):
        self.db = db
        self.name = name
        self.options = options or {}
        self.docs = {}          # _id key -> Entry, in insertion order
        self.indexes = {}       # name -> Index (the _id_ index is implicit)

    @property
    def ns(self):
        return '%s.%s' % (self.db, self.name)

    def unique_indexes(self):
        return [ix for ix in self.indexes.values() if ix.unique]

    def dup_error(self, index_name, what):
        return {'code': 11000,
                'errmsg': 'E11000 duplicate key error collection: %s index: %s dup key: %s'
                          % (self.ns, index_name, what)}

    def check_unique(self, entry, replacing=None):
        """Returns a writeError dict when entry would violate a unique index.

        replacing: the _id key of the document entry replaces (its own index keys
        do not count as duplicates).
        """
        uniq = self.unique_indexes()
        if not uniq:
            return None
        doc = entry.py()
        for ix in uniq:
            k = ix.ukey(doc)
            owner = ix.map.get(k)
            if owner is not None and (replacing is None or owner != replacing):
                return self.dup_error(ix.name, repr(k))
        return None

    def index_add(self, entry):
        uniq = self.unique_indexes()
        if uniq:
            doc = entry.py()
            for ix in uniq:
                ix.map[ix.ukey(doc)] = entry.idk

    def index_remove(self, entry):
        uniq = self.unique_indexes()
        if uniq:
            doc = entry.py()
            for ix in uniq:
                k = ix.ukey(doc)
                if ix.map.get(k) == entry.idk:
                    del ix.map[k]

    def insert(self, entry):
        """Adds a new entry; returns a writeError dict or None."""
        if entry.idk in self.docs:
            return self.dup_error('_id_', '{ _id: %r }' % (entry.idv,))
        err = self.check_unique(entry)
        if err:
            return err
        self.docs[entry.idk] = entry
        self.index_add(entry)
        return None

    def replace(self, old, new):
        """Replaces old by new (same _id); returns a writeError dict or None."""
        err = self.check_unique(new, replacing=old.idk)
        if err:
            return err
        self.index_remove(old)
        self.docs[old.idk] = new
        self.index_add(new)
        return None

    def remove(self, entry):
        self.index_remove(entry)
        del self.docs[entry.idk]


class Engine(object):
    def __init__(self):
        self.dbs = {}           # db name -> {coll name -> Collection}
        self.cursors = {}       # cursor id -> Cursor
        self.scratch = mongomock.MongoClient().scratch.scratch

    def coll(self, db, name, create=False):
        colls = self.dbs.get(db)
        if colls is None:
            if not create:
                return None
            colls = self.dbs[db] = {}
        c = colls.get(name)
        if c is None and create:
            c = colls[name] = Collection(db, name)
        return c

    def drop_db(self, db):
        self.dbs.pop(db, None)


# ---------------------------------------------------------------------------
# Documents in, entries out


def make_entry(raw, doc=None):
    """Validates one incoming document, adds an _id when missing, moves _id first.

    doc: the already decoded form of raw, when the caller has it.
    """
    if doc is None:
        doc = bson.decode(raw, PY_OPTS)
    if '_id' not in doc:
        oid = ObjectId()
        body = b'\x07_id\x00' + oid.binary + raw[4:]
        raw = struct.pack('<i', len(body) + 4) + body
        doc = dict([('_id', oid)] + list(doc.items()))
    elif next(iter(doc)) != '_id':
        idv = doc.pop('_id')
        doc = dict([('_id', idv)] + list(doc.items()))
        raw = enc(doc)
    idv = doc['_id']
    if isinstance(idv, (list, Regex)):
        raise CommandError(2, 'BadValue', "can't use a %s for _id" % type(idv).__name__)
    for k in doc:
        if k.startswith('$'):
            raise CommandError(2, 'BadValue', "field names may not start with '$': %s" % k)
    return Entry(raw, idv, bkey(idv))   # decoded again only when a filter needs it


def entry_from_py(doc):
    if '_id' not in doc:
        doc = dict([('_id', ObjectId())] + list(doc.items()))
    elif next(iter(doc)) != '_id':
        idv = doc.pop('_id')
        doc = dict([('_id', idv)] + list(doc.items()))
    return Entry(enc(doc), doc["_id"], bkey(doc["_id"]))


# ---------------------------------------------------------------------------
# Query matching

_CMP = {
    '$gt': lambda a, b: a > b,
    '$gte': lambda a, b: a >= b,
    '$lt': lambda a, b: a < b,
    '$lte': lambda a, b: a <= b,
    '$eq': lambda a, b: a == b,
    '$ne': lambda a, b: a != b,
}


def _literal(v):
    """A constant from an aggregation expression, or MISSING when not a constant."""
    if isinstance(v, dict):
        if len(v) == 1 and '$literal' in v:
            return v['$literal']
        if any(k.startswith('$') for k in v):
            return MISSING
        out = {}
        for k, x in v.items():
            lx = _literal(x)
            if lx is MISSING:
                return MISSING
            out[k] = lx
        return out
    if isinstance(v, str) and v.startswith('$'):
        return MISSING
    if isinstance(v, list):
        return MISSING
    return v


def _expr_pred(expr):
    """Fast predicate for {$cmp: ["$_id", literal]} (either order), else None."""
    if not isinstance(expr, dict) or len(expr) != 1:
        return None
    op, args = next(iter(expr.items()))
    if op == '$and' and isinstance(args, list):
        preds = [_expr_pred(a) for a in args]
        if all(p is not None for p in preds):
            return lambda e: all(p(e) for p in preds)
        return None
    if op not in _CMP or not isinstance(args, list) or len(args) != 2:
        return None
    f = _CMP[op]
    a, b = args
    if a == '$_id':
        lit = _literal(b)
        if lit is MISSING:
            return None
        k = bkey(lit)
        return lambda e: f(e.idk, k)
    if b == '$_id':
        lit = _literal(a)
        if lit is MISSING:
            return None
        k = bkey(lit)
        return lambda e: f(k, e.idk)
    return None


def _id_pred(cond):
    """Predicate for the _id field of a find filter (type-bracketed comparisons)."""
    if isinstance(cond, dict) and cond and all(k.startswith('$') for k in cond):
        preds = []
        for op, val in cond.items():
            if op in ('$gt', '$gte', '$lt', '$lte'):
                k = bkey(val)
                f = _CMP[op]
                preds.append(lambda e, k=k, f=f: e.idk[0] == k[0] and f(e.idk, k))
            elif op == '$eq':
                k = bkey(val)
                preds.append(lambda e, k=k: e.idk == k)
            elif op == '$ne':
                k = bkey(val)
                preds.append(lambda e, k=k: e.idk != k)
            elif op == '$in' and isinstance(val, list):
                ks = set(bkey(v) for v in val)
                preds.append(lambda e, ks=ks: e.idk in ks)
            elif op == '$nin' and isinstance(val, list):
                ks = set(bkey(v) for v in val)
                preds.append(lambda e, ks=ks: e.idk not in ks)
            else:
                return None
        return lambda e: all(p(e) for p in preds)
    if isinstance(cond, Regex) or hasattr(cond, 'pattern'):
        return None
    k = bkey(cond)
    return lambda e: e.idk == k


def compile_filter(filt):
    """Turns a find filter into a predicate over entries (mongomock for the general part)."""
    if not filt:
        return None
    preds = []
    rest = {}
    for key, cond in filt.items():
        p = None
        if key == '$expr':
            p = _expr_pred(cond)
        elif key == '_id':
            p = _id_pred(cond)
        elif key == '$and' and isinstance(cond, list):
            subs = [compile_filter(c) for c in cond]
            p = (lambda e, subs=subs: all(s is None or s(e) for s in subs))
        if p is None:
            rest[key] = cond
        else:
            preds.append(p)
    if rest:
        preds.append(lambda e: mm_filtering.filter_applies(rest, e.py()))
    if len(preds) == 1:
        return preds[0]
    return lambda e: all(p(e) for p in preds)


def _id_equality(filt):
    """The _id value when the filter is exactly {_id: <value>}, else MISSING."""
    if not filt or len(filt) != 1 or '_id' not in filt:
        return MISSING
    v = filt['_id']
    if isinstance(v, dict) and any(k.startswith('$') for k in v):
        if len(v) == 1 and '$eq' in v:
            return v['$eq']
        return MISSING
    if isinstance(v, Regex):
        return MISSING
    return v


def select(coll, filt, limit_one=False):
    """Entries matching filt, in natural order. Takes the entry list once."""
    if coll is None:
        return []
    idv = _id_equality(filt)
    if idv is not MISSING:
        e = coll.docs.get(bkey(idv))
        return [e] if e is not None else []
    pred = compile_filter(filt)
    if pred is None:
        entries = list(coll.docs.values())
        return entries[:1] if limit_one else entries
    out = []
    for e in list(coll.docs.values()):
        if pred(e):
            out.append(e)
            if limit_one:
                break
    return out


def sort_entries(entries, sort):
    if not sort:
        return entries
    items = list(sort.items())
    if len(items) == 1 and items[0][0] == '_id':
        return sorted(entries, key=lambda e: e.idk, reverse=items[0][1] < 0)
    out = list(entries)
    for field, direction in reversed(items):
        if field == '_id':
            out.sort(key=lambda e: e.idk, reverse=direction < 0)
        else:
            def k(e, field=field):
                v = resolve(e.py(), field)
                return (5,) if v is MISSING else bkey(v)
            out.sort(key=k, reverse=direction < 0)
    return out


def project(raw_entries, projection):
    """Applies a simple top-level inclusion/exclusion projection; returns raw docs."""
    if not projection:
        return [e.raw for e in raw_entries]
    incl = {k for k, v in projection.items() if v and k != '_id'}
    keep_id = projection.get('_id', 1)
    out = []
    for e in raw_entries:
        doc = e.py()
        if incl:
            d = {k: v for k, v in doc.items() if k in incl or (k == '_id' and keep_id)}
        else:
            d = {k: v for k, v in doc.items() if k not in projection or (k == '_id' and keep_id)}
        out.append(enc(d))
    return out


# ---------------------------------------------------------------------------
# Cursors


class Cursor(object):
    def __init__(self, ns, docs):
        self.ns = ns
        self.docs = docs        # list of raw documents, taken once
        self.pos = 0
        self.touched = time.monotonic()


def take_batch(cur, n):
    """Up to n documents (None = as many as fit) from cur, bounded by BATCH_BYTES."""
    out = []
    size = 0
    limit = len(cur.docs) if n is None else min(len(cur.docs), cur.pos + n)
    while cur.pos < limit:
        d = cur.docs[cur.pos]
        if out and size + len(d) > BATCH_BYTES:
            break
        out.append(RawBSONDocument(d, RAW_OPTS))
        size += len(d)
        cur.pos += 1
    return out


def batch_size(v, default):
    """A batchSize option: None (absent) -> default; 0 stays 0."""
    if v is None:
        return default
    v = int(v)
    if v < 0:
        raise CommandError(2, 'BadValue', 'batchSize must be non-negative')
    return v


# ---------------------------------------------------------------------------
# Commands


class Server(object):
    def __init__(self, log):
        self.engine = Engine()
        self.log = log
        self.conn_ids = 0
        self.started = time.time()

    # -- helpers -----------------------------------------------------------

    def _new_cursor(self, ns, docs, first_n, single):
        cur = Cursor(ns, docs)
        batch = take_batch(cur, first_n)
        cid = 0
        if not single and cur.pos < len(cur.docs):
            self._expire_cursors()
            cid = random.getrandbits(62) + 1
            self.engine.cursors[cid] = cur
        return {'cursor': {'firstBatch': batch, 'id': Int64(cid), 'ns': ns}, 'ok': 1.0}

    def _expire_cursors(self):
        now = time.monotonic()
        for cid in [c for c, cur in self.engine.cursors.items()
                    if now - cur.touched > CURSOR_IDLE_SECS]:
            del self.engine.cursors[cid]

    # -- handshake & admin ---------------------------------------------------

    def cmd_hello(self, db, cmd):
        self.conn_ids += 1
        return {
            'helloOk': True, 'ismaster': True, 'isWritablePrimary': True,
            'maxBsonObjectSize': MAX_BSON, 'maxMessageSizeBytes': MAX_MESSAGE,
            'maxWriteBatchSize': MAX_WRITE_BATCH,
            'localTime': datetime.datetime.utcnow(),
            'connectionId': self.conn_ids,
            'minWireVersion': 0, 'maxWireVersion': 13, 'readOnly': False, 'ok': 1.0,
        }

    def cmd_ping(self, db, cmd):
        return {'ok': 1.0}

    def cmd_buildinfo(self, db, cmd):
        return {'version': '5.0.0', 'gitVersion': 'tideline-test-server',
                'versionArray': [5, 0, 0, 0], 'bits': 64, 'maxBsonObjectSize': MAX_BSON,
                'storageEngines': ['inMemory'], 'ok': 1.0}

    def cmd_getparameter(self, db, cmd):
        out = {'ok': 1.0}
        if cmd.get('featureCompatibilityVersion') or cmd.get('getParameter') == '*':
            out['featureCompatibilityVersion'] = {'version': '5.0'}
        return out

    def cmd_getcmdlineopts(self, db, cmd):
        return {'argv': ['mongo_test_server.py'], 'parsed': {}, 'ok': 1.0}

    def cmd_serverstatus(self, db, cmd):
        # what tideline's server_id reads: one process is one server
        return {'host': socket.gethostname(), 'pid': Int64(os.getpid()), 'ok': 1.0}

    def cmd_endsessions(self, db, cmd):
        return {'ok': 1.0}

    def cmd_listdatabases(self, db, cmd):
        names = sorted(n for n, colls in self.engine.dbs.items() if colls)
        filt = to_py(cmd.get('filter')) or {}
        dbs = []
        for n in names:
            size = sum(len(e.raw) for c in self.engine.dbs[n].values() for e in c.docs.values())
            d = {'name': n, 'sizeOnDisk': Int64(size), 'empty': size == 0}
            if not filt or mm_filtering.filter_applies(filt, d):
                dbs.append({'name': n} if cmd.get('nameOnly') else d)
        return {'databases': dbs, 'totalSize': Int64(0), 'ok': 1.0}

    def cmd_listcollections(self, db, cmd):
        filt = to_py(cmd.get('filter')) or {}
        infos = []
        for name in sorted(self.engine.dbs.get(db, {})):
            c = self.engine.dbs[db][name]
            info = {'name': name, 'type': 'collection', 'options': c.options,
                    'info': {'readOnly': False},
                    'idIndex': {'v': 2, 'key': {'_id': 1}, 'name': '_id_'}}
            if filt and not mm_filtering.filter_applies(filt, info):
                continue
            if cmd.get('nameOnly'):
                info = {'name': name, 'type': 'collection'}
            infos.append(RawBSONDocument(enc(info), RAW_OPTS))
        bs = batch_size((to_py(cmd.get('cursor')) or {}).get('batchSize'), None)
        return self._new_cursor('%s.$cmd.listCollections' % db, [d.raw for d in infos], bs, False)

    def cmd_create(self, db, cmd):
        name = cmd['create']
        if self.engine.coll(db, name) is not None:
            raise CommandError(48, 'NamespaceExists', 'Collection %s.%s already exists.' % (db, name))
        c = self.engine.coll(db, name, create=True)
        c.options = {k: to_py(v) for k, v in cmd.items()
                     if k not in ('create', '$db', 'lsid', 'writeConcern', '$readPreference',
                                  '$clusterTime', 'txnNumber', 'autocommit', 'apiVersion')}
        return {'ok': 1.0}

    def cmd_drop(self, db, cmd):
        colls = self.engine.dbs.get(db, {})
        name = cmd['drop']
        n = 0
        if name in colls:
            n = len(colls[name].indexes) + 1
            del colls[name]
            if not colls:
                self.engine.drop_db(db)
        return {'nIndexesWas': n, 'ns': '%s.%s' % (db, name), 'ok': 1.0}

    def cmd_dropdatabase(self, db, cmd):
        self.engine.drop_db(db)
        return {'dropped': db, 'ok': 1.0}

    # -- writes --------------------------------------------------------------

    def cmd_insert(self, db, cmd):
        coll = self.engine.coll(db, cmd['insert'], create=True)
        docs = cmd.get('documents') or []
        ordered = cmd.get('ordered', True)
        n = 0
        errors = []
        for i, d in enumerate(docs):
            try:
                err = coll.insert(make_entry(raw_of(d)))
            except CommandError as exc:
                err = {'code': exc.code, 'errmsg': str(exc)}
            except bson.errors.InvalidBSON as exc:
                err = {'code': 2, 'errmsg': 'invalid document: %s' % exc}
            if err:
                err['index'] = i
                errors.append(err)
                if ordered:
                    break
            else:
                n += 1
        out = {'n': n, 'ok': 1.0}
        if errors:
            out['writeErrors'] = errors
        return out

    def _apply_operators(self, doc, q, u, upsert_new):
        """Runs an operator update through mongomock; returns the new document."""
        scratch = self.engine.scratch
        scratch.delete_many({})
        try:
            if upsert_new:
                scratch.update_one(q, u, upsert=True)
            else:
                scratch.insert_one(dict(doc))
                scratch.update_one({}, u)
            return scratch.find_one({})
        except pymongo.errors.PyMongoError as exc:
            # mongomock reports with pymongo's exception types and MongoDB's codes
            code = getattr(exc, 'code', None) or (66 if 'immutable' in str(exc) else 2)
            raise CommandError(code, 'ImmutableField' if code == 66 else 'BadValue', str(exc))
        except (NotImplementedError, KeyError, TypeError, ValueError) as exc:
            raise CommandError(2, 'BadValue', 'unsupported update %r: %s' % (u, exc))
        finally:
            scratch.delete_many({})

    def _update_one_stmt(self, coll, stmt):
        """Applies one update statement; returns (n, nModified, upserted_id|MISSING)."""
        q = to_py(stmt.get('q')) or {}
        u_raw = stmt.get('u')
        if isinstance(u_raw, list):
            raise CommandError(9, 'FailedToParse', 'pipeline-style updates are not supported')
        u = to_py(u_raw)
        multi = stmt.get('multi', False)
        upsert = stmt.get('upsert', False)
        replacement = not any(k.startswith('$') for k in u)
        if replacement and multi:
            raise CommandError(9, 'FailedToParse', 'multi update is not supported for replacement-style update')
        matches = select(coll, q, limit_one=not multi)
        n = modified = 0
        if matches:
            for old in matches:
                if replacement:
                    if '_id' in u:
                        new = make_entry(raw_of(u_raw), u)
                    else:
                        body = dict([('_id', old.idv)] + list(u.items()))
                        new = entry_from_py(body)
                else:
                    new = entry_from_py(self._apply_operators(old.py(), q, u, False))
                if new.idk != old.idk:
                    raise CommandError(66, 'ImmutableField',
                                       "After applying the update, the (immutable) field '_id' was found to have been altered")
                n += 1
                if new.raw != old.raw:
                    err = coll.replace(old, new)
                    if err:
                        raise CommandError(err['code'], 'DuplicateKey', err['errmsg'])
                    modified += 1
            return n, modified, MISSING
        if not upsert:
            return 0, 0, MISSING
        if replacement:
            if '_id' in u:
                new = make_entry(raw_of(u_raw), u)
            else:
                idv = _id_equality(q)
                if idv is MISSING:
                    idv = ObjectId()
                new = entry_from_py(dict([('_id', idv)] + list(u.items())))
        else:
            new = entry_from_py(self._apply_operators(None, q, u, True))
        err = coll.insert(new)
        if err:
            raise CommandError(err['code'], 'DuplicateKey', err['errmsg'])
        return 1, 0, new.idv

    def cmd_update(self, db, cmd):
        coll = self.engine.coll(db, cmd['update'], create=True)
        ordered = cmd.get('ordered', True)
        n = modified = 0
        upserted = []
        errors = []
        for i, stmt in enumerate(cmd.get('updates') or []):
            try:
                dn, dm, up = self._update_one_stmt(coll, stmt)
                n += dn
                modified += dm
                if up is not MISSING:
                    upserted.append({'index': i, '_id': up})
            except CommandError as exc:
                errors.append({'index': i, 'code': exc.code, 'errmsg': str(exc)})
                if ordered:
                    break
        out = {'n': n, 'nModified': modified, 'ok': 1.0}
        if upserted:
            out['upserted'] = upserted
        if errors:
            out['writeErrors'] = errors
        return out

    def cmd_delete(self, db, cmd):
        coll = self.engine.coll(db, cmd['delete'])
        n = 0
        for stmt in cmd.get('deletes') or []:
            q = to_py(stmt.get('q')) or {}
            victims = select(coll, q, limit_one=stmt.get('limit', 0) == 1)
            for e in victims:
                coll.remove(e)
                n += 1
        return {'n': n, 'ok': 1.0}

    # -- reads ---------------------------------------------------------------

    def cmd_find(self, db, cmd):
        coll = self.engine.coll(db, cmd['find'])
        filt = to_py(cmd.get('filter')) or {}
        sort = to_py(cmd.get('sort')) or {}
        entries = sort_entries(select(coll, filt), sort)
        skip = int(cmd.get('skip', 0) or 0)
        limit = int(cmd.get('limit', 0) or 0)
        single = bool(cmd.get('singleBatch', False)) or limit < 0
        limit = abs(limit)
        if skip:
            entries = entries[skip:]
        if limit:
            entries = entries[:limit]
        docs = project(entries, to_py(cmd.get('projection')))
        first = batch_size(cmd.get('batchSize'), DEFAULT_FIRST_BATCH)
        return self._new_cursor('%s.%s' % (db, cmd['find']), docs, first, single)

    def cmd_getmore(self, db, cmd):
        cid = int(cmd['getMore'])
        cur = self.engine.cursors.get(cid)
        if cur is None:
            raise CommandError(43, 'CursorNotFound', 'cursor id %d not found' % cid)
        cur.touched = time.monotonic()
        batch = take_batch(cur, batch_size(cmd.get('batchSize'), 0) or None)
        if cur.pos >= len(cur.docs):
            del self.engine.cursors[cid]
            cid = 0
        return {'cursor': {'nextBatch': batch, 'id': Int64(cid), 'ns': cur.ns}, 'ok': 1.0}

    def cmd_killcursors(self, db, cmd):
        killed, missing = [], []
        for cid in cmd.get('cursors') or []:
            if self.engine.cursors.pop(int(cid), None) is not None:
                killed.append(Int64(cid))
            else:
                missing.append(Int64(cid))
        return {'cursorsKilled': killed, 'cursorsNotFound': missing, 'cursorsAlive': [],
                'cursorsUnknown': [], 'ok': 1.0}

    def cmd_count(self, db, cmd):
        coll = self.engine.coll(db, cmd['count'])
        q = to_py(cmd.get('query')) or {}
        if coll is None:
            n = 0
        elif not q:
            n = len(coll.docs)
        else:
            n = len(select(coll, q))
        skip = int(cmd.get('skip', 0) or 0)
        limit = abs(int(cmd.get('limit', 0) or 0))
        n = max(0, n - skip)
        if limit:
            n = min(n, limit)
        return {'n': n, 'ok': 1.0}

    def cmd_aggregate(self, db, cmd):
        name = cmd['aggregate']
        pipeline = to_py(cmd.get('pipeline')) or []
        coll = self.engine.coll(db, name) if isinstance(name, str) else None
        entries = None      # still entries (raw) while only cheap stages ran
        docs = None
        if coll is not None:
            entries = list(coll.docs.values())
        else:
            entries = []
        for stage in pipeline:
            op, arg = next(iter(stage.items()))
            if entries is not None:
                if op == '$match':
                    pred = compile_filter(arg)
                    if pred is not None:
                        entries = [e for e in entries if pred(e)]
                    continue
                if op == '$sort':
                    entries = sort_entries(entries, arg)
                    continue
                if op == '$skip':
                    entries = entries[int(arg):]
                    continue
                if op == '$limit':
                    entries = entries[:int(arg)]
                    continue
                if op == '$count':
                    docs = [{arg: len(entries)}] if entries else []
                    entries = None
                    continue
                if op == '$collStats':
                    n = len(entries)
                    docs = [{'ns': '%s.%s' % (db, name), 'count': n,
                             'storageStats': {'count': n}}]
                    entries = None
                    continue
                if op == '$group' and _is_count_group(arg):
                    docs = []
                    if entries:
                        row = {'_id': arg['_id']}
                        for k, v in arg.items():
                            if k != '_id':
                                row[k] = _sum_value(v) * len(entries)
                        docs = [row]
                    entries = None
                    continue
                docs = [e.py() for e in entries]
                entries = None
            handler = mm_aggregate._PIPELINE_HANDLERS.get(op)
            if not handler:
                raise CommandError(40324, 'Location40324', 'Unrecognized pipeline stage name: %r' % op)
            docs = handler(docs, None, arg)
        out = [e.raw for e in entries] if entries is not None else [enc(d) for d in docs]
        first = batch_size((to_py(cmd.get('cursor')) or {}).get('batchSize'), DEFAULT_FIRST_BATCH)
        return self._new_cursor('%s.%s' % (db, name), out, first, False)

    # -- indexes -------------------------------------------------------------

    def cmd_createindexes(self, db, cmd):
        coll = self.engine.coll(db, cmd['createIndexes'])
        created = coll is None
        coll = coll or self.engine.coll(db, cmd['createIndexes'], create=True)
        before = len(coll.indexes) + 1
        for spec in to_py(cmd.get('indexes') or []):
            key = list(spec['key'].items())
            name = spec.get('name') or '_'.join('%s_%s' % (k, v) for k, v in key)
            unique = bool(spec.get('unique', False))
            if key == [('_id', 1)] or name == '_id_':
                continue
            old = coll.indexes.get(name)
            if old is not None:
                if old.key == key and old.unique == unique:
                    continue
                raise CommandError(86, 'IndexKeySpecsConflict',
                                   'An existing index has the same name as the requested index: %s' % name)
            ix = Index(name, key, unique, dict(spec, v=2))
            if unique:
                for e in coll.docs.values():
                    k = ix.ukey(e.py())
                    if k in ix.map:
                        raise CommandError(11000, 'DuplicateKey',
                                           'E11000 duplicate key error collection: %s index: %s'
                                           % (coll.ns, name))
                    ix.map[k] = e.idk
            coll.indexes[name] = ix
        return {'createdCollectionAutomatically': created, 'numIndexesBefore': before,
                'numIndexesAfter': len(coll.indexes) + 1, 'ok': 1.0}

    def cmd_listindexes(self, db, cmd):
        coll = self.engine.coll(db, cmd['listIndexes'])
        if coll is None:
            raise CommandError(26, 'NamespaceNotFound', 'ns does not exist: %s.%s' % (db, cmd['listIndexes']))
        specs = [{'v': 2, 'key': {'_id': 1}, 'name': '_id_'}]
        for ix in coll.indexes.values():
            s = {'v': 2, 'key': dict(ix.key), 'name': ix.name}
            if ix.unique:
                s['unique'] = True
            # every option it was created with (sparse, partialFilterExpression, TTL, ...)
            s.update((k, v) for k, v in ix.spec.items() if k not in ('v', 'key', 'name', 'ns', 'unique'))
            specs.append(s)
        return self._new_cursor('%s.$cmd.listIndexes.%s' % (db, coll.name),
                                [enc(s) for s in specs], None, False)

    def cmd_dropindexes(self, db, cmd):
        coll = self.engine.coll(db, cmd['dropIndexes'])
        if coll is None:
            raise CommandError(26, 'NamespaceNotFound', 'ns not found')
        which = cmd.get('index')
        if which == '*':
            coll.indexes.clear()
        elif isinstance(which, str):
            if which not in coll.indexes:
                raise CommandError(27, 'IndexNotFound', 'index not found with name [%s]' % which)
            del coll.indexes[which]
        return {'ok': 1.0}

    # -- dispatch ------------------------------------------------------------

    def run_command(self, db, cmd):
        """Runs one command document (dict of top-level fields); returns the reply dict."""
        name = next(iter(cmd))
        lname = name.lower()
        if lname in ('hello', 'ismaster'):
            lname = 'hello'
        if lname == 'saslstart' or lname == 'authenticate':
            raise CommandError(18, 'AuthenticationFailed', 'Authentication failed (the test server has no users).')
        handler = getattr(self, 'cmd_' + lname, None)
        if handler is None:
            raise CommandError(59, 'CommandNotFound', "no such command: '%s'" % name)
        return handler(db, cmd)


def _sum_value(v):
    return v['$sum'] if isinstance(v, dict) else 0


def _is_count_group(arg):
    if not isinstance(arg, dict) or '_id' not in arg:
        return False
    idv = arg['_id']
    if isinstance(idv, (dict, list)) or (isinstance(idv, str) and idv.startswith('$')):
        return False
    for k, v in arg.items():
        if k == '_id':
            continue
        if not (isinstance(v, dict) and len(v) == 1 and isinstance(v.get('$sum'), int)
                and not isinstance(v.get('$sum'), bool)):
            return False
    return True


def error_reply(exc):
    if isinstance(exc, CommandError):
        return {'ok': 0.0, 'errmsg': str(exc), 'code': exc.code, 'codeName': exc.code_name}
    return {'ok': 0.0, 'errmsg': '%s: %s' % (type(exc).__name__, exc), 'code': 1,
            'codeName': 'InternalError'}


# ---------------------------------------------------------------------------
# Wire front (mockupdb)


def _recv_exact(sock, length):
    """mockupdb's receive, without its quadratic bytes concatenation."""
    buf = bytearray(length)
    view = memoryview(buf)
    got = 0
    while got < length:
        n = sock.recv_into(view[got:], length - got)
        if n == 0:
            raise socket.error(104, 'closed')   # ECONNRESET: mockupdb ends the connection
        got += n
    return bytes(buf)


def _recv_patched(sock, length):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    return _recv_exact(sock, length)


class RawOpMsg(object):
    """An OP_MSG whose body and document sequences stay raw BSON."""
    opcode = OP_MSG
    is_command = True
    _non_matched_attrs = ('doc', 'docs')

    def __init__(self, flags, body, seqs, client, request_id):
        self.flags = flags
        self.body = body
        self.seqs = seqs
        self.client = client
        self.request_id = request_id

    @classmethod
    def unpack(cls, msg, client, server, request_id):
        flags, = struct.unpack_from('<I', msg, 0)
        end = len(msg) - (4 if flags & MSG_CHECKSUM else 0)
        pos = 4
        body = None
        seqs = {}
        while pos < end:
            kind = msg[pos]
            pos += 1
            size, = struct.unpack_from('<i', msg, pos)
            if kind == 0:
                body = msg[pos:pos + size]
                pos += size
            elif kind == 1:
                stop = pos + size
                nul = msg.index(b'\x00', pos + 4)
                ident = msg[pos + 4:nul].decode()
                p = nul + 1
                docs = []
                while p < stop:
                    dlen, = struct.unpack_from('<i', msg, p)
                    docs.append(msg[p:p + dlen])
                    p += dlen
                seqs[ident] = docs
                pos = stop
            else:
                raise ValueError('unknown OP_MSG section kind %d' % kind)
        return cls(flags, body, seqs, client, request_id)

    @property
    def client_port(self):
        return 0

    def __repr__(self):
        return 'RawOpMsg(%d bytes, %d sequences)' % (len(self.body or b''), len(self.seqs))


class Responder(object):
    """Plugged into mockupdb's responder list: answers every request."""

    def __init__(self, server, log):
        self.server = server
        self.log = log

    def handle(self, request):
        if isinstance(request, RawOpMsg):
            self._handle_msg(request)
        elif isinstance(request, mockupdb.Command):
            self._handle_query(request)
        else:
            # Legacy opcodes (OP_INSERT, OP_GET_MORE, ...) are not spoken by modern drivers.
            request.hangup()
        return True

    def _run(self, db, cmd):
        t0 = time.monotonic()
        try:
            reply = self.server.run_command(db, cmd)
        except Exception as exc:   # every failure becomes an error reply, never a dead thread
            if not isinstance(exc, CommandError):
                self.log.write('internal error: %s\n' % traceback.format_exc())
            reply = error_reply(exc)
        name = next(iter(cmd))
        if name.lower() not in ('hello', 'ismaster', 'ping', 'endsessions'):
            self.log.write('%s %s.%s %.1fms ok=%s%s\n' % (
                name, db, cmd.get(name) if isinstance(cmd.get(name), str) else '',
                (time.monotonic() - t0) * 1000, reply.get('ok'),
                (' err=%s' % reply.get('errmsg')) if not reply.get('ok') else ''))
        return reply

    def _handle_msg(self, req):
        try:
            top = bson.decode(req.body, RAW_OPTS)
            cmd = {k: top[k] for k in top}
            for ident, docs in req.seqs.items():
                cmd[ident] = [RawBSONDocument(d, RAW_OPTS) for d in docs]
            db = cmd.get('$db', 'admin')
        except Exception as exc:
            cmd, db = None, 'admin'
            reply = error_reply(CommandError(9, 'FailedToParse', 'bad OP_MSG: %s' % exc))
        if cmd is not None:
            reply = self._run(db, cmd)
        if req.flags & MSG_MORE_TO_COME:
            return
        data = struct.pack('<IB', 0, 0) + enc(reply)
        header = struct.pack('<iiii', 16 + len(data), random.getrandbits(31), req.request_id, OP_MSG)
        try:
            req.client.sendall(header + data)
        except OSError:
            # The client went away; closing makes mockupdb's next receive end the thread.
            req.client.close()

    def _handle_query(self, req):
        cmd = dict(req.doc)
        if '$query' in cmd:
            cmd = dict(cmd['$query'])
        reply = self._run(req.namespace or 'admin', cmd)
        req.replies(reply)


def main():
    ap = argparse.ArgumentParser(description='MongoDB wire-protocol test server (in memory)')
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--pidfile')
    ap.add_argument('--log')
    args = ap.parse_args()

    log = open(args.log, 'a', buffering=1) if args.log else open(os.devnull, 'w')
    mockupdb.OPCODES[OP_MSG] = RawOpMsg
    mockupdb.mock_server_receive = _recv_patched

    mock = mockupdb.MockupDB(port=args.port, request_timeout=int(1e6))
    mock._address = ('127.0.0.1', args.port)
    mock._autoresponders.append(Responder(Server(log), log))
    mock.run()
    log.write('listening on 127.0.0.1:%d pid %d\n' % (args.port, os.getpid()))
    if args.pidfile:
        tmp = args.pidfile + '.tmp'
        with open(tmp, 'w') as f:
            f.write('%d\n' % os.getpid())
        os.replace(tmp, args.pidfile)

    done = threading.Event()

    def on_signal(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not done.wait(1.0):
        pass
    log.write('stopping on signal\n')
    if args.pidfile:
        try:
            os.unlink(args.pidfile)
        except OSError:
            pass
    log.flush()
    # Connection threads may be blocked in recv; nothing in memory needs saving.
    os._exit(0)


if __name__ == '__main__':
    main()
