package devserver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultFrontendPort is the port SDK clients dial when they are given no
// address (localhost:7233). Set Options.FrontendPort to it for a server that
// other tools on the machine find without configuration.
const DefaultFrontendPort = 7233

// Defaults applied by Start to zero-valued Options fields.
const (
	DefaultNamespace          = "default"
	DefaultNamespaceRetention = 7 * 24 * time.Hour
	DefaultIP                 = "127.0.0.1"
	DefaultLogLevel           = "warn"
	DefaultClusterName        = "active"
	DefaultStartTimeout       = time.Minute
)

// logLevels are the values Options.LogLevel accepts.
var logLevels = []string{"debug", "info", "warn", "error"}

// Options configures an embedded Temporal server. The zero value is a usable
// in-memory server on free ports.
type Options struct {
	// DBPath is the SQLite file that holds the server's state. A missing file
	// is created with the Temporal schema; an existing one is reused with all
	// its workflows. Its directory must exist. Default "": an in-memory
	// database, lost when the process ends.
	DBPath string

	// Namespace is registered at start if the database does not have it yet,
	// and is the namespace of the clients made by Dial. Default "default".
	Namespace string

	// NamespaceRetention is how long closed workflows of a newly registered
	// Namespace are kept. It does not change an existing namespace.
	// Default 7 days; at least 1 hour.
	NamespaceRetention time.Duration

	// IP is the IPv4 or IPv6 address the frontend listens on. The other
	// services listen on 127.0.0.1, or on IP itself when it is neither a
	// loopback nor an unspecified address. "localhost" means 127.0.0.1.
	// Default "127.0.0.1".
	IP string

	// FrontendPort is the gRPC port of the frontend, the one SDK clients
	// dial. Default 0: a free port, see FrontendAddress. Use
	// DefaultFrontendPort for the conventional 7233.
	FrontendPort int

	// FrontendHTTPPort serves the frontend's HTTP API when set.
	// Default 0: no HTTP API.
	FrontendHTTPPort int

	// HistoryPort, MatchingPort and WorkerPort are the internal gRPC ports of
	// the other three services. Default 0: free ports.
	HistoryPort  int
	MatchingPort int
	WorkerPort   int

	// LogLevel is the lowest level of server log lines written to LogOutput:
	// "debug", "info", "warn" or "error". Default "warn".
	LogLevel string

	// LogOutput receives the server's log lines as JSON, one per line, and
	// the log lines of clients made by Dial as text. Default io.Discard:
	// even at "warn" a healthy server logs a few lines on every start and a
	// few dozen on every stop, which say nothing a user can act on. Lines
	// that precede the server exiting the process go to os.Stderr
	// regardless. Set os.Stderr or a file to see everything. Nothing is
	// written to LogOutput once Stop has returned (lines logged later by
	// services still winding down are dropped), so a file may be closed
	// then.
	LogOutput io.Writer

	// ClusterName is the name of this one-node cluster. It is stored in the
	// database on first start and must stay the same for a given DBPath.
	// Default "active".
	ClusterName string

	// DynamicConfig overrides the server's dynamic configuration, keyed by
	// setting name (for example "matching.numTaskqueueReadPartitions"); keys
	// are case-insensitive. Values are plain Go values (int, float64, bool,
	// string, time.Duration) or []dynamicconfig.ConstrainedValue. A nil value
	// removes the devserver default for that key, leaving the server's own.
	// Default: see DevDynamicConfig.
	DynamicConfig map[string]any

	// WithoutWorkerService leaves out Temporal's worker service, which runs
	// the server's own background workflows: schedules, batch operations,
	// namespace deletion, the parent-close policy of large families of child
	// workflows, and the scavengers that tidy a long-lived database. A
	// server that runs one sweep and exits needs none of them, and without
	// them Stop returns in milliseconds: the service's 40 long polls
	// otherwise hold the frontend's graceful stop for its full one-second
	// drain. WorkerPort must then be 0. Default false: all four services.
	WithoutWorkerService bool

	// StartTimeout bounds how long Start waits for the frontend to answer
	// after the services are up, when ctx has no earlier deadline.
	// Default 1 minute.
	StartTimeout time.Duration
}

