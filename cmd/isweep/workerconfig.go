package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/internal/temporalclient"
	"github.com/isweep/isweep/worker"
)

// knownIsweepEnv are the ISWEEP_* variables a worker reads.
var knownIsweepEnv = []string{
	"ISWEEP_TASK_QUEUE",
	"ISWEEP_CONCURRENCY",
	"ISWEEP_METRICS_ADDR",
}

// workerConfig is everything `isweep worker` reads from its flags and the
// environment.
type workerConfig struct {
	tf          temporalFlags
	concurrency int
	metricsAddr string
	check       bool
	// cpuProfile is a file the worker writes a CPU profile to while it runs.
	cpuProfile string
	// Temporal TLS flags; empty means the environment's value.
	tlsOn         bool
	tlsCert       string
	tlsKey        string
	tlsCA         string
	tlsServerName string
	// s3CAFile is a PEM bundle trusted for S3 over TLS.
	s3CAFile string
	// grace is how long the activities running at a stop may take to
	// finish before they are handed back. Default defaultGrace.
	grace time.Duration
	// idleExit stops the worker after that long without work. Default 0:
	// never.
	idleExit time.Duration
	// connectTimeout is how long the worker waits for its server and
	// namespace. Default defaultConnectTimeout.
	connectTimeout time.Duration

	fs *flag.FlagSet
}

// register declares the worker's flags on fs. Defaults that the
// environment may give are read here.
func (c *workerConfig) register(fs *flag.FlagSet) {
	c.fs = fs
	c.tf.register(fs)
	fs.IntVar(&c.concurrency, "concurrency", runtime.GOMAXPROCS(0), "points integrated at once (default $ISWEEP_CONCURRENCY, else the cores)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "host:port serving /healthz, /readyz and /metrics, such as :9090 (default $ISWEEP_METRICS_ADDR, else off)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) of the worker to this file, from start to stop (default none)")
	fs.BoolVar(&c.check, "check", false, "check the flags and the environment, print the configuration, exit (0: valid; 2: invalid); connects to nothing")
	fs.BoolVar(&c.tlsOn, "tls", false, "connect to Temporal over TLS (default $TEMPORAL_TLS)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM client certificate for mTLS (default $TEMPORAL_TLS_CLIENT_CERT_PATH)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM client key for mTLS (default $TEMPORAL_TLS_CLIENT_KEY_PATH)")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "PEM authorities of the Temporal server's certificate (default $TEMPORAL_TLS_SERVER_CA_CERT_PATH, else the system's)")
	fs.StringVar(&c.tlsServerName, "tls-server-name", "", "name verified in the Temporal server's certificate (default $TEMPORAL_TLS_SERVER_NAME, else the address's host)")
	fs.DurationVar(&c.grace, "grace", defaultGrace, "on SIGTERM or SIGINT, stop polling and let the chunks running finish for this long, then hand them back to Temporal to run on another worker (0: hand back at once)")
	fs.DurationVar(&c.idleExit, "idle-exit", 0, "stop (exit 0) after this long without work, such as 5m, to release a batch allocation when the sweeps end (default 0: never)")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", defaultConnectTimeout, "wait this long for the Temporal server and its namespace, trying again with growing pauses, before exiting 3 or 5 (0: try once)")
	fs.StringVar(&c.s3CAFile, "s3-ca-file", "", "PEM authorities trusted for S3 over TLS, besides the system's (default $AWS_CA_BUNDLE)")
}

// flagSet reports whether the flag name was given on the command line.
func (c *workerConfig) flagSet(name string) bool {
	set := false
	c.fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// applyEnv fills the settings not given as flags from ISWEEP_* and AWS_CA_BUNDLE.
func (c *workerConfig) applyEnv() error {
	if v := os.Getenv("ISWEEP_TASK_QUEUE"); v != "" && !c.flagSet("task-queue") {
		c.tf.taskQueue = v
	}
	if v := os.Getenv("ISWEEP_CONCURRENCY"); v != "" {
		// Checked even when -concurrency overrides it: a bad value is a
		// mistake in the deployment either way.
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("ISWEEP_CONCURRENCY %q is not an integer from 1 up; give the number of points integrated at once, such as 4", v)
		}
		if !c.flagSet("concurrency") {
			c.concurrency = n
		}
	}
	if v := os.Getenv("ISWEEP_METRICS_ADDR"); v != "" && !c.flagSet("metrics-addr") {
		c.metricsAddr = v
	}
	if c.s3CAFile == "" {
		c.s3CAFile = os.Getenv("AWS_CA_BUNDLE")
	}
	return nil
}

