package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/isweep/isweep/internal/s3test"
	"github.com/isweep/isweep/internal/store"
)

// backend opens a fresh, empty Store of one kind for a test.
type backend struct {
	name string
	open func(t testing.TB) store.Store
}

// backends are the kinds of Store whose behaviour must be the same: a
// folder, S3 with If-None-Match (as probed), and S3 with the stat-then-put
// fallback forced.
var backends = []backend{
	{name: "folder", open: openFolder},
	{name: "s3", open: func(t testing.TB) store.Store { return openS3(t, store.Options{}) }},
	{name: "s3-stat-then-put", open: func(t testing.TB) store.Store {
		return openS3(t, store.Options{CreateOnly: store.CreateOnlyStatThenPut})
	}},
}

func openFolder(t testing.TB) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "results"), store.Options{})
	if err != nil {
		t.Fatalf("Open folder: %v", err)
	}
	return s
}

// useServer points the AWS environment variables at srv for the rest of
// the test, clearing any that could take precedence.
func useServer(t testing.TB, srv *s3test.Server) {
	t.Helper()
	for _, name := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY"} {
		t.Setenv(name, "")
	}
	for _, kv := range srv.Env() {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
}

// openS3 starts a versitygw server and opens a store at a prefix of its
// bucket, configured from the environment as a user would.
func openS3(t testing.TB, opts store.Options) store.Store {
	t.Helper()
	srv := s3test.Start(t)
	useServer(t, srv)
	s, err := store.Open(context.Background(), srv.Location("sweeps/run1"), opts)
	if err != nil {
		t.Fatalf("Open %s: %v", srv.Location("sweeps/run1"), err)
	}
	return s
}

// randomBytes returns n bytes from a fixed seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// listKeys collects the keys List yields, failing t on an error.
func listKeys(t testing.TB, s store.Store, prefix string) []string {
	t.Helper()
	var keys []string
	for info, err := range s.List(context.Background(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}

func TestPutGetStat(t *testing.T) {
	objects := []struct {
		key  string
		body []byte
	}{
		{"empty", nil},
		{"points/algorithm=direct/n=4/part-000001.parquet", []byte("PAR1 small part PAR1")},
		{"points/algorithm=whitening/n=16/part-000002.parquet", randomBytes(1, 1<<20)},
		{"summary/a b/é..x", []byte("unusual but valid key")},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			for _, o := range objects {
				if err := s.Put(ctx, o.key, o.body); err != nil {
					t.Fatalf("Put(%q): %v", o.key, err)
				}
			}
			for _, o := range objects {
				got, err := s.Get(ctx, o.key)
				if err != nil {
					t.Fatalf("Get(%q): %v", o.key, err)
				}
				if !bytes.Equal(got, o.body) {
					t.Errorf("Get(%q): got: %d bytes want: the %d bytes put", o.key, len(got), len(o.body))
				}
				info, err := s.Stat(ctx, o.key)
				if err != nil {
					t.Fatalf("Stat(%q): %v", o.key, err)
				}
				if info.Key != o.key || info.Size != int64(len(o.body)) || info.Modified.IsZero() {
					t.Errorf("Stat(%q): got: %+v want: key %q, size %d, a modification time", o.key, info, o.key, len(o.body))
				}
			}
			for _, missing := range []string{"absent", "points/algorithm=direct", "points/algorithm=direct/n=4/part-000001.parquet/x"} {
				if _, err := s.Get(ctx, missing); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Get(%q): got: %v want: an error wrapping ErrNotFound", missing, err)
				}
				if _, err := s.Stat(ctx, missing); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Stat(%q): got: %v want: an error wrapping ErrNotFound", missing, err)
				}
			}
		})
	}
}

