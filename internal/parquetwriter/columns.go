package parquetwriter

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
)

// Value is the Go type of a column's values: bool, int32, int64 (also
// timestamps), float64 or string.
type Value interface {
	bool | int32 | int64 | float64 | string
}

// ColumnBuffer holds the values of one column for the rows of a row group,
// in row order. A NULL is stored as the zero value with valid[i] false;
// valid is kept only for nullable columns.
type ColumnBuffer[T Value] struct {
	values   []T
	valid    []bool
	nullable bool
}

// Append appends a value.
func (c *ColumnBuffer[T]) Append(v T) {
	c.values = append(c.values, v)
	if c.nullable {
		c.valid = append(c.valid, true)
	}
}

// AppendNull appends a NULL. It panics for a column that is not nullable:
// a programmer error.
func (c *ColumnBuffer[T]) AppendNull() {
	if !c.nullable {
		panic("parquetwriter: AppendNull on a column that is not nullable")
	}
	var zero T
	c.values = append(c.values, zero)
	c.valid = append(c.valid, false)
}

// Extend appends n values and returns them for the caller to set, every
// one: the fast way to fill a block of rows, without a call per value.
// For a nullable column valid says which are set: valid[i] false makes
// value i NULL, whatever the value (it is written nowhere). For the other
// columns valid is nil.
func (c *ColumnBuffer[T]) Extend(n int) (values []T, valid []bool) {
	c.values = slices.Grow(c.values, n)[:len(c.values)+n]
	values = c.values[len(c.values)-n:]
	if c.nullable {
		c.valid = slices.Grow(c.valid, n)[:len(c.valid)+n]
		valid = c.valid[len(c.valid)-n:]
	}
	return values, valid
}

// nulls returns the number of NULLs appended.
func (c *ColumnBuffer[T]) nulls() int {
	n := 0
	for _, ok := range c.valid {
		if !ok {
			n++
		}
	}
	return n
}

// Len returns the number of values appended, NULLs included.
func (c *ColumnBuffer[T]) Len() int { return len(c.values) }

func (c *ColumnBuffer[T]) reset(capacity int) {
	if cap(c.values) < capacity {
		c.values = make([]T, 0, capacity)
	}
	if c.nullable && cap(c.valid) < capacity {
		c.valid = make([]bool, 0, capacity)
	}
	c.values, c.valid = c.values[:0], c.valid[:0]
}

// forget empties the column and drops its references to the strings of
// the rows it held, so that a pooled buffer does not keep them alive.
func (c *ColumnBuffer[T]) forget() {
	if _, ok := any(c.values).([]string); ok {
		clear(c.values)
	}
	c.reset(0)
}

// Column is a [ColumnBuffer] of any value type.
type Column interface {
	Len() int
	reset(capacity int)
	forget()
}

// Columns are the column buffers of one table, in schema order, made by
// [Layout.NewColumns].
type Columns []Column

// Reset empties the columns and makes room for rows values in each.
func (t Columns) Reset(rows int) {
	for _, c := range t {
		c.reset(rows)
	}
}

// Forget empties the columns and drops their references to the rows'
// strings, before they go back to a pool.
func (t Columns) Forget() {
	for _, c := range t {
		c.forget()
	}
}

// dictionary maps the distinct values of a column chunk to their index in
// first-seen order.
type dictionary[K comparable] struct {
	keys    []K
	index   map[K]uint32
	indices []uint32 // one per non-NULL value
}

// linearKeys is the dictionary size up to which lookups scan the keys
// instead of hashing: a sweep's grid columns have a handful of values.
const linearKeys = 16

// build indexes the values (those with valid set, or all when valid is
// nil). It gives up and returns false as soon as there are more than limit
// distinct values.
func (d *dictionary[K]) build(values []K, valid []bool, limit int) bool {
	d.keys, d.indices = d.keys[:0], d.indices[:0]
	clear(d.index)
	var last K
	lastIndex := uint32(0)
	have := false
	for i, v := range values {
		if valid != nil && !valid[i] {
			continue
		}
		if have && v == last {
			d.indices = append(d.indices, lastIndex)
			continue
		}
		idx, ok := d.lookup(v)
		if !ok {
			if len(d.keys) == limit {
				return false
			}
			idx = uint32(len(d.keys))
			d.keys = append(d.keys, v)
			if d.index != nil {
				d.index[v] = idx
			} else if len(d.keys) > linearKeys {
				d.index = make(map[K]uint32, 2*linearKeys)
				for j, k := range d.keys {
					d.index[k] = uint32(j)
				}
			}
		}
		d.indices = append(d.indices, idx)
		last, lastIndex, have = v, idx, true
	}
	return true
}

func (d *dictionary[K]) lookup(v K) (uint32, bool) {
	if len(d.keys) <= linearKeys {
		for i, k := range d.keys {
			if k == v {
				return uint32(i), true
			}
		}
		return 0, false
	}
	idx, ok := d.index[v]
	return idx, ok
}

