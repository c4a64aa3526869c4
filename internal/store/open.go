package store

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Options configures how Open reaches an S3 location. A folder location
// ignores them. The zero value reads everything from the standard AWS
// environment variables.
type Options struct {
	// Endpoint is the S3 server, as a URL ("https://s3.example.org",
	// "http://127.0.0.1:7070") or as host[:port].
	// Default: the environment variable AWS_ENDPOINT_URL_S3, then
	// AWS_ENDPOINT_URL, then https://s3.amazonaws.com.
	Endpoint string
	// Region is the bucket's region, used to sign requests.
	// Default: AWS_REGION, then AWS_DEFAULT_REGION, then "us-east-1".
	Region string
	// PathStyle chooses how requests name the bucket.
	// Default PathStyleAuto: path style for any endpoint but AWS S3.
	PathStyle PathStyle
	// Insecure selects plain HTTP for an Endpoint given without a scheme.
	// Default false: an endpoint URL's scheme decides (http:// is plain
	// HTTP), and an endpoint without a scheme uses TLS. Insecure together
	// with an https:// endpoint is refused.
	Insecure bool
	// CAFile is a PEM file of certificate authorities to trust for TLS in
	// addition to the system's (for a private S3 server). Ignored for plain
	// HTTP. Default "": the system's authorities (and SSL_CERT_FILE).
	CAFile string
	// RetryFor bounds the time one operation spends retrying transient
	// failures: refused connections, timeouts, 5xx answers, throttling.
	// Default 0 means 60 seconds; a negative value disables retries.
	RetryFor time.Duration
	// CreateOnly chooses how Put makes a write create-only.
	// Default CreateOnlyAuto: probe the server at the first Put.
	CreateOnly CreateOnlyMethod
}

// PathStyle chooses between path-style requests (http://host/bucket/key)
// and virtual-hosted requests (http://bucket.host/key).
type PathStyle int

const (
	// PathStyleAuto uses path style for every endpoint but AWS S3, which
	// gets virtual-hosted requests. It suits MinIO, versitygw and Ceph.
	PathStyleAuto PathStyle = iota
	// PathStyleAlways always uses path-style requests.
	PathStyleAlways
	// PathStyleNever always uses virtual-hosted requests.
	PathStyleNever
)

// CreateOnlyMethod is how the S3 backend keeps Put from overwriting an
// object.
type CreateOnlyMethod int

const (
	// CreateOnlyAuto probes the server at the first Put of a Store: it
	// writes a probe object (named ".isweep-probe-…" under the location's
	// prefix) twice with "If-None-Match: *" and removes it. A server that
	// refuses the second write honours the header and the Store uses
	// CreateOnlyIfNoneMatch; one that accepts it (or answers 501) ignores
	// the header and the Store uses CreateOnlyStatThenPut.
	CreateOnlyAuto CreateOnlyMethod = iota
	// CreateOnlyIfNoneMatch sends "If-None-Match: *" with every PutObject:
	// the server refuses atomically (412) to replace an existing object.
	// AWS S3, MinIO and versitygw honour it.
	CreateOnlyIfNoneMatch
	// CreateOnlyStatThenPut checks that the key is absent, then writes.
	// Two writers racing on one absent key may both write; with
	// deterministic results both write the same bytes.
	CreateOnlyStatThenPut
)

func (m CreateOnlyMethod) String() string {
	switch m {
	case CreateOnlyAuto:
		return "auto"
	case CreateOnlyIfNoneMatch:
		return "if-none-match"
	case CreateOnlyStatThenPut:
		return "stat-then-put"
	}
	return fmt.Sprintf("CreateOnlyMethod(%d)", int(m))
}

// defaultEndpoint is the S3 endpoint used when none is configured.
const defaultEndpoint = "https://s3.amazonaws.com"

// defaultRegion is the region used when none is configured.
const defaultRegion = "us-east-1"

