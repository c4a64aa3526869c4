// Package devserver runs a real Temporal server inside the isweep process.
//
// A sweep on a laptop needs an orchestrator but no cluster. Start assembles
// one from the public packages of go.temporal.io/server: all four services
// (frontend, history, matching, worker) in one process, persisting to a
// single SQLite file through the server's own SQLite plugin (or three, with
// Options.WithoutWorkerService, for a server that runs one sweep and exits
// fast). The file holds everything the server knows, so a process that is stopped, or killed, can
// be started again on the same file and every workflow carries on where it
// was: finished runs keep their results, waiting runs can still be
// signalled, and activities that were in flight are retried by their
// timeouts.
//
// Start creates the schema on a new file (in one transaction, so an
// interrupted start never leaves half a schema behind), registers the
// namespace if it is missing, and returns only once the frontend answers
// through an SDK client. A second server cannot open a file that is in use:
// Start holds an advisory lock on "<DBPath>.lock" for the life of the server,
// and the operating system drops it when the process dies.
//
// An empty Options.DBPath runs the server on an in-memory database instead;
// nothing survives the process.
//
// The dynamic configuration is tuned for one machine and many small
// activities: request and persistence rate limits are raised far above
// anything SQLite can serve, the history queues of the single shard may poll
// as often as they need to, and task queues have a single partition (see
// DevDynamicConfig). Any key can be overridden through
// Options.DynamicConfig.
package devserver