// clientOptions returns the Temporal client options: the profile of the
// configuration file, then the TEMPORAL_* variables, then the flags
// (address, namespace, TLS); strict refuses keys the file should not have.
func (c *workerConfig) clientOptions(strict bool) (client.Options, temporalclient.Resolved, error) {
	s := c.tf.settings()
	s.TLS, s.TLSCert, s.TLSKey, s.TLSCA, s.TLSServerName = c.tlsOn, c.tlsCert, c.tlsKey, c.tlsCA, c.tlsServerName
	s.Strict = strict
	return temporalclient.Load(s, nil)
}

// validate checks every setting and returns one error naming each bad one.
// strictEnv also refuses TEMPORAL_* and ISWEEP_* variables the worker does
// not read (a misspelt name in a deployment file).
func (c *workerConfig) validate(strictEnv bool) (client.Options, temporalclient.Resolved, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := c.applyEnv(); err != nil {
		errs = append(errs, err)
	}
	if err := checkInt("concurrency", c.concurrency, 1, -1, "points integrated at once"); err != nil {
		errs = append(errs, errors.Unwrap(err))
	}
	for _, err := range []error{
		checkDuration("grace", c.grace, 0, 24*time.Hour, false, "how long running chunks may finish after a stop signal"),
		checkDuration("idle-exit", c.idleExit, time.Second, 30*24*time.Hour, true, "how long without work before the worker stops"),
		checkDuration("connect-timeout", c.connectTimeout, 0, 24*time.Hour, false, "how long to wait for the Temporal server"),
	} {
		if err != nil {
			errs = append(errs, errors.Unwrap(err))
		}
	}
	if strings.TrimSpace(c.tf.taskQueue) == "" {
		bad("-task-queue %q is empty: give the task queue the workers poll (default %s)", c.tf.taskQueue, worker.DefaultTaskQueue)
	}
	if c.metricsAddr != "" {
		if err := checkListenAddr(c.metricsAddr); err != nil {
			bad("-metrics-addr %q: %v; give host:port such as :9090 or 127.0.0.1:9090, or leave it empty for none", c.metricsAddr, err)
		}
	}
	opts, res, err := c.clientOptions(strictEnv)
	if err != nil {
		errs = append(errs, err)
	} else if err := checkTemporalAddress(opts.HostPort, res.AddressSource); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkS3Env(c.s3CAFile)...)
	if strictEnv {
		errs = append(errs, unknownEnv()...)
	}
	return opts, res, errors.Join(errs...)
}

func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// checkS3Env checks the S3 settings of the environment without connecting:
// the endpoint URL, that credentials come in pairs, that a credentials file
// named exists, and that caFile holds certificates. It never repeats a
// credential.
func checkS3Env(caFile string) []error {
	var errs []error
	for _, name := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		v := os.Getenv(name)
		if v == "" || !strings.Contains(v, "://") {
			continue
		}
		u, err := url.Parse(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s is not a valid URL; write it like https://s3.example.org or http://minio:9000", name))
		case u.User != nil:
			errs = append(errs, fmt.Errorf("%s carries user information (USER:SECRET@host); drop it and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", name))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("%s %q has the scheme %q; use http:// or https://", name, v, u.Scheme))
		case u.Host == "" || (u.Path != "" && u.Path != "/"):
			errs = append(errs, fmt.Errorf("%s %q must be a scheme and host[:port] without a path, like http://minio:9000", name, v))
		}
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID") != "", os.Getenv("AWS_SECRET_ACCESS_KEY") != ""
	if id != secret {
		errs = append(errs, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (one is empty); set both, or neither and use AWS_SHARED_CREDENTIALS_FILE"))
	}
	if f := os.Getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" && !id {
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("AWS_SHARED_CREDENTIALS_FILE %s: %v; mount the credentials file there or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", f, pathReason(err)))
		} else if err := store.CheckCredentials(); err != nil {
			// The file is there: read it as a sweep's store will (it only
			// checked that the file existed; found by the hostile tester).
			errs = append(errs, err)
		}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("-s3-ca-file (or AWS_CA_BUNDLE) %s: %v; give a PEM file of certificate authorities", caFile, pathReason(err)))
		} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			errs = append(errs, fmt.Errorf("-s3-ca-file (or AWS_CA_BUNDLE) %s holds no PEM certificate; give a file with -----BEGIN CERTIFICATE----- blocks", caFile))
		}
	}
	return errs
}