func TestListOrderAndPrefix(t *testing.T) {
	// "a-b" < "a/…" < "a0" in byte order ('-' < '/' < '0'), which a walk
	// of folders in name order would get wrong; "n=1" is a prefix of "n=16".
	keys := []string{"a0", "a/c", "b", "a-b", "a/b/d", "points/n=2/z", "points/n=16/y", "points/n=1/x"}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a-b", "a/b/d", "a/c", "a0", "b", "points/n=1/x", "points/n=16/y", "points/n=2/z"}},
		{"a", []string{"a-b", "a/b/d", "a/c", "a0"}},
		{"a/", []string{"a/b/d", "a/c"}},
		{"a/b", []string{"a/b/d"}},
		{"points/n=1", []string{"points/n=1/x", "points/n=16/y"}},
		{"points/n=1/", []string{"points/n=1/x"}},
		{"points/n=16/y", []string{"points/n=16/y"}},
		{"zzz", nil},
		{"zzz/", nil},
		{"b/", nil},
	}
	for _, b := range backends[:2] {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			for i, key := range keys {
				if err := s.Put(ctx, key, bytes.Repeat([]byte{'x'}, i)); err != nil {
					t.Fatalf("Put(%q): %v", key, err)
				}
			}
			for _, c := range cases {
				if got := listKeys(t, s, c.prefix); !slices.Equal(got, c.want) {
					t.Errorf("List(%q): got: %q want: %q", c.prefix, got, c.want)
				}
			}
			for info, err := range s.List(ctx, "") {
				if err != nil {
					t.Fatal(err)
				}
				if want := int64(slices.Index(keys, info.Key)); info.Size != want {
					t.Errorf("List: %q has size %d want: %d", info.Key, info.Size, want)
				}
			}
		})
	}
}

// TestListManyKeys lists 2,500 keys, which S3 returns in three pages of at
// most 1,000, and stops a listing early.
func TestListManyKeys(t *testing.T) {
	const n = 2500
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("points/n=%d/part-%06d.parquet", 4<<(i%3), i))
	}
	slices.Sort(want)
	for _, b := range backends[:2] {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			putAll(t, s, want, 8)
			if got := listKeys(t, s, "points/"); !slices.Equal(got, want) {
				t.Errorf("List(points/): got: %d keys, first %q want: %d keys in order, first %q", len(got), got[:min(3, len(got))], len(want), want[:3])
			}
			var got []string
			for info, err := range s.List(ctx, "") {
				if err != nil {
					t.Fatal(err)
				}
				if got = append(got, info.Key); len(got) == 1500 {
					break
				}
			}
			if !slices.Equal(got, want[:1500]) {
				t.Errorf("List stopped after 1500: got: %d keys want: the first 1500", len(got))
			}
		})
	}
}

