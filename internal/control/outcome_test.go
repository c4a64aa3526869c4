package control_test

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/isweep/isweep/activities"
	"github.com/isweep/isweep/internal/control"
)

func TestFailureOfNamesEveryErrorType(t *testing.T) {
	app := func(typ string) error { return temporal.NewNonRetryableApplicationError("why", typ, nil) }
	for _, tc := range []struct {
		err    error
		want   control.Failure
		status string
	}{
		{app(activities.StorageErrorType), control.StoppedStorage, "stopped: storage error"},
		{app(activities.InvalidSpecErrorType), control.RefusedSpec, "refused: invalid spec"},
		{app(activities.NumericsMismatchErrorType), control.RefusedNumerics, "refused: other numerics"},
		{app("SomethingElse"), control.FailedOther, "failed"},
		{temporal.NewCanceledError(), control.Canceled, "canceled"},
		{errors.New("plain"), control.FailedOther, "failed"},
	} {
		if got := control.FailureOf(tc.err); got != tc.want {
			t.Errorf("FailureOf(%v): got: %d want: %d", tc.err, got, tc.want)
		}
		if got := control.FailureStatus("failed", tc.err); got != tc.status {
			t.Errorf("FailureStatus(%v): got: %q want: %q", tc.err, got, tc.status)
		}
	}
	if got := control.FailureStatus("terminated", errors.New("plain")); got != "terminated" {
		t.Errorf("FailureStatus of a terminated sweep: got: %q want: %q", got, "terminated")
	}
}
