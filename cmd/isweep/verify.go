package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

func cmdVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	output := fs.String("output", "", "where the sweep's results are (a folder or s3://bucket/prefix); not needed when SPEC is given")
	if err := parseFlags(fs, args, 1, "verify [flags] SWEEP|SPEC\n\nChecks a sweep's stored files and changes nothing: every chunk's marker lists its points, every part\nhas the size and SHA-256 recorded and holds its points' rows once each, every point of the grid is\nstored exactly once, and the manifest and members table match. Exit 0: all checks out; 1: problems\n(listed, with how to repair them)."); err != nil {
		return err
	}
	sweepID, location, spec, err := sweepAndOutput(ctx, fs.Arg(0), *output)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, location, clientStoreOptions())
	if err != nil {
		return fail(exitStorage, "output %s: %v", location, err)
	}
	rep, err := activities.Verify(ctx, st, sweepID, memory.DefaultAllocator)
	if err != nil {
		if store.IsPermanent(err) {
			return fail(exitStorage, "verify %s: %v", sweepID, err)
		}
		return fail(exitFailed, "verify %s: %v", sweepID, err)
	}
	printVerify(os.Stdout, rep, location)
	if len(rep.Problems) == 0 {
		return nil
	}
	again := "isweep run -verify SPEC"
	if spec != "" {
		again = "isweep run -verify " + spec
	}
	problems := "problems"
	if len(rep.Problems) == 1 {
		problems = "problem"
	}
	repair := fmt.Sprintf("repair: %s (or submit -verify) moves what verification rejects to quarantine/ and computes it again", again)
	switch {
	case rep.Elsewhere == len(rep.Problems):
		repair = "the second copies are outside this sweep's chunks, which running it again does not touch: follow the advice on each line"
	case rep.Elsewhere > 0:
		repair += "; the points stored again outside its chunks are not changed by that: follow the advice on their lines"
	}
	return fail(exitFailed, "sweep %s has %d %s; %s", sweepID, len(rep.Problems), problems, repair)
}

func printVerify(w io.Writer, rep activities.VerifyReport, location string) {
	fmt.Fprintf(w, "sweep %s in %s: %d points in %d chunks, %d chunks check out, %d parts read and hashed\n",
		rep.SweepID, location, rep.Points, rep.Chunks, rep.ChunksDone, rep.Parts)
	if rep.Manifest {
		fmt.Fprintf(w, "  %s: checks out\n", results.ManifestKey(rep.SweepID))
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	if len(rep.Problems) == 0 {
		fmt.Fprintln(w, "  ok: every point of the grid is stored once and every file checks out")
	}
}

// sweepAndOutput resolves a SWEEP|SPEC argument and an -output flag into
// a sweep id and its output; spec is the spec file's path when one was
// given.
func sweepAndOutput(ctx context.Context, arg, output string) (sweepID, location, spec string, err error) {
	sweepID, location = arg, output
	if st, statErr := os.Stat(arg); statErr == nil && !st.IsDir() {
		s, err := loadSpec(ctx, arg)
		if err != nil {
			return "", "", "", err
		}
		sweepID, spec = s.SweepID(), arg
		if location == "" {
			location = s.Output
		}
	}
	if err := results.CheckSweepID(sweepID); err != nil {
		return "", "", "", fail(exitBadInput, "%q is not a sweep id (isweep plan SPEC prints it) nor a spec file", arg)
	}
	if location == "" {
		return "", "", "", fail(exitBadInput, "where are the results of sweep %s? give -output (the spec's output) or the spec file instead of the sweep id", sweepID)
	}
	return sweepID, location, spec, nil
}
