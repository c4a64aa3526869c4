package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// listPageSize is how many keys one ListObjectsV2 request asks for, the
// most S3 returns.
const listPageSize = 1000

// s3Store keeps each object in an S3 bucket, at the location's prefix
// followed by the key.
type s3Store struct {
	client      *minio.Client
	bucket      string
	base        string // object name prefix: "" or "prefix/"
	location    s3Location
	endpoint    s3Endpoint
	credsSource string // where the credentials came from, for messages
	retryFor    time.Duration

	mu         sync.Mutex       // guards createOnly while it is probed
	createOnly CreateOnlyMethod // CreateOnlyAuto until probed
}

func (s *s3Store) Location() string { return s.location.String() }

// objectName returns the S3 object name of a key (or of a list prefix).
func (s *s3Store) objectName(key string) string { return s.base + key }

// retry runs attempt with the store's retry budget.
func (s *s3Store) retry(ctx context.Context, attempt func(context.Context) error) error {
	return retry(ctx, s.retryFor, attempt)
}

// check lists at most one key under the prefix, so that Open fails on an
// unreachable server, a missing bucket or refused credentials.
func (s *s3Store) check(ctx context.Context) error {
	err := s.retry(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for object := range s.client.ListObjectsIter(ctx, s.bucket, s.listOptions(s.base, "", 1)) {
			return object.Err
		}
		return nil
	})
	if err != nil {
		return s.fail("open", "", err)
	}
	return nil
}

func (s *s3Store) listOptions(prefix, startAfter string, pageSize int) minio.ListObjectsOptions {
	fetchOwner := false
	return minio.ListObjectsOptions{
		Prefix:     prefix,
		StartAfter: startAfter,
		Recursive:  true,
		MaxKeys:    pageSize,
		FetchOwner: &fetchOwner,
	}
}

// Put writes body at key, create-only. With CreateOnlyIfNoneMatch the
// server refuses (412) to replace an existing object and Put then compares
// the stored bytes; with CreateOnlyStatThenPut Put looks first. A retried
// write whose first attempt reached the server finds its own bytes and
// succeeds. The body travels with its Content-MD5, so the server rejects a
// corrupted upload.
func (s *s3Store) Put(ctx context.Context, key string, body []byte) error {
	if err := validateKey(key); err != nil {
		return err
	}
	method, err := s.createOnlyMethod(ctx)
	if err != nil {
		return s.fail("put", key, err)
	}
	if method == CreateOnlyStatThenPut {
		_, err := s.Stat(ctx, key)
		switch {
		case err == nil:
			return s.compareExisting(ctx, key, body)
		case !errors.Is(err, ErrNotFound):
			return err
		}
	}
	err = s.putObject(ctx, s.objectName(key), body, method == CreateOnlyIfNoneMatch)
	switch {
	case err == nil:
		return nil
	case isPreconditionFailed(err):
		return s.compareExisting(ctx, key, body)
	}
	return s.fail("put", key, err)
}

// putObject uploads body in one PutObject request, retried within the
// budget, with "If-None-Match: *" when ifNoneMatch is set.
func (s *s3Store) putObject(ctx context.Context, name string, body []byte, ifNoneMatch bool) error {
	opts := minio.PutObjectOptions{
		ContentType:      "application/octet-stream",
		SendContentMd5:   true,
		DisableMultipart: true,
	}
	if ifNoneMatch {
		opts.SetMatchETagExcept("*")
	}
	return s.retry(ctx, func(ctx context.Context) error {
		_, err := s.client.PutObject(ctx, s.bucket, name, bytes.NewReader(body), int64(len(body)), opts)
		return err
	})
}

// compareExisting decides a Put that found key already stored.
func (s *s3Store) compareExisting(ctx context.Context, key string, body []byte) error {
	stored, err := s.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("store: put %s in %s: the key exists, but reading it back failed: %w", key, s.location, err)
	}
	if !bytes.Equal(stored, body) {
		return &ConflictError{Key: key}
	}
	return nil
}

// createOnlyMethod returns the store's create-only method, probing the
// server the first time when it is CreateOnlyAuto.
func (s *s3Store) createOnlyMethod(ctx context.Context) (CreateOnlyMethod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.createOnly != CreateOnlyAuto {
		return s.createOnly, nil
	}
	method, err := s.probeIfNoneMatch(ctx)
	if err != nil {
		return CreateOnlyAuto, err
	}
	s.createOnly = method
	return method, nil
}

