package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/primitives"
)

const testTaskQueue = "devserver-test"

// greetWorkflow runs one greet activity and returns its result.
func greetWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var greeting string
	err := workflow.ExecuteActivity(ctx, "Greet", name).Get(ctx, &greeting)
	return greeting, err
}

// waitThenGreetWorkflow waits for a "name" signal, then greets that name.
func waitThenGreetWorkflow(ctx workflow.Context) (string, error) {
	var name string
	workflow.GetSignalChannel(ctx, "name").Receive(ctx, &name)
	return greetWorkflow(ctx, name)
}

func greetActivity(_ context.Context, name string) (string, error) {
	return "hello " + name, nil
}

// startGreetWorker runs a worker for the greet workflows on c until the test
// ends (or until the returned stop is called).
func startGreetWorker(t *testing.T, c client.Client) (stop func()) {
	t.Helper()
	w := worker.New(c, testTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(greetWorkflow, workflow.RegisterOptions{Name: "Greet"})
	w.RegisterWorkflowWithOptions(waitThenGreetWorkflow, workflow.RegisterOptions{Name: "WaitThenGreet"})
	w.RegisterActivityWithOptions(greetActivity, activity.RegisterOptions{Name: "Greet"})
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	var once sync.Once
	stop = func() { once.Do(w.Stop) }
	t.Cleanup(stop)
	return stop
}

// testLog is an io.Writer for server logs that forwards to t.Log until the
// test's cleanups are done, and drops lines after that.
type testLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func newTestLog(t *testing.T) *testLog {
	l := &testLog{t: t}
	// Registered first, so it runs after every later cleanup (Stop included).
	t.Cleanup(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// startServer starts a server and stops it when the test ends.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.LogOutput == nil {
		opts.LogOutput = newTestLog(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start(%+v): %v", opts, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, s *Server) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := s.Dial(ctx)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func runGreet(t *testing.T, c client.Client, id, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: testTaskQueue}, "Greet", name)
	if err != nil {
		t.Fatalf("ExecuteWorkflow %s: %v", id, err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatalf("workflow %s: %v", id, err)
	}
	return got
}

func TestStartRunsWorkflowsAndRestartKeepsThem(t *testing.T) {
	db := filepath.Join(t.TempDir(), "temporal.db")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// First life: one workflow completes, one is left waiting for a signal.
	first := startServer(t, Options{DBPath: db})
	if got, want := first.Namespace(), DefaultNamespace; got != want {
		t.Errorf("Namespace: got: %q want: %q", got, want)
	}
	c1 := dial(t, first)
	stopWorker := startGreetWorker(t, c1)
	if got, want := runGreet(t, c1, "greet-before-restart", "sweep"), "hello sweep"; got != want {
		t.Fatalf("Greet result: got: %q want: %q", got, want)
	}
	waiting, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "waiting-across-restart", TaskQueue: testTaskQueue}, "WaitThenGreet")
	if err != nil {
		t.Fatalf("start WaitThenGreet: %v", err)
	}
	waitForWorkflowTasks(t, c1, waiting.GetID(), 1)
	retention := describeRetention(t, c1, first.Namespace())
	if retention != DefaultNamespaceRetention {
		t.Errorf("namespace retention: got: %v want: %v", retention, DefaultNamespaceRetention)
	}
	port := first.FrontendAddress()[strings.LastIndexByte(first.FrontendAddress(), ':')+1:]
	stopWorker()
	c1.Close()
	if err := first.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Errorf("second Stop: got: %v want: nil (Stop is idempotent)", err)
	}

	// Second life on the same file and the same port.
	var frontendPort int
	if _, err := fmt.Sscan(port, &frontendPort); err != nil {
		t.Fatalf("port of %q: %v", first.FrontendAddress(), err)
	}
	second := startServer(t, Options{DBPath: db, FrontendPort: frontendPort})
	if got, want := second.FrontendAddress(), first.FrontendAddress(); got != want {
		t.Errorf("FrontendAddress after restart: got: %q want: %q", got, want)
	}
	c2 := dial(t, second)

	// The completed workflow is still there, with its result.
	desc, err := c2.DescribeWorkflowExecution(ctx, "greet-before-restart", "")
	if err != nil {
		t.Fatalf("DescribeWorkflowExecution after restart: %v", err)
	}
	if got, want := desc.GetWorkflowExecutionInfo().GetStatus(), enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED; got != want {
		t.Errorf("status of greet-before-restart: got: %v want: %v", got, want)
	}
	var before string
	if err := c2.GetWorkflow(ctx, "greet-before-restart", "").Get(ctx, &before); err != nil {
		t.Fatalf("result of greet-before-restart: %v", err)
	}
	if want := "hello sweep"; before != want {
		t.Errorf("result of greet-before-restart: got: %q want: %q", before, want)
	}

	// The waiting workflow takes a signal and completes on the new server.
	startGreetWorker(t, c2)
	if err := c2.SignalWorkflow(ctx, "waiting-across-restart", "", "name", "restart"); err != nil {
		t.Fatalf("SignalWorkflow after restart: %v", err)
	}
	var after string
	if err := c2.GetWorkflow(ctx, "waiting-across-restart", waiting.GetRunID()).Get(ctx, &after); err != nil {
		t.Fatalf("result of waiting-across-restart: %v", err)
	}
	if want := "hello restart"; after != want {
		t.Errorf("result of waiting-across-restart: got: %q want: %q", after, want)
	}
	// The namespace was not registered a second time with new settings.
	if got := describeRetention(t, c2, second.Namespace()); got != DefaultNamespaceRetention {
		t.Errorf("namespace retention after restart: got: %v want: %v", got, DefaultNamespaceRetention)
	}
}

// waitForWorkflowTasks waits until the workflow has completed n workflow
// tasks, that is until a worker has run its code that far.
func waitForWorkflowTasks(t *testing.T, c client.Client, id string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		completed := 0
		iter := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			event, err := iter.Next()
			if err != nil {
				t.Fatalf("history of %s: %v", id, err)
			}
			if event.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
				completed++
			}
		}
		if completed >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("workflow %s: got: %d completed workflow tasks want: %d before the deadline", id, completed, n)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func describeRetention(t *testing.T, c client.Client, namespace string) time.Duration {
	t.Helper()
	resp, err := c.WorkflowService().DescribeNamespace(context.Background(), &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		t.Fatalf("describe namespace %q: %v", namespace, err)
	}
	return resp.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
}

