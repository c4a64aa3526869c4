// Package schemas reads sweep specs and expands them into points.
//
// A sweep spec is what a researcher writes, in YAML or JSON (JSON is YAML):
//
//	apiVersion: isweep/v1
//	name: mu-scan
//	output: results/mu-scan        # or s3://bucket/prefix
//	grid:                          # cartesian product of axes
//	  algorithm: [direct, interneuron]
//	  init_scale: {logspace: [0, 3, 10]}
//	zip:                           # axes in a group vary together
//	  - {n: [4, 16], k: [8, 32]}
//	fixed:                         # shared by every point
//	  tol: 0.01
//	chunk: 100                     # points per chunk (default: automatic)
//	limits: {max_points: 1000000}
//
// The parameter names are the JSON names of [dynamics.Params]. An axis is a
// list of values or one of the generators {linspace: [start, stop, num]},
// {logspace: [start_exp, stop_exp, num]} (base 10) and
// {range: [start, stop, step]} (stop excluded), which follow NumPy and Python.
//
// Numbers are read as YAML writes them, with one exception: an integer with
// a leading zero (010) is refused instead of being read as the octal 8, as
// YAML 1.1 (and the YAML library) would; write 10, or 0o10 for octal.
//
// A parameter left out takes its default (see [dynamics.Params.WithDefaults]).
// A parameter the point's network does not have is reset to its default: a
// direct point's k is n whatever the spec says, in its id, its checks and
// its results (the points table's k column, which is never NULL).
// Because a zero value (0, "") stands for the default in dynamics.Params, a
// spec may not write one, except seed: 0; tol: 0 is refused rather than
// silently turned into tol 0.01.
//
// [Parse] decodes a spec and checks its structure; [Spec.Validate] also
// checks every point with [dynamics.Params.Validate]. [Spec.Grid] gives random
// access to the points in a canonical order that does not depend on how keys
// were ordered in the file: axes are ordered like the fields of
// dynamics.Params (a zip group by its first parameter in that order) and the
// last axis varies fastest. Every point carries a content hash of its
// defaulted parameters ([PointID]) and every sweep one of its canonical spec
// ([Spec.SweepID]), so results can be matched to points across runs, machines
// and versions.
//
// The JSON Schema in sweep.schema.json describes the same format for editors.
package schemas
