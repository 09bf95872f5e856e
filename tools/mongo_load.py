#!/usr/bin/python3
"""mongo_load.py - runs mongo-shell style scripts (the conformance fixtures' *.sql files
for MongoDB) against a server with pymongo, and counts documents for test scripts.

Understood script syntax (what ape-dts' mongo fixtures use, and a little more):
  use <db>
  db.createCollection("x"[, {options}])       db.dropDatabase()
  db.x.insertOne({...})  db.x.insertMany([...])  db.x.insert(doc|[docs])
  db.x.drop()  db.x.createIndex({...}[, {...}])  db.x.deleteOne/deleteMany({...})
  db.x.updateOne/updateMany/replaceOne(filter, doc[, {upsert:true}])
  db.getCollection("x").<any of the above>
Statements may span lines; `;` is optional; `//` and `/* */` comments are skipped.
Arguments are JavaScript object literals (quoted or bare keys, '…' or "…" strings) with
shell helpers ObjectId("…"), NumberLong(…), NumberInt(…), NumberDecimal("…"),
ISODate("…") / new Date("…"), BinData(sub, "b64"), UUID("…"), MinKey(), MaxKey(),
Timestamp(t, i), and canonical/relaxed extended JSON ({"$numberInt":"1"},
{"$date":"…"}, {"$binary":{…}}, …). Bare integers become int32 when they fit, else
int64 (extended JSON's rule); numbers with a fraction or exponent are doubles.

Usage:
  /usr/bin/python3 tools/mongo_load.py --url mongodb://127.0.0.1:P [--unstorable-out F] FILE...
  /usr/bin/python3 tools/mongo_load.py --url mongodb://127.0.0.1:P --count DB COLL

--unstorable-out F: first find out, by inserting a sample into a scratch collection, which
of MinKey, MaxKey, Decimal128 and JavaScript the server stores (FerretDB 1.x drops the
connection on all four); then an insert whose documents hold a type it does not store is
skipped, with a line "skipped: …" on stdout and "DB<TAB>COLL<TAB>TYPE" appended to F, so
that the caller can leave that collection out of its checks and say why. Without the
option such an insert fails as before.
"""

import argparse
import base64
import os
import datetime
import re
import sys
import uuid

import pymongo
from bson import json_util
from bson.binary import Binary, UuidRepresentation
from bson.code import Code
from bson.codec_options import CodecOptions
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.timestamp import Timestamp

CODEC = CodecOptions(uuid_representation=UuidRepresentation.UNSPECIFIED, tz_aware=True)
JSON_OPTS = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL,
                                  uuid_representation=UuidRepresentation.UNSPECIFIED,
                                  tz_aware=True)
INT32_MIN, INT32_MAX = -2 ** 31, 2 ** 31 - 1


class ScriptError(Exception):
    pass


def _parse_date(text):
    """ISODate text: full ISO 8601 with Z/offset, or a bare date."""
    try:
        return json_util.object_hook({'$date': text}, JSON_OPTS)
    except (ValueError, TypeError):
        pass
    t = text.strip().replace('Z', '+00:00')
    dt = datetime.datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt


def _helper(name, args):
    """Evaluates a mongo-shell helper call."""
    def arg(i, default=None):
        return args[i] if len(args) > i else default

    if name == 'ObjectId':
        return ObjectId(arg(0)) if args else ObjectId()
    if name == 'NumberLong':
        return Int64(int(arg(0, 0)))
    if name == 'NumberInt':
        return int(arg(0, 0))
    if name == 'NumberDecimal':
        return Decimal128(str(arg(0, '0')))
    if name in ('ISODate', 'Date'):
        if not args:
            return datetime.datetime.now(datetime.timezone.utc)
        if isinstance(args[0], (int, float)):
            return datetime.datetime.fromtimestamp(args[0] / 1000.0, datetime.timezone.utc)
        return _parse_date(args[0])
    if name == 'BinData':
        return Binary(base64.b64decode(arg(1, '')), int(arg(0, 0)))
    if name == 'HexData':
        return Binary(bytes.fromhex(arg(1, '')), int(arg(0, 0)))
    if name == 'UUID':
        return Binary(uuid.UUID(arg(0)).bytes, 4) if args else Binary(uuid.uuid4().bytes, 4)
    if name == 'MinKey':
        return MinKey()
    if name == 'MaxKey':
        return MaxKey()
    if name == 'Timestamp':
        return Timestamp(int(arg(0, 0)), int(arg(1, 0)))
    raise ScriptError('unknown shell helper %s()' % name)


