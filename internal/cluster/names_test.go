package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpecsCannotEscapeTheirOutput submits specs whose name or output try
// to leave their place (.., absolute or home paths, odd characters,
// credentials in the URL) and checks that each is refused as bad input
// (exit 2) before anything connects or is written, with a message that
// names the field and never repeats a credential.
//
// Cases marked gap are refused, but not yet as bad input; they are
// reported as skipped until schemas refuses them (see the report).
func TestSpecsCannotEscapeTheirOutput(t *testing.T) {
	const secret = "s3cr3t-in-url"
	tests := []struct {
		name, specName, output string
		wantField              string
		gap                    string
	}{
		{name: "name going up", specName: "../evil", output: "results", wantField: "name"},
		{name: "absolute name", specName: "/etc/evil", output: "results", wantField: "name"},
		{name: "name with a space", specName: "a b", output: "results", wantField: "name"},
		{name: "name with upper case", specName: "Evil", output: "results", wantField: "name"},
		{name: "name with a right-to-left mark", specName: "a\u202eb", output: "results", wantField: "name"},
		{name: "folder going up", specName: "ok", output: "../outside", wantField: "output"},
		{name: "folder going up in the middle", specName: "ok", output: "results/../../outside", wantField: "output"},
		{name: "folder going up with backslashes", specName: "ok", output: `results\..\..\outside`, wantField: "output"},
		{name: "home folder", specName: "ok", output: "~/outside", wantField: "output"},
		{name: "folder with a control character", specName: "ok", output: "results\u0007x", wantField: "output"},
		{name: "s3 prefix going up", specName: "ok", output: "s3://bucket/../other", wantField: "output"},
		{name: "s3 prefix with an empty element", specName: "ok", output: "s3://bucket//x", wantField: "output"},
		{name: "s3 prefix with an escaped slash", specName: "ok", output: "s3://bucket/a%2F..%2Fb", wantField: "output"},
		{name: "s3 prefix with a query", specName: "ok", output: "s3://bucket/x?versionId=1", wantField: "output"},
		{name: "s3 with upper-case scheme", specName: "ok", output: "S3://bucket/x", wantField: "output"},
		{name: "file URL", specName: "ok", output: "file:///etc", wantField: "output"},
		{name: "credentials in the s3 URL", specName: "ok", output: "s3://AKIA:" + secret + "@bucket/x", wantField: "output"},
		{name: "s3 URL with one slash", specName: "ok", output: "s3:/bucket/x", wantField: "output"},
		{name: "s3 prefix with the store's reserved name", specName: "ok", output: "s3://bucket/.isweep-tmp", wantField: "output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			work := filepath.Join(dir, "work")
			if err := os.Mkdir(work, 0o755); err != nil {
				t.Fatal(err)
			}
			spec := fmt.Sprintf("apiVersion: isweep/v1\nname: %q\noutput: %q\nfixed: {algorithm: direct, n: 2}\n", tt.specName, tt.output)
			path := filepath.Join(work, "spec.yaml")
			if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
				t.Fatal(err)
			}
			// Nothing listens at 127.0.0.1:1: a spec that passed validation
			// would fail to connect (exit 3 or 4), not exit 2.
			env := []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test-secret", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:1", "AWS_REGION=us-east-1"}
			code, out := runIsweepIn(t, work, env, "submit", "-address", "127.0.0.1:1", "spec.yaml")
			var problems []string
			if code != 2 {
				problems = append(problems, fmt.Sprintf("got: exit %d, want: 2 (bad input)", code))
			}
			if !strings.Contains(out, tt.wantField) {
				problems = append(problems, fmt.Sprintf("got: a message not naming %q, want: it named", tt.wantField))
			}
			if strings.Contains(out, secret) {
				problems = append(problems, "got: the credential repeated in the message, want: never")
			}
			if strings.Contains(out, "panic:") {
				problems = append(problems, "got: a panic, want: a clear error")
			}
			// Nothing was created beside the working folder.
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				problems = append(problems, fmt.Sprintf("got: %d entries beside the working folder, want: none", len(entries)-1))
			}
			if len(problems) == 0 {
				if tt.gap != "" {
					t.Logf("known gap %q is fixed: remove the gap mark", tt.gap)
				}
				return
			}
			if tt.gap != "" {
				t.Skipf("KNOWN GAP (%s): %s\n%s", tt.gap, strings.Join(problems, "; "), out)
			}
			t.Errorf("%s\noutput:\n%s", strings.Join(problems, "\n"), out)
		})
	}
}

// TestReportRefusesOddSweepIDs gives `isweep report` sweep ids that would
// name folders outside the output.
func TestReportRefusesOddSweepIDs(t *testing.T) {
	for _, id := range []string{"../../outside", "/etc", "a/b"} {
		t.Run(id, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "results")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			code, msg := runIsweepIn(t, dir, nil, "report", "-output", out, id)
			if code != 2 || strings.Contains(msg, "panic:") || !strings.Contains(msg, "not a sweep id") {
				t.Fatalf("got: exit %d, want: 2 with a clear refusal\n%s", code, msg)
			}
			if _, err := os.Stat(filepath.Join(dir, "outside")); err == nil {
				t.Errorf("got: a folder written outside the output, want: none")
			}
		})
	}
}
