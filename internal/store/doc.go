// Package store is isweep's object storage: create-only writes at
// deterministic keys, on a local folder or on any S3-compatible server.
//
// Open picks the backend from the location:
//
//   - a folder path ("results/run1", "/data/sweeps"), created if missing;
//   - an S3 URL ("s3://bucket/prefix"), reached through minio-go with
//     credentials taken from the standard AWS environment variables or the
//     shared credentials file, never from the location.
//
// Every write is create-only. Put at a key that already holds the same bytes
// succeeds without writing, so a retried activity that recomputes the same
// result is harmless; Put at a key that holds different bytes returns a
// *ConflictError and leaves the stored object alone. On a folder this is a
// hard link of a fsynced temporary file (the link fails when the key exists);
// on S3 it is a PutObject with "If-None-Match: *", with a stat-then-put
// fallback for servers that ignore that header (see CreateOnlyMethod).
//
// Keys are relative slash-separated paths such as
// "points/algorithm=direct/n=16/part-000001.parquet". A key is refused, with a
// *KeyError naming it, when it is empty, starts with "/", has an empty, "." or
// ".." element, contains a backslash or a control character, is not UTF-8, is
// longer than 1024 bytes, or has an element starting with ".isweep-" (that
// prefix is reserved for the store's own temporary and probe objects, which
// List never shows).
//
// The S3 backend retries transient failures (refused connections, timeouts,
// 5xx answers, throttling) with capped exponential backoff for up to
// Options.RetryFor, so a server restart in the middle of a sweep is survived.
// Refused credentials are not transient: they fail at once with a
// *CredentialsError naming the endpoint and the variables to check.
package store
