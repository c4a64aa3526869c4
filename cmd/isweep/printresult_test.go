package main

import (
	"strings"
	"testing"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/workflows"
)

// TestPrintResultExplainsTheManifestsReused: a sweep that completed the
// chunks an interrupted earlier sweep left holds more of its points in
// earlier sweeps' chunks (the manifest's reused, 378) than it found stored
// there (the summary's reused, 346); the summary said only the latter, and
// a researcher saw two numbers for one thing (the researcher-day tester).
func TestPrintResultExplainsTheManifestsReused(t *testing.T) {
	res := workflows.SweepResult{
		Plan:   activities.Plan{SweepID: "s", Name: "n", Points: 800, Reused: 378},
		Counts: workflows.Counts{Points: 422, Reused: 346, NotMembers: 0},
		Final:  activities.FinalizeResult{Status: results.SweepComplete},
	}
	var b strings.Builder
	printResult(&b, res)
	want := "in earlier sweeps' chunks: 378 of this sweep's points (the manifest's reused), 32 of them computed by this submission"
	if !strings.Contains(b.String(), want) {
		t.Errorf("got:\n%s\nwant a line with: %s", b.String(), want)
	}
	res.Plan.Reused = 346
	b.Reset()
	printResult(&b, res)
	if strings.Contains(b.String(), "in earlier sweeps' chunks") {
		t.Errorf("got:\n%s\nwant: no such line when the two counts agree", b.String())
	}
}
