package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// folderStore keeps each object as a file under root, at the key's path.
type folderStore struct {
	root     string // cleaned folder path
	location string // as the user wrote it
}

// openFolder opens (creating if missing) the folder store at location.
func openFolder(location string) (*folderStore, error) {
	root := filepath.Clean(location)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("store: cannot create the folder %q: %w", location, err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("store: cannot open the folder %q: %w", location, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("store: location %q is a file, not a folder; give a folder path or an s3://bucket/prefix URL", location)
	}
	return &folderStore{root: root, location: location}, nil
}

func (s *folderStore) Location() string { return s.location }

// path returns the file path of a validated key.
func (s *folderStore) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// Put writes body to a fsynced temporary file beside the key's file and
// hard-links it to the key's name. The link fails when the key exists, which
// makes the write create-only without a window in which a reader could see a
// partial file.
func (s *folderStore) Put(ctx context.Context, key string, body []byte) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	final := s.path(key)
	dir := filepath.Dir(final)
	if err := s.makeDirs(dir, key); err != nil {
		return err
	}
	tmpName, err := writeTemp(dir, body)
	if err != nil {
		return s.fail("put", key, err)
	}
	linkErr := os.Link(tmpName, final)
	removeErr := os.Remove(tmpName)
	switch {
	case linkErr == nil:
	case errors.Is(linkErr, fs.ErrExist):
		return s.compareExisting(key, final, body)
	case errors.Is(linkErr, syscall.EPERM), errors.Is(linkErr, syscall.EOPNOTSUPP), errors.Is(linkErr, syscall.EXDEV):
		return &PermanentError{
			Reason: fmt.Sprintf("store: put %s in %s: %v; the folder's file system must support hard links (use a local or NFS folder, or S3)", key, s.location, linkErr),
			Err:    linkErr,
		}
	default:
		return s.fail("put", key, linkErr)
	}
	if removeErr != nil {
		return s.fail("put", key, fmt.Errorf("removing the temporary file: %w", removeErr))
	}
	if err := syncDir(dir); err != nil {
		return s.fail("put", key, err)
	}
	return nil
}

// FileSystemFix says what is wrong and what to do, in words a user acts
// on, for a file system error that retrying cannot cure: a read-only or
// full file system, an exceeded quota, a permission, a file or folder in
// the way, a path too long. It is "" for any other error. Whatever writes
// files of the output (the folder store, the report) classifies its
// failures by it.
func FileSystemFix(err error) string {
	switch {
	case errors.Is(err, syscall.EROFS):
		return "the file system is read-only; give an output on a writable file system"
	case errors.Is(err, syscall.ENOSPC):
		return "no space left on the device; free space (or choose another output) and run again: what is stored is kept"
	case errors.Is(err, syscall.EDQUOT):
		return "the disk quota is exceeded; free space (or choose another output) and run again: what is stored is kept"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return "permission denied; make the output folder writable by this user, or choose another output"
	case errors.Is(err, syscall.ENOTDIR):
		return "a file is in the way of a folder of the output; move it away"
	case errors.Is(err, syscall.EISDIR):
		return "a folder is in the way of an object of the output; move it away"
	case errors.Is(err, syscall.ENAMETOOLONG):
		return "the path is too long for the file system; choose a shorter output path"
	}
	return ""
}

// fail describes the failure err of operation op on key; failures that
// retrying cannot cure (a read-only or full file system, a permission, a
// file in the way) are a *PermanentError naming the fix.
func (s *folderStore) fail(op, key string, err error) error {
	fix := FileSystemFix(err)
	if errors.Is(err, syscall.ENOTDIR) && key != "" {
		if file := s.fileAbove(s.path(key)); file != "" {
			fix = fmt.Sprintf("%q is a file in the way of a folder of the output; move it away", s.rel(file))
		}
	}
	subject := ""
	if key != "" {
		subject = " " + key
	}
	if fix != "" {
		return &PermanentError{Reason: fmt.Sprintf("store: %s%s in %s: %s (%v)", op, subject, s.location, fix, err), Err: err}
	}
	return fmt.Errorf("store: %s%s in %s: %w", op, subject, s.location, err)
}

