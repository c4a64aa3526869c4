// Package temporalclient builds the Temporal client options of every
// isweep command that talks to a server (worker, submit, status, …) the
// way Temporal's own tools do, through the SDK's envconfig: a profile of a
// TOML configuration file (TEMPORAL_CONFIG_FILE, else
// ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE, else "default"),
// then the TEMPORAL_* environment variables, then the command's flags.
// It does not depend on the worker package.
package temporalclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"
)

// DefaultAddress and DefaultNamespace are used when neither the flags,
// the environment nor the profile name one.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// EnvVars are the variables envconfig reads, besides TEMPORAL_GRPC_META_*
// (gRPC metadata, one variable per header).
var EnvVars = []string{
	"TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE",
	"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_CLIENT_AUTHORITY",
	"TEMPORAL_TLS",
	"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_DATA",
	"TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_CLIENT_KEY_DATA",
	"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
	"TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
	"TEMPORAL_CODEC_ENDPOINT", "TEMPORAL_CODEC_AUTH",
}

// GRPCMetaPrefix starts the variables that add gRPC metadata.
const GRPCMetaPrefix = "TEMPORAL_GRPC_META_"

// Known reports whether the TEMPORAL_* variable name is read.
func Known(name string) bool {
	if strings.HasPrefix(name, GRPCMetaPrefix) {
		return true
	}
	for _, v := range EnvVars {
		if v == name {
			return true
		}
	}
	return false
}

// Settings are what a command's flags say; every empty field leaves the
// profile's and the environment's value.
type Settings struct {
	// ConfigFile is the TOML configuration file. Default
	// $TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml (a
	// missing default file is no error).
	ConfigFile string
	// Profile is the profile of the file used. Default $TEMPORAL_PROFILE,
	// else "default" (which may be missing).
	Profile string
	// Address is the frontend's host:port. Default: the profile's, else
	// DefaultAddress.
	Address string
	// Namespace. Default: the profile's, else DefaultNamespace.
	Namespace string
	// TLS asks for TLS even without certificates (system roots). Default
	// false: the profile's setting.
	TLS bool
	// TLSCert and TLSKey are a PEM client certificate and key for mTLS,
	// given together. Default: the profile's.
	TLSCert, TLSKey string
	// TLSCA is a PEM bundle of the authorities of the server's
	// certificate. Default: the profile's, else the system's.
	TLSCA string
	// TLSServerName is the name verified in the server's certificate.
	// Default: the profile's, else the address's host.
	TLSServerName string
	// Strict refuses keys of the file that envconfig does not know (for
	// checks). Default false.
	Strict bool
}

// Resolved is the configuration Load settled on, for messages and
// -check; it holds no secret.
type Resolved struct {
	// ConfigFile is the file read, "" when none was.
	ConfigFile string
	// Profile is the profile used, "" when none was found.
	Profile string
	// AddressSource says where the address came from: "-address",
	// "TEMPORAL_ADDRESS", the profile, or the default, for messages.
	AddressSource string
	// APIKey reports whether an API key is used.
	APIKey bool
	// GRPCMeta lists the gRPC metadata keys sent (not their values).
	GRPCMeta []string
}

// Load returns the client options of s over the profile and the
// environment, with logger, and what it settled on. Its errors name the
// setting to fix.
func Load(s Settings, logger log.Logger) (client.Options, Resolved, error) {
	var res Resolved
	for _, name := range []string{"TEMPORAL_TLS", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"} {
		if v := os.Getenv(name); v != "" {
			if _, err := strconv.ParseBool(v); err != nil {
				return client.Options{}, res, fmt.Errorf("%s: %q is not a boolean; use true or false", name, v)
			}
		}
	}
	file := s.ConfigFile
	if file == "" {
		file = os.Getenv("TEMPORAL_CONFIG_FILE")
	}
	if file == "" {
		file = envconfig.DefaultConfigFilePath()
	}
	if s.ConfigFile != "" || os.Getenv("TEMPORAL_CONFIG_FILE") != "" {
		// A file named must exist (envconfig takes a missing one for an
		// empty one).
		if _, err := os.Stat(file); err != nil {
			return client.Options{}, res, fmt.Errorf("the Temporal configuration file %s (-config-file or TEMPORAL_CONFIG_FILE): %v; give a TOML file with [profile.NAME] tables", file, pathReason(err))
		}
	}
	if _, err := os.Stat(file); err == nil {
		res.ConfigFile = file
	}
	profile := s.Profile
	if profile == "" {
		profile = os.Getenv("TEMPORAL_PROFILE")
	}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFilePath:    file,
		ConfigFileProfile: profile,
		ConfigFileStrict:  s.Strict,
		EnvLookup:         nonEmptyEnv{},
	})
	if err != nil {
		where := "the Temporal configuration"
		if res.ConfigFile != "" {
			where += " file " + res.ConfigFile
		}
		return client.Options{}, res, fmt.Errorf("%s, profile %q (-profile or TEMPORAL_PROFILE): %s; fix the file or name a profile it has", where, orDefault(profile, envconfig.DefaultConfigFileProfile), configProblem(err))
	}
	if res.ConfigFile != "" {
		res.Profile = orDefault(profile, envconfig.DefaultConfigFileProfile)
	}
	switch {
	case s.Address != "":
		prof.Address, res.AddressSource = s.Address, "-address"
	case os.Getenv("TEMPORAL_ADDRESS") != "":
		res.AddressSource = "TEMPORAL_ADDRESS"
	case prof.Address != "":
		res.AddressSource = fmt.Sprintf("the address of profile %s in %s", res.Profile, res.ConfigFile)
	default:
		prof.Address, res.AddressSource = DefaultAddress, "the default address"
	}
	if s.Namespace != "" {
		prof.Namespace = s.Namespace
	}
	if prof.Namespace == "" {
		prof.Namespace = DefaultNamespace
	}
	if s.TLS || s.TLSCert != "" || s.TLSKey != "" || s.TLSCA != "" || s.TLSServerName != "" {
		if prof.TLS == nil {
			prof.TLS = &envconfig.ClientConfigTLS{}
		}
		prof.TLS.Disabled = false
		for _, o := range []struct {
			flag string
			path *string
			data *[]byte
		}{{s.TLSCert, &prof.TLS.ClientCertPath, &prof.TLS.ClientCertData}, {s.TLSKey, &prof.TLS.ClientKeyPath, &prof.TLS.ClientKeyData}, {s.TLSCA, &prof.TLS.ServerCACertPath, &prof.TLS.ServerCACertData}} {
			if o.flag != "" {
				*o.path, *o.data = o.flag, nil
			}
		}
		if s.TLSServerName != "" {
			prof.TLS.ServerName = s.TLSServerName
		}
	}
	if err := checkTLS(prof.TLS); err != nil {
		return client.Options{}, res, err
	}
	opts, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, res, fmt.Errorf("the Temporal client configuration: %v", err)
	}
	if opts.ConnectionOptions.TLS != nil && opts.ConnectionOptions.TLS.MinVersion == 0 {
		opts.ConnectionOptions.TLS.MinVersion = tls.VersionTLS12
	}
	opts.Logger = logger
	res.APIKey = prof.APIKey != ""
	for k := range prof.GRPCMeta {
		res.GRPCMeta = append(res.GRPCMeta, k)
	}
	return opts, res, nil
}

