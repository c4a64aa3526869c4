package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/isweep/isweep/workflows"
)

// progressBar draws a sweep's progress: redrawn in place on a terminal,
// a line every few seconds otherwise.
type progressBar struct {
	w        io.Writer
	enabled  bool
	terminal bool
	last     time.Time
	drawn    bool
}

func newProgressBar(w io.Writer, enabled bool) *progressBar {
	return &progressBar{w: w, enabled: enabled, terminal: isTerminal(w)}
}

func (b *progressBar) update(p workflows.Progress) {
	if !b.enabled {
		return
	}
	if !b.terminal && time.Since(b.last) < 5*time.Second {
		return
	}
	b.last = time.Now()
	line := progressLine(p)
	if b.terminal {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		b.drawn = true
		return
	}
	fmt.Fprintln(b.w, line)
}

func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
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