// compareExisting decides a Put that found key already stored: the same
// bytes are a success, different bytes a *ConflictError.
func (s *folderStore) compareExisting(key, final string, body []byte) error {
	stored, err := os.ReadFile(final)
	if err != nil {
		if errors.Is(err, syscall.EISDIR) {
			return &PermanentError{Reason: fmt.Sprintf("store: put %s in %s: the key is a folder of other objects, a folder store cannot also hold an object there; move the folder away", key, s.location), Err: err}
		}
		return s.fail("put", key, fmt.Errorf("reading the existing object: %w", err))
	}
	if !bytes.Equal(stored, body) {
		return &ConflictError{Key: key}
	}
	return nil
}

// writeTemp writes body to a new temporary file in dir, fsyncs and closes
// it, and returns its name. The file, which becomes the object, gets the
// mode of any new file, 0666 less the umask (os.CreateTemp's 0600 would
// hide results from the group and others).
func writeTemp(dir string, body []byte) (name string, err error) {
	f, err := createTemp(dir, reservedPrefix+"tmp-")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(body); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// createTemp creates a new file in dir, named prefix and a random suffix,
// with mode 0666 less the umask.
func createTemp(dir, prefix string) (*os.File, error) {
	for range 100 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("no unused temporary file name in %s", dir)
}

// makeDirs creates dir and its missing parents below the root, fsyncing each
// parent that gained an entry, so a crash cannot lose the path to an object
// whose Put returned.
func (s *folderStore) makeDirs(dir, key string) error {
	info, err := os.Stat(dir)
	if err == nil {
		if !info.IsDir() {
			return s.fileInTheWay(dir, key)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) || dir == s.root {
		if errors.Is(err, syscall.ENOTDIR) {
			// Not dir but a folder above it is a file: name that one.
			return s.fileInTheWay(cmp.Or(s.fileAbove(dir), dir), key)
		}
		return s.fail("put", key, err)
	}
	parent := filepath.Dir(dir)
	if err := s.makeDirs(parent, key); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) { // made by a concurrent Put
			return s.makeDirs(dir, key)
		}
		return s.fail("put", key, err)
	}
	if err := syncDir(parent); err != nil {
		return s.fail("put", key, err)
	}
	return nil
}

// fileInTheWay reports a Put whose key needs a folder where an object is:
// the file at path.
func (s *folderStore) fileInTheWay(path, key string) error {
	return &PermanentError{
		Reason: fmt.Sprintf("store: put %s in %s: %q is a file, and a folder store cannot also hold objects under it; move it away", key, s.location, s.rel(path)),
		Err:    syscall.ENOTDIR,
	}
}

// fileAbove returns the file that is in the way of path's folders (the
// reason of an ENOTDIR at path): the nearest folder above path, up to the
// root, that exists and is not a folder; "" when there is none (any more).
func (s *folderStore) fileAbove(path string) string {
	for p := filepath.Dir(path); ; p = filepath.Dir(p) {
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p
		}
		if p == s.root || p == filepath.Dir(p) {
			return ""
		}
	}
}

// rel is path relative to the root, with slashes as in keys.
func (s *folderStore) rel(path string) string {
	rel, err := filepath.Rel(s.root, path)
	if err != nil {
		rel = path
	}
	return filepath.ToSlash(rel)
}

// syncDir fsyncs a directory so the entries made in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync of folder %s: %w", dir, err)
	}
	return nil
}

// isNotFound reports whether a file system error means that a key is absent.
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)
}

func (s *folderStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := validateKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	body, err := os.ReadFile(s.path(key))
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("store: get %s from %s: %w", key, s.location, ErrNotFound)
		}
		return nil, s.fail("get", key, err)
	}
	return body, nil
}

