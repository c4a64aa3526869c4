package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/isweep/isweep/internal/devserver"
	"github.com/isweep/isweep/worker"
)

// Every numeric and duration flag of every command is checked against its
// range right after the flags are parsed, before any work: one line naming
// the flag, its value and the range, exit 2.

// Ranges of the flags shared by several commands.
const (
	// maxInFlightLimit is Temporal's default bound on the pending
	// activities of one workflow (limit.numPendingActivities.error): a
	// sweep cannot keep more chunks in flight.
	maxInFlightLimit = 2000
	// minHeartbeat and maxHeartbeat bound -heartbeat-timeout: a chunk
	// heartbeats four times per timeout, and runs at most 24 h.
	minHeartbeat = time.Second
	maxHeartbeat = 24 * time.Hour
)

// checkInt refuses an integer flag outside lo..hi; hi < lo means no upper
// bound. what says what the flag is, for the message.
func checkInt(name string, v, lo, hi int, what string) error {
	if v >= lo && (hi < lo || v <= hi) {
		return nil
	}
	allowed := fmt.Sprintf("%d to %d", lo, hi)
	if hi < lo {
		allowed = fmt.Sprintf("%d or more", lo)
	}
	return fail(exitBadInput, "-%s %d is out of range: give %s (%s)", name, v, allowed, what)
}

// checkDuration refuses a duration flag outside lo..hi, or, with zeroOK, a
// value other than 0 (the default) outside it.
func checkDuration(name string, v, lo, hi time.Duration, zeroOK bool, what string) error {
	if v >= lo && v <= hi || zeroOK && v == 0 {
		return nil
	}
	allowed := fmt.Sprintf("%s to %s", shortDuration(lo), shortDuration(hi))
	if zeroOK {
		allowed = "0 (the default) or " + allowed
	}
	return fail(exitBadInput, "-%s %s is out of range: give %s (%s)", name, shortDuration(v), allowed, what)
}

// shortDuration writes d as a user writes it: 24h, 1m30s, 1ms.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// check refuses values of the sweep flags out of their ranges.
func (f *sweepFlags) check() error {
	if err := checkInt("max-in-flight", f.maxInFlight, 1, maxInFlightLimit, "chunks in flight at once; Temporal allows at most 2000"); err != nil {
		return err
	}
	return checkDuration("heartbeat-timeout", f.heartbeat, minHeartbeat, maxHeartbeat, true, "how long a silent chunk is given")
}

// check refuses a Temporal address (flag or TEMPORAL_ADDRESS) that is not
// host:port, and an empty task queue.
func (f *temporalFlags) check() error {
	addr, source := f.address, "-address"
	if addr == "" {
		addr, source = os.Getenv("TEMPORAL_ADDRESS"), "TEMPORAL_ADDRESS"
	}
	if err := checkTemporalAddress(addr, source); err != nil {
		return fail(exitBadInput, "%v", err)
	}
	if strings.TrimSpace(f.taskQueue) == "" {
		return fail(exitBadInput, "-task-queue %q is empty: give the task queue the workers poll (default %s)", f.taskQueue, worker.DefaultTaskQueue)
	}
	return nil
}

// checkTemporalAddress refuses an address (from source: -address or
// TEMPORAL_ADDRESS) that is not host:port. An empty one is the default,
// and one with a scheme (dns:///host:port) is left to the client.
func checkTemporalAddress(addr, source string) error {
	if addr == "" || strings.Contains(addr, "://") {
		return nil
	}
	why := ""
	host, port, err := net.SplitHostPort(addr)
	var ae *net.AddrError
	switch {
	case errors.As(err, &ae):
		why = ae.Err
	case err != nil:
		why = err.Error()
	case host == "":
		why = "no host"
	default:
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			why = fmt.Sprintf("port %s is not a number from 1 to 65535", port)
		}
	}
	if why == "" {
		return nil
	}
	return fmt.Errorf("%s %s is not host:port (%s); give it like 127.0.0.1:7233", source, addr, why)
}

// dialError says in words why the Temporal server at hostPort could not be
// reached, without the gRPC internals of err (exit 3).
func dialError(hostPort, namespace string, err error) error {
	msg := err.Error()
	reason := strings.TrimPrefix(msg, "failed reaching server: ")
	switch {
	case strings.Contains(msg, "connection refused"):
		reason = "connection refused: nothing listens on that port"
	case strings.Contains(msg, "no children to pick from"), strings.Contains(msg, "produced zero addresses"), strings.Contains(msg, "no such host"):
		reason = "the host name does not resolve"
	case strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "deadline exceeded"):
		reason = "no answer in time"
	case strings.Contains(msg, "unexpected HTTP status code"), strings.Contains(msg, "malformed header"):
		reason = "what answers there is not a Temporal server (it speaks HTTP, not gRPC)"
	case strings.Contains(msg, "authentication handshake failed"), strings.Contains(msg, "tls:"), strings.Contains(msg, "x509:"):
		reason = "the TLS handshake failed (check -tls and the TEMPORAL_TLS_* settings)"
	}
	return fail(exitUnreachable, "cannot reach the Temporal server at %s (namespace %s): %s; start one with 'isweep server' or set TEMPORAL_ADDRESS", hostPort, namespace, reason)
}

// serverError reports an error of the embedded server's start; a refused
// option is named as the user gave it, by names[field]: a format with one
// %s for the value, such as "-port %s".
func serverError(err error, names map[string]string) error {
	var oe *devserver.OptionError
	if errors.As(err, &oe) {
		if name, ok := names[oe.Field]; ok {
			return fail(exitBadInput, "%s %s", fmt.Sprintf(name, devserver.FormatOptionValue(oe.Value)), oe.Reason)
		}
	}
	return fail(exitFailed, "cannot start the embedded Temporal server: %v", err)
}