// checkTLS checks the files of t with messages that name the variable or
// flag to fix; envconfig's own are terse.
func checkTLS(t *envconfig.ClientConfigTLS) error {
	if t == nil || t.Disabled {
		return nil
	}
	certGiven := t.ClientCertPath != "" || len(t.ClientCertData) > 0
	keyGiven := t.ClientKeyPath != "" || len(t.ClientKeyData) > 0
	if certGiven != keyGiven {
		return fmt.Errorf("the Temporal client certificate %q and key %q (-tls-cert and -tls-key, TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or their _DATA forms) must be set together for mTLS; set both or neither", t.ClientCertPath, t.ClientKeyPath)
	}
	if t.ClientCertPath != "" && t.ClientKeyPath != "" {
		if _, err := tls.LoadX509KeyPair(t.ClientCertPath, t.ClientKeyPath); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) { // the paths are named below
				which := "certificate"
				if pe.Path == t.ClientKeyPath {
					which = "key"
				}
				err = fmt.Errorf("cannot read the %s: %w", which, pe.Err)
			}
			return fmt.Errorf("load Temporal client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH %s, TEMPORAL_TLS_CLIENT_KEY_PATH %s): %w; give a PEM certificate and its PEM key", t.ClientCertPath, t.ClientKeyPath, err)
		}
	}
	if t.ServerCACertPath != "" {
		pem, err := os.ReadFile(t.ServerCACertPath)
		if err != nil {
			return fmt.Errorf("TEMPORAL_TLS_SERVER_CA_CERT_PATH (or -tls-ca) %s: %v; give a PEM file of certificate authorities", t.ServerCACertPath, pathReason(err))
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return fmt.Errorf("TEMPORAL_TLS_SERVER_CA_CERT_PATH (or -tls-ca) %s holds no PEM certificate; give a file with -----BEGIN CERTIFICATE----- blocks", t.ServerCACertPath)
		}
	}
	return nil
}

// nonEmptyEnv is the environment with its empty variables left out: an
// empty TEMPORAL_* variable (a blank line of a deployment file) means
// unset, as everywhere in isweep, where envconfig would take it for a
// value (an empty TEMPORAL_TLS_SERVER_NAME would turn TLS on).
type nonEmptyEnv struct{}

func (nonEmptyEnv) Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if name, v, _ := strings.Cut(kv, "="); v != "" && name != "" {
			env = append(env, kv)
		}
	}
	return env
}

func (nonEmptyEnv) LookupEnv(name string) (string, bool) {
	v := os.Getenv(name)
	return v, v != ""
}

// pathReason is what the file system says about a path, without the path.
func pathReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// tomlPosition finds the position a TOML parser error gives: its line and
// the last key read before it.
var tomlPosition = regexp.MustCompile(`toml: line (\d+)(?: \(last key "([^"]*)"\))?`)

// configProblem describes an error loading a configuration profile. A
// parse error is given by its position only: the parser quotes what it
// found there, which can be an API key written without its quotes (and
// would then be printed and logged).
func configProblem(err error) string {
	m := tomlPosition.FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	where := "line " + m[1]
	if m[2] != "" {
		where += fmt.Sprintf(" (after the key %s)", m[2])
	}
	return fmt.Sprintf(`the file is not valid TOML at %s: every value is a "quoted string", a number or true/false (the parser's message is not shown: it may quote a secret)`, where)
}