// unknownEnv names the TEMPORAL_* and ISWEEP_* variables set but not read.
func unknownEnv() []error {
	var errs []error
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "TEMPORAL_") && !temporalclient.Known(name):
			errs = append(errs, fmt.Errorf("environment variable %s is not read by isweep worker; fix its name (known: %s, %s*) or remove it", name, strings.Join(temporalclient.EnvVars, ", "), temporalclient.GRPCMetaPrefix))
		case strings.HasPrefix(name, "ISWEEP_") && !slices.Contains(knownIsweepEnv, name):
			errs = append(errs, fmt.Errorf("environment variable %s is not read by isweep worker; fix its name (known: %s) or remove it", name, strings.Join(knownIsweepEnv, ", ")))
		}
	}
	return errs
}

// printConfig writes the resolved configuration, naming where secrets come
// from but never their values.
func (c *workerConfig) printConfig(w io.Writer, opts client.Options, res temporalclient.Resolved) {
	config := "none"
	if res.ConfigFile != "" {
		config = res.ConfigFile + ", profile " + res.Profile
	}
	fmt.Fprintf(w, "temporal config:    %s\n", config)
	fmt.Fprintf(w, "temporal address:   %s\n", opts.HostPort)
	fmt.Fprintf(w, "namespace:          %s\n", opts.Namespace)
	fmt.Fprintf(w, "task queue:         %s\n", c.tf.taskQueue)
	fmt.Fprintf(w, "concurrency:        %d\n", c.concurrency)
	tlsState := "off"
	if cfg := opts.ConnectionOptions.TLS; cfg != nil {
		tlsState = "on"
		if len(cfg.Certificates) > 0 {
			tlsState += ", client certificate (mTLS)"
		}
		if cfg.RootCAs != nil {
			tlsState += ", private server CA"
		}
		if cfg.ServerName != "" {
			tlsState += ", server name " + cfg.ServerName
		}
	}
	fmt.Fprintf(w, "temporal TLS:       %s\n", tlsState)
	apiKey := "none"
	if res.APIKey {
		apiKey = "from TEMPORAL_API_KEY or the profile"
	}
	fmt.Fprintf(w, "temporal API key:   %s\n", apiKey)
	if len(res.GRPCMeta) > 0 {
		slices.Sort(res.GRPCMeta)
		fmt.Fprintf(w, "gRPC metadata:      %s\n", strings.Join(res.GRPCMeta, ", "))
	}
	metrics := "off"
	if c.metricsAddr != "" {
		metrics = c.metricsAddr + " (/healthz, /readyz, /metrics)"
	}
	fmt.Fprintf(w, "health and metrics: %s\n", metrics)
	idle := "never"
	if c.idleExit > 0 {
		idle = "after " + shortDuration(c.idleExit) + " without work"
	}
	fmt.Fprintf(w, "stop:               running chunks finish within %s, then are handed back; idle exit %s\n", shortDuration(c.grace), idle)
	fmt.Fprintf(w, "connect timeout:    %s\n", shortDuration(c.connectTimeout))
	creds := "none (folder outputs only)"
	switch {
	case os.Getenv("AWS_ACCESS_KEY_ID") != "":
		creds = "from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	case os.Getenv("AWS_SHARED_CREDENTIALS_FILE") != "":
		creds = "from the file AWS_SHARED_CREDENTIALS_FILE"
	}
	fmt.Fprintf(w, "S3 credentials:     %s\n", creds)
	endpoint := os.Getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	if endpoint == "" {
		endpoint = "AWS S3 (default)"
	}
	fmt.Fprintf(w, "S3 endpoint:        %s\n", endpoint)
	if c.s3CAFile != "" {
		fmt.Fprintf(w, "S3 CA file:         %s\n", c.s3CAFile)
	}
}