func TestTwoServersAtOnce(t *testing.T) {
	dir := t.TempDir()
	servers := []*Server{
		startServer(t, Options{DBPath: filepath.Join(dir, "a.db"), Namespace: "sweeps-a"}),
		startServer(t, Options{DBPath: filepath.Join(dir, "b.db"), Namespace: "sweeps-b"}),
	}
	if a, b := servers[0].FrontendAddress(), servers[1].FrontendAddress(); a == b {
		t.Fatalf("FrontendAddress: got: %q for both want: two addresses", a)
	}
	for i, s := range servers {
		c := dial(t, s)
		startGreetWorker(t, c)
		name := fmt.Sprintf("server %d", i)
		if got, want := runGreet(t, c, "greet", name), "hello "+name; got != want {
			t.Errorf("server %d: got: %q want: %q", i, got, want)
		}
	}
	// Each file holds only its own workflow: the run on server b did not
	// land in server a's database.
	for i, s := range servers {
		c := dial(t, s)
		var got string
		if err := c.GetWorkflow(context.Background(), "greet", "").Get(context.Background(), &got); err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
		if want := fmt.Sprintf("hello server %d", i); got != want {
			t.Errorf("server %d after both ran: got: %q want: %q", i, got, want)
		}
	}
}

func TestInMemoryServerWithDynamicConfig(t *testing.T) {
	s := startServer(t, Options{Namespace: "scratch", DynamicConfig: map[string]any{"limit.maxIDLength": 40}})
	c := dial(t, s)
	startGreetWorker(t, c)
	if got, want := runGreet(t, c, "greet", "memory"), "hello memory"; got != want {
		t.Errorf("got: %q want: %q", got, want)
	}
	// The override reached the server: a workflow ID over 40 bytes (a request ID is 36) is refused.
	long := strings.Repeat("x", 41)
	_, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: long, TaskQueue: testTaskQueue}, "Greet", "long")
	var invalid *serviceerror.InvalidArgument
	if !errors.As(err, &invalid) {
		t.Errorf("workflow ID of 41 bytes with limit.maxIDLength=40: got: %v want: InvalidArgument", err)
	}
}

