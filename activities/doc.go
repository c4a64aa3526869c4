// Package activities holds the Temporal activities of a sweep: PlanSweep
// (validate the spec, store it, take the next entry of the output's plan
// log and decide which points the sweep stores and which it reuses, verify
// what is already done), RunChunk (integrate a chunk's points and store
// them as Parquet parts, or make an earlier sweep's chunk done at its
// keys), and FinalizeSweep (members table, summary and manifest over every
// point of the sweep). Activities return counts and keys, never results:
// results live in the object store. Verify checks a sweep's stored files
// without changing them.
//
// Every write is create-only at a key that does not depend on the attempt,
// so an activity that runs twice stores each point once; a point belongs
// to the first sweep in the plan log that holds it, so an output stores
// each point once across sweeps. Nothing stored is overwritten: an object
// that does not check out is moved to quarantine and computed again. The
// keys are made in internal/results (keys.go).
package activities
