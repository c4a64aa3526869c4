package devserver

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unreachablePeer is what a service logs when it finds no host of another
// service to send a request to.
const unreachablePeer = "Not enough hosts to serve the request"

// TestServicesKnowEachOtherFromStart starts a server three times on one
// database and runs a workflow right after each start: no service may
// find another unreachable meanwhile, and no server leaves membership rows
// in the database for the next one to join.
//
// With membership learned by gossip (Temporal's default) the services
// found each other only after Start had returned: every start logged
// requests of history and the frontend that found no matching host, and
// one start in six or so a workflow task that matching could not hand to
// history, which history retries after a fixed second (the first task of
// `isweep run` waited 0.85 to 1.05 s in those runs instead of a few
// milliseconds). The rows a killed server left made the next start wait
// out a 30-second join.
func TestServicesKnowEachOtherFromStart(t *testing.T) {
	for _, withoutWorker := range []bool{false, true} {
		t.Run(fmt.Sprintf("WithoutWorkerService=%v", withoutWorker), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "temporal.db")
			for start := range 3 {
				log := &lockedBuffer{}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				s, err := Start(ctx, Options{DBPath: db, LogOutput: log, LogLevel: "info", WithoutWorkerService: withoutWorker})
				cancel()
				if err != nil {
					t.Fatalf("start %d: %v", start, err)
				}
				c, err := s.Dial(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				stop := startGreetWorker(t, c)
				if got, want := runGreet(t, c, fmt.Sprintf("greet-%d", start), "Ada"), "hello Ada"; got != want {
					t.Errorf("start %d: got: %q want: %q", start, got, want)
				}
				stop()
				c.Close()
				if n := strings.Count(log.String(), unreachablePeer); n > 0 {
					t.Errorf("start %d: got: %d log lines with %q before the first workflow ended, want: 0; the first:\n%s", start, n, unreachablePeer, firstLineWith(log.String(), unreachablePeer))
				}
				var rows int
				if err := openSQLite(t, db).QueryRowContext(context.Background(), `SELECT count(*) FROM cluster_membership`).Scan(&rows); err != nil {
					t.Fatal(err)
				}
				if rows != 0 {
					t.Errorf("start %d: cluster_membership rows: got: %d want: 0", start, rows)
				}
				if err := s.Stop(); err != nil {
					t.Fatalf("start %d: Stop: %v", start, err)
				}
			}
		})
	}
}

// firstLineWith returns the first line of text that contains s.
func firstLineWith(text, s string) string {
	for line := range strings.Lines(text) {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}
