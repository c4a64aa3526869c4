package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/isweep/isweep/internal/store"
)

// ExampleOpen writes sweep results create-only to a folder store: a retried
// write of the same bytes is a no-op, a different result at the same key is
// refused, and List returns keys in lexical order.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "isweep-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// "s3://bucket/prefix" would open an S3 store the same way.
	results, err := store.Open(ctx, filepath.Join(dir, "run1"), store.Options{})
	if err != nil {
		panic(err)
	}
	const key = "points/algorithm=direct/n=16/part-000001.parquet"
	fmt.Println("first put:", results.Put(ctx, key, []byte("chunk 1")))
	fmt.Println("retried put:", results.Put(ctx, key, []byte("chunk 1")))

	err = results.Put(ctx, key, []byte("something else"))
	var conflict *store.ConflictError
	fmt.Println("conflicting put refused:", errors.As(err, &conflict), conflict.Key)

	_ = results.Put(ctx, "points/algorithm=direct/n=4/part-000001.parquet", []byte("chunk 2"))
	for object, err := range results.List(ctx, "points/") {
		if err != nil {
			panic(err)
		}
		fmt.Println(object.Key, object.Size)
	}

	err = results.Put(ctx, "../outside", nil)
	var keyErr *store.KeyError
	fmt.Println("bad key refused:", errors.As(err, &keyErr))
	// Output:
	// first put: <nil>
	// retried put: <nil>
	// conflicting put refused: true points/algorithm=direct/n=16/part-000001.parquet
	// points/algorithm=direct/n=16/part-000001.parquet 7
	// points/algorithm=direct/n=4/part-000001.parquet 7
	// bad key refused: true
}
