package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Version is the pinned versitygw release.
const Version = "v1.8.0"

// versitygwPackage is the main package installed from the module proxy.
const versitygwPackage = "github.com/versity/versitygw/cmd/versitygw"

const (
	// Region is the region every Server reports and signs with.
	Region = "us-east-1"
	// bucketName is the bucket every Server starts with.
	bucketName = "isweep-test"
	// readyTimeout bounds the wait for a started server to answer HTTP.
	readyTimeout = 30 * time.Second
	// stopTimeout bounds the wait for a server to exit after SIGTERM,
	// before it is killed.
	stopTimeout = 10 * time.Second
)

// Server is a running versitygw process.
type Server struct {
	// Endpoint is the server's URL, "http://127.0.0.1:PORT".
	Endpoint string
	// AccessKey is the root account's access key id.
	AccessKey string
	// SecretKey is the root account's secret key.
	SecretKey string
	// Bucket is the bucket made at start.
	Bucket string

	binary string   // versitygw executable
	dir    string   // holds data/, the sidecar metadata folder and the log
	addr   string   // 127.0.0.1:PORT
	args   []string // command line after the binary

	mu      sync.Mutex
	cmd     *exec.Cmd     // nil when stopped
	exited  chan struct{} // closed when cmd has been waited for
	waitErr error         // cmd.Wait's result, set before exited closes
	log     *os.File
}

// Start builds (once) and starts a versitygw server with its data in a
// temporary folder of t, and stops it when t's cleanup runs. It fails t when
// the server cannot be built or started.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := StartProcess(t.TempDir())
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartProcess builds (once) and starts a versitygw server keeping its data,
// metadata and log in dir, which must exist or be creatable. It waits until
// the server answers and has made Bucket. The caller calls Stop.
func StartProcess(dir string) (*Server, error) {
	binary, err := Binary()
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("making the data folder: %w", err)
	}
	backend := []string{"posix"}
	if !xattrsSupported(dataDir) {
		metaDir := filepath.Join(dir, "meta")
		if err := os.MkdirAll(metaDir, 0o755); err != nil {
			return nil, fmt.Errorf("making the sidecar metadata folder: %w", err)
		}
		backend = append(backend, "--sidecar", metaDir)
	}
	backend = append(backend, dataDir)
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Endpoint:  "http://" + addr,
		AccessKey: "isweep-" + randomHex(6),
		SecretKey: randomHex(20),
		Bucket:    bucketName,
		binary:    binary,
		dir:       dir,
		addr:      addr,
		// No --keep-alive: with it, v1.8.0 leaves the unread body of a
		// request it refused early (412 to If-None-Match) on the
		// connection and answers it as a bad next request.
		args: append([]string{"--port", addr, "--region", Region, "--quiet"}, backend...),
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	if err := s.makeBucket(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Env returns AWS_* variables that point a child process (or
// store.Open through os.Setenv) at the server, in "NAME=value" form.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint,
		"AWS_ENDPOINT_URL=" + s.Endpoint,
	}
}

// Location returns the S3 URL "s3://BUCKET/prefix" of a prefix in Bucket.
func (s *Server) Location(prefix string) string {
	if prefix == "" {
		return "s3://" + s.Bucket
	}
	return "s3://" + s.Bucket + "/" + strings.Trim(prefix, "/")
}

// Stop ends the server: SIGTERM, then SIGKILL if it has not exited within
// 10 seconds. Its data stays in place for Restart. Stop on a stopped server
// does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart stops the server if it runs and starts it again on the same port
// with the same keys and data, returning once it answers.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	return s.startLocked()
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked()
}

func (s *Server) startLocked() error {
	if s.cmd != nil {
		return nil
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "versitygw.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the server log: %w", err)
	}
	cmd := exec.Command(s.binary, s.args...)
	cmd.Env = append(serverEnviron(),
		"ROOT_ACCESS_KEY_ID="+s.AccessKey, // the environment keeps the keys out of ps
		"ROOT_SECRET_ACCESS_KEY="+s.SecretKey,
	)
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting %s: %w", s.binary, err)
	}
	s.cmd, s.log = cmd, log
	s.exited = make(chan struct{})
	go func(exited chan struct{}) {
		s.waitErr = cmd.Wait()
		close(exited)
	}(s.exited)
	if err := s.waitReady(); err != nil {
		s.stopLocked()
		return fmt.Errorf("%w\nversitygw log (%s):\n%s", err, log.Name(), logTail(log.Name()))
	}
	return nil
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.log.Close()
	s.cmd, s.log = nil, nil
}