func (s *folderStore) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}
	info, err := os.Stat(s.path(key))
	if err == nil && !info.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		if isNotFound(err) {
			return ObjectInfo{}, fmt.Errorf("store: stat %s in %s: %w", key, s.location, ErrNotFound)
		}
		return ObjectInfo{}, fmt.Errorf("store: stat %s in %s: %w", key, s.location, err)
	}
	return ObjectInfo{Key: key, Size: info.Size(), Modified: info.ModTime()}, nil
}

// Delete removes the file of key and fsyncs its folder.
func (s *folderStore) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	final := s.path(key)
	if err := os.Remove(final); err != nil {
		if isNotFound(err) {
			return nil
		}
		return s.fail("delete", key, err)
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return s.fail("delete", key, err)
	}
	return nil
}

// List walks only the folder that holds prefix's last element, reading each
// folder once and ordering its entries so that keys come out in lexical
// order: a sub-folder "a" sorts as "a/", so "a-b" comes before "a/c".
func (s *folderStore) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		if err := validatePrefix(prefix); err != nil {
			yield(ObjectInfo{}, err)
			return
		}
		dirKey, namePrefix := "", prefix
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			dirKey, namePrefix = prefix[:i+1], prefix[i+1:]
		}
		s.walk(ctx, dirKey, namePrefix, yield)
	}
}

// folderEntry is one directory entry with the name it sorts by.
type folderEntry struct {
	entry    fs.DirEntry
	sortName string
}

// walk yields the objects in the folder of dirKey (a key prefix ending in
// "/", or "") whose names start with namePrefix, recursing into sub-folders.
// It returns false when the listing must stop.
func (s *folderStore) walk(ctx context.Context, dirKey, namePrefix string, yield func(ObjectInfo, error) bool) bool {
	dir := s.path(dirKey)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if isNotFound(err) {
			// A missing folder holds no keys (or was removed during the
			// listing).
			return true
		}
		yield(ObjectInfo{}, s.fail("list", dirKey, err))
		return false
	}
	sorted := make([]folderEntry, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, namePrefix) || strings.HasPrefix(name, reservedPrefix) {
			continue
		}
		sortName := name
		if e.IsDir() {
			sortName += "/"
		}
		sorted = append(sorted, folderEntry{entry: e, sortName: sortName})
	}
	slices.SortFunc(sorted, func(a, b folderEntry) int { return cmp.Compare(a.sortName, b.sortName) })
	for _, fe := range sorted {
		if err := ctx.Err(); err != nil {
			yield(ObjectInfo{}, err)
			return false
		}
		key := dirKey + fe.entry.Name()
		if fe.entry.IsDir() {
			if !s.walk(ctx, key+"/", "", yield) {
				return false
			}
			continue
		}
		if !fe.entry.Type().IsRegular() {
			continue
		}
		info, err := fe.entry.Info()
		if err != nil {
			if isNotFound(err) {
				continue
			}
			yield(ObjectInfo{}, fmt.Errorf("store: list %s: %w", s.location, err))
			return false
		}
		if !yield(ObjectInfo{Key: key, Size: info.Size(), Modified: info.ModTime()}, nil) {
			return false
		}
	}
	return true
}

// removeEmptyFolder removes the folder of prefix when it is empty; never
// the root.
func (s *folderStore) removeEmptyFolder(ctx context.Context, prefix string) error {
	prefix = strings.TrimSuffix(prefix, "/")
	if err := validateKey(prefix); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := s.path(prefix)
	if info, err := os.Lstat(dir); err != nil || !info.IsDir() {
		return nil // gone, or not a folder: nothing to remove
	}
	if err := os.Remove(dir); err != nil {
		if isNotFound(err) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, fs.ErrExist) {
			return nil
		}
		return s.fail("delete", prefix, err)
	}
	return syncDir(filepath.Dir(dir))
}

// folderExists reports whether the folder of prefix is there.
func (s *folderStore) folderExists(prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if validateKey(prefix) != nil {
		return false
	}
	info, err := os.Lstat(s.path(prefix))
	return err == nil && info.IsDir()
}
