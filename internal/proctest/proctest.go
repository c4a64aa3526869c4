// Package proctest runs the isweep command as child processes in tests, the
// way users and deployments run it: it builds the binary once per test
// package, starts servers, workers and commands, waits for the line that
// says they are ready, and kills them with SIGKILL when a test wants a
// crash or ends.
package proctest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ReadyTimeout is how long Start waits for a process's ready line.
const ReadyTimeout = 3 * time.Minute

// Build builds the isweep command into dir and returns the binary's path.
// Test packages call it from TestMain.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "isweep")
	build := exec.Command("go", "build", "-o", bin, "github.com/isweep/isweep/cmd/isweep")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build isweep: %w", err)
	}
	return bin, nil
}

// RunWithBinary is the body of a TestMain that needs the isweep command:
// it builds it into a temporary folder named after prefix, sets *bin to
// its path, runs the tests and removes the folder. It returns the exit
// code for os.Exit; a failed build is reported and gives 1.
func RunWithBinary(m *testing.M, prefix string, bin *string) int {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Proc is a running child process of a test.
type Proc struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start starts bin with args, env added to this process's environment, and
// waits until a line of its output contains ready (unless ready is empty).
// The process is killed when t ends.
func Start(t testing.TB, bin, name string, env []string, ready string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p := &Proc{t: t, name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	readyCh := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(&p.log, line)
			if ready != "" && strings.Contains(line, ready) {
				once.Do(func() { close(readyCh) })
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(p.Kill)
	if ready == "" {
		return p
	}
	select {
	case <-readyCh:
	case <-p.done:
		t.Fatalf("%s exited before it was ready:\n%s", name, p.log.String())
	case <-time.After(ReadyTimeout):
		t.Fatalf("%s not ready after %s:\n%s", name, ReadyTimeout, p.log.String())
	}
	return p
}

// Name is the name given to Start.
func (p *Proc) Name() string { return p.name }

// Output returns everything the process printed so far.
func (p *Proc) Output() string { return p.log.String() }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Kill sends SIGKILL and waits for the process to end.
func (p *Proc) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to timeout for the process to exit and returns its exit
// code; it fails the test on a timeout.
func (p *Proc) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("%s still running after %s:\n%s", p.name, timeout, p.log.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
