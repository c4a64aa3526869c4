package worker_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isweep/isweep/worker"
)

// temporalEnv lists every variable ClientOptionsFromEnv reads, so that each
// case starts from an empty environment.
var temporalEnv = []string{
	"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS",
	"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH",
	"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME",
	"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
}

func TestClientOptionsFromEnv(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		env         map[string]string
		wantHost    string
		wantTLS     bool
		wantAPIKey  bool
		wantName    string
		wantErrPart string
	}{
		{name: "defaults", wantHost: "127.0.0.1:7233"},
		{name: "address", env: map[string]string{"TEMPORAL_ADDRESS": "temporal:7233"}, wantHost: "temporal:7233"},
		{name: "TLS with system roots", env: map[string]string{"TEMPORAL_TLS": "true"}, wantHost: "127.0.0.1:7233", wantTLS: true},
		{name: "API key turns TLS on", env: map[string]string{"TEMPORAL_API_KEY": "k"}, wantHost: "127.0.0.1:7233", wantTLS: true, wantAPIKey: true},
		{name: "server name", env: map[string]string{"TEMPORAL_TLS_SERVER_NAME": "t.example"}, wantHost: "127.0.0.1:7233", wantTLS: true, wantName: "t.example"},
		{name: "TLS not a boolean", env: map[string]string{"TEMPORAL_TLS": "yes"}, wantErrPart: "TEMPORAL_TLS"},
		{name: "certificate without key", env: map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": "/c.pem"}, wantErrPart: "TEMPORAL_TLS_CLIENT_KEY_PATH"},
		{name: "missing certificate file", env: map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": "/no/c.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": "/no/k.pem"}, wantErrPart: "/no/c.pem"},
		{name: "CA file without certificates", env: map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": notPEM}, wantErrPart: "holds no PEM certificate"},
		{name: "missing CA file", env: map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/no/ca.pem"}, wantErrPart: "/no/ca.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range temporalEnv {
				t.Setenv(name, tt.env[name])
			}
			opts, err := worker.ClientOptionsFromEnv("", "", nil)
			if tt.wantErrPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrPart) {
					t.Fatalf("got: error %v, want: one naming %q", err, tt.wantErrPart)
				}
				// A file is named once: by the message, not again by the
				// file system's error inside it.
				for _, v := range tt.env {
					if strings.HasPrefix(v, "/") && strings.Count(err.Error(), v) > 1 {
						t.Errorf("got: error %v, want: %s named once", err, v)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tlsCfg := opts.ConnectionOptions.TLS
			if opts.HostPort != tt.wantHost || (tlsCfg != nil) != tt.wantTLS || (opts.Credentials != nil) != tt.wantAPIKey {
				t.Errorf("got: host %s, TLS %v, API key %v; want: %s, %v, %v", opts.HostPort, tlsCfg != nil, opts.Credentials != nil, tt.wantHost, tt.wantTLS, tt.wantAPIKey)
			}
			if tlsCfg != nil && tlsCfg.ServerName != tt.wantName {
				t.Errorf("got: server name %q, want: %q", tlsCfg.ServerName, tt.wantName)
			}
		})
	}
}