// Open returns the Store at location: a folder path (relative or absolute,
// created if missing) or an S3 URL "s3://bucket/prefix" (the prefix is
// optional). For S3, Open resolves opts and the credentials, then lists one
// key under the prefix, so an unreachable server, a missing bucket or
// refused credentials fail here rather than at the first write.
//
// S3 credentials come only from the environment variables
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN or, when
// those are unset, from the profile AWS_PROFILE (default "default") of the
// shared credentials file AWS_SHARED_CREDENTIALS_FILE (default
// ~/.aws/credentials) and the config file AWS_CONFIG_FILE (default
// ~/.aws/config). A location carrying credentials is refused.
func Open(ctx context.Context, location string, opts Options) (Store, error) {
	switch {
	case location == "":
		return nil, fmt.Errorf(`store: location is empty; give a folder path such as "results/run1" or an S3 URL such as "s3://bucket/prefix"`)
	case len(location) >= 5 && strings.EqualFold(location[:5], "s3://"):
		return openS3(ctx, location, opts)
	case len(location) >= 3 && strings.EqualFold(location[:3], "s3:"):
		return nil, fmt.Errorf(`store: location %q starts like an S3 URL but lacks "//"; write it as "s3://bucket/prefix"`, location)
	case strings.Contains(location, "://"):
		scheme, _, _ := strings.Cut(location, "://")
		return nil, fmt.Errorf(`store: location has the scheme %q, which is not supported; give a folder path such as "results/run1" or an S3 URL such as "s3://bucket/prefix"`, scheme)
	}
	return openFolder(location)
}

// s3Location is a parsed "s3://bucket/prefix".
type s3Location struct {
	bucket string
	prefix string // without leading or trailing "/"; "" for the whole bucket
}

func (l s3Location) String() string {
	if l.prefix == "" {
		return "s3://" + l.bucket
	}
	return "s3://" + l.bucket + "/" + l.prefix
}

// parseS3Location parses an "s3://bucket/prefix" location. Errors never
// repeat a part of the location that could hold a secret.
func parseS3Location(location string) (s3Location, error) {
	rest := location[len("s3://"):]
	bucket, prefix, _ := strings.Cut(rest, "/")
	if strings.Contains(bucket, "@") {
		return s3Location{}, fmt.Errorf("store: S3 location has user information before the bucket name (s3://USER:SECRET@bucket/…), which is refused so that credentials never appear in specs or logs; " +
			"write s3://bucket/prefix and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in AWS_SHARED_CREDENTIALS_FILE")
	}
	if strings.ContainsAny(rest, "?#") {
		return s3Location{}, fmt.Errorf(`store: S3 location has a query or fragment ("?" or "#"), which is not allowed; write s3://bucket/prefix`)
	}
	if err := s3utils.CheckValidBucketName(bucket); err != nil {
		return s3Location{}, fmt.Errorf(`store: S3 location %q has the bucket name %q, which is not valid (%v); bucket names are 3 to 63 lower-case letters, digits, "-" and ".", as in "s3://my-results/sweeps"`, location, bucket, err)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		if err := validateKey(prefix); err != nil {
			return s3Location{}, fmt.Errorf("store: S3 location %q has an invalid prefix: %w", location, err)
		}
	}
	return s3Location{bucket: bucket, prefix: prefix}, nil
}

// s3Endpoint is a resolved S3 server address.
type s3Endpoint struct {
	host   string // host[:port], as minio.New wants it
	secure bool
	custom bool // given by the user or the environment, not the default
}

func (e s3Endpoint) String() string {
	if e.secure {
		return "https://" + e.host
	}
	return "http://" + e.host
}

