package schemas_test

import (
	"fmt"

	"github.com/isweep/isweep/schemas"
)

func ExampleParse() {
	spec, err := schemas.Parse([]byte(`
apiVersion: isweep/v1
name: mu-scan
output: results/mu-scan
grid:
  algorithm: [direct, interneuron]
  init_scale: {logspace: [0, 2, 3]}   # 1, 10, 100
fixed:
  n: 4
  input_spectrum: {min: 0.5, max: 2}
chunk: 4
`), "mu-scan.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := spec.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	g, err := spec.Grid()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sweep", spec.SweepID(), "points", g.Len(), "chunks", g.Chunks())
	for i := range g.Len() {
		fmt.Println(i, g.Describe(i))
	}

	// A typo is reported with the file, the line and a suggestion.
	_, err = schemas.Parse([]byte("apiVersion: isweep/v1\nname: typo\noutput: out\nfixed: {algorithm: direct, n: 2}\ngrid:\n  etaa: [0.1]\n"), "typo.yaml")
	fmt.Println(err)
	// Output:
	// sweep cca0b482df73b5ef points 6 chunks 2
	// 0 algorithm=direct, init_scale=1
	// 1 algorithm=direct, init_scale=10
	// 2 algorithm=direct, init_scale=100
	// 3 algorithm=interneuron, init_scale=1
	// 4 algorithm=interneuron, init_scale=10
	// 5 algorithm=interneuron, init_scale=100
	// typo.yaml:6: grid.etaa: unknown parameter; did you mean eta?
}