def _ext_hook(d):
    """Extended JSON objects ({"$numberInt": "1"}, ...) to BSON values."""
    if d and all(isinstance(k, str) and k.startswith('$') for k in d):
        return json_util.object_hook(d, JSON_OPTS)
    return d


class Parser(object):
    """A small recursive-descent parser for the script language above."""

    _IDENT = re.compile(r'[A-Za-z_$][A-Za-z0-9_$]*')
    _NUMBER = re.compile(r'[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|Infinity|NaN)')

    def __init__(self, text, name):
        self.s = text
        self.i = 0
        self.name = name

    def error(self, msg):
        line = self.s.count('\n', 0, self.i) + 1
        return ScriptError('%s:%d: %s' % (self.name, line, msg))

    def skip_ws(self):
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in ' \t\r\n':
                self.i += 1
            elif s.startswith('//', self.i):
                nl = s.find('\n', self.i)
                self.i = len(s) if nl < 0 else nl + 1
            elif s.startswith('/*', self.i):
                end = s.find('*/', self.i + 2)
                if end < 0:
                    raise self.error('unterminated comment')
                self.i = end + 2
            else:
                break

    def peek(self):
        self.skip_ws()
        return self.s[self.i] if self.i < len(self.s) else ''

    def expect(self, c):
        if self.peek() != c:
            raise self.error('expected %r' % c)
        self.i += 1

    def ident(self):
        self.skip_ws()
        m = self._IDENT.match(self.s, self.i)
        if not m:
            raise self.error('expected a name')
        self.i = m.end()
        return m.group(0)

    def string(self):
        q = self.s[self.i]
        self.i += 1
        out = []
        s = self.s
        while True:
            if self.i >= len(s):
                raise self.error('unterminated string')
            c = s[self.i]
            if c == q:
                self.i += 1
                return ''.join(out)
            if c == '\\':
                e = s[self.i + 1]
                self.i += 2
                if e == 'u':
                    code = int(s[self.i:self.i + 4], 16)
                    self.i += 4
                    if 0xD800 <= code < 0xDC00 and s.startswith('\\u', self.i):
                        low = int(s[self.i + 2:self.i + 6], 16)
                        self.i += 6
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    out.append(chr(code))
                else:
                    out.append({'n': '\n', 't': '\t', 'r': '\r', 'b': '\b', 'f': '\f',
                                '0': '\0'}.get(e, e))
            else:
                out.append(c)
                self.i += 1

    def value(self):
        c = self.peek()
        if c == '{':
            return self.obj()
        if c == '[':
            self.i += 1
            items = []
            while self.peek() != ']':
                items.append(self.value())
                if self.peek() == ',':
                    self.i += 1
            self.i += 1
            return items
        if c in '"\'':
            return self.string()
        m = self._NUMBER.match(self.s, self.i)
        if m and m.group(0):
            self.i = m.end()
            t = m.group(0)
            if re.fullmatch(r'[-+]?\d+', t):
                n = int(t)
                return n if INT32_MIN <= n <= INT32_MAX else Int64(n)
            return float(t)
        name = self.ident()
        if name == 'new':
            name = self.ident()
        if name == 'true':
            return True
        if name == 'false':
            return False
        if name in ('null', 'undefined'):
            return None
        if self.peek() == '(':
            return _helper(name, self.args())
        if name in ('MinKey', 'MaxKey'):
            return _helper(name, [])
        raise self.error('unexpected name %r' % name)

    def obj(self):
        self.expect('{')
        d = {}
        while self.peek() != '}':
            c = self.peek()
            key = self.string() if c in '"\'' else self.ident()
            self.expect(':')
            d[key] = self.value()
            if self.peek() == ',':
                self.i += 1
        self.i += 1
        return _ext_hook(d)

    def args(self):
        self.expect('(')
        out = []
        while self.peek() != ')':
            out.append(self.value())
            if self.peek() == ',':
                self.i += 1
        self.i += 1
        return out

    def statements(self):
        """Yields ('use', db) and ('call', [names], [(method, args)...]) tuples."""
        while True:
            c = self.peek()
            if not c:
                return
            if c == ';':
                self.i += 1
                continue
            start = self.i
            head = self.ident()
            if head == 'use':
                nl = self.s.find('\n', self.i)
                line = self.s[self.i:len(self.s) if nl < 0 else nl]
                self.i = len(self.s) if nl < 0 else nl
                db = line.strip().rstrip(';').strip().strip('"\'')
                if not db:
                    raise self.error('use without a database name')
                yield ('use', db)
                continue
            if head != 'db':
                self.i = start
                raise self.error('expected "use" or "db." statement')
            chain = []      # [(name, args or None)]
            while self.peek() in ('.', '['):
                if self.peek() == '[':
                    self.i += 1
                    name = self.value()
                    self.expect(']')
                else:
                    self.i += 1
                    name = self.ident()
                args = self.args() if self.peek() == '(' else None
                chain.append((name, args))
            yield ('call', chain, self.error)