// withDefaults returns a copy of o with defaults filled in, or an error that
// names the first invalid field.
func (o Options) withDefaults() (Options, error) {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if strings.TrimSpace(o.Namespace) != o.Namespace || len(o.Namespace) > 255 {
		return o, optionError("Namespace", o.Namespace, nil, "is invalid: it must have no leading or trailing space and at most 255 bytes; pick a plain name such as %q", DefaultNamespace)
	}
	if o.NamespaceRetention == 0 {
		o.NamespaceRetention = DefaultNamespaceRetention
	}
	if o.NamespaceRetention < time.Hour {
		return o, fmt.Errorf("devserver: Options.NamespaceRetention %v is too short: the server allows at least 1h; set 0 for the default %v", o.NamespaceRetention, DefaultNamespaceRetention)
	}
	if o.IP == "" || o.IP == "localhost" {
		o.IP = DefaultIP
	}
	if net.ParseIP(o.IP) == nil {
		return o, optionError("IP", o.IP, nil, "is not an IP address: give an IPv4 or IPv6 address such as %q (host names are not accepted)", DefaultIP)
	}
	ports := []struct {
		field string
		value int
	}{
		{"FrontendPort", o.FrontendPort},
		{"FrontendHTTPPort", o.FrontendHTTPPort},
		{"HistoryPort", o.HistoryPort},
		{"MatchingPort", o.MatchingPort},
		{"WorkerPort", o.WorkerPort},
	}
	seen := map[int]string{}
	for _, p := range ports {
		if p.value < 0 || p.value > 65535 {
			return o, optionError(p.field, p.value, nil, "is out of range: ports are 1..65535, or 0 for a free port")
		}
		if p.value == 0 {
			continue
		}
		if other, ok := seen[p.value]; ok {
			return o, fmt.Errorf("devserver: Options.%s and Options.%s are both %d: each service needs its own port; set one of them to 0 for a free port", other, p.field, p.value)
		}
		seen[p.value] = p.field
	}
	if o.WithoutWorkerService && o.WorkerPort != 0 {
		return o, fmt.Errorf("devserver: Options.WorkerPort is %d but Options.WithoutWorkerService leaves that service out: set WorkerPort to 0, or WithoutWorkerService to false", o.WorkerPort)
	}
	if o.LogLevel == "" {
		o.LogLevel = DefaultLogLevel
	}
	o.LogLevel = strings.ToLower(o.LogLevel)
	if !slices.Contains(logLevels, o.LogLevel) {
		return o, optionError("LogLevel", o.LogLevel, nil, "is not a level: use one of %s (default %q)", strings.Join(logLevels, ", "), DefaultLogLevel)
	}
	if o.LogOutput == nil {
		o.LogOutput = io.Discard
	}
	if o.ClusterName == "" {
		o.ClusterName = DefaultClusterName
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StartTimeout < 0 {
		return o, fmt.Errorf("devserver: Options.StartTimeout %v is negative: give a positive duration, or 0 for the default %v", o.StartTimeout, DefaultStartTimeout)
	}
	if o.DBPath != "" {
		// The SQLite plugin passes the path inside a "file:" URI without
		// escaping it, so these characters would change its meaning.
		if strings.ContainsAny(o.DBPath, "?#%") {
			return o, optionError("DBPath", o.DBPath, nil, "contains one of the characters ?, # or %%, which SQLite would read as part of a URI: choose a path without them")
		}
		abs, err := filepath.Abs(o.DBPath)
		if err != nil {
			return o, optionError("DBPath", o.DBPath, err, "cannot be made absolute: %v", err)
		}
		o.DBPath = abs
		dir := filepath.Dir(abs)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return o, optionError("DBPath", o.DBPath, nil, "is in a directory that does not exist: create %q first or choose another path", dir)
		}
		if st, err := os.Stat(abs); err == nil && st.IsDir() {
			return o, optionError("DBPath", o.DBPath, nil, "is a directory: give the path of a file, such as %q", filepath.Join(abs, "temporal.db"))
		}
	}
	return o, nil
}

// dialHost is the address the server's own clients and the SDK use to reach
// the frontend: IP itself, or loopback when IP is a wildcard address.
func (o Options) dialHost() string {
	if ip := net.ParseIP(o.IP); ip != nil && ip.IsUnspecified() {
		if ip.To4() == nil {
			return "::1"
		}
		return "127.0.0.1"
	}
	return o.IP
}

// internalIP is the address of the history, matching and worker services.
func (o Options) internalIP() string {
	ip := net.ParseIP(o.IP)
	if ip.IsLoopback() || ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return o.IP
}

// OptionError is an Options field that Start refuses, or that the server
// cannot use: a port in use, a database file locked by another server or
// written by another program. Error names the Go field, for Go callers;
// Reason names nothing of the Go API, so that a program can report the
// problem against its own setting (a command's flag).
type OptionError struct {
	// Field is the Options field, such as "DBPath" or "FrontendPort".
	Field string
	// Value is the refused value.
	Value any
	// Reason completes the sentence "<value> …": what is wrong and how to
	// fix it.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error formats the error as "devserver: Options.<Field> <value> <reason>".
func (e *OptionError) Error() string {
	return "devserver: Options." + e.Field + " " + FormatOptionValue(e.Value) + " " + e.Reason
}

// Unwrap returns the underlying error.
func (e *OptionError) Unwrap() error { return e.Err }

// FormatOptionValue writes an option's value as OptionError.Error does:
// strings quoted.
func FormatOptionValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// pathReason is what went wrong in an operation on a file, without the
// path that the message around it names already.
func pathReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func optionError(field string, value any, err error, format string, args ...any) *OptionError {
	return &OptionError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...), Err: err}
}