// perNamespacePollers returns how many pollers the worker service's
// per-namespace worker has on its workflow task queue in s's namespace.
func perNamespacePollers(t *testing.T, c client.Client, s *Server) int {
	t.Helper()
	resp, err := c.WorkflowService().DescribeTaskQueue(context.Background(), &workflowservice.DescribeTaskQueueRequest{
		Namespace:     s.Namespace(),
		TaskQueue:     &taskqueuepb.TaskQueue{Name: primitives.PerNSWorkerTaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_WORKFLOW,
	})
	if err != nil {
		t.Fatalf("DescribeTaskQueue %s: %v", primitives.PerNSWorkerTaskQueue, err)
	}
	return len(resp.Pollers)
}

func TestWithoutWorkerService(t *testing.T) {
	// With all four services the worker service's per-namespace worker
	// soon polls its task queue in the namespace.
	full := startServer(t, Options{})
	fullClient := dial(t, full)
	start := time.Now()
	for perNamespacePollers(t, fullClient, full) == 0 {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("all services: no poller on %s after 30 s: the probe cannot tell the layouts apart", primitives.PerNSWorkerTaskQueue)
		}
		time.Sleep(50 * time.Millisecond)
	}
	seen := time.Since(start)

	dir := t.TempDir()
	opts := Options{DBPath: filepath.Join(dir, "t.db"), WithoutWorkerService: true}
	s := startServer(t, opts)
	c := dial(t, s)
	stopWorker := startGreetWorker(t, c)
	if got, want := runGreet(t, c, "greet", "three services"), "hello three services"; got != want {
		t.Errorf("got: %q want: %q", got, want)
	}
	// Twice as long as the full server needed, and no system poller.
	time.Sleep(max(2*seen, time.Second))
	if got := perNamespacePollers(t, c, s); got != 0 {
		t.Errorf("WithoutWorkerService: pollers on %s: got: %d want: 0", primitives.PerNSWorkerTaskQueue, got)
	}

	// Stopped and started again on the same file, it keeps the workflow.
	stopWorker()
	c.Close()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	s = startServer(t, opts)
	c = dial(t, s)
	var got string
	if err := c.GetWorkflow(context.Background(), "greet", "").Get(context.Background(), &got); err != nil || got != "hello three services" {
		t.Errorf("after restart: got: %q, %v want: %q", got, err, "hello three services")
	}
}

func TestStartRefusesBusyDatabaseAndPort(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "temporal.db")
	running := startServer(t, Options{DBPath: db})

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name string
		opts Options
		want []string // substrings of the error
	}{
		{
			name: "database held by a running server",
			opts: Options{DBPath: db},
			want: []string{"Options.DBPath", db, "locked by another running Temporal server"},
		},
		{
			name: "frontend port in use",
			opts: Options{DBPath: filepath.Join(dir, "other.db"), FrontendPort: takenPort},
			want: []string{"Options.FrontendPort", fmt.Sprint(takenPort), "already in use"},
		},
		{
			name: "frontend port of the running server",
			opts: Options{DBPath: filepath.Join(dir, "third.db"), FrontendPort: portOf(t, running.FrontendAddress())},
			want: []string{"Options.FrontendPort", "already in use"},
		},
		{
			name: "matching port in use",
			opts: Options{MatchingPort: takenPort},
			want: []string{"Options.MatchingPort", "already in use"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.LogOutput = newTestLog(t)
			s, err := Start(context.Background(), tt.opts)
			if err == nil {
				_ = s.Stop()
				t.Fatalf("Start: got: nil error want: an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Start error: got: %q want: it to contain %q", err, w)
				}
			}
			checkOptionError(t, err, strings.TrimPrefix(tt.want[0], "Options."))
		})
	}
	// A refused start leaves the lock of the other files free: the database
	// of the failed "frontend port in use" start can be used right away.
	again := startServer(t, Options{DBPath: filepath.Join(dir, "other.db")})
	if again.FrontendAddress() == "" {
		t.Errorf("FrontendAddress: got: empty want: host:port")
	}
}

