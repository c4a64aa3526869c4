package results_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

func point(index int64, algo dynamics.Algorithm, n int, eta float64, convTime *float64) results.PointRow {
	status := results.StatusNotConverged
	if convTime != nil {
		status = results.StatusConverged
	}
	return results.PointRow{
		SweepID:    "demo",
		PointID:    fmt.Sprintf("demo-%d", index),
		PointIndex: index,
		Chunk:      0,
		Params:     dynamics.Params{Algorithm: algo, Mode: dynamics.Flow, N: n, InitScale: 10, Eta: eta},
		Result:     dynamics.Result{ConvTime: convTime},
		Status:     status,
	}
}

func ptr(v float64) *float64 { return &v }

// A worker stores the rows of one chunk: one Parquet part per partition
// (algorithm and n), at a key that depends only on the sweep, the
// partition and the chunk; ReadPoints reads a sweep's parts back.
func ExampleEncodePoints() {
	dir, err := os.MkdirTemp("", "results-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		log.Fatal(err)
	}

	partitions := [][]results.PointRow{
		{point(0, dynamics.Direct, 4, 0.01, ptr(11.9)), point(2, dynamics.Direct, 4, 0.1, nil)},
		{point(1, dynamics.Interneuron, 4, 0.01, ptr(2.3))},
	}
	for _, rows := range partitions {
		body, err := results.EncodePoints(rows)
		if err != nil {
			log.Fatal(err)
		}
		key := results.PointsKey("demo", results.Partition{Algorithm: rows[0].Params.Algorithm, N: rows[0].Params.N}, 0)
		if err := st.Put(ctx, key, body); err != nil {
			log.Fatal(err)
		}
		fmt.Println(key, len(rows))
	}

	back, err := results.ReadPoints(ctx, st, "demo", nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range back {
		fmt.Println(r.PointID, r.Params.Algorithm, r.Params.N, r.Status)
	}
	// Output:
	// points/algorithm=direct/n=4/part-demo-000000.parquet 2
	// points/algorithm=interneuron/n=4/part-demo-000000.parquet 1
	// demo-0 direct 4 converged
	// demo-1 interneuron 4 converged
	// demo-2 direct 4 not_converged
}

// Summarize picks, per algorithm, mode, n and initial scale, the learning
// rate that converged fastest.
func ExampleSummarize() {
	rows := []results.PointRow{
		point(0, dynamics.Direct, 4, 0.01, ptr(12.5)),
		point(1, dynamics.Direct, 4, 0.05, ptr(11.0)),
		point(2, dynamics.Direct, 4, 0.1, nil),
		point(3, dynamics.Interneuron, 4, 0.05, ptr(2.3)),
		point(4, dynamics.Interneuron, 4, 0.1, ptr(2.3)), // a tie: the smaller eta wins
	}
	for _, s := range results.Summarize(rows) {
		fmt.Printf("%s n=%d μ=%g: best eta %g, conv_time %g (%d of %d converged)\n",
			s.Algorithm, s.N, s.InitScale, *s.BestEta, *s.BestConvTime, s.Converged, s.Points)
	}
	// Output:
	// direct n=4 μ=10: best eta 0.05, conv_time 11 (2 of 3 converged)
	// interneuron n=4 μ=10: best eta 0.05, conv_time 2.3 (2 of 2 converged)
}
