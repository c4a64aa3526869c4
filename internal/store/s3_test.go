package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isweep/isweep/internal/s3test"
	"github.com/isweep/isweep/internal/store"
)

// TestS3PutSurvivesServerRestart stops the server, starts a Put, restarts
// the server while the Put is retrying, and checks that the Put succeeds
// and stored its bytes.
func TestS3PutSurvivesServerRestart(t *testing.T) {
	srv := s3test.Start(t)
	useServer(t, srv)
	ctx := context.Background()
	s, err := store.Open(ctx, srv.Location("sweeps/run1"), store.Options{RetryFor: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// A first Put settles the create-only probe while the server is up.
	if err := s.Put(ctx, "points/n=4/part-000000.parquet", []byte("before")); err != nil {
		t.Fatal(err)
	}
	const key = "points/n=4/part-000001.parquet"
	body := randomBytes(7, 256<<10)

	srv.Stop()
	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, key, body) }()
	// Give the Put time to fail against the stopped server at least once.
	time.Sleep(time.Second)
	select {
	case err := <-done:
		t.Fatalf("Put returned while the server was stopped: got: %v want: it keeps retrying", err)
	default:
	}
	if err := srv.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Put across the restart: got: %v want: nil", err)
	}
	got, err := s.Get(ctx, key)
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("Get after the restart: got: %d bytes, %v want: the %d bytes put", len(got), err, len(body))
	}
}

// TestS3GivesUpAfterRetryFor checks that retries are bounded and the error
// says so.
func TestS3GivesUpAfterRetryFor(t *testing.T) {
	srv := s3test.Start(t)
	useServer(t, srv)
	ctx := context.Background()
	s, err := store.Open(ctx, srv.Location("p"), store.Options{RetryFor: 2 * time.Second, CreateOnly: store.CreateOnlyIfNoneMatch})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	err = s.Put(ctx, "k", []byte("v"))
	var exhausted *store.RetriesExhaustedError
	if !errors.As(err, &exhausted) || exhausted.Attempts < 2 {
		t.Fatalf("Put to a stopped server: got: %v want: a *RetriesExhaustedError after several attempts", err)
	}
	for _, want := range []string{srv.Endpoint, "gave up after", "s3://" + srv.Bucket + "/p"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error: got: %q want: it names %q", err, want)
		}
	}
	// A worker's user reads this error too: it names no Go field.
	if strings.Contains(err.Error(), "Options.") {
		t.Errorf("error: got: %q want: no Go field (Options.…) in it", err)
	}
}

func TestS3WrongCredentials(t *testing.T) {
	srv := s3test.Start(t)
	cases := []struct {
		name, accessKey, secretKey string
	}{
		{"wrong secret", srv.AccessKey, srv.SecretKey + "x"},
		{"unknown access key", "AKIAUNKNOWN", srv.SecretKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			useServer(t, srv)
			t.Setenv("AWS_ACCESS_KEY_ID", c.accessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", c.secretKey)
			// With a retry budget far beyond the deadline, an error that
			// was retried would come back as the deadline's.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := store.Open(ctx, srv.Location("p"), store.Options{RetryFor: time.Hour})
			if ctx.Err() != nil {
				t.Fatalf("Open with %s: it retried until the deadline: %v", c.name, err)
			}
			var credsErr *store.CredentialsError
			if !errors.As(err, &credsErr) {
				t.Fatalf("Open with %s: got: %v want: a *CredentialsError", c.name, err)
			}
			for _, want := range []string{srv.Endpoint, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SHARED_CREDENTIALS_FILE"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error: got: %q want: it names %q", err, want)
				}
			}
			if strings.Contains(err.Error(), c.secretKey) {
				t.Errorf("error: got: %q want: no secret key in it", err)
			}
		})
	}
}

func TestS3MissingCredentials(t *testing.T) {
	home := t.TempDir()
	cases := []struct {
		name      string
		accessKey string
		secretKey string
		want      []string
	}{
		{"none", "", "", []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE"}},
		{"no secret", "AKIAEXAMPLE", "", []string{"AWS_SECRET_ACCESS_KEY is empty"}},
		{"no access key", "", "secret", []string{"AWS_ACCESS_KEY_ID is empty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "no-credentials"))
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "no-config"))
			t.Setenv("AWS_PROFILE", "")
			t.Setenv("AWS_ACCESS_KEY", "")
			t.Setenv("AWS_SECRET_KEY", "")
			t.Setenv("AWS_ACCESS_KEY_ID", c.accessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", c.secretKey)
			// No server: credentials are resolved before any request.
			_, err := store.Open(context.Background(), "s3://bucket/p", store.Options{Endpoint: "http://127.0.0.1:1"})
			if err == nil {
				t.Fatal("Open without credentials: got: nil want: an error")
			}
			for _, want := range c.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error: got: %q want: it names %q", err, want)
				}
			}
		})
	}
}

