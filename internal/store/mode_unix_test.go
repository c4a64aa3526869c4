//go:build unix

package store_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/isweep/isweep/internal/store"
)

// TestFolderFileMode checks that a folder store's files and folders get
// the modes of files any program creates: 0666 and 0777 less the umask,
// so that results are readable by the group and others under the usual
// umask 022.
func TestFolderFileMode(t *testing.T) {
	for _, tc := range []struct {
		umask        int
		file, folder os.FileMode
	}{
		{0o022, 0o644, 0o755},
		{0o027, 0o640, 0o750},
		{0o077, 0o600, 0o700},
	} {
		old := syscall.Umask(tc.umask)
		dir := filepath.Join(t.TempDir(), "results")
		s, err := store.Open(context.Background(), dir, store.Options{})
		if err == nil {
			err = s.Put(context.Background(), "sweeps/a/manifest.json", []byte("{}"))
		}
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			path string
			want os.FileMode
		}{
			{filepath.Join(dir, "sweeps", "a", "manifest.json"), tc.file},
			{filepath.Join(dir, "sweeps", "a"), tc.folder | os.ModeDir},
			{dir, tc.folder | os.ModeDir},
		} {
			st, err := os.Stat(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode(); got != c.want {
				t.Errorf("umask %03o: %s: got: %v want: %v", tc.umask, c.path, got, c.want)
			}
		}
	}
}
