// Package worker builds isweep workers: a Temporal worker with the sweep
// workflow and the sweep activities wired to an object store, and the
// Temporal client options taken from Temporal's environment conventions
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS…).
package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/workflows"
)

// DefaultTaskQueue is the task queue isweep uses unless told otherwise.
const DefaultTaskQueue = "isweep"

// Options configure a worker. Zero values mean the defaults.
type Options struct {
	// TaskQueue is the queue polled. Default "isweep".
	TaskQueue string
	// Concurrency bounds the points integrated at once. Default: the
	// machine's cores (runtime.GOMAXPROCS).
	Concurrency int
	// Store configures the object stores the activities open (S3 endpoint,
	// region, TLS); credentials always come from the environment.
	Store store.Options
	// CodeVersion is recorded with every point. Default "dev".
	CodeVersion string
	// Interceptors wrap the worker's workflows and activities, earlier ones
	// outermost (a Monitor's Interceptor, for instance). Default none.
	Interceptors []interceptor.WorkerInterceptor
	// StopTimeout is how long the worker's Stop waits for the activities
	// running to end before it cancels them (see Drainer for a stop that
	// hands them back). Default 0: they are cancelled at once.
	StopTimeout time.Duration
	// OnFatalError is called when the worker stops polling because of an
	// error it cannot recover from (the namespace was deleted, the
	// credentials were revoked). Default nil: the error is only logged;
	// Run returns it.
	OnFatalError func(error)
}

// New returns a worker that runs sweeps on c. Call Run or Start on it.
func New(c client.Client, opts Options) (sdkworker.Worker, error) {
	if opts.TaskQueue == "" {
		opts.TaskQueue = DefaultTaskQueue
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	storeOpts := opts.Store
	acts, err := activities.New(activities.Config{
		OpenStore: func(ctx context.Context, location string) (store.Store, error) {
			return store.Open(ctx, location, storeOpts)
		},
		CPU:         opts.Concurrency,
		CodeVersion: opts.CodeVersion,
	})
	if err != nil {
		return nil, err
	}
	w := sdkworker.New(c, opts.TaskQueue, sdkworker.Options{
		// Two chunks per core keep the cores busy while a chunk stores its
		// parts; the activities' own CPU bound keeps compute at one point
		// per core.
		MaxConcurrentActivityExecutionSize: 2 * opts.Concurrency,
		// A chunk heartbeats every few seconds (activities.HeartbeatEvery)
		// and every beat reaches the server: a pause or cancel reaches the
		// chunks running here within seconds, not the SDK's default of
		// up to 0.8 heartbeat timeouts. They are few: two per core.
		MaxHeartbeatThrottleInterval: activities.HeartbeatEvery,
		Interceptors:                 opts.Interceptors,
		OnFatalError:                 opts.OnFatalError,
		WorkerStopTimeout:            opts.StopTimeout,
	})
	Register(w, acts)
	return w, nil
}

// Register registers the sweep workflow and acts on w.
func Register(w sdkworker.Registry, acts *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.SweepWorkflow, workflow.RegisterOptions{Name: workflows.SweepWorkflowName})
	w.RegisterActivity(acts)
}

// ClientOptionsFromEnv returns Temporal client options following Temporal's
// environment conventions:
//
//	TEMPORAL_ADDRESS                        host:port (default 127.0.0.1:7233)
//	TEMPORAL_NAMESPACE                      namespace (default "default")
//	TEMPORAL_API_KEY                        API key (enables TLS)
//	TEMPORAL_TLS                            "true" to use TLS with system roots
//	TEMPORAL_TLS_CLIENT_CERT_PATH           client certificate (mTLS)
//	TEMPORAL_TLS_CLIENT_KEY_PATH            client key (mTLS)
//	TEMPORAL_TLS_SERVER_CA_CERT_PATH        CA bundle for the server
//	TEMPORAL_TLS_SERVER_NAME                server name to verify
//	TEMPORAL_TLS_DISABLE_HOST_VERIFICATION  "true" to skip verification
//
// Explicit non-empty address and namespace arguments win over the
// environment.
func ClientOptionsFromEnv(address, namespace string, logger log.Logger) (client.Options, error) {
	opts := client.Options{HostPort: address, Namespace: namespace, Logger: logger}
	if opts.HostPort == "" {
		opts.HostPort = os.Getenv("TEMPORAL_ADDRESS")
	}
	if opts.HostPort == "" {
		opts.HostPort = "127.0.0.1:7233"
	}
	if opts.Namespace == "" {
		opts.Namespace = os.Getenv("TEMPORAL_NAMESPACE")
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	tlsCfg, err := tlsFromEnv()
	if err != nil {
		return client.Options{}, err
	}
	if key := os.Getenv("TEMPORAL_API_KEY"); key != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(key)
		if tlsCfg == nil {
			tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	opts.ConnectionOptions.TLS = tlsCfg
	return opts, nil
}

func envBool(name string) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not a boolean; use true or false", name, v)
	}
	return b, nil
}