RARE_TYPES = [('MinKey', MinKey, MinKey()), ('MaxKey', MaxKey, MaxKey()),
              ('Decimal128', Decimal128, Decimal128('1.5')), ('JavaScript', Code, Code('1'))]


def unstored_types(url):
    """Names and classes of the RARE_TYPES the server at url does not store (a client each:
    a server may drop the connection on a value it cannot decode)."""
    out = []
    for name, cls, sample in RARE_TYPES:
        c = pymongo.MongoClient(url, serverSelectionTimeoutMS=10000)
        try:
            c.tl_load_probe.probe.insert_one({'v': sample})
        except pymongo.errors.PyMongoError:
            out.append((name, cls))
        finally:
            try:
                c.drop_database('tl_load_probe')
            except pymongo.errors.PyMongoError:
                pass
            c.close()
    return out


def holds(value, classes):
    """The first of classes found anywhere in value (documents, lists), else None."""
    if isinstance(value, classes):
        return value
    if isinstance(value, dict):
        for v in value.values():
            h = holds(v, classes)
            if h is not None:
                return h
    if isinstance(value, list):
        for v in value:
            h = holds(v, classes)
            if h is not None:
                return h
    return None


class Runner(object):
    def __init__(self, client, unstored=None, report=None):
        self.client = client
        self.db = client.get_database('test', codec_options=CODEC)
        self.unstored = unstored or []
        self.report = report

    def use(self, name):
        self.db = self.client.get_database(name, codec_options=CODEC)

    def run(self, chain, error):
        if not chain:
            raise error('empty statement')
        name, args = chain[0]
        if args is not None:
            return self.db_method(name, args, error)
        if name == 'getCollection':
            raise error('getCollection needs an argument')
        coll = self.db.get_collection(name)
        rest = chain[1:]
        while rest and rest[0][1] is None:
            coll = coll[rest[0][0]]
            rest = rest[1:]
        if len(rest) != 1:
            raise error('expected one method call on db.%s' % coll.name)
        return self.coll_method(coll, rest[0][0], rest[0][1], error)

    def db_method(self, name, args, error):
        # db.getCollection("x").method(...) arrives here as getCollection with args.
        if name == 'createCollection':
            opts = args[1] if len(args) > 1 else {}
            try:
                self.db.command(dict([('create', args[0])] + list(opts.items())))
            except pymongo.errors.OperationFailure as exc:
                if exc.code != 48:      # NamespaceExists: the shell reports, does not stop
                    raise
            return None
        if name == 'dropDatabase':
            self.client.drop_database(self.db.name)
            return None
        raise error('unsupported db method %s()' % name)

    def coll_method(self, coll, method, args, error):
        a = list(args) + [None] * 3
        opts = a[2] if isinstance(a[2], dict) else {}
        if self.unstored and method in ('insertOne', 'insertMany', 'insert'):
            h = holds(a[0], tuple(cls for _, cls in self.unstored))
            if h is not None:
                name = next(n for n, cls in self.unstored if isinstance(h, cls))
                print('skipped: an insert into %s.%s (the server does not store %s)' % (coll.database.name, coll.name, name))
                with open(self.report, 'a') as f:
                    f.write('%s\t%s\t%s\n' % (coll.database.name, coll.name, name))
                return None
        if method == 'insertOne':
            coll.insert_one(a[0])
        elif method == 'insertMany':
            coll.insert_many(a[0], ordered=(a[1] or {}).get('ordered', True))
        elif method == 'insert':
            if isinstance(a[0], list):
                coll.insert_many(a[0])
            else:
                coll.insert_one(a[0])
        elif method == 'drop':
            coll.drop()
        elif method == 'createIndex':
            o = a[1] or {}
            coll.create_index(list(a[0].items()), **o)
        elif method == 'deleteOne':
            coll.delete_one(a[0])
        elif method in ('deleteMany', 'remove'):
            coll.delete_many(a[0] or {})
        elif method == 'updateOne':
            coll.update_one(a[0], a[1], upsert=bool(opts.get('upsert')))
        elif method == 'updateMany':
            coll.update_many(a[0], a[1], upsert=bool(opts.get('upsert')))
        elif method == 'replaceOne':
            coll.replace_one(a[0], a[1], upsert=bool(opts.get('upsert')))
        else:
            raise error('unsupported collection method %s()' % method)
        return None


