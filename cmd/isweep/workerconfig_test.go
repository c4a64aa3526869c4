package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// worker -check reads the shared credentials file as a sweep's store will:
// it accepted one that does not parse ("configuration ok", exit 0) since
// it only checked that the file existed, and the worker's first chunk on
// an S3 output then refused it (found by the hostile tester). A file that
// parses passes; the errors never quote the file.
func TestWorkerCheckReadsTheCredentialsFile(t *testing.T) {
	const secret = "Sekr3tV4lue9"
	for _, tc := range []struct {
		name, body string
		wantErr    bool
	}{
		{"valid", "[default]\naws_access_key_id = AKIAX\naws_secret_access_key = " + secret + "\n", false},
		{"does not parse", "[default]\naws_access_key_id = AKIAX\naws_secret_access_key " + secret + "\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "credentials")
			if err := os.WriteFile(f, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("AWS_ACCESS_KEY_ID", "")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "")
			t.Setenv("AWS_PROFILE", "")
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "no-config"))
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", f)
			errs := checkS3Env("")
			if got := len(errs) > 0; got != tc.wantErr {
				t.Errorf("checkS3Env: got: %v want: errors %v", errs, tc.wantErr)
			}
			for _, err := range errs {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error quotes the secret: %q", err)
				}
			}
		})
	}
}
