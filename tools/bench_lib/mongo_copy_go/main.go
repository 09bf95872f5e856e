// mongo_copy_go - the peer tools/bench runs beside tideline for MongoDB-compatible servers
// (docs/benchmarks.md): what a user would otherwise write with the official Go driver to
// copy one collection: find() on the source, insertMany (unordered) on the target in
// batches. It prints "<documents> <seconds>" on stdout. Built by tools/bench_lib/mongo_ferretdb.sh
// into a cache directory; never committed as a binary.
//
//	mongo_copy_go -from URL -to URL -db DB -coll COLL [-batch N]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func main() {
	from := flag.String("from", "", "source URL")
	to := flag.String("to", "", "target URL")
	db := flag.String("db", "bench", "database")
	coll := flag.String("coll", "docs", "collection")
	batch := flag.Int("batch", 1000, "documents per find batch and per insertMany")
	flag.Parse()
	if *from == "" || *to == "" || *batch <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	n, secs, err := copyColl(*from, *to, *db, *coll, *batch)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mongo_copy_go:", err)
		os.Exit(1)
	}
	fmt.Printf("%d %.3f\n", n, secs)
}

func copyColl(from, to, db, coll string, batch int) (int, float64, error) {
	ctx := context.Background()
	src, err := mongo.Connect(ctx, options.Client().ApplyURI(from))
	if err != nil {
		return 0, 0, err
	}
	defer src.Disconnect(ctx)
	dst, err := mongo.Connect(ctx, options.Client().ApplyURI(to))
	if err != nil {
		return 0, 0, err
	}
	defer dst.Disconnect(ctx)
	start := time.Now()
	cur, err := src.Database(db).Collection(coll).Find(ctx, bson.D{}, options.Find().SetBatchSize(int32(batch)))
	if err != nil {
		return 0, 0, err
	}
	defer cur.Close(ctx)
	out := dst.Database(db).Collection(coll)
	docs := make([]interface{}, 0, batch)
	n := 0
	flush := func() error {
		if len(docs) == 0 {
			return nil
		}
		if _, err := out.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)); err != nil {
			return err
		}
		n += len(docs)
		docs = docs[:0]
		return nil
	}
	for cur.Next(ctx) {
		// the raw bytes, copied: the cursor reuses its buffer
		docs = append(docs, bson.Raw(append([]byte(nil), cur.Current...)))
		if len(docs) == batch {
			if err := flush(); err != nil {
				return n, 0, err
			}
		}
	}
	if err := cur.Err(); err != nil {
		return n, 0, err
	}
	if err := flush(); err != nil {
		return n, 0, err
	}
	return n, time.Since(start).Seconds(), nil
}
