package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/isweep/isweep/internal/store"
)

// BenchmarkPut measures create-only writes of fresh keys: on a folder (temp
// file, fsync, link, fsync of the folder) and on a local versitygw (one
// PutObject with Content-MD5 and If-None-Match over loopback HTTP).
func BenchmarkPut(b *testing.B) {
	sizes := []struct {
		name  string
		bytes int
	}{
		{"4KiB", 4 << 10},
		{"1MiB", 1 << 20},
		{"16MiB", 16 << 20},
	}
	kinds := []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"folder", openFolder},
		{"s3", func(tb testing.TB) store.Store { return openS3(tb, store.Options{}) }},
	}
	for _, kind := range kinds {
		b.Run(kind.name, func(b *testing.B) {
			s := kind.open(b)
			ctx := context.Background()
			for _, size := range sizes {
				body := randomBytes(uint64(size.bytes), size.bytes)
				next := 0 // keys stay fresh however often the function runs
				b.Run("size="+size.name, func(b *testing.B) {
					b.SetBytes(int64(size.bytes))
					for b.Loop() {
						key := fmt.Sprintf("points/size=%s/part-%09d.parquet", size.name, next)
						next++
						if err := s.Put(ctx, key, body); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkList measures listing every key of a store laid out like a
// sweep's results (ten partitions). The folder has 100,000 objects, made
// as files directly since writing them through Put (two fsyncs each) would
// take minutes; the S3 bucket has 10,000 made through Put, as 100,000
// PutObjects to versitygw take about six minutes on two cores.
func BenchmarkList(b *testing.B) {
	keys := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("points/algorithm=direct/n=%d/part-%06d.parquet", 1+i%10, i)
		}
		return out
	}
	b.Run("folder/objects=100000", func(b *testing.B) {
		root := filepath.Join(b.TempDir(), "results")
		for _, key := range keys(100_000) {
			path := filepath.Join(root, filepath.FromSlash(key))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(key), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		s, err := store.Open(context.Background(), root, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchmarkList(b, s, 100_000)
	})
	b.Run("s3/objects=10000", func(b *testing.B) {
		s := openS3(b, store.Options{})
		putAll(b, s, keys(10_000), 8)
		benchmarkList(b, s, 10_000)
	})
}

func benchmarkList(b *testing.B, s store.Store, want int) {
	ctx := context.Background()
	for b.Loop() {
		n := 0
		for _, err := range s.List(ctx, "points/") {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != want {
			b.Fatalf("List: got: %d objects want: %d", n, want)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*want), "ns/object")
}
