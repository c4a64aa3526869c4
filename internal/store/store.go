package store

import (
	"context"
	"errors"
	"iter"
	"time"
)

// ErrNotFound is returned (wrapped) by Get and Stat when a key does not exist.
var ErrNotFound = errors.New("object not found")

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	// Key is the object's key relative to the store's root (slash-separated).
	Key string
	// Size is the object's length in bytes.
	Size int64
	// Modified is when the object was written.
	Modified time.Time
}

// Store is a flat key space of immutable objects.
//
// Keys are slash-separated relative paths ("points/algorithm=direct/n=4/part-000001.parquet");
// a key that is empty, absolute, or contains "." or ".." elements is refused.
type Store interface {
	// Put stores body at key, create-only: when key already holds the same
	// bytes Put succeeds without writing; when it holds different bytes Put
	// returns a *ConflictError naming the key.
	Put(ctx context.Context, key string, body []byte) error
	// Get returns the bytes at key, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Stat describes the object at key, or returns an error wrapping
	// ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List yields the objects whose keys start with prefix, in lexical key
	// order. It stops at the first error, which it yields with a zero
	// ObjectInfo.
	List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error]
	// Delete removes the object at key; a missing key is not an error.
	// isweep deletes only what it has first copied aside (a quarantine of
	// objects that verification rejected): results are never overwritten.
	Delete(ctx context.Context, key string) error
	// Location is the store's root as a user wrote it ("results/run1",
	// "s3://bucket/prefix"), for messages; it never contains credentials.
	Location() string
}

// ConflictError reports a create-only write refused because the key already
// holds different bytes.
type ConflictError struct {
	Key string
}

func (e *ConflictError) Error() string {
	return "store: " + e.Key + " already exists with different content; refusing to overwrite a result"
}

// PermanentError reports a storage failure that repeating the operation
// cannot cure: a read-only or full file system, a missing permission, a
// file in the way of a folder, refused credentials, a missing bucket.
// Reason says what is wrong in words a user acts on.
type PermanentError struct {
	// Reason is one line: what is wrong and what to do about it.
	Reason string
	// Err is the underlying error.
	Err error
}

func (e *PermanentError) Error() string { return e.Reason }

func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a storage failure that retrying
// cannot cure: a *PermanentError, a *ConflictError, a *CredentialsError
// or a *KeyError anywhere in its chain.
func IsPermanent(err error) bool {
	var (
		perm     *PermanentError
		conflict *ConflictError
		creds    *CredentialsError
		key      *KeyError
	)
	return errors.As(err, &perm) || errors.As(err, &conflict) || errors.As(err, &creds) || errors.As(err, &key)
}

// emptyFolderRemover is a store whose keys live in folders (the folder
// store): removeEmptyFolder removes the folder of a key prefix when it
// holds nothing, folderExists reports whether it is there.
type emptyFolderRemover interface {
	removeEmptyFolder(ctx context.Context, prefix string) error
	folderExists(prefix string) bool
}

// FolderExists reports whether the folder named by prefix is there, empty
// or not, in a store that has folders; false in one that has none (S3).
// With RemoveEmptyFolder, a caller can leave such a store as it found it.
func FolderExists(st Store, prefix string) bool {
	if r, ok := st.(emptyFolderRemover); ok {
		return r.folderExists(prefix)
	}
	return false
}

// RemoveEmptyFolder removes the folder named by prefix ("sweeps/<id>")
// when it is empty, in a store that has folders; it does nothing in one
// that has none (S3), or when the folder holds anything or is gone. It is
// for a caller that deleted what it had itself just created there, so
// that the store is left as it was.
func RemoveEmptyFolder(ctx context.Context, st Store, prefix string) error {
	if r, ok := st.(emptyFolderRemover); ok {
		return r.removeEmptyFolder(ctx, prefix)
	}
	return nil
}
