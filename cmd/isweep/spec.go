package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/isweep/isweep/schemas"
)

// validateSpec checks the points of spec (read from path), showing the
// progress of a long check on stderr; Ctrl-C stops it with exit 130.
func validateSpec(ctx context.Context, spec *schemas.Spec, path string) error {
	progress := newStepProgress(os.Stderr, "checking the points of "+path)
	err := spec.ValidateContext(ctx, progress.update)
	progress.finish()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return &exitError{code: exitInterrupted, err: fmt.Errorf("stopped while checking the points of %s", path)}
	}
	return fail(exitBadInput, "%v", err)
}

// pathReason is what went wrong in an operation on a file, without the
// operation and the path that the message around it names already.
func pathReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkOutputOutsideState refuses a folder output that is the embedded
// server's state folder or inside it: the server keeps its database and
// logs there. Both are compared as real paths: absolute, with the symbolic
// links of their existing parts resolved.
func checkOutputOutsideState(output, state string) error {
	if strings.HasPrefix(output, "s3://") {
		return nil
	}
	out, err := realPath(output)
	if err != nil {
		return fail(exitBadInput, "output %s: %v", output, pathReason(err))
	}
	st, err := realPath(state)
	if err != nil {
		return fail(exitBadInput, "-state %s: %v", state, pathReason(err))
	}
	if rel, err := filepath.Rel(st, out); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fail(exitBadInput, "output %s is inside the state folder %s of the embedded Temporal server (-state), which holds its database; choose another output folder, or another -state", output, state)
	}
	return nil
}

// realPath returns path made absolute, with the symbolic links of its
// longest existing prefix resolved; the rest, not created yet, is kept.
func realPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		real, err := filepath.EvalSymlinks(dir)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(dir) == dir {
			return "", err
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}
