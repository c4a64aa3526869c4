package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
)

const (
	// defaultRetryFor is the default of Options.RetryFor.
	defaultRetryFor = 60 * time.Second
	// firstRetryDelay is the backoff before the first retry; it doubles
	// with every retry up to maxRetryDelay.
	firstRetryDelay = 100 * time.Millisecond
	// maxRetryDelay caps the backoff between two attempts.
	maxRetryDelay = 4 * time.Second
)

// backoff paces the retries of one operation within a time budget.
type backoff struct {
	budget   time.Duration
	start    time.Time
	delay    time.Duration
	attempts int
}

func newBackoff(budget time.Duration) *backoff {
	return &backoff{budget: budget, start: time.Now(), delay: firstRetryDelay}
}

// reset gives the operation a fresh budget after it made progress (a
// listing that yielded objects before failing).
func (b *backoff) reset() {
	b.start = time.Now()
	b.delay = firstRetryDelay
}

// wait handles the failure err of an attempt. It sleeps and returns nil when
// the attempt should be retried, and returns the error to report when not:
// err itself for a permanent failure, a *RetriesExhaustedError when the
// budget is spent, or the context's error.
func (b *backoff) wait(ctx context.Context, err error) error {
	b.attempts++
	if !isTransient(ctx, err) || b.budget <= 0 {
		return err
	}
	elapsed := time.Since(b.start)
	if elapsed >= b.budget {
		return &RetriesExhaustedError{Attempts: b.attempts, Elapsed: elapsed, Err: err}
	}
	// Equal jitter: half the delay, plus up to the other half at random, so
	// that workers which failed together do not retry together.
	sleep := b.delay/2 + rand.N(b.delay/2+1)
	sleep = min(sleep, b.budget-elapsed)
	timer := time.NewTimer(sleep)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w (after %d attempts, the last failed with: %w)", ctx.Err(), b.attempts, err)
	case <-timer.C:
	}
	b.delay = min(2*b.delay, maxRetryDelay)
	return nil
}

// retry runs attempt until it succeeds, fails permanently, or the budget
// runs out.
func retry(ctx context.Context, budget time.Duration, attempt func(context.Context) error) error {
	b := newBackoff(budget)
	for {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		if err := b.wait(ctx, err); err != nil {
			return err
		}
	}
}

// RetriesExhaustedError reports an S3 operation that kept failing with
// transient errors until Options.RetryFor ran out (raise it to wait
// longer). Its message, which users read, names no Go field.
type RetriesExhaustedError struct {
	// Attempts is how many times the operation was tried.
	Attempts int
	// Elapsed is the time from the first attempt to giving up.
	Elapsed time.Duration
	// Err is the last attempt's error.
	Err error
}

func (e *RetriesExhaustedError) Error() string {
	return fmt.Sprintf("gave up after %d attempts in %s: %v", e.Attempts, e.Elapsed.Round(time.Millisecond), e.Err)
}

func (e *RetriesExhaustedError) Unwrap() error { return e.Err }

// retryableS3Codes are S3 error codes worth retrying whatever their status.
var retryableS3Codes = map[string]bool{
	"RequestTimeout":             true,
	"RequestTimeTooSkewed":       false,
	"SlowDown":                   true,
	"SlowDownRead":               true,
	"SlowDownWrite":              true,
	"InternalError":              true,
	"ServiceUnavailable":         true,
	"Throttling":                 true,
	"ThrottlingException":        true,
	"RequestLimitExceeded":       true,
	"RequestThrottled":           true,
	"ConditionalRequestConflict": true, // a concurrent conditional write is in progress
	"OperationAborted":           true,
}

// isTransient reports whether err, the failure of one attempt, may go away
// when the attempt is repeated: a network failure, a timeout, a 5xx answer
// or throttling. Refused credentials, bad requests, missing objects,
// failed preconditions and TLS verification failures are permanent.
func isTransient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		if isCredentialsRefused(resp) {
			return false
		}
		if retryable, ok := retryableS3Codes[resp.Code]; ok {
			return retryable
		}
		switch {
		case resp.StatusCode == http.StatusNotImplemented:
			return false
		case resp.StatusCode >= 500,
			resp.StatusCode == http.StatusRequestTimeout,
			resp.StatusCode == http.StatusTooManyRequests:
			return true
		}
		return false
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalidCert      x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalidCert),
		errors.As(err, &verification), errors.As(err, &recordHeader):
		return false
	case errors.Is(err, context.DeadlineExceeded), // a per-request timeout: ctx itself is live
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	var (
		urlErr *url.Error
		netErr net.Error
	)
	return errors.As(err, &urlErr) || errors.As(err, &netErr)
}