func portOf(t *testing.T, hostPort string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatal(err)
	}
	var p int
	if _, err := fmt.Sscan(port, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	notSQLite := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notSQLite, []byte(strings.Repeat("not a database\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"log level", Options{LogLevel: "loud"}, []string{"Options.LogLevel", `"loud"`, "debug, info, warn, error"}},
		{"ip", Options{IP: "my-laptop"}, []string{"Options.IP", `"my-laptop"`}},
		{"namespace", Options{Namespace: " x"}, []string{"Options.Namespace", `" x"`}},
		{"negative port", Options{FrontendPort: -1}, []string{"Options.FrontendPort", "-1", "1..65535"}},
		{"same port twice", Options{HistoryPort: 7300, MatchingPort: 7300}, []string{"Options.HistoryPort", "Options.MatchingPort", "7300"}},
		{"retention", Options{NamespaceRetention: time.Minute}, []string{"Options.NamespaceRetention", "1m0s", "1h"}},
		{"missing directory", Options{DBPath: filepath.Join(dir, "missing", "t.db")}, []string{"Options.DBPath", "does not exist"}},
		{"directory as file", Options{DBPath: dir}, []string{"Options.DBPath", "is a directory"}},
		{"uri characters", Options{DBPath: filepath.Join(dir, "a?b.db")}, []string{"Options.DBPath", "?"}},
		{"not sqlite", Options{DBPath: notSQLite}, []string{"Options.DBPath", notSQLite, "SQLite"}},
		{"unknown dynamic config key", Options{DynamicConfig: map[string]any{"frontend.rsp": 10}}, []string{"Options.DynamicConfig", `"frontend.rsp"`}},
		{"worker port without worker service", Options{WithoutWorkerService: true, WorkerPort: 7300}, []string{"Options.WorkerPort", "7300", "WithoutWorkerService"}},
		{"bad dynamic config value", Options{DynamicConfig: map[string]any{"frontend.rps": "fast"}}, []string{"Options.DynamicConfig", `"frontend.rps"`, `"fast"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.LogOutput = io.Discard
			s, err := Start(context.Background(), tt.opts)
			if err == nil {
				_ = s.Stop()
				t.Fatalf("Start: got: nil error want: an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Start error: got: %q want: it to contain %q", err, w)
				}
			}
			// The fields a command sets from its flags are reported as an
			// OptionError, whose Reason a command can show.
			if field := strings.TrimPrefix(tt.want[0], "Options."); slices.Contains([]string{"LogLevel", "IP", "Namespace", "FrontendPort", "DBPath"}, field) {
				checkOptionError(t, err, field)
			}
		})
	}
}

// checkOptionError checks that err is an *OptionError for field whose
// Reason names no Go field of Options.
func checkOptionError(t *testing.T, err error, field string) {
	t.Helper()
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Field != field {
		t.Errorf("Start error: got: %T %v want: an *OptionError for %s", err, err, field)
		return
	}
	typ := reflect.TypeFor[Options]()
	for i := range typ.NumField() {
		// IP is also the word of "an IP address".
		if name := typ.Field(i).Name; name != "IP" && regexp.MustCompile(`\b`+name+`\b`).MatchString(oe.Reason) {
			t.Errorf("OptionError.Reason: got: %q want: no Go field name (%s)", oe.Reason, name)
		}
	}
}

func TestStartHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := Start(ctx, Options{DBPath: filepath.Join(t.TempDir(), "t.db"), LogOutput: io.Discard})
	if err == nil {
		_ = s.Stop()
		t.Fatal("Start with a cancelled context: got: nil error want: context.Canceled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a cancelled context: got: %v want: an error wrapping context.Canceled", err)
	}
}

// lateLog records what is written to it after stopped is set.
type lateLog struct {
	stopped atomic.Bool
	mu      sync.Mutex
	late    []string
}

func (l *lateLog) Write(p []byte) (int, error) {
	if l.stopped.Load() {
		l.mu.Lock()
		l.late = append(l.late, string(p))
		l.mu.Unlock()
	}
	return len(p), nil
}

// TestNoLogLinesAfterStop checks that nothing reaches Options.LogOutput
// once Stop has returned, so that a caller can close a log file then. The
// worker service's pollers go on logging failed polls for a while after
// the services stop; those lines are dropped.
func TestNoLogLinesAfterStop(t *testing.T) {
	log := &lateLog{}
	s, err := Start(context.Background(), Options{LogOutput: log})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	log.stopped.Store(true)
	// Watch for half a second: the pollers' lines came within 50 ms.
	for range 50 {
		time.Sleep(10 * time.Millisecond)
		log.mu.Lock()
		late := slices.Clone(log.late)
		log.mu.Unlock()
		if len(late) > 0 {
			t.Fatalf("got: %d lines after Stop, the first: %s want: none", len(late), late[0])
		}
	}
}
