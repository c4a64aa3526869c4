package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/isweep/isweep/internal/control"
	"github.com/isweep/isweep/workflows"
)

// progressBar draws a sweep's progress: redrawn in place on a terminal,
// a line every few seconds otherwise. Whether it draws or not, it says in
// one line when nothing can happen: no worker polls the sweep's task queue,
// or a worker's attempts at the sweep's activities fail.
type progressBar struct {
	w        io.Writer
	enabled  bool
	terminal bool
	last     time.Time
	drawn    bool
	// lastMove is when the progress last changed (or the bar started);
	// lastDone and lastPhase are the progress then.
	lastMove  time.Time
	lastDone  int64
	lastPhase string
	hinted    bool
	// failure is the message of the last failure written.
	failure string
	// announce, when not nil, gives a line to write once the sweep is
	// planned (the first progress past planning); it is then cleared.
	announce func(*workflows.Progress) string
}

// noWorkerHint is how long a sweep may make no progress, with no worker
// polling its task queue, before the bar says so.
const noWorkerHint = 10 * time.Second

// serverAddress is the Temporal address the command dialed, for messages.
var serverAddress string

func newProgressBar(w io.Writer, enabled bool) *progressBar {
	return &progressBar{w: w, enabled: enabled, terminal: isTerminal(w), lastMove: time.Now()}
}

// update takes one tick of control.Wait.
func (b *progressBar) update(t control.Tick) {
	now := time.Now()
	if t.Answered && (t.Progress.Done != b.lastDone || t.Progress.Phase != b.lastPhase) {
		b.lastMove, b.lastDone, b.lastPhase = now, t.Progress.Done, t.Progress.Phase
	}
	if b.announce != nil && t.Answered && t.Progress.Phase != "planning" {
		p := t.Progress
		b.note(b.announce(&p))
		b.announce = nil
	}
	// A failure is told once, not at every retry that fails the same way.
	if line := failureLine(t.Failures); line != "" && t.Failures[0].Message != b.failure {
		b.failure = t.Failures[0].Message
		b.note(line)
	}
	if !b.hinted && t.Pollers == 0 && now.Sub(b.lastMove) >= noWorkerHint {
		b.hinted = true
		at := ""
		if serverAddress != "" {
			at = " at " + serverAddress
		}
		b.note(fmt.Sprintf("isweep: no worker is polling task queue %s%s: start one with 'isweep worker'", t.TaskQueue, at))
	}
	if !t.Answered || !b.enabled {
		return
	}
	if !b.terminal && now.Sub(b.last) < 5*time.Second {
		return
	}
	b.last = now
	line := progressLine(t.Progress)
	if b.terminal {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		b.drawn = true
		return
	}
	fmt.Fprintln(b.w, line)
}

// note writes a line of its own, clearing a bar drawn in place (the next
// update draws it again).
func (b *progressBar) note(line string) {
	if b.terminal && b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
	fmt.Fprintln(b.w, line)
}

func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

// failureLine says in one line what failed last among the pending
// activities of a sweep: "planning: attempt 3 failed on worker X: …".
func failureLine(failures []control.ActivityFailure) string {
	if len(failures) == 0 {
		return ""
	}
	f := failures[0]
	what := map[string]string{"PlanSweep": "planning", "ListDoneChunks": "planning", "RunChunk": "a chunk", "FinalizeSweep": "finalizing"}[f.Activity]
	if what == "" {
		what = f.Activity
	}
	if n := len(failures) - 1; n > 0 {
		what += fmt.Sprintf(" (and %d more failing)", n)
	}
	msg := strings.Join(strings.Fields(f.Message), " ")
	return fmt.Sprintf("isweep: %s: attempt %d failed on worker %s: %s", what, f.Attempt, f.Worker, msg)
}

// progressLine renders one line: bar, points, rate, ETA and statuses.
func progressLine(p workflows.Progress) string {
	const width = 28
	frac := 0.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	s := fmt.Sprintf("[%s] %d/%d points %3.0f%%", bar, p.Done, p.Total, 100*frac)
	if p.Rate > 0 {
		s += fmt.Sprintf("  %.0f pts/s  ETA %s", p.Rate, formatETA(p.ETASeconds))
	}
	s += fmt.Sprintf("  diverged %d  failed %d", p.Counts.Diverged, p.Counts.Failed)
	if p.Phase != "running" {
		s += "  (" + p.Phase + ")"
	}
	return s
}

func formatETA(sec float64) string {
	if sec <= 0 {
		return "-"
	}
	return (time.Duration(sec) * time.Second).Round(time.Second).String()
}

// stepProgress shows how far a long step is: nothing during its first
// second, then a percentage redrawn in place on a terminal, or a line every
// few seconds otherwise.
type stepProgress struct {
	w        io.Writer
	what     string
	terminal bool
	start    time.Time
	last     time.Time
	drawn    bool
}

func newStepProgress(w io.Writer, what string) *stepProgress {
	return &stepProgress{w: w, what: what, terminal: isTerminal(w), start: time.Now()}
}

func (s *stepProgress) update(done, total int64) {
	now := time.Now()
	if now.Sub(s.start) < time.Second || total <= 0 || done >= total {
		return
	}
	if !s.terminal && s.drawn && now.Sub(s.last) < 5*time.Second {
		return
	}
	s.last = now
	line := fmt.Sprintf("isweep: %s: %.0f%% (Ctrl-C stops)", s.what, 100*float64(done)/float64(total))
	if s.terminal {
		fmt.Fprintf(s.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(s.w, line)
	}
	s.drawn = true
}

// finish ends the line a terminal display drew.
func (s *stepProgress) finish() {
	if s.drawn && s.terminal {
		fmt.Fprintln(s.w)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
