// Package cluster tests isweep deployed the way a cluster runs it, on one
// machine: an `isweep server` process, several `isweep worker` processes
// (killed with SIGKILL and added mid-sweep), a real S3 server
// (internal/s3test), and sweeps submitted with `isweep submit`. It also
// checks the deployment files under deploy/ against the binary's own
// configuration parser (`isweep worker -check`), the workers' health and
// metrics endpoints, Temporal over TLS and mTLS, that no credential leaks
// into workflow histories, logs or stored objects, and that specs cannot
// write outside their output.
//
// The package holds tests only; this file exists so that it is a package.
package cluster