def run_file(runner, path):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    p = Parser(text, path)
    n = 0
    for st in p.statements():
        if st[0] == 'use':
            runner.use(st[1])
            continue
        chain, error = st[1], st[2]
        if chain and chain[0][0] == 'getCollection' and chain[0][1]:
            chain = [(chain[0][1][0], None)] + chain[1:]
        runner.run(chain, error)
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description='run mongo-shell style scripts with pymongo')
    ap.add_argument('--url', required=True)
    ap.add_argument('--count', nargs=2, metavar=('DB', 'COLL'),
                    help='print the number of documents in DB.COLL and exit')
    ap.add_argument('--unstorable-out', metavar='FILE',
                    help='skip inserts of types the server does not store; list them in FILE')
    ap.add_argument('files', nargs='*')
    args = ap.parse_args()
    client = pymongo.MongoClient(args.url, serverSelectionTimeoutMS=10000)
    try:
        if args.count:
            print(client[args.count[0]][args.count[1]].count_documents({}))
            return 0
        unstored = unstored_types(args.url) if args.unstorable_out else []
        runner = Runner(client, unstored, args.unstorable_out)
        for path in args.files:
            run_file(runner, path)
        return 0
    except (ScriptError, pymongo.errors.PyMongoError, OSError, ValueError) as exc:
        print('mongo_load: %s' % exc, file=sys.stderr)
        return 1
    finally:
        client.close()


if __name__ == '__main__':
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # pymongo's exit hook joins its monitor threads, which poll only every 0.5 s; all
    # work is acknowledged by now, so skip the wait (test scripts call this many times).
    os._exit(status)
