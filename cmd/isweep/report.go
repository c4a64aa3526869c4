package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/report"
	"github.com/isweep/isweep/internal/store"
	"github.com/isweep/isweep/schemas"
)

func cmdReport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	output := fs.String("output", "", "where the sweep's results are (a folder or s3://bucket/prefix); not needed when SPEC is given")
	dir := fs.String("dir", "", "folder for report.txt, report.json and the figures, PNG and SVG (default: <output>/reports/<sweep_id> for a folder output, ./isweep-report-<sweep_id> for S3)")
	by := fs.String("by", "", "comma-separated axes of a row (default: algorithm, mode, n, init_scale and every other axis that varies and splits the points; axes: "+strings.Join(report.AxisNames(), ", ")+")")
	bestOver := fs.String("best-over", report.AxisEta, "comma-separated axes a row takes the best setting of (the smallest median time over seeds); empty: none")
	if err := parseFlags(fs, args, 1, "report [flags] SWEEP|SPEC\n\nSWEEP is a sweep id (with -output); SPEC a spec file, whose output and sweep id are used."); err != nil {
		return err
	}
	sweepID, location, _, err := sweepAndOutput(ctx, fs.Arg(0), *output)
	if err != nil {
		return err
	}
	opts := report.Options{By: splitList(*by), BestOver: splitList(*bestOver)}
	if err := opts.Check(); err != nil {
		return fail(exitBadInput, "report: %v", err)
	}
	return writeReport(ctx, os.Stdout, location, sweepID, *dir, opts)
}

// splitList splits a comma-separated flag value into its trimmed items;
// nil for an empty value.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// reportAfterRun writes the report of a sweep that just finished.
func reportAfterRun(ctx context.Context, spec *schemas.Spec, sweepID string) error {
	fmt.Println()
	return writeReport(ctx, os.Stdout, spec.Output, sweepID, "", report.DefaultOptions())
}

// writeReport prints the report of a sweep to w, its rows made as opts
// says, and writes its figures, report.txt and report.json into dir. A panic in it (a bug: figures are drawn from any
// data without one) is reported as an internal error, exit code 1, rather
// than ending the process with the Go runtime's exit code 2, which means
// bad input here.
func writeReport(ctx context.Context, w io.Writer, location, sweepID, dir string, opts report.Options) (err error) {
	defer recoverInternal("report", &err)
	st, err := store.Open(ctx, location, clientStoreOptions())
	if err != nil {
		return fail(exitStorage, "output %s: %v", location, err)
	}
	sweep, err := report.Load(ctx, st, sweepID, memory.DefaultAllocator)
	if err != nil {
		return reportError("report", err)
	}
	lambda, err := report.InitialSpectrum(ctx, st, sweep.Points, memory.DefaultAllocator)
	if err != nil {
		return reportError("initial spectra", err)
	}
	analysis, err := report.Analyze(sweep.Points, lambda, opts)
	if err != nil {
		return fail(exitBadInput, "report: %v", err)
	}
	fmt.Fprintf(w, "report of sweep %s: %d points\n\n", sweepID, len(sweep.Points))
	for _, warning := range sweep.Warnings {
		fmt.Fprintf(os.Stderr, "isweep report: warning: %s\n", warning)
	}
	if err := report.WriteText(w, analysis); err != nil {
		return reportError("report", err)
	}
	if dir == "" {
		if strings.HasPrefix(location, "s3://") {
			dir = "isweep-report-" + sweepID
		} else {
			dir = filepath.Join(location, "reports", sweepID)
		}
	}
	paths, notes, err := report.WriteFigures(dir, analysis)
	if err != nil {
		return reportError("figures", err)
	}
	chosen := report.ChosenPoints(sweep.Points, analysis.Table)
	traj, err := report.LoadTrajectories(ctx, st, chosen, memory.DefaultAllocator)
	if err != nil {
		return reportError("trajectories", err)
	}
	more, moreNotes, err := report.WriteTrajectoryFigure(dir, chosen, traj)
	if err != nil {
		return reportError("figures", err)
	}
	paths, notes = append(paths, more...), append(notes, moreNotes...)
	if err := report.WriteTextFile(filepath.Join(dir, "report.txt"), analysis, notes...); err != nil {
		return reportError("report", err)
	}
	if err := writeJSONFile(filepath.Join(dir, "report.json"), analysis); err != nil {
		return reportError("report", err)
	}
	fmt.Fprintf(w, "\nfigures, report.txt and report.json in %s:\n", dir)
	for _, p := range paths {
		fmt.Fprintf(w, "  %s\n", filepath.Base(p))
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nnotes on the figures:")
		for _, n := range notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if len(sweep.Warnings) > 0 {
		return fail(exitFailed, "the report of sweep %s does not cover all its points (see the warnings above)", sweepID)
	}
	return nil
}

// reportError is the exit error of the report's step what, which failed
// with err: storage (4) when the output cannot be read (store.IsPermanent)
// or a file cannot be written for a reason retrying cannot cure (a full
// or read-only file system, a permission, a file in the way: the reason
// and the fix as the folder store says them, for the path the file system
// names), as when the sweep's chunks are stored; else exit 1.
func reportError(what string, err error) error {
	if store.IsPermanent(err) {
		return fail(exitStorage, "%s: %v", what, err)
	}
	if fix := store.FileSystemFix(err); fix != "" {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fail(exitStorage, "%s: %s %s: %s (%v)", what, pe.Op, pe.Path, fix, pe.Err)
		}
		return fail(exitStorage, "%s: %s (%v)", what, fix, err)
	}
	return fail(exitFailed, "%s: %v", what, err)
}

// writeJSONFile writes the analysis as JSON (report.WriteJSON) to path.
func writeJSONFile(path string, a *report.Analysis) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := report.WriteJSON(f, a); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// recoverInternal, deferred, turns a panic of the command into *err: an
// internal error with exit code 1 that names the panic and where it
// happened ("report: internal error: …").
func recoverInternal(command string, err *error) {
	if p := recover(); p != nil {
		*err = fail(exitFailed, "%s: internal error: %v (a bug; please report it with the command that ran)\n%s", command, p, debug.Stack())
	}
}
