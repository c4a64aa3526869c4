package s3test_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/isweep/isweep/internal/s3test"
)

// client returns a minio client for srv with the given secret key,
// independent of the store package.
func client(t *testing.T, srv *s3test.Server, secretKey string) *minio.Client {
	t.Helper()
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", srv.Endpoint, err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(srv.AccessKey, secretKey, ""),
		Region: s3test.Region,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestServerKeepsDataAcrossRestart writes an object, restarts the server
// and reads the object back from the same endpoint.
func TestServerKeepsDataAcrossRestart(t *testing.T) {
	srv := s3test.Start(t)
	if !strings.HasPrefix(srv.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint: got: %q want: http://127.0.0.1:PORT", srv.Endpoint)
	}
	ctx := context.Background()
	c := client(t, srv, srv.SecretKey)
	exists, err := c.BucketExists(ctx, srv.Bucket)
	if err != nil || !exists {
		t.Fatalf("BucketExists(%q): got: %v, %v want: true, nil", srv.Bucket, exists, err)
	}
	body := []byte("trajectory bytes")
	if _, err := c.PutObject(ctx, srv.Bucket, "a/b.bin", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}

	srv.Stop()
	if resp, err := http.Get(srv.Endpoint + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s after Stop: got: HTTP %d want: a connection error", srv.Endpoint, resp.StatusCode)
	}
	srv.Stop() // a second Stop does nothing

	if err := srv.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	obj, err := c.GetObject(ctx, srv.Bucket, "a/b.bin", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject after Restart: %v", err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatalf("reading the object after Restart: %v", err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("object after Restart: got: %q want: %q", got, body)
	}
}

// TestServerRefusesWrongSecret checks that the server checks signatures, so
// that tests of credential errors against it mean something.
func TestServerRefusesWrongSecret(t *testing.T) {
	srv := s3test.Start(t)
	_, err := client(t, srv, srv.SecretKey+"x").BucketExists(context.Background(), srv.Bucket)
	if got := minio.ToErrorResponse(err).StatusCode; got != http.StatusForbidden {
		t.Errorf("BucketExists with a wrong secret: got: status %d (%v) want: 403", got, err)
	}
}

func TestServerEnv(t *testing.T) {
	srv := s3test.Start(t)
	env := srv.Env()
	for _, want := range []string{
		"AWS_ACCESS_KEY_ID=" + srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + srv.SecretKey,
		"AWS_ENDPOINT_URL_S3=" + srv.Endpoint,
		"AWS_REGION=" + s3test.Region,
	} {
		if !slices.Contains(env, want) {
			t.Errorf("Env(): got: %q want: an entry %q", env, want)
		}
	}
	if got, want := srv.Location("/sweeps/run1/"), "s3://"+srv.Bucket+"/sweeps/run1"; got != want {
		t.Errorf("Location: got: %q want: %q", got, want)
	}
}