// appendPlain appends the PLAIN encoding of values[lo:hi] (those with
// valid set, or all when valid is nil): little-endian numbers, bit-packed
// booleans, length-prefixed byte arrays. Doubles may be given as their
// IEEE 754 bits ([]uint64), as a dictionary holds them.
func appendPlain(dst []byte, values any, valid []bool, lo, hi int) []byte {
	if valid != nil {
		valid = valid[lo:hi]
	}
	var tail []byte
	n := 0 // values written to tail
	switch v := values.(type) {
	case []int64:
		dst, tail = grow(dst, 8*(hi-lo))
		for i, x := range v[lo:hi] {
			if valid == nil || valid[i] {
				binary.LittleEndian.PutUint64(tail[8*n:], uint64(x))
				n++
			}
		}
		return dst[:len(dst)-len(tail)+8*n]
	case []uint64:
		dst, tail = grow(dst, 8*(hi-lo))
		for i, x := range v[lo:hi] {
			if valid == nil || valid[i] {
				binary.LittleEndian.PutUint64(tail[8*n:], x)
				n++
			}
		}
		return dst[:len(dst)-len(tail)+8*n]
	case []float64:
		dst, tail = grow(dst, 8*(hi-lo))
		for i, x := range v[lo:hi] {
			if valid == nil || valid[i] {
				binary.LittleEndian.PutUint64(tail[8*n:], math.Float64bits(x))
				n++
			}
		}
		return dst[:len(dst)-len(tail)+8*n]
	case []int32:
		dst, tail = grow(dst, 4*(hi-lo))
		for i, x := range v[lo:hi] {
			if valid == nil || valid[i] {
				binary.LittleEndian.PutUint32(tail[4*n:], uint32(x))
				n++
			}
		}
		return dst[:len(dst)-len(tail)+4*n]
	case []string:
		for i, s := range v[lo:hi] {
			if valid == nil || valid[i] {
				dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
				dst = append(dst, s...)
			}
		}
		return dst
	case []bool:
		var acc byte
		for i, b := range v[lo:hi] {
			if valid != nil && !valid[i] {
				continue
			}
			if b {
				acc |= 1 << (n & 7)
			}
			n++
			if n&7 == 0 {
				dst = append(dst, acc)
				acc = 0
			}
		}
		if n&7 != 0 {
			dst = append(dst, acc)
		}
		return dst
	}
	panic("parquetwriter: appendPlain: unsupported value type")
}

// grow extends dst by n bytes and returns it with the n new bytes.
func grow(dst []byte, n int) ([]byte, []byte) {
	if cap(dst)-len(dst) < n {
		bigger := make([]byte, len(dst), 2*cap(dst)+n)
		copy(bigger, dst)
		dst = bigger
	}
	dst = dst[:len(dst)+n]
	return dst, dst[len(dst)-n:]
}

// appendHybrid appends values with Parquet's RLE / bit-packing hybrid
// encoding at the given bit width (1 to 32): values in groups of 8, a
// group of 8 equal values and the equal values after it as an RLE run, the
// other groups bit-packed, the last group padded with zeros. It is the
// encoding of definition levels and of dictionary indices. Looking at
// whole groups keeps the loop free of unpredictable branches on random
// indices; a run that starts inside a group is RLE-encoded from the next
// group on.
func appendHybrid(dst []byte, values []uint32, width int) []byte {
	literal := 0 // start of the values not yet written
	i := 0
	for i+8 <= len(values) {
		g := values[i : i+8 : i+8]
		v := g[0]
		if (g[1]^v)|(g[2]^v)|(g[3]^v)|(g[4]^v)|(g[5]^v)|(g[6]^v)|(g[7]^v) != 0 {
			i += 8
			continue
		}
		j := i + 8
		for j < len(values) && values[j] == v {
			j++
		}
		if i > literal {
			dst = appendBitPacked(dst, values[literal:i], width)
		}
		dst = appendRLERun(dst, v, j-i, width)
		i, literal = j, j
	}
	if literal < len(values) {
		dst = appendBitPacked(dst, values[literal:], width)
	}
	return dst
}

func appendRLERun(dst []byte, value uint32, count, width int) []byte {
	dst = binary.AppendUvarint(dst, uint64(count)<<1)
	for b := 0; b < (width+7)/8; b++ {
		dst = append(dst, byte(value>>(8*b)))
	}
	return dst
}

// appendBitPacked appends one bit-packed run of values, padded with zeros
// to a multiple of 8 values.
func appendBitPacked(dst []byte, values []uint32, width int) []byte {
	groups := (len(values) + 7) / 8
	dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
	w := uint(width)
	if width <= 8 {
		// A group of 8 values fits in a uint64: pack it, write its
		// width bytes.
		var group [8]uint32
		for len(values) > 0 {
			n := copy(group[:], values)
			clear(group[n:])
			values = values[n:]
			var acc uint64
			for k, v := range group {
				acc |= uint64(v) << (uint(k) * w)
			}
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			dst = dst[:len(dst)-8+width]
		}
		return dst
	}
	start := len(dst)
	var acc uint64
	var used uint
	for _, v := range values {
		acc |= uint64(v) << used
		used += w
		for used >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			used -= 8
		}
	}
	if used > 0 {
		dst = append(dst, byte(acc))
	}
	for len(dst)-start < groups*width {
		dst = append(dst, 0)
	}
	return dst
}

