package schemas

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SpecError is a problem at one place in a spec. Parse and Validate return
// one or several of them (joined with errors.Join).
type SpecError struct {
	// File is the file name given to Parse; empty for a spec built in Go.
	File string
	// Line is the 1-based line in File, or 0 when unknown.
	Line int
	// Path is where in the spec the problem is, like "grid.eta[2]" or
	// "zip[0].n"; empty for the spec as a whole.
	Path string
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error formats the problem as "file:line: path: message".
func (e *SpecError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// PointsError reports the points of a grid that dynamics.Params.Validate
// refuses, with a few examples.
type PointsError struct {
	// File is the spec's file name, if it came from one.
	File string
	// Invalid counts the refused points; Total is the size of the grid.
	Invalid, Total int64
	// Examples are the first refused points (at most MaxPointExamples), in
	// index order.
	Examples []PointProblem
}

// MaxPointExamples is how many refused points a PointsError lists.
const MaxPointExamples = 5

// PointProblem is one refused point.
type PointProblem struct {
	// Index is the point's index in the grid.
	Index int64
	// Axes are the point's values along the grid and zip axes, which tell it
	// apart from the other points, like "algorithm=interneuron, eta=1.5".
	Axes string
	// Err is what dynamics.Params.Validate said.
	Err error
}

// Error lists the count and the examples, one per line.
func (e *PointsError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if e.Total == 1 && e.Invalid == 1 {
		b.WriteString("the only point is invalid")
	} else if e.Invalid == e.Total {
		fmt.Fprintf(&b, "all %d points are invalid", e.Total)
	} else {
		fmt.Fprintf(&b, "%d of %d points are invalid", e.Invalid, e.Total)
	}
	if int64(len(e.Examples)) < e.Invalid {
		fmt.Fprintf(&b, "; the first %d:", len(e.Examples))
	} else {
		b.WriteString(":")
	}
	for _, p := range e.Examples {
		fmt.Fprintf(&b, "\n  point %d", p.Index)
		if p.Axes != "" {
			fmt.Fprintf(&b, " (%s)", p.Axes)
		}
		b.WriteString(": ")
		b.WriteString(strings.ReplaceAll(p.Err.Error(), "\n", "; "))
	}
	return b.String()
}

// Unwrap returns the examples' errors, so errors.As finds a
// *dynamics.FieldError in them.
func (e *PointsError) Unwrap() []error {
	errs := make([]error, len(e.Examples))
	for i, p := range e.Examples {
		errs[i] = p.Err
	}
	return errs
}

// unknownKey reports a key that is not one of known, suggesting the closest
// one. what is "key", "parameter" or "axis form".
func unknownKey(path, key, what string, known []string) *SpecError {
	if best := closest(key, known); best != "" {
		return &SpecError{Path: path, Msg: fmt.Sprintf("unknown %s; did you mean %s?", what, best)}
	}
	return &SpecError{Path: path, Msg: fmt.Sprintf("unknown %s; the %ss are %s", what, what, strings.Join(known, ", "))}
}

// closest returns the known word nearest to word, or "" when none is near
// enough to be a plausible typo.
func closest(word string, known []string) string {
	lw := strings.ToLower(word)
	best, bestDist := "", -1
	for _, k := range known {
		lk := strings.ToLower(k)
		d := editDistance(lw, lk)
		limit := max(1, min(utf8.RuneCountInString(lk), utf8.RuneCountInString(lw))/3)
		near := d <= limit && d < max(len(lw), len(lk)) ||
			(len(lw) >= 3 && (strings.Contains(lk, lw) || strings.Contains(lw, lk)))
		if near && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		if a == b {
			return 0
		}
		return max(len(ra), len(rb))
	}
	// prev2, prev and cur are rows i-2, i-1 and i of the distance table.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// quoteKey writes a key for a message, quoting it when it is not a plain
// word.
func quoteKey(key string) string {
	for _, r := range key {
		if !(r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return strconv.Quote(key)
		}
	}
	if key == "" {
		return `""`
	}
	return key
}
