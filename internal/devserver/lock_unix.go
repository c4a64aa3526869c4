//go:build unix

package devserver

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// dbLock is an exclusive advisory lock that marks a database file as in use
// by one server. The kernel releases it when the process exits, however it
// exits, so a killed server never leaves a stale lock behind.
type dbLock struct {
	file *os.File
}

// lockDatabase takes the lock file "<dbPath>.lock" without waiting, or
// returns an error that says the database is in use.
func lockDatabase(dbPath string) (*dbLock, error) {
	path := dbPath + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, optionError("DBPath", dbPath, err, "cannot be locked: the lock file %q cannot be opened: %v", path, pathReason(err))
	}
	// flock locks belong to the open file description, so a second server in
	// the same process is refused exactly like one in another process.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, optionError("DBPath", dbPath, err, "is locked by another running Temporal server (lock file %q is held): stop that server first, or choose another database file", path)
		}
		return nil, optionError("DBPath", dbPath, err, "cannot be locked (lock file %q): %v", path, err)
	}
	// Record the holder for people who look at the file; failures are harmless.
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "pid %d\n", os.Getpid())
	return &dbLock{file: f}, nil
}

// release drops the lock. The lock file itself stays; it is reused.
func (l *dbLock) release() error {
	if l == nil || l.file == nil {
		return nil
	}
	err := syscall.Flock(int(l.file.Fd()), syscall.LOCK_UN)
	if cerr := l.file.Close(); err == nil {
		err = cerr
	}
	l.file = nil
	return err
}
