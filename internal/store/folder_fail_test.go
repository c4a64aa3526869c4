package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFailNamesTheFileInTheWay checks the message of a folder store
// operation that the file system refused with ENOTDIR (a Put racing
// with a file made where its folder goes): it names the file in the way,
// not only the key.
func TestFailNamesTheFileInTheWay(t *testing.T) {
	const key = "points/algorithm=interneuron/n=4/part-0.parquet"
	for _, file := range []string{"points", "points/algorithm=interneuron", "points/algorithm=interneuron/n=4"} {
		t.Run(file, func(t *testing.T) {
			s, err := openFolder(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			path := s.path(file)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("junk"), 0o644); err != nil {
				t.Fatal(err)
			}
			err = s.fail("put", key, &os.PathError{Op: "mkdir", Path: s.path(key), Err: syscall.ENOTDIR})
			if want := fmt.Sprintf("%q is a file in the way", file); !IsPermanent(err) || !strings.Contains(err.Error(), want) {
				t.Errorf("got: %v, want: a permanent error saying %s", err, want)
			}
		})
	}
}