// TLSSettings name the parts of a Temporal client TLS configuration. The
// zero value means no TLS.
type TLSSettings struct {
	// Enabled asks for TLS even when no file is named (system roots).
	// Environment: TEMPORAL_TLS. Default false.
	Enabled bool
	// ClientCertPath and ClientKeyPath are the PEM client certificate and
	// key for mTLS, set together. Environment:
	// TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH. Default
	// none.
	ClientCertPath string
	ClientKeyPath  string
	// ServerCACertPath is a PEM bundle of the authorities that signed the
	// server's certificate. Environment: TEMPORAL_TLS_SERVER_CA_CERT_PATH.
	// Default "": the system's authorities.
	ServerCACertPath string
	// ServerName is the name verified in the server's certificate.
	// Environment: TEMPORAL_TLS_SERVER_NAME. Default "": the host of the
	// address.
	ServerName string
	// DisableHostVerification skips verifying the server's certificate (for
	// tests only). Environment: TEMPORAL_TLS_DISABLE_HOST_VERIFICATION.
	// Default false.
	DisableHostVerification bool
}

// TLSSettingsFromEnv reads TLSSettings from Temporal's environment
// variables. It fails on a boolean variable that is not a boolean.
func TLSSettingsFromEnv() (TLSSettings, error) {
	enabled, err := envBool("TEMPORAL_TLS")
	if err != nil {
		return TLSSettings{}, err
	}
	skipVerify, err := envBool("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION")
	if err != nil {
		return TLSSettings{}, err
	}
	return TLSSettings{
		Enabled:                 enabled,
		ClientCertPath:          os.Getenv("TEMPORAL_TLS_CLIENT_CERT_PATH"),
		ClientKeyPath:           os.Getenv("TEMPORAL_TLS_CLIENT_KEY_PATH"),
		ServerCACertPath:        os.Getenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH"),
		ServerName:              os.Getenv("TEMPORAL_TLS_SERVER_NAME"),
		DisableHostVerification: skipVerify,
	}, nil
}

// Config loads the files named by s and returns the TLS configuration, or
// nil when s asks for no TLS at all.
func (s TLSSettings) Config() (*tls.Config, error) {
	if s == (TLSSettings{}) {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName, InsecureSkipVerify: s.DisableHostVerification}
	if (s.ClientCertPath == "") != (s.ClientKeyPath == "") {
		return nil, fmt.Errorf("the Temporal client certificate %q and key %q (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH) must be set together for mTLS; set both or neither", s.ClientCertPath, s.ClientKeyPath)
	}
	if s.ClientCertPath != "" {
		cert, err := tls.LoadX509KeyPair(s.ClientCertPath, s.ClientKeyPath)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) { // the paths are named below
				which := "certificate"
				if pe.Path == s.ClientKeyPath {
					which = "key"
				}
				err = fmt.Errorf("cannot read the %s: %w", which, pe.Err)
			}
			return nil, fmt.Errorf("load Temporal client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH %s, TEMPORAL_TLS_CLIENT_KEY_PATH %s): %w; give a PEM certificate and its PEM key", s.ClientCertPath, s.ClientKeyPath, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if s.ServerCACertPath != "" {
		pem, err := os.ReadFile(s.ServerCACertPath)
		if err != nil {
			return nil, fmt.Errorf("read TEMPORAL_TLS_SERVER_CA_CERT_PATH: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_SERVER_CA_CERT_PATH %s holds no PEM certificate; give a file with -----BEGIN CERTIFICATE----- blocks", s.ServerCACertPath)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func tlsFromEnv() (*tls.Config, error) {
	s, err := TLSSettingsFromEnv()
	if err != nil {
		return nil, err
	}
	return s.Config()
}
