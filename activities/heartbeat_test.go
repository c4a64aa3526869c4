package activities

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/isweep/isweep/internal/store"
)

// slowStore delays the Gets of chunk markers, or the Puts of points parts,
// while slow is set: an S3 server that is down, which the S3 store retries
// for a minute.
type slowStore struct {
	store.Store
	slow    *atomic.Bool
	markers bool // delay marker reads; else part writes
	delay   time.Duration
}

func (s slowStore) Get(ctx context.Context, key string) ([]byte, error) {
	if s.markers && s.slow.Load() && strings.Contains(key, "/chunks/chunk-") {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Store.Get(ctx, key)
}

func (s slowStore) Put(ctx context.Context, key string, body []byte) error {
	if !s.markers && s.slow.Load() && strings.HasPrefix(key, "points/") {
		time.Sleep(s.delay)
	}
	return s.Store.Put(ctx, key, body)
}

// TestChunkHeartbeatsFromItsStart: a chunk whose store is slow heartbeats
// through the wait, before it computes as after. RunChunk read its marker
// before its heartbeats started; with S3 down that read retries for a
// minute, longer than the heartbeat timeout (10 s for isweep run), so
// Temporal timed the attempt out for silence: the user saw "activity
// Heartbeat timeout" instead of the store's error, for minutes (found by
// the hostile tester). The slow part write, after the points, is the
// control: it shows the test sees heartbeats at all.
func TestChunkHeartbeatsFromItsStart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		markers bool
	}{{"marker read", true}, {"part write", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var slow atomic.Bool
			delay := HeartbeatEvery + 2*time.Second
			_, env, output := newTestActivitiesWith(t, func(st store.Store) store.Store {
				return slowStore{Store: st, slow: &slow, markers: tc.markers, delay: delay}
			})
			p := plan(t, env, output)
			var beats atomic.Int64
			env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats.Add(1) })
			slow.Store(true)
			start := time.Now()
			runChunk(t, env, ChunkRef{Output: output, SweepID: p.SweepID, Chunk: 0})
			if took := time.Since(start); took < delay {
				t.Fatalf("the chunk took %s, less than the delay %s: the store was not slowed", took, delay)
			}
			if beats.Load() == 0 {
				t.Errorf("got: no heartbeat during a %s of %s want: one every %s", tc.name, delay, HeartbeatEvery)
			}
		})
	}
}