// resolveEndpoint applies the defaults of Options.Endpoint and
// Options.Insecure.
func resolveEndpoint(opts Options) (s3Endpoint, error) {
	endpoint, source := opts.Endpoint, "Options.Endpoint"
	for _, name := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		if endpoint == "" {
			endpoint, source = os.Getenv(name), name
		}
	}
	custom := endpoint != ""
	if !custom {
		endpoint, source = defaultEndpoint, "the default"
	}
	if !strings.Contains(endpoint, "://") {
		if strings.ContainsAny(endpoint, "/@?#") {
			return s3Endpoint{}, fmt.Errorf(`store: S3 endpoint %q (from %s) is not a host[:port] or an http(s) URL; write it like "https://s3.example.org" or "http://127.0.0.1:7070"`, endpoint, source)
		}
		return s3Endpoint{host: endpoint, secure: !opts.Insecure, custom: custom}, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return s3Endpoint{}, fmt.Errorf(`store: S3 endpoint from %s is not a valid URL (%v); write it like "https://s3.example.org" or "http://127.0.0.1:7070"`, source, err)
	}
	if u.User != nil {
		return s3Endpoint{}, fmt.Errorf("store: S3 endpoint from %s has user information (USER:SECRET@host), which is refused so that credentials never appear in configuration; "+
			"drop it and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", source)
	}
	var secure bool
	switch u.Scheme {
	case "http":
	case "https":
		secure = true
		if opts.Insecure {
			return s3Endpoint{}, fmt.Errorf("store: S3 endpoint %q (from %s) asks for TLS but Options.Insecure asks for plain HTTP; use an http:// endpoint or leave Insecure false", endpoint, source)
		}
	default:
		return s3Endpoint{}, fmt.Errorf(`store: S3 endpoint %q (from %s) has the scheme %q; use http:// or https://, as in "http://127.0.0.1:7070"`, endpoint, source, u.Scheme)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return s3Endpoint{}, fmt.Errorf(`store: S3 endpoint %q (from %s) must be a scheme and a host[:port] without a path, as in "https://s3.example.org"`, endpoint, source)
	}
	return s3Endpoint{host: u.Host, secure: secure, custom: custom}, nil
}

// resolveRegion applies the defaults of Options.Region.
func resolveRegion(opts Options) string {
	for _, region := range []string{opts.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")} {
		if region != "" {
			return region
		}
	}
	return defaultRegion
}

// credentialsHelp names every way of giving credentials, for error messages.
const credentialsHelp = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), " +
	"or put them in the profile AWS_PROFILE (default \"default\") of the shared credentials file AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials)"

// resolveCredentials finds the credentials in the environment or the shared
// credentials file. It returns them with a description of their source.
func resolveCredentials(location s3Location) (*credentials.Credentials, string, error) {
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id != "" && secret != "":
		return credentials.NewStaticV4(id, secret, os.Getenv("AWS_SESSION_TOKEN")), "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)", nil
	case id != "":
		return nil, "", fmt.Errorf("store: no S3 credentials for %s: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is empty; set both", location)
	case secret != "":
		return nil, "", fmt.Errorf("store: no S3 credentials for %s: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is empty; set both", location)
	}
	profile := os.Getenv("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	file := os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	if file == "" {
		file = "~/.aws/credentials"
	}
	source := fmt.Sprintf("the profile %q of %s", profile, file)
	creds := credentials.New(&credentials.FileAWSCredentials{})
	value, err := creds.GetWithContext(nil)
	if err != nil {
		return nil, "", fmt.Errorf("store: no S3 credentials for %s: the environment has none and %s gives none (%s); %s", location, source, credentialsFileProblem(err, profile), credentialsHelp)
	}
	if value.AccessKeyID == "" || value.SecretAccessKey == "" {
		return nil, "", fmt.Errorf("store: no S3 credentials for %s: the environment has none and %s has no aws_access_key_id and aws_secret_access_key; %s", location, source, credentialsHelp)
	}
	return creds, source, nil
}

