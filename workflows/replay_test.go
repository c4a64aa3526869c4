package workflows

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/isweep/isweep/activities"
)

// TestReplayRecordedHistories replays histories recorded from real sweeps
// on the embedded server (internal/e2e TestSweepHistoriesReplay with
// ISWEEP_RECORD_HISTORIES=1): several continue-as-new runs, a pause and a
// resume, the final run that finalizes. A change to SweepWorkflow that is
// not deterministic against them fails here; such a change needs
// workflow.GetVersion, not new histories.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "sweep-history-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("got: %d recorded histories, want: at least 3", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(SweepWorkflow, workflow.RegisterOptions{Name: SweepWorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRecordedPayloadsKeepTheirJSON decodes the workflow's inputs, the
// chunks' results and the workflow's result stored in the recorded
// histories into today's types and encodes them again: every field
// recorded comes back with its value (new fields may be added), so that a
// history written before a change of these types (such as the status
// counts becoming results.StatusCounts) still replays with the same
// values.
func TestRecordedPayloadsKeepTheirJSON(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "sweep-history-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// typeOf returns a new value of the type a payload with these keys
	// decodes into, nil for the other payloads.
	typeOf := func(keys map[string]json.RawMessage) any {
		_, chunk := keys["chunk"]
		_, points := keys["points"]
		_, converged := keys["converged"]
		_, spec := keys["spec"]
		_, final := keys["final"]
		switch {
		case chunk && points && converged:
			return new(activities.ChunkResult)
		case spec:
			return new(SweepInput)
		case final:
			return new(SweepResult)
		}
		return nil
	}
	seen := map[string]int{}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var history any
		if err := json.Unmarshal(body, &history); err != nil {
			t.Fatal(err)
		}
		for _, data := range payloadData(history) {
			var keys map[string]json.RawMessage
			if json.Unmarshal(data, &keys) != nil {
				continue
			}
			v := typeOf(keys)
			if v == nil {
				continue
			}
			name := reflect.TypeOf(v).Elem().Name()
			seen[name]++
			if err := json.Unmarshal(data, v); err != nil {
				t.Fatalf("%s: %s: %v", f, name, err)
			}
			got, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonContains(got, data) {
				t.Errorf("%s: %s: got:\n%s\nwant the fields of:\n%s", f, name, got, data)
			}
		}
	}
	for _, name := range []string{"ChunkResult", "SweepInput", "SweepResult"} {
		if seen[name] == 0 {
			t.Errorf("%s payloads in the recorded histories: got: none want: some", name)
		}
	}
}

// jsonContains reports whether the JSON value got holds want: the same
// value, where an object may have more fields than want's.
func jsonContains(got, want []byte) bool {
	decode := func(b []byte) any {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		if d.Decode(&v) != nil {
			return nil
		}
		return v
	}
	var contains func(g, w any) bool
	contains = func(g, w any) bool {
		switch w := w.(type) {
		case map[string]any:
			g, ok := g.(map[string]any)
			if !ok {
				return false
			}
			for k, wv := range w {
				if gv, ok := g[k]; !ok || !contains(gv, wv) {
					return false
				}
			}
			return true
		case []any:
			g, ok := g.([]any)
			if !ok || len(g) != len(w) {
				return false
			}
			for i := range w {
				if !contains(g[i], w[i]) {
					return false
				}
			}
			return true
		}
		return reflect.DeepEqual(g, w)
	}
	return contains(decode(got), decode(want))
}

// payloadData returns the data of every JSON payload in a history decoded
// as JSON, in order.
func payloadData(v any) [][]byte {
	var out [][]byte
	switch v := v.(type) {
	case map[string]any:
		if payloads, ok := v["payloads"].([]any); ok {
			for _, p := range payloads {
				p, _ := p.(map[string]any)
				s, _ := p["data"].(string)
				if data, err := base64.StdEncoding.DecodeString(s); err == nil {
					out = append(out, data)
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out = append(out, payloadData(v[k])...)
		}
	case []any:
		for _, e := range v {
			out = append(out, payloadData(e)...)
		}
	}
	return out
}
