// Package activities holds the Temporal activities of a sweep: PlanSweep
// (validate the spec, store it, decide which points to compute),
// ListDoneChunks (what a resumed sweep can skip), RunChunk (integrate a
// chunk's points and store them as Parquet parts), and FinalizeSweep
// (summary, point index and manifest). Activities return counts and keys,
// never results: results live in the object store.
//
// Every write is create-only at a key that does not depend on the attempt,
// so an activity that runs twice stores each point once.
//
// Layout of a sweep's bookkeeping objects under the output root:
//
//	sweeps/<sweep_id>/spec.json              the canonical spec
//	sweeps/<sweep_id>/plan.json              the grid ordinals it computes
//	sweeps/<sweep_id>/chunks/chunk-NNNNNN.json  one marker per finished chunk
//	index/points-<sweep_id>.ids              point ids of a complete sweep
package activities