// CheckCredentials resolves the S3 credentials as Open does, without a
// store or a request: nil when the environment or the shared credentials
// file gives some, else the error Open would give, naming what to fix (and
// never a secret).
func CheckCredentials() error {
	_, _, err := resolveCredentials(s3Location{bucket: "<bucket>"})
	return err
}

// credentialsFileProblem says why the shared credentials file gave no
// credentials without quoting the parser, whose message may hold a line of
// the file, secret key included (and would then be printed, logged by
// workers and stored in the workflow's history).
func credentialsFileProblem(err error, profile string) string {
	msg := err.Error()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "the file does not exist"
	case strings.Contains(msg, "section") && strings.Contains(msg, "does not exist"):
		return fmt.Sprintf("the file has no profile %q", profile)
	default:
		return `the file cannot be read as an AWS credentials file: every line must be "[profile]" or "key = value" (the parser's message is not shown: it may quote a secret)`
	}
}

// newTransport returns minio's default transport, trusting caFile's
// authorities too when it is set and the endpoint uses TLS.
func newTransport(endpoint s3Endpoint, caFile string) (*http.Transport, error) {
	tr, err := minio.DefaultTransport(endpoint.secure)
	if err != nil {
		return nil, err
	}
	if caFile == "" || !endpoint.secure {
		return tr, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named below
		}
		return nil, fmt.Errorf("store: the S3 CA file %q cannot be read: %w; give a PEM file of certificate authorities", caFile, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("store: the S3 CA file %q holds no PEM certificate; give a file with -----BEGIN CERTIFICATE----- blocks", caFile)
	}
	tr.TLSClientConfig.RootCAs = pool
	return tr, nil
}

// openS3 opens the S3 store at location.
func openS3(ctx context.Context, location string, opts Options) (*s3Store, error) {
	loc, err := parseS3Location(location)
	if err != nil {
		return nil, err
	}
	endpoint, err := resolveEndpoint(opts)
	if err != nil {
		return nil, err
	}
	switch opts.CreateOnly {
	case CreateOnlyAuto, CreateOnlyIfNoneMatch, CreateOnlyStatThenPut:
	default:
		return nil, fmt.Errorf("store: Options.CreateOnly is %v; use CreateOnlyAuto, CreateOnlyIfNoneMatch or CreateOnlyStatThenPut", opts.CreateOnly)
	}
	lookup := minio.BucketLookupPath
	switch opts.PathStyle {
	case PathStyleAuto:
		if !endpoint.custom || s3utils.IsAmazonEndpoint(url.URL{Host: endpoint.host}) {
			lookup = minio.BucketLookupAuto
		}
	case PathStyleAlways:
	case PathStyleNever:
		lookup = minio.BucketLookupDNS
	default:
		return nil, fmt.Errorf("store: Options.PathStyle is %d; use PathStyleAuto, PathStyleAlways or PathStyleNever", int(opts.PathStyle))
	}
	creds, source, err := resolveCredentials(loc)
	if err != nil {
		return nil, err
	}
	transport, err := newTransport(endpoint, opts.CAFile)
	if err != nil {
		return nil, err
	}
	client, err := minio.New(endpoint.host, &minio.Options{
		Creds:        creds,
		Secure:       endpoint.secure,
		Transport:    transport,
		Region:       resolveRegion(opts),
		BucketLookup: lookup,
		MaxRetries:   1, // the store retries, within Options.RetryFor
	})
	if err != nil {
		return nil, fmt.Errorf("store: cannot make an S3 client for %s at %s: %w", loc, endpoint, err)
	}
	retryFor := opts.RetryFor
	if retryFor == 0 {
		retryFor = defaultRetryFor
	}
	s := &s3Store{
		client:      client,
		bucket:      loc.bucket,
		location:    loc,
		endpoint:    endpoint,
		credsSource: source,
		retryFor:    retryFor,
		createOnly:  opts.CreateOnly,
	}
	if loc.prefix != "" {
		s.base = loc.prefix + "/"
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}