// probeIfNoneMatch writes a probe object twice with "If-None-Match: *" and
// tells from the server's answer to the second write whether it honours
// the header. It removes the probe object, ignoring a failure to do so
// (List never shows it).
func (s *s3Store) probeIfNoneMatch(ctx context.Context) (CreateOnlyMethod, error) {
	var random [8]byte
	rand.Read(random[:])
	name := s.objectName(reservedPrefix + "probe-" + hex.EncodeToString(random[:]))
	body := []byte("isweep create-only probe\n")
	err := s.putObject(ctx, name, body, true)
	if isNotImplemented(err) {
		return CreateOnlyStatThenPut, nil
	}
	if err != nil {
		return CreateOnlyAuto, fmt.Errorf("probing whether the server honours If-None-Match: %w", err)
	}
	defer func() {
		_ = s.retry(ctx, func(ctx context.Context) error {
			return s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
		})
	}()
	err = s.putObject(ctx, name, body, true)
	switch {
	case isPreconditionFailed(err):
		return CreateOnlyIfNoneMatch, nil
	case err == nil, isNotImplemented(err):
		return CreateOnlyStatThenPut, nil
	}
	return CreateOnlyAuto, fmt.Errorf("probing whether the server honours If-None-Match: %w", err)
}

// isPreconditionFailed reports whether err is the server's refusal of a
// conditional write.
func isPreconditionFailed(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && (resp.StatusCode == http.StatusPreconditionFailed || resp.Code == "PreconditionFailed")
}

// isNotImplemented reports whether err says the server does not support a
// request feature.
func isNotImplemented(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && (resp.StatusCode == http.StatusNotImplemented || resp.Code == "NotImplemented")
}

// credentialsCodes are S3 error codes that refuse the credentials, whatever
// their HTTP status (versitygw answers an unknown access key with 404
// XAdminUserNotFound).
var credentialsCodes = map[string]bool{
	"AccessDenied":          true,
	"ExpiredToken":          true,
	"InvalidAccessKeyId":    true,
	"InvalidClientTokenId":  true,
	"InvalidToken":          true,
	"SignatureDoesNotMatch": true,
	"XAdminUserNotFound":    true,
}

// isCredentialsRefused reports whether resp refuses the credentials.
func isCredentialsRefused(resp minio.ErrorResponse) bool {
	return credentialsCodes[resp.Code] || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
}

// isNoSuchKey reports whether err says that an object does not exist.
func isNoSuchKey(err error) bool {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return false
	}
	return resp.Code == "NoSuchKey"
}

func (s *s3Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := validateKey(key); err != nil {
		return nil, err
	}
	core := minio.Core{Client: s.client}
	var body []byte
	err := s.retry(ctx, func(ctx context.Context) error {
		reader, info, _, err := core.GetObject(ctx, s.bucket, s.objectName(key), minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer reader.Close()
		var buf bytes.Buffer
		if info.Size > 0 {
			buf.Grow(int(info.Size) + bytes.MinRead)
		}
		if _, err := buf.ReadFrom(reader); err != nil {
			return err
		}
		if info.Size >= 0 && int64(buf.Len()) != info.Size {
			return fmt.Errorf("read %d of %d bytes: %w", buf.Len(), info.Size, io.ErrUnexpectedEOF)
		}
		body = buf.Bytes()
		return nil
	})
	if err != nil {
		if isNoSuchKey(err) {
			return nil, fmt.Errorf("store: get %s from %s: %w", key, s.location, ErrNotFound)
		}
		return nil, s.fail("get", key, err)
	}
	return body, nil
}

func (s *s3Store) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return ObjectInfo{}, err
	}
	var info minio.ObjectInfo
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		info, err = s.client.StatObject(ctx, s.bucket, s.objectName(key), minio.StatObjectOptions{})
		return err
	})
	if err != nil {
		if isNoSuchKey(err) {
			return ObjectInfo{}, fmt.Errorf("store: stat %s in %s: %w", key, s.location, ErrNotFound)
		}
		return ObjectInfo{}, s.fail("stat", key, err)
	}
	return ObjectInfo{Key: key, Size: info.Size, Modified: info.LastModified}, nil
}

