//go:build !unix

package devserver

import (
	"errors"
	"fmt"
	"os"
)

// dbLock marks a database file as in use by one server. Without flock the
// lock file is created exclusively and removed on Stop, so a crashed server
// leaves it behind and it must be deleted by hand.
type dbLock struct {
	path string
}

func lockDatabase(dbPath string) (*dbLock, error) {
	path := dbPath + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, optionError("DBPath", dbPath, err, "is locked by another Temporal server (lock file %q exists): stop that server, or delete the lock file if no server is running", path)
		}
		return nil, optionError("DBPath", dbPath, err, "cannot be locked: the lock file %q cannot be created: %v", path, pathReason(err))
	}
	_, _ = fmt.Fprintf(f, "pid %d\n", os.Getpid())
	_ = f.Close()
	return &dbLock{path: path}, nil
}

func (l *dbLock) release() error {
	if l == nil || l.path == "" {
		return nil
	}
	err := os.Remove(l.path)
	l.path = ""
	return err
}
