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
	b := &progressBar{w: w, enabled: enabled}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.terminal = true
		}
	}
	return b
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