// List pages through ListObjectsV2, 1000 keys a request. A failed request
// is retried from the last key yielded; the retry budget starts afresh
// whenever the listing makes progress.
func (s *s3Store) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		if err := validatePrefix(prefix); err != nil {
			yield(ObjectInfo{}, err)
			return
		}
		b := newBackoff(s.retryFor)
		startAfter := ""
		for {
			stopped := false
			err := func() error {
				listCtx, cancel := context.WithCancel(ctx)
				defer cancel()
				for object := range s.client.ListObjectsIter(listCtx, s.bucket, s.listOptions(s.objectName(prefix), startAfter, listPageSize)) {
					if object.Err != nil {
						return object.Err
					}
					startAfter = object.Key
					b.reset()
					key := strings.TrimPrefix(object.Key, s.base)
					if key == "" || strings.HasSuffix(key, "/") || isReservedName(key) {
						continue // a folder marker or the store's own probe
					}
					if !yield(ObjectInfo{Key: key, Size: object.Size, Modified: object.LastModified}, nil) {
						stopped = true
						return nil
					}
				}
				return ctx.Err()
			}()
			if err == nil || stopped {
				return
			}
			if err := b.wait(ctx, err); err != nil {
				yield(ObjectInfo{}, s.fail("list", prefix, err))
				return
			}
		}
	}
}

// CredentialsError reports an S3 server refusing the credentials (HTTP 401
// or 403): unknown or wrong keys, an expired session token, or a policy that
// denies the bucket. It is never retried.
type CredentialsError struct {
	// Endpoint is the server's URL, "https://s3.amazonaws.com".
	Endpoint string
	// Location is the store's location, "s3://bucket/prefix".
	Location string
	// Source says where the credentials came from.
	Source string
	// Code is the server's error code, "SignatureDoesNotMatch".
	Code string
	// Err is the server's answer.
	Err error
}

func (e *CredentialsError) Error() string {
	return fmt.Sprintf("store: the S3 server %s refused the credentials for %s (%s: %v); they came from %s; check them: %s, and make sure they may list, read and write the bucket",
		e.Endpoint, e.Location, e.Code, e.Err, e.Source, credentialsHelp)
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// Delete removes the object at key (S3 answers a missing key with success).
func (s *s3Store) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.client.RemoveObject(ctx, s.bucket, s.objectName(key), minio.RemoveObjectOptions{})
	})
	if err != nil && !isNoSuchKey(err) {
		return s.fail("delete", key, err)
	}
	return nil
}

// fail describes the failure of an operation on key ("" for the whole
// store).
func (s *s3Store) fail(op, key string, err error) error {
	subject := ""
	if key != "" {
		subject = " " + key
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case isCredentialsRefused(resp):
			code := resp.Code
			if code == "" {
				code = http.StatusText(resp.StatusCode)
			}
			return &CredentialsError{Endpoint: s.endpoint.String(), Location: s.location.String(), Source: s.credsSource, Code: code, Err: err}
		case resp.Code == "NoSuchBucket":
			return &PermanentError{Reason: fmt.Sprintf("store: %s %s: the bucket %q does not exist on %s; create it or fix the location", op, s.location, s.bucket, s.endpoint), Err: err}
		case resp.Code == "QuotaExceeded", resp.Code == "XMinioStorageFull", resp.Code == "EntityTooLarge",
			resp.StatusCode == http.StatusInsufficientStorage:
			return &PermanentError{Reason: fmt.Sprintf("store: %s%s in %s at %s: the server is out of space or quota (HTTP %d %s); free space and run again: what is stored is kept", op, subject, s.location, s.endpoint, resp.StatusCode, resp.Code), Err: err}
		case resp.StatusCode >= 400 && resp.StatusCode < 500 && !isTransient(context.Background(), err):
			return &PermanentError{Reason: fmt.Sprintf("store: %s%s in %s at %s: the server refused the request (HTTP %d %s: %s)", op, subject, s.location, s.endpoint, resp.StatusCode, resp.Code, resp.Message), Err: err}
		}
		return fmt.Errorf("store: %s%s in %s at %s: HTTP %d %s: %w", op, subject, s.location, s.endpoint, resp.StatusCode, resp.Code, err)
	}
	return fmt.Errorf("store: %s%s in %s at %s: %w", op, subject, s.location, s.endpoint, err)
}
