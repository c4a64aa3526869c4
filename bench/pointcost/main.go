// Command pointcost measures the single-core time of one point with
// internal/dynamics and prints it next to schemas.EstimatePointSeconds, the
// cost model that sizes chunks. Run it after changing the dynamics kernels
// and refit the model when a ratio leaves about [0.5, 2].
//
// Usage:
//
//	go run ./bench/pointcost [-networks direct,gain,interneuron] [-sizes 2,4,8,16,32,64]
//
// The default is every network at every size, except the gain network
// above n = 16, whose flow points cost minutes each there (k = n(n+1)/2
// gains; ask for them with -sizes).
//
// Each row is one mode, network and dimension: 40 points (10 init_scale
// values × 4 seeds; online: 2,000 steps, record 20) with the rest of the
// defaults, measured one after the other on one goroutine.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/schemas"
)

func main() {
	networks := flag.String("networks", strings.Join(dynamics.NetworkNames(), ","), "comma-separated networks to measure")
	sizes := flag.String("sizes", "", "comma-separated dimensions n (default 2,4,8,16,32,64; gain up to 16)")
	flag.Parse()
	ns := []int{2, 4, 8, 16, 32, 64}
	if *sizes != "" {
		ns = ns[:0]
		for _, f := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				fmt.Fprintf(os.Stderr, "pointcost: -sizes: %q is not a dimension n ≥ 1\n", f)
				os.Exit(2)
			}
			ns = append(ns, n)
		}
	}
	// A worker runs with a large heap; so does this measurement.
	debug.SetGCPercent(2000)
	ctx := context.Background()
	fmt.Println("| mode | network | n | measured µs | estimated µs | estimated ÷ measured | steps |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, mode := range []string{"flow", "online"} {
		for _, algo := range strings.Split(*networks, ",") {
			for _, n := range ns {
				if algo == string(dynamics.Gain) && n > 16 && *sizes == "" {
					continue
				}
				if err := row(ctx, mode, algo, n); err != nil {
					fmt.Fprintln(os.Stderr, "pointcost:", err)
					os.Exit(1)
				}
			}
		}
	}
}

// row measures and prints one row of the table.
func row(ctx context.Context, mode, algo string, n int) error {
	extra := ""
	if mode == "online" {
		extra = ", eta: 0.01, horizon: 2000, record: 20"
	}
	text := fmt.Sprintf("apiVersion: isweep/v1\nname: pointcost\noutput: unused\ngrid:\n  init_scale: {logspace: [0, 2, 10]}\n  seed: {range: [0, 4, 1]}\n"+
		"fixed: {mode: %s, algorithm: %s, n: %d, input_spectrum: {min: 0.5, max: 2, spacing: log}, input_basis: random, tol: 0.01%s}\n", mode, algo, n, extra)
	spec, err := schemas.Parse([]byte(text), "pointcost.yaml")
	if err != nil {
		return err
	}
	grid, err := spec.Grid()
	if err != nil {
		return err
	}
	// Small points are repeated for a steadier figure.
	reps := 1
	if n <= 8 {
		reps = 5
	}
	var measured, estimated float64
	var steps int64
	for range reps {
		for i := range grid.Len() {
			p := grid.Point(i).Params
			start := time.Now()
			res, err := dynamics.Run(ctx, p)
			measured += time.Since(start).Seconds()
			if err != nil {
				return fmt.Errorf("%s %s n=%d point %d: %w", mode, algo, n, i, err)
			}
			estimated += schemas.EstimatePointSeconds(p)
			steps += res.Steps
		}
	}
	k := float64(grid.Len() * int64(reps))
	fmt.Printf("| %s | %s | %d | %.1f | %.1f | %.2f | %.0f |\n", mode, algo, n, measured/k*1e6, estimated/k*1e6, estimated/measured, float64(steps)/k)
	return nil
}
