package cluster

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/isweep/isweep/internal/store"
)

// finds records where a scan found each needle: needle → places.
type finds map[string][]string

func (f finds) scan(place string, haystack []byte, needles []string) {
	for _, n := range needles {
		if bytes.Contains(haystack, []byte(n)) {
			f[n] = append(f[n], place)
		}
	}
}

// scanHistories scans every event of every workflow run in the namespace
// (every continue-as-new run included), both as protobuf bytes (payload
// data appears verbatim there) and as protojson. It returns the number of
// runs scanned.
func scanHistories(t *testing.T, c client.Client, needles []string, found finds) int {
	t.Helper()
	ctx := context.Background()
	runs := 0
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", NextPageToken: token})
		if err != nil {
			t.Fatalf("list workflows: %v", err)
		}
		for _, ex := range resp.GetExecutions() {
			runs++
			id, run := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
			it := c.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatalf("history of %s/%s: %v", id, run, err)
				}
				place := fmt.Sprintf("history %s run %s event %d (%s)", id, run, ev.GetEventId(), ev.GetEventType())
				raw, err := proto.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				found.scan(place, raw, needles)
				found.scan(place+" as JSON", []byte(protojson.Format(ev)), needles)
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return runs
		}
	}
}

// scanObjects scans every object under the store's root as bytes and, for
// Parquet files, every decoded value, the Arrow schema metadata and the
// file's key-value metadata. It returns the number of objects scanned.
func scanObjects(t *testing.T, st store.Store, needles []string, found finds) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for info, err := range st.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		body, err := st.Get(ctx, info.Key)
		if err != nil {
			t.Fatal(err)
		}
		n++
		found.scan("object "+info.Key, body, needles)
		if strings.HasSuffix(info.Key, ".parquet") {
			scanParquet(t, info.Key, body, needles, found)
		}
	}
	return n
}

func scanParquet(t *testing.T, key string, body []byte, needles []string, found finds) {
	t.Helper()
	alloc := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer alloc.AssertSize(t, 0)
	rdr, err := file.NewParquetReader(bytes.NewReader(body), file.WithReadProps(parquet.NewReaderProperties(alloc)))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	defer rdr.Close()
	kv := rdr.MetaData().KeyValueMetadata()
	for i, k := range kv.Keys() {
		found.scan(key+" file metadata key", []byte(k), needles)
		found.scan(key+" file metadata "+k, []byte(kv.Values()[i]), needles)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, alloc)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	defer tbl.Release()
	md := tbl.Schema().Metadata()
	for i, k := range md.Keys() {
		found.scan(key+" schema metadata "+k, []byte(k+"="+md.Values()[i]), needles)
	}
	for ci := 0; ci < int(tbl.NumCols()); ci++ {
		col := tbl.Column(ci)
		var values bytes.Buffer
		for _, chunk := range col.Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				values.WriteString(chunk.ValueStr(i))
				values.WriteByte('\n')
			}
		}
		found.scan(key+" column "+col.Name(), values.Bytes(), needles)
	}
}
