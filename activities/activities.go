package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/isweep/isweep/internal/dynamics"
	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

// Config holds what the activities depend on. Only cmd/ and worker/ build
// one.
type Config struct {
	// OpenStore opens the object store of an output location (a folder or
	// s3://bucket/prefix). Required.
	OpenStore func(ctx context.Context, location string) (store.Store, error)
	// Alloc allocates Arrow memory. Default memory.DefaultAllocator.
	Alloc memory.Allocator
	// CPU bounds the points integrated at once by this worker, across all
	// its chunks. Default runtime.GOMAXPROCS(0).
	CPU int
	// Host and CodeVersion are recorded with every point (provenance).
	// Default: the host name, and "dev".
	Host        string
	CodeVersion string
}

// Activities are the sweep activities: plan a sweep, run a chunk of its
// points, list the finished chunks, and finalize. They are methods on this
// struct, which holds their dependencies; workflows name them through a nil
// pointer.
type Activities struct {
	cfg Config
	cpu chan struct{}
	// sampleBlocks and pointRows are free lists of trajectory storage and
	// of partitions' point rows (see arena.go).
	sampleBlocks freeList[dynamics.Sample]
	pointRows    freeList[results.PointRow]

	mu     sync.Mutex
	stores map[string]store.Store
	sweeps map[string]*sweepCache
}

// New returns the activities for cfg.
func New(cfg Config) (*Activities, error) {
	if cfg.OpenStore == nil {
		return nil, errors.New("activities: Config.OpenStore is required")
	}
	if cfg.Alloc == nil {
		cfg.Alloc = memory.DefaultAllocator
	}
	if cfg.CPU <= 0 {
		cfg.CPU = runtime.GOMAXPROCS(0)
	}
	if cfg.CodeVersion == "" {
		cfg.CodeVersion = "dev"
	}
	if cfg.Host == "" {
		cfg.Host, _ = os.Hostname()
	}
	return &Activities{
		cfg:          cfg,
		cpu:          make(chan struct{}, cfg.CPU),
		sampleBlocks: make(freeList[dynamics.Sample], maxFreeSampleBlocks),
		pointRows:    make(freeList[results.PointRow], maxFreeRowSlices),
		stores:       map[string]store.Store{},
		sweeps:       map[string]*sweepCache{},
	}, nil
}

// store returns the (cached) store of an output location.
func (a *Activities) store(ctx context.Context, location string) (store.Store, error) {
	a.mu.Lock()
	s, ok := a.stores[location]
	a.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := a.cfg.OpenStore(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("open output %s: %w", location, err)
	}
	a.mu.Lock()
	a.stores[location] = s
	a.mu.Unlock()
	return s, nil
}