// TestS3CredentialsFileProblems: a shared credentials file that gives no
// credentials is named with what is wrong with it, on one line, and never
// with its text. A line without its "=" made the error quote the line,
// secret key included, which isweep printed, workers logged and Temporal
// stored in the workflow's history (found by the hostile tester).
func TestS3CredentialsFileProblems(t *testing.T) {
	const secret = "notToBeSeen0123456789abcdef"
	dir := t.TempDir()
	for _, c := range []struct {
		name, body string // body "" for no file
		profile    string
		want       string
	}{
		{"a line without its =", "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key " + secret + "\n", "", "cannot be read as an AWS credentials file"},
		{"no such profile", "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = " + secret + "\n", "other", `the file has no profile "other"`},
		{"no file", "", "", "the file does not exist"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			if c.body != "" {
				if err := os.WriteFile(file, []byte(c.body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("AWS_ACCESS_KEY_ID", "")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "")
			t.Setenv("AWS_SESSION_TOKEN", "")
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
			t.Setenv("AWS_PROFILE", c.profile)
			_, err := store.Open(context.Background(), "s3://bucket/p", store.Options{Endpoint: "http://127.0.0.1:1"})
			if err == nil {
				t.Fatal("Open: got: nil want: an error")
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, secret) || strings.Contains(msg, "\n") {
				t.Errorf("error: got: %q want: one line with %q and not the secret", msg, c.want)
			}
		})
	}
}

// TestS3CredentialsFile opens a store with credentials from a profile of a
// shared credentials file, the environment keys being unset.
func TestS3CredentialsFile(t *testing.T) {
	srv := s3test.Start(t)
	useServer(t, srv)
	file := filepath.Join(t.TempDir(), "credentials")
	ini := "[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n" +
		"[isweep]\naws_access_key_id = " + srv.AccessKey + "\naws_secret_access_key = " + srv.SecretKey + "\n"
	if err := os.WriteFile(file, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "no-config"))
	t.Setenv("AWS_PROFILE", "isweep")
	ctx := context.Background()
	s, err := store.Open(ctx, srv.Location("p"), store.Options{})
	if err != nil {
		t.Fatalf("Open with the profile isweep: %v", err)
	}
	if err := s.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}

	t.Setenv("AWS_PROFILE", "default")
	_, err = store.Open(ctx, srv.Location("p"), store.Options{})
	var credsErr *store.CredentialsError
	if !errors.As(err, &credsErr) || !strings.Contains(err.Error(), `profile "default"`) {
		t.Errorf("Open with the profile default: got: %v want: a *CredentialsError naming the profile", err)
	}
}

func TestS3LocationHasNoSecrets(t *testing.T) {
	srv := s3test.Start(t)
	useServer(t, srv)
	s, err := store.Open(context.Background(), srv.Location("sweeps/run1/"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Location(), "s3://"+srv.Bucket+"/sweeps/run1"; got != want {
		t.Errorf("Location: got: %q want: %q", got, want)
	}
	for _, secret := range []string{srv.AccessKey, srv.SecretKey} {
		if strings.Contains(s.Location(), secret) {
			t.Errorf("Location: got: %q want: no credentials in it", s.Location())
		}
	}

	refused := []struct {
		location string
		opts     store.Options
	}{
		{"s3://" + srv.AccessKey + ":" + srv.SecretKey + "@" + srv.Bucket + "/p", store.Options{}},
		{srv.Location("p"), store.Options{Endpoint: "http://" + srv.AccessKey + ":" + srv.SecretKey + "@" + strings.TrimPrefix(srv.Endpoint, "http://")}},
	}
	for _, r := range refused {
		_, err := store.Open(context.Background(), r.location, r.opts)
		if err == nil {
			t.Errorf("Open with credentials in the location or endpoint: got: nil want: an error")
			continue
		}
		if strings.Contains(err.Error(), srv.SecretKey) {
			t.Errorf("error: got: %q want: no secret key in it", err)
		}
		if !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
			t.Errorf("error: got: %q want: it names AWS_ACCESS_KEY_ID", err)
		}
	}
}

// TestS3EndpointSources opens the same server with the endpoint from each
// place it can come from.
func TestS3EndpointSources(t *testing.T) {
	srv := s3test.Start(t)
	host := strings.TrimPrefix(srv.Endpoint, "http://")
	cases := []struct {
		name string
		env  map[string]string
		opts store.Options
	}{
		{"AWS_ENDPOINT_URL_S3", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, store.Options{}},
		{"AWS_ENDPOINT_URL", map[string]string{"AWS_ENDPOINT_URL_S3": ""}, store.Options{}},
		{"Options.Endpoint over the environment", map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1"}, store.Options{Endpoint: srv.Endpoint}},
		{"host:port with Insecure", map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1"}, store.Options{Endpoint: host, Insecure: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			useServer(t, srv)
			for name, value := range c.env {
				t.Setenv(name, value)
			}
			ctx := context.Background()
			c.opts.RetryFor = -1 // a wrong endpoint fails at once
			s, err := store.Open(ctx, srv.Location("p"), c.opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := s.Put(ctx, "k", []byte("v")); err != nil {
				t.Fatalf("Put: %v", err)
			}
		})
	}
}

func TestS3MissingBucket(t *testing.T) {
	srv := s3test.Start(t)
	useServer(t, srv)
	_, err := store.Open(context.Background(), "s3://no-such-bucket/p", store.Options{})
	if err == nil || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Errorf("Open of a missing bucket: got: %v want: an error saying the bucket does not exist", err)
	}
}
