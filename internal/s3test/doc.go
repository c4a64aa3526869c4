// Package s3test runs a real S3 server for tests and benchmarks: versitygw
// (github.com/versity/versitygw), pinned at Version (v1.8.0), with its posix
// backend in a temporary folder.
//
// The server is built from the Go module proxy by the harness itself, on
// first use, with
//
//	GOBIN=… GOFLAGS=-mod=mod go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// into $(go env GOCACHE)/isweep-tools/versitygw-v1.8.0, and reused from there
// by later runs; a file lock keeps concurrent test binaries from building it
// twice. A cold build downloads versitygw's modules and compiles for a minute
// or two on two cores, so give `go test` a -timeout that allows for it.
//
// Each Server listens on a free loopback port, serves one account with
// random root keys and one bucket, and keeps object metadata in extended
// attributes when the data folder's file system supports user xattrs
// (ext4, xfs, btrfs) and in a sidecar folder otherwise (tmpfs, overlay
// file systems without xattrs).
//
// Start is for tests: it fails the test when the server cannot be built or
// started, and stops it at cleanup. StartProcess is the same for programs
// such as benchmarks, which call Stop themselves.
package s3test
