package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

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
