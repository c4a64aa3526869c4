package activities

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/isweep/isweep/schemas"
)

// pointIDLen is the length of a point id: 32 hex digits.
const pointIDLen = 32

// pointKey is a point id as two big-endian halves: compared as integers,
// keys order as the hex ids do, in a fraction of the time and a third of
// the memory of the strings.
type pointKey struct{ hi, lo uint64 }

// parsePointKey decodes id, 32 hex digits.
func parsePointKey(id string) (pointKey, error) {
	var raw [16]byte
	if len(id) != pointIDLen {
		return pointKey{}, fmt.Errorf("point id %q is not %d hex digits", id, pointIDLen)
	}
	if _, err := hex.Decode(raw[:], []byte(id)); err != nil {
		return pointKey{}, fmt.Errorf("point id %q is not %d hex digits", id, pointIDLen)
	}
	return pointKey{binary.BigEndian.Uint64(raw[:8]), binary.BigEndian.Uint64(raw[8:])}, nil
}

// String returns the key as its point id.
func (k pointKey) String() string { return string(k.appendHex(nil)) }

// appendHex appends the key's point id, 32 hex digits, to b.
func (k pointKey) appendHex(b []byte) []byte {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], k.hi)
	binary.BigEndian.PutUint64(raw[8:], k.lo)
	return hex.AppendEncode(b, raw[:])
}

func comparePointKeys(a, b pointKey) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// parseIDsHex decodes a marker's point ids, 32 hex digits each, one after
// another.
func parseIDsHex(ids string) ([]pointKey, error) {
	if len(ids)%pointIDLen != 0 {
		return nil, fmt.Errorf("point_ids_hex holds %d characters, not a multiple of %d", len(ids), pointIDLen)
	}
	keys := make([]pointKey, 0, len(ids)/pointIDLen)
	for i := 0; i < len(ids); i += pointIDLen {
		k, err := parsePointKey(ids[i : i+pointIDLen])
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// bucketSortMin is the number of keys from which sortKeys sorts by
// buckets.
const bucketSortMin = 4096

// sortKeys sorts keys. Point ids are hashes, spread evenly, so a counting
// pass on their top bits leaves buckets of about eight ids, each then
// sorted on its own: at 10⁶ ids about a fifth of the time of a comparison
// sort. Unevenly spread keys only make the buckets larger.
func sortKeys[T any](items []T, key func(*T) pointKey, compare func(a, b T) int) []T {
	if len(items) < bucketSortMin {
		slices.SortFunc(items, compare)
		return items
	}
	width := min(bits.Len(uint(len(items)/8)), 24)
	shift := 64 - width
	starts := make([]int, 1<<width+1)
	for i := range items {
		starts[key(&items[i]).hi>>shift+1]++
	}
	for b := 1; b < len(starts); b++ {
		starts[b] += starts[b-1]
	}
	sorted := make([]T, len(items))
	next := slices.Clone(starts)
	for i := range items {
		b := key(&items[i]).hi >> shift
		sorted[next[b]] = items[i]
		next[b]++
	}
	for b := range 1 << width {
		if bucket := sorted[starts[b]:starts[b+1]]; len(bucket) > 1 {
			slices.SortFunc(bucket, compare)
		}
	}
	return sorted
}

// gridKeys returns the point keys of the grid ordinals in ranges (half-open,
// ascending), in that order, hashing on every core; progress is called
// from time to time with the number of keys done.
func gridKeys(ctx context.Context, g *schemas.Grid, ranges [][2]int64, progress func(done int64)) ([]pointKey, error) {
	var total int64
	for _, r := range ranges {
		total += r[1] - r[0]
	}
	keys := make([]pointKey, total)
	// Blocks of positions, taken in turn by the goroutines.
	const block = 4096
	type span struct{ pos, ord, n int64 }
	var spans []span
	var pos int64
	for _, r := range ranges {
		for o := r[0]; o < r[1]; o += block {
			n := min(block, r[1]-o)
			spans = append(spans, span{pos, o, n})
			pos += n
		}
	}
	work := make(chan span)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for sp := range work {
				for j := range sp.n {
					k, err := parsePointKey(g.Point(sp.ord + j).ID)
					if err != nil {
						select {
						case errs <- err:
						default:
						}
						return
					}
					keys[sp.pos+j] = k
				}
			}
		})
	}
	var err error
feed:
	for i, sp := range spans {
		select {
		case work <- sp:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
		if progress != nil && i%64 == 0 {
			progress(sp.pos)
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return nil, err
	}
	return keys, nil
}
