package temporalclient_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isweep/isweep/internal/temporalclient"
)

// clearEnv empties every variable Load reads, so that each case starts
// from an empty environment and no configuration file.
func clearEnv(t *testing.T) {
	for _, name := range temporalclient.EnvVars {
		t.Setenv(name, "")
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
}

func TestLoadFromEnv(t *testing.T) {
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
			clearEnv(t)
			for name, v := range tt.env {
				t.Setenv(name, v)
			}
			opts, _, err := temporalclient.Load(temporalclient.Settings{}, nil)
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

// profiles is a configuration file of two profiles, the way the temporal
// CLI writes it.
const profiles = `[profile.default]
address = "default.example:7233"
namespace = "ns-default"

[profile.cluster]
address = "cluster.example:7233"
namespace = "ns-cluster"
api_key = "k"

[profile.cluster.grpc_meta]
x-team = "neuro"
`

func TestLoadProfiles(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal.toml")
	if err := os.WriteFile(file, []byte(profiles), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		env           map[string]string
		settings      temporalclient.Settings
		wantHost      string
		wantNamespace string
		wantAPIKey    bool
		wantErrPart   string
	}{
		{name: "default profile", env: map[string]string{"TEMPORAL_CONFIG_FILE": file}, wantHost: "default.example:7233", wantNamespace: "ns-default"},
		{name: "TEMPORAL_PROFILE", env: map[string]string{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "cluster"}, wantHost: "cluster.example:7233", wantNamespace: "ns-cluster", wantAPIKey: true},
		{name: "flags over the profile", settings: temporalclient.Settings{ConfigFile: file, Profile: "cluster", Address: "flag.example:7233"}, wantHost: "flag.example:7233", wantNamespace: "ns-cluster", wantAPIKey: true},
		{name: "environment over the profile", env: map[string]string{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_NAMESPACE": "ns-env"}, wantHost: "default.example:7233", wantNamespace: "ns-env"},
		{name: "unknown profile", settings: temporalclient.Settings{ConfigFile: file, Profile: "nosuch"}, wantErrPart: `profile "nosuch"`},
		{name: "missing file", settings: temporalclient.Settings{ConfigFile: file + ".missing"}, wantErrPart: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for name, v := range tt.env {
				t.Setenv(name, v)
			}
			opts, res, err := temporalclient.Load(tt.settings, nil)
			if tt.wantErrPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrPart) {
					t.Fatalf("got: error %v, want: one naming %q", err, tt.wantErrPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.HostPort != tt.wantHost || opts.Namespace != tt.wantNamespace || (opts.Credentials != nil) != tt.wantAPIKey {
				t.Errorf("got: %s, namespace %s, API key %v; want: %s, %s, %v", opts.HostPort, opts.Namespace, opts.Credentials != nil, tt.wantHost, tt.wantNamespace, tt.wantAPIKey)
			}
			if res.ConfigFile != file {
				t.Errorf("got: file %q, want: %s", res.ConfigFile, file)
			}
			if tt.wantAPIKey && (opts.ConnectionOptions.TLS == nil || opts.HeadersProvider == nil) {
				t.Errorf("got: TLS %v, headers %v; want: TLS on with the API key and the profile's gRPC metadata", opts.ConnectionOptions.TLS, opts.HeadersProvider)
			}
		})
	}
}

// TestConfigFileErrorsKeepSecrets: a configuration file that does not parse
// is named with the line and key where it fails, never with what the
// parser found there: an API key written without its quotes was quoted in
// the error (printed by every command, logged by workers). Found while
// fixing the same leak for S3 credentials files.
func TestConfigFileErrorsKeepSecrets(t *testing.T) {
	const secret = "eyJhbGciOiJFUzI1NiJ9secretpart"
	for _, tc := range []struct {
		name, body, want string
	}{
		{"unquoted key", "[profile.default]\naddress = \"x:7233\"\napi_key = " + secret + "\n", `line 3 (after the key profile.default.api_key)`},
		{"missing =", "[profile.default]\naddress = \"x:7233\"\napi_key \"" + secret + "\"\n", "line 3"},
		{"unterminated string", "[profile.default]\napi_key = \"" + secret + "\n", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			file := filepath.Join(t.TempDir(), "temporal.toml")
			if err := os.WriteFile(file, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := temporalclient.Load(temporalclient.Settings{ConfigFile: file}, nil)
			if err == nil {
				t.Fatal("Load: got: no error want: the file refused")
			}
			if msg := err.Error(); strings.Contains(msg, secret[:6]) || !strings.Contains(msg, tc.want) || !strings.Contains(msg, file) {
				t.Errorf("got: %q want: the file, %q, and nothing of the key", msg, tc.want)
			}
		})
	}
}
