package control

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

// TestStateNamesCoverTemporal: every execution status of Temporal's API
// has its word. stateName read them off the enum's String(), which the API
// module changed ("ContinuedAsNew" for
// "WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW"): a sweep that continued as
// new read "continuedasnew", and list waited for its end.
func TestStateNamesCoverTemporal(t *testing.T) {
	want := map[enumspb.WorkflowExecutionStatus]string{
		enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:          "running",
		enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:        "completed",
		enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:           "failed",
		enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:         "canceled",
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:       "terminated",
		enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "continued-as-new",
		enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:        "timed-out",
		enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED:           "paused",
	}
	for v := range enumspb.WorkflowExecutionStatus_name {
		s := enumspb.WorkflowExecutionStatus(v)
		if s == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
			continue
		}
		w, ok := want[s]
		if !ok {
			t.Errorf("execution status %v: not in this test's table; give it a word in stateNames and here", s)
			continue
		}
		if got := stateName(s); got != w {
			t.Errorf("stateName(%v): got: %q want: %q", s, got, w)
		}
	}
}
