// Package workflows holds isweep's Temporal workflows. SweepWorkflow drives
// one sweep: it plans it, runs its chunks through the activities with a
// bounded window, continues as new before its history grows large, answers
// progress queries, obeys pause and resume signals, and finalizes the
// results. Workflow code here is deterministic: no wall clock, randomness,
// goroutines or map iteration.
package workflows