// bitWidth returns the number of bits of the largest dictionary index of a
// dictionary of n entries, at least 1.
func bitWidth(n int) int {
	return max(1, bits.Len(uint(n-1)))
}

// columnStats are a column chunk's statistics: its NULL count and the
// PLAIN encodings of its smallest and largest value. Min and max are unset
// when every value is NULL, when a string is longer than maxStatsBytes, and
// for a double column holding a NaN: the Parquet specification leaves NaN
// out of min and max, but DuckDB (2.0) orders NaN above every number and
// skips row groups by min and max, so a filter x > max would lose the NaN
// rows (TestInteropStatistics); without min and max, no reader skips them.
type columnStats struct {
	nulls     int64
	hasMinMax bool
	min, max  []byte
}

// maxStatsBytes is the longest string kept as a min or max statistic.
const maxStatsBytes = 4096

// computeStats returns the statistics of values (those with valid set, or
// all when valid is nil), appending min and max to arena. A zero min is
// written as −0 and a zero max as +0, as the Parquet specification asks.
func computeStats(arena []byte, values any, valid []bool, nulls int) (columnStats, []byte) {
	s := columnStats{nulls: int64(nulls)}
	switch v := values.(type) {
	case []int64:
		lo, hi, ok := minMaxOrdered(v, valid)
		if ok {
			s.hasMinMax = true
			arena, s.min = appendArena(arena, func(b []byte) []byte { return binary.LittleEndian.AppendUint64(b, uint64(lo)) })
			arena, s.max = appendArena(arena, func(b []byte) []byte { return binary.LittleEndian.AppendUint64(b, uint64(hi)) })
		}
	case []int32:
		lo, hi, ok := minMaxOrdered(v, valid)
		if ok {
			s.hasMinMax = true
			arena, s.min = appendArena(arena, func(b []byte) []byte { return binary.LittleEndian.AppendUint32(b, uint32(lo)) })
			arena, s.max = appendArena(arena, func(b []byte) []byte { return binary.LittleEndian.AppendUint32(b, uint32(hi)) })
		}
	case []float64:
		lo, hi, ok := minMaxFloat(v, valid)
		if ok {
			s.hasMinMax = true
			arena, s.min, s.max = appendFloatStats(arena, lo, hi)
		}
	case []string:
		lo, hi, ok := minMaxOrdered(v, valid)
		if ok && len(lo) <= maxStatsBytes && len(hi) <= maxStatsBytes {
			s.hasMinMax = true
			arena, s.min = appendArena(arena, func(b []byte) []byte { return append(b, lo...) })
			arena, s.max = appendArena(arena, func(b []byte) []byte { return append(b, hi...) })
		}
	case []bool:
		var seen [2]bool
		for i, b := range v {
			if valid == nil || valid[i] {
				if b {
					seen[1] = true
				} else {
					seen[0] = true
				}
			}
		}
		if seen[0] || seen[1] {
			s.hasMinMax = true
			lo, hi := byte(1), byte(0)
			if seen[0] {
				lo = 0
			}
			if seen[1] {
				hi = 1
			}
			arena, s.min = appendArena(arena, func(b []byte) []byte { return append(b, lo) })
			arena, s.max = appendArena(arena, func(b []byte) []byte { return append(b, hi) })
		}
	default:
		panic("parquetwriter: computeStats: unsupported value type")
	}
	return s, arena
}

func appendArena(arena []byte, put func([]byte) []byte) ([]byte, []byte) {
	start := len(arena)
	arena = put(arena)
	return arena, arena[start:len(arena):len(arena)]
}

func appendFloatStats(arena []byte, lo, hi float64) ([]byte, []byte, []byte) {
	if lo == 0 {
		lo = math.Copysign(0, -1)
	}
	if hi == 0 {
		hi = 0
	}
	var min, max []byte
	arena, min = appendArena(arena, func(b []byte) []byte { return binary.LittleEndian.AppendUint64(b, math.Float64bits(lo)) })
	arena, max = appendArena(arena, func(b []byte) []byte { return binary.LittleEndian.AppendUint64(b, math.Float64bits(hi)) })
	return arena, min, max
}

func minMaxOrdered[T int32 | int64 | string](values []T, valid []bool) (lo, hi T, ok bool) {
	for i, v := range values {
		if valid != nil && !valid[i] {
			continue
		}
		if !ok {
			lo, hi, ok = v, v, true
			continue
		}
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi, ok
}

// minMaxFloat returns the smallest and largest of values (those with
// valid set, or all when valid is nil); ok is false when there are none or
// one of them is NaN.
func minMaxFloat(values []float64, valid []bool) (lo, hi float64, ok bool) {
	seen := false
	for i, x := range values {
		if valid != nil && !valid[i] {
			continue
		}
		if x != x {
			return 0, 0, false
		}
		if !seen {
			lo, hi, seen = x, x, true
			continue
		}
		// −0 and +0 compare equal; appendFloatStats fixes the sign of a
		// zero min or max.
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	return lo, hi, seen
}