// putAll puts an object at each key, its body the key, with a few workers.
func putAll(t testing.TB, s store.Store, keys []string, workers int) {
	t.Helper()
	ctx := context.Background()
	next := make(chan string)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range workers {
		wg.Go(func() {
			for key := range next {
				if err := s.Put(ctx, key, []byte(key)); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("Put(%q): %w", key, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, key := range keys {
		next <- key
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

func TestPutIsCreateOnly(t *testing.T) {
	const key = "points/algorithm=direct/n=4/part-000001.parquet"
	first, other := []byte("first result"), []byte("a different result")
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			if err := s.Put(ctx, key, first); err != nil {
				t.Fatalf("first Put: %v", err)
			}
			if err := s.Put(ctx, key, first); err != nil {
				t.Errorf("Put of the same bytes again: got: %v want: nil", err)
			}
			err := s.Put(ctx, key, other)
			var conflict *store.ConflictError
			if !errors.As(err, &conflict) || conflict.Key != key {
				t.Fatalf("Put of different bytes: got: %v want: a *ConflictError for %q", err, key)
			}
			if !strings.Contains(err.Error(), key) {
				t.Errorf("conflict message: got: %q want: it names %q", err, key)
			}
			for _, prefix := range []string{"", "points/"} {
				if got := listKeys(t, s, prefix); !slices.Equal(got, []string{key}) {
					t.Errorf("List(%q) after the puts: got: %q want: only %q (no temporary or probe objects)", prefix, got, key)
				}
			}
			got, err := s.Get(ctx, key)
			if err != nil || !bytes.Equal(got, first) {
				t.Errorf("Get after the refused Put: got: %q, %v want: %q, nil", got, err, first)
			}
		})
	}
}

// TestConcurrentPuts races writers on one key: with the same bytes all
// succeed; with different bytes exactly one wins and the rest get a
// *ConflictError. The stat-then-put fallback cannot promise the second
// part, so it runs only the first.
func TestConcurrentPuts(t *testing.T) {
	const writers = 8
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			race := func(key string, body func(i int) []byte) []error {
				errs := make([]error, writers)
				var wg sync.WaitGroup
				for i := range writers {
					wg.Go(func() { errs[i] = s.Put(ctx, key, body(i)) })
				}
				wg.Wait()
				return errs
			}
			for i, err := range race("same", func(int) []byte { return []byte("same bytes") }) {
				if err != nil {
					t.Errorf("writer %d of the same bytes: got: %v want: nil", i, err)
				}
			}
			if b.name == "s3-stat-then-put" {
				return
			}
			errs := race("different", func(i int) []byte { return fmt.Appendf(nil, "writer %d", i) })
			winners := 0
			for i, err := range errs {
				var conflict *store.ConflictError
				switch {
				case err == nil:
					winners++
				case !errors.As(err, &conflict):
					t.Errorf("writer %d of different bytes: got: %v want: nil or a *ConflictError", i, err)
				}
			}
			if winners != 1 {
				t.Errorf("writers of different bytes that succeeded: got: %d want: 1 (errors %v)", winners, errs)
			}
		})
	}
}

func TestBadKeysRefused(t *testing.T) {
	badKeys := []string{
		"../x", "/abs", "a/./b", `a\b`, "", ".", "..", "a/../b", "a//b", "a/", "a\x00b", "a\nb", "a\x7fb",
		".isweep-tmp-1", "a/.isweep-probe-1", "\xff", strings.Repeat("k", 1025),
	}
	for _, b := range backends[:2] {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			for _, key := range badKeys {
				calls := map[string]error{
					"Put": s.Put(ctx, key, []byte("x")),
					"Get": func() error { _, err := s.Get(ctx, key); return err }(),
					"Stat": func() error {
						_, err := s.Stat(ctx, key)
						return err
					}(),
				}
				for call, err := range calls {
					var keyErr *store.KeyError
					if !errors.As(err, &keyErr) || keyErr.Key != key {
						t.Errorf("%s(%q): got: %v want: a *KeyError naming the key", call, key, err)
						continue
					}
					if !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
						t.Errorf("%s(%q): got message %q want: it quotes the key", call, key, err)
					}
				}
			}
			if got := listKeys(t, s, ""); len(got) != 0 {
				t.Errorf("List after refused puts: got: %q want: no keys", got)
			}
			for _, prefix := range []string{"../", "/abs", "a/./", `a\`, "a//"} {
				for _, err := range s.List(ctx, prefix) {
					var keyErr *store.KeyError
					if !errors.As(err, &keyErr) {
						t.Errorf("List(%q): got: %v want: a *KeyError", prefix, err)
					}
				}
			}
		})
	}
}

func TestFolderPutLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, body := range []string{"a", "a", "b"} { // a write, a repeat, a conflict
		err := s.Put(ctx, "x/y/z", []byte(body))
		if (err != nil) != (i == 2) {
			t.Fatalf("Put %d: got: %v", i, err)
		}
	}
	var files []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return err
	})
	if want := []string{filepath.Join("x", "y", "z")}; !slices.Equal(files, want) {
		t.Errorf("files in the folder: got: %q want: %q", files, want)
	}
}

// TestFolderObjectAndFolderOfSameName checks that a folder store refuses,
// with an error rather than a panic or a lost object, a key that needs a
// folder where an object is, and the reverse.
func TestFolderObjectAndFolderOfSameName(t *testing.T) {
	s := openFolder(t)
	ctx := context.Background()
	if err := s.Put(ctx, "a", []byte("object a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a/b", []byte("x")); err == nil || !strings.Contains(err.Error(), `"a" is a file`) || !store.IsPermanent(err) {
		t.Errorf(`Put("a/b") under the object "a": got: %v want: a permanent error saying "a" is a file`, err)
	}
	if err := s.Put(ctx, "c/d", []byte("x")); err != nil {
		t.Fatal(err)
	}
	var conflict *store.ConflictError
	if err := s.Put(ctx, "c", []byte("x")); err == nil || errors.As(err, &conflict) {
		t.Errorf(`Put("c") over the folder "c": got: %v want: an error that is not a conflict`, err)
	}
	if got, err := s.Get(ctx, "a"); err != nil || string(got) != "object a" {
		t.Errorf(`Get("a"): got: %q, %v want: "object a", nil`, got, err)
	}
}

// TestFolderFileInTheWayNamesTheFile puts an object at each folder of a
// deep key in turn: the Put that needs a folder there must name the
// object that is in the way, not the folder of the key below it (it named
// "points/algorithm=interneuron/n=4" when the file was
// "points/algorithm=interneuron").
func TestFolderFileInTheWayNamesTheFile(t *testing.T) {
	const key = "points/algorithm=interneuron/n=4/part-0.parquet"
	for _, file := range []string{"points", "points/algorithm=interneuron", "points/algorithm=interneuron/n=4"} {
		t.Run(file, func(t *testing.T) {
			s := openFolder(t)
			ctx := context.Background()
			if err := s.Put(ctx, file, []byte("junk")); err != nil {
				t.Fatal(err)
			}
			err := s.Put(ctx, key, []byte("x"))
			if want := fmt.Sprintf("%q is a file", file); err == nil || !strings.Contains(err.Error(), want) || !store.IsPermanent(err) {
				t.Errorf("Put(%q) with the object %q in the way: got: %v, want: a permanent error saying %s", key, file, err, want)
			}
		})
	}
}

func TestFolderRelativeLocation(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := store.Open(context.Background(), "results/run1", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Location(); got != "results/run1" {
		t.Errorf("Location: got: %q want: %q", got, "results/run1")
	}
	if err := s.Put(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	s2, err := store.Open(context.Background(), "./results/run1/", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Get(context.Background(), "k"); err != nil || string(got) != "v" {
		t.Errorf("Get through another spelling of the folder: got: %q, %v want: \"v\", nil", got, err)
	}
}

func TestOpenRefusesBadLocations(t *testing.T) {
	cases := []struct {
		location string
		opts     store.Options
		want     []string // substrings of the error
	}{
		{"", store.Options{}, []string{"location is empty", "s3://bucket/prefix"}},
		{"gs://bucket/x", store.Options{}, []string{`scheme "gs"`, "s3://bucket/prefix"}},
		{"s3:/bucket/x", store.Options{}, []string{`lacks "//"`, "s3://bucket/prefix"}},
		{"s3://B_/x", store.Options{}, []string{`bucket name "B_"`, "3 to 63"}},
		{"s3://bucket/../x", store.Options{}, []string{`".."`}},
		{"s3://bucket/x?versionId=1", store.Options{}, []string{"query"}},
		{"s3://bucket/x", store.Options{Endpoint: "ftp://host"}, []string{`scheme "ftp"`, "http://"}},
		{"s3://bucket/x", store.Options{Endpoint: "https://host", Insecure: true}, []string{"Insecure"}},
		{"s3://bucket/x", store.Options{Endpoint: "http://host/path"}, []string{"without a path"}},
		{"s3://bucket/x", store.Options{Endpoint: "http://127.0.0.1:1", CreateOnly: 7}, []string{"Options.CreateOnly", "CreateOnlyAuto"}},
		{"s3://bucket/x", store.Options{Endpoint: "http://127.0.0.1:1", PathStyle: 9}, []string{"Options.PathStyle", "PathStyleAuto"}},
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "id")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	for _, c := range cases {
		_, err := store.Open(context.Background(), c.location, c.opts)
		if err == nil {
			t.Errorf("Open(%q, %+v): got: nil want: an error", c.location, c.opts)
			continue
		}
		for _, want := range c.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Open(%q, %+v): got: %q want: it contains %q", c.location, c.opts, err, want)
			}
		}
	}
}

// TestOpenErrorsForUsers checks errors of Open that a command shows as
// they are: no Go field (the options are set from flags and the
// environment), and a path named once.
func TestOpenErrorsForUsers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	notPEM := filepath.Join(dir, "ca.txt")
	for _, p := range []string{file, notPEM} {
		if err := os.WriteFile(p, []byte("not a certificate"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "id")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	tests := []struct {
		name     string
		location string
		opts     store.Options
		named    string // a path the error names once
	}{
		{"folder below a file", filepath.Join(file, "results"), store.Options{}, filepath.Join(file, "results")},
		{"missing CA file", "s3://bucket/p", store.Options{Endpoint: "https://127.0.0.1:1", CAFile: filepath.Join(dir, "missing.pem"), RetryFor: -1}, filepath.Join(dir, "missing.pem")},
		{"CA file without certificates", "s3://bucket/p", store.Options{Endpoint: "https://127.0.0.1:1", CAFile: notPEM, RetryFor: -1}, notPEM},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Open(context.Background(), tc.location, tc.opts)
			if err == nil {
				t.Fatal("got: no error")
			}
			if msg := err.Error(); strings.Contains(msg, "Options.") || strings.Count(msg, tc.named) != 1 {
				t.Errorf("got: %s\nwant: %s named once, and no Go field (Options.…)", msg, tc.named)
			}
		})
	}
}
