package store

import (
	"context"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/isweep/isweep/internal/s3test"
)

// TestProbeFindsIfNoneMatch checks that the create-only probe finds that
// versitygw honours "If-None-Match: *" and removes its probe object.
func TestProbeFindsIfNoneMatch(t *testing.T) {
	srv := s3test.Start(t)
	for _, kv := range srv.Env() {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	t.Setenv("AWS_SESSION_TOKEN", "")
	ctx := context.Background()
	s, err := openS3(ctx, srv.Location("sweeps/run1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if s.createOnly != CreateOnlyIfNoneMatch {
		t.Errorf("create-only method after the probe: got: %v want: %v", s.createOnly, CreateOnlyIfNoneMatch)
	}
	var names []string
	for object := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if object.Err != nil {
			t.Fatal(object.Err)
		}
		names = append(names, object.Key)
	}
	if want := "sweeps/run1/k"; len(names) != 1 || names[0] != want {
		t.Errorf("objects in the bucket: got: %q want: only %q (the probe removed)", names, want)
	}
}

func TestIsReservedName(t *testing.T) {
	cases := []struct {
		name string
		want bool
	}{
		{".isweep-probe-00", true},
		{"a/.isweep-tmp-1", true},
		{"a/b.isweep-x", false},
		{"isweep-x", false},
		{".isweep", false},
	}
	for _, c := range cases {
		if got := isReservedName(c.name); got != c.want {
			t.Errorf("isReservedName(%q): got: %v want: %v", c.name, got, c.want)
		}
	}
}