// waitReady polls the endpoint until the server answers any HTTP request,
// the process exits, or readyTimeout passes.
func (s *Server) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := client.Get(s.Endpoint + "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw did not answer at %s within %s: %w", s.Endpoint, readyTimeout, err)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("versitygw exited before answering at %s: %v", s.Endpoint, s.waitErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// makeBucket makes Bucket through the S3 API.
func (s *Server) makeBucket() error {
	client, err := minio.New(s.addr, &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region: Region,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := client.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: Region}); err != nil {
		return fmt.Errorf("making bucket %s on %s: %w", s.Bucket, s.Endpoint, err)
	}
	return nil
}

// serverEnviron is this process's environment without the variables that
// configure versitygw, so that a developer's settings cannot change the
// server.
func serverEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VGW_") || strings.HasPrefix(kv, "ROOT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// xattrsSupported reports whether dir's file system stores user extended
// attributes, which versitygw's default metadata store needs.
func xattrsSupported(dir string) bool {
	const name = "user.isweep.s3test"
	if err := syscall.Setxattr(dir, name, []byte("1"), 0); err != nil {
		return false
	}
	_ = syscall.Removexattr(dir, name)
	return true
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// logTail returns the last 4 KiB of the file at name.
func logTail(name string) string {
	body, err := os.ReadFile(name)
	if err != nil {
		return err.Error()
	}
	const tail = 4 << 10
	if len(body) > tail {
		body = body[len(body)-tail:]
	}
	return string(bytes.TrimSpace(body))
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// Binary returns the path of the pinned versitygw executable, building it
// from the Go module proxy on first use (see the package overview).
func Binary() (string, error) {
	binaryOnce.Do(func() { binaryPath, binaryErr = buildBinary() })
	return binaryPath, binaryErr
}

func buildBinary() (string, error) {
	goTool, err := goCommand()
	if err != nil {
		return "", err
	}
	dir, err := toolsDir(goTool)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "versitygw-"+Version)
	if isExecutable(path) {
		return path, nil
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(path) { // built by another process while we waited
		return path, nil
	}
	gobin, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("making a build folder: %w", err)
	}
	defer os.RemoveAll(gobin)
	cmd := exec.Command(goTool, "install", versitygwPackage+"@"+Version)
	cmd.Dir = gobin // outside any module: the install ignores go.mod files
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod", "GOWORK=off")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building versitygw %s with %q failed: %w\n%s", Version, strings.Join(cmd.Args, " "), err, output.String())
	}
	if err := os.Rename(filepath.Join(gobin, "versitygw"), path); err != nil {
		return "", fmt.Errorf("installing the versitygw binary: %w", err)
	}
	return path, nil
}

// goCommand finds the go command: on PATH, else in this program's GOROOT.
func goCommand() (string, error) {
	if path, err := exec.LookPath("go"); err == nil {
		return path, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		if path := filepath.Join(root, "bin", "go"); isExecutable(path) {
			return path, nil
		}
	}
	return "", errors.New("the go command is needed to build versitygw but is neither on PATH nor in $GOROOT/bin")
}

// toolsDir returns (making it) the folder that keeps built tools:
// $(go env GOCACHE)/isweep-tools, or the user cache folder when the Go
// build cache is off.
func toolsDir(goTool string) (string, error) {
	out, err := exec.Command(goTool, "env", "GOCACHE").Output()
	cache := strings.TrimSpace(string(out))
	if err != nil || cache == "" || cache == "off" {
		if cache, err = os.UserCacheDir(); err != nil {
			return "", fmt.Errorf("no folder to keep the versitygw build in: GOCACHE is off and %w", err)
		}
	}
	dir := filepath.Join(cache, "isweep-tools")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("making %s: %w", dir, err)
	}
	return dir, nil
}

// lockFile takes an exclusive lock on the file at path, making it if
// needed, and returns the function that releases it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the build lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}
