package devserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// childEnv makes the test binary a server process instead of a test run:
// its value is the JSON of the childSpec to serve.
const childEnv = "ISWEEP_DEVSERVER_CHILD"

// childSpec is what a child server process is asked to run.
type childSpec struct {
	DBPath       string
	FrontendPort int
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChildServer(spec))
	}
	os.Exit(m.Run())
}

// runChildServer is the whole life of a child server process: start, print
// "ready <address>" on stdout, serve until stdin closes (the parent closed
// it, or died), stop.
func runChildServer(specJSON string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "child: bad %s: %v\n", childEnv, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	s, err := Start(ctx, Options{DBPath: spec.DBPath, FrontendPort: spec.FrontendPort, LogOutput: os.Stderr, LogLevel: "error"})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "child: %v\n", err)
		return 1
	}
	fmt.Printf("ready %s\n", s.FrontendAddress())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "child: stop: %v\n", err)
		return 1
	}
	return 0
}

// childServer is a server running in another process, started from the test
// binary itself.
type childServer struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	address string
	stderr  *lockedBuffer
	exited  chan struct{}
	waitErr error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startChild runs a server process on spec and waits for it to be ready.
// The process is killed when the test ends if it is still running.
func startChild(tb testing.TB, spec childSpec) *childServer {
	tb.Helper()
	specJSON, err := json.Marshal(spec)
	if err != nil {
		tb.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(specJSON))
	child := &childServer{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = child.stderr
	if child.stdin, err = cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start child server: %v", err)
	}
	ready := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if address, ok := strings.CutPrefix(scanner.Text(), "ready "); ok {
				ready <- address
			}
		}
	}()
	go func() {
		child.waitErr = cmd.Wait()
		close(child.exited)
	}()
	tb.Cleanup(func() {
		select {
		case <-child.exited:
		default:
			_ = cmd.Process.Kill()
			<-child.exited
		}
	})
	select {
	case child.address = <-ready:
	case <-child.exited:
		tb.Fatalf("child server exited before it was ready: %v\nstderr:\n%s", child.waitErr, child.stderr)
	case <-time.After(90 * time.Second):
		tb.Fatalf("child server not ready after 90s\nstderr:\n%s", child.stderr)
	}
	return child
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *childServer) kill(tb testing.TB) {
	tb.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		tb.Fatalf("kill child server: %v", err)
	}
	<-c.exited
}

// stop asks the child to stop by closing its stdin and waits for it.
func (c *childServer) stop(tb testing.TB) {
	tb.Helper()
	_ = c.stdin.Close()
	select {
	case <-c.exited:
	case <-time.After(time.Minute):
		tb.Fatalf("child server still running a minute after stdin closed\nstderr:\n%s", c.stderr)
	}
	if c.waitErr != nil {
		tb.Errorf("child server exit: got: %v want: a clean exit\nstderr:\n%s", c.waitErr, c.stderr)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
