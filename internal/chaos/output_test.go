package chaos

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/isweep/isweep/internal/results"
	"github.com/isweep/isweep/internal/store"
)

// output is one output (a folder or an S3 prefix) and the sweeps the
// harness submitted into it.
type output struct {
	name     string
	location string
	folder   bool
	specDir  string
	// record and basis are shared by the output's sweeps, so that they
	// share points.
	record int
	basis  string
	// chunks bounds the chunk sizes of its new sweeps.
	chunks [2]int
	sweeps []*sweepRec
	st     store.Store
}

// store opens the output (once) for the harness's own reads and damage.
func (o *output) store(h *harness) store.Store {
	h.t.Helper()
	if o.st == nil {
		st, err := store.Open(ctx(), o.location, store.Options{})
		if err != nil {
			h.t.Fatalf("open %s: %v", o.location, err)
		}
		o.st = st
	}
	return o.st
}

// add records a sweep of the output (once per sweep id).
func (o *output) add(s *sweepRec) *sweepRec {
	for _, x := range o.sweeps {
		if x.id == s.id {
			return x
		}
	}
	o.sweeps = append(o.sweeps, s)
	return s
}

// newOutput makes the next output of a world.
func (h *harness) newOutput(rng *rand.Rand, world string, n int, location string, folder bool) *output {
	name := fmt.Sprintf("%s-o%d", world, n)
	o := &output{name: name, location: location, folder: folder, specDir: h.subdir("specs", name),
		record: 3 + rng.IntN(6), basis: []string{"identity", "random"}[rng.IntN(2)], chunks: [2]int{2, 4}}
	if !folder {
		// Smaller chunks on S3: two workers get through a sweep in about a
		// second otherwise, before a kill can be timed.
		o.chunks = [2]int{1, 2}
	}
	h.logf("new output %s at %s (record %d, input basis %s)", name, location, o.record, o.basis)
	return o
}

// chooseSweeps picks the round's output and sweeps: a fresh output now
// and then; A, a new sweep or an extension of one already in the output;
// and often B, an extension of A.
func (h *harness) chooseSweeps(rng *rand.Rand, outputs *[]*output, fresh func(n int) *output) (*output, *sweepRec, *sweepRec) {
	if len(*outputs) == 0 || rng.Float64() < 0.25 {
		*outputs = append(*outputs, fresh(len(*outputs)+1))
	}
	o := (*outputs)[rng.IntN(len(*outputs))]
	name := fmt.Sprintf("r%02d", h.round)
	var adef specDef
	if len(o.sweeps) > 0 && rng.Float64() < 0.5 {
		from := o.sweeps[rng.IntN(len(o.sweeps))]
		var how string
		adef, how = extend(rng, from.def, name+"-a")
		h.logf("sweep A extends %s (%s)", from.def.Name, how)
	} else {
		adef = baseSpec(rng, name+"-a", o.record, o.basis, o.chunks)
	}
	a := writeSpec(h.t, o.specDir, adef, o.location)
	h.logf("sweep A %s: %s (%d distinct points)", a.id, adef, len(a.ids))
	var b *sweepRec
	if rng.Float64() < 0.65 {
		bdef, how := extend(rng, adef, name+"-b")
		b = writeSpec(h.t, o.specDir, bdef, o.location)
		h.logf("sweep B %s extends A (%s): %s (%d distinct points)", b.id, how, bdef, len(b.ids))
		if b.id == a.id {
			h.logf("sweep B is sweep A")
			b = nil
		}
	}
	return o, a, b
}

// planOf reads what the harness needs of a sweep's stored plan.
type planOf struct {
	Planned   int64 `json:"planned"`
	ChunkSize int64 `json:"chunk_size"`
}

// ownChunks returns the number of chunks the sweep stores itself, once it
// is planned.
func (h *harness) ownChunks(o *output, id string) (int64, bool) {
	body, err := o.store(h).Get(ctx(), results.PlanKey(id))
	if err != nil {
		return 0, false
	}
	var p planOf
	if err := json.Unmarshal(body, &p); err != nil || p.ChunkSize < 1 {
		h.violation("%s in %s: %v", results.PlanKey(id), o.name, err)
		return 0, false
	}
	return (p.Planned + p.ChunkSize - 1) / p.ChunkSize, true
}

// markers counts the stored chunk markers of a sweep.
func (h *harness) markers(o *output, id string) int64 {
	var n int64
	prefix := results.ChunksPrefix(id)
	for obj, err := range o.store(h).List(ctx(), prefix) {
		if err != nil {
			h.t.Fatalf("list %s: %v", prefix, err)
		}
		if _, ok := results.ParseChunkKey(prefix, obj.Key); ok {
			n++
		}
	}
	return n
}

// waitWindow waits until the sweep is in the middle of its own chunks:
// at least one marker stored and at least two own chunks left, so that
// it is neither planning nor finalizing. It returns false when there is
// no such moment (too few own chunks, done already, or running ended).
//
// Kills are timed this way because a process killed while PlanSweep or
// FinalizeSweep runs leaves that activity to its 10-minute start-to-close
// timeout (TestKilledWhilePlanningStallsTheNextRun). The embedded layout
// uses it with embeddedWorld.killable; the cluster layout asks the server
// (clusterWorld.safeWindow).
func (h *harness) waitWindow(o *output, sw *sweepRec, running <-chan struct{}) bool {
	deadline := time.Now().Add(windowGuard)
	for time.Now().Before(deadline) {
		if running != nil {
			select {
			case <-running:
				h.logf("no kill window: the process of %s ended", sw.def.Name)
				return false
			default:
			}
		}
		own, ok := h.ownChunks(o, sw.id)
		if ok {
			if own < 3 {
				h.logf("no kill window: %s has %d own chunks", sw.def.Name, own)
				return false
			}
			n := h.markers(o, sw.id)
			if n >= 1 && n <= own-2 {
				h.logf("kill window: %s has %d of %d own chunks stored", sw.def.Name, n, own)
				return true
			}
			if n > own-2 {
				h.logf("no kill window: %s has %d of %d own chunks stored already", sw.def.Name, n, own)
				return false
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	h.logf("no kill window for %s within %s", sw.def.Name, windowGuard)
	return false
}

// damage is one stored object the harness damaged.
type damage struct {
	kind  string // flip, truncate, remove-part, remove-marker, flip-derived
	key   string
	owner string // the sweep the object belongs to
	chunk int64  // -1 for a derived object
	// sha is the SHA-256 of the damaged bytes (flip, truncate).
	sha string
}

func (d *damage) String() string {
	if d.chunk < 0 {
		return fmt.Sprintf("%s %s (sweep %s)", d.kind, d.key, d.owner)
	}
	return fmt.Sprintf("%s %s (chunk %d of sweep %s)", d.kind, d.key, d.chunk, d.owner)
}

// storedMarker is what the harness reads of a chunk marker.
type storedMarker struct {
	SweepID string         `json:"sweep_id"`
	Chunk   int64          `json:"chunk"`
	Parts   []results.Part `json:"parts"`
}

// chunkMarkers lists the markers of every sweep of the output.
func (h *harness) chunkMarkers(o *output) []string {
	var keys []string
	for _, sw := range o.sweeps {
		prefix := results.ChunksPrefix(sw.id)
		for obj, err := range o.store(h).List(ctx(), prefix) {
			if err != nil {
				h.t.Fatalf("list %s: %v", prefix, err)
			}
			if _, ok := results.ParseChunkKey(prefix, obj.Key); ok {
				keys = append(keys, obj.Key)
			}
		}
	}
	return keys
}

// corrupt damages one finished chunk of the output (or, now and then, a
// sweep's summary, members table or manifest): bytes flipped in a part
// (same size), a part truncated or removed, or the marker removed.
func (h *harness) corrupt(rng *rand.Rand, o *output) *damage {
	h.count("corrupt")
	st := o.store(h)
	if rng.Float64() < 0.12 {
		var derived []string
		var owners []string
		for _, sw := range o.sweeps {
			for _, key := range []string{results.SummaryKey(sw.id), results.MembersKey(sw.id), results.ManifestKey(sw.id)} {
				if _, err := st.Stat(ctx(), key); err == nil {
					derived = append(derived, key)
					owners = append(owners, sw.id)
				}
			}
		}
		if len(derived) > 0 {
			i := rng.IntN(len(derived))
			d := &damage{kind: "flip-derived", key: derived[i], owner: owners[i], chunk: -1}
			var ok bool
			if d.sha, ok = h.flip(rng, o, d.key); !ok {
				return nil
			}
			h.logf("damage: %s", d)
			return d
		}
	}
	keys := h.chunkMarkers(o)
	if len(keys) == 0 {
		h.logf("damage: no finished chunk in %s yet", o.name)
		return nil
	}
	slices.Sort(keys)
	markerKey := keys[rng.IntN(len(keys))]
	body, err := st.Get(ctx(), markerKey)
	if err != nil {
		h.t.Fatalf("read %s: %v", markerKey, err)
	}
	var m storedMarker
	if err := json.Unmarshal(body, &m); err != nil || len(m.Parts) == 0 {
		h.violation("marker %s: %v (%d parts)", markerKey, err, len(m.Parts))
		return nil
	}
	// A part an earlier damage removed (or a run quarantined) is not
	// there to damage again.
	var present []string
	for _, part := range m.Parts {
		if _, err := st.Stat(ctx(), part.Key); err == nil {
			present = append(present, part.Key)
		} else if !errors.Is(err, store.ErrNotFound) {
			h.t.Fatalf("stat %s: %v", part.Key, err)
		}
	}
	if len(present) == 0 {
		h.logf("damage: every part of %s is gone already", markerKey)
		return nil
	}
	d := &damage{owner: m.SweepID, chunk: m.Chunk, key: present[rng.IntN(len(present))]}
	ok := true
	switch r := rng.Float64(); {
	case r < 0.4:
		d.kind = "flip"
		d.sha, ok = h.flip(rng, o, d.key)
	case r < 0.6:
		d.kind = "truncate"
		d.sha, ok = h.truncate(rng, o, d.key)
	case r < 0.8:
		d.kind = "remove-part"
		h.remove(o, d.key)
	default:
		d.kind, d.key = "remove-marker", markerKey
		h.remove(o, d.key)
	}
	if !ok {
		return nil
	}
	h.logf("damage: %s", d)
	return d
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// flip flips one to three bytes of the object at key, keeping its size,
// and returns the SHA-256 of the damaged bytes; false when the object is
// gone (a run running meanwhile may quarantine it).
func (h *harness) flip(rng *rand.Rand, o *output, key string) (string, bool) {
	body, ok := h.getForDamage(o, key)
	if !ok {
		return "", false
	}
	for range 1 + rng.IntN(3) {
		body[rng.IntN(len(body))] ^= byte(1 + rng.IntN(255))
	}
	h.replace(o, key, body)
	return sha(body), true
}

// truncate cuts the object at key short and returns the SHA-256 of what
// is left; false when the object is gone.
func (h *harness) truncate(rng *rand.Rand, o *output, key string) (string, bool) {
	body, ok := h.getForDamage(o, key)
	if !ok {
		return "", false
	}
	body = body[:rng.IntN(len(body))]
	h.replace(o, key, body)
	return sha(body), true
}

// getForDamage reads the object at key to damage it; false, logged, when
// it is gone.
func (h *harness) getForDamage(o *output, key string) ([]byte, bool) {
	body, err := o.store(h).Get(ctx(), key)
	if errors.Is(err, store.ErrNotFound) {
		h.logf("damage: %s is gone already", key)
		return nil, false
	}
	if err != nil {
		h.t.Fatalf("read %s: %v", key, err)
	}
	return body, true
}

// replace overwrites the object at key: in place for a folder (as a disk
// or a user would), delete and put for S3.
func (h *harness) replace(o *output, key string, body []byte) {
	if o.folder {
		if err := os.WriteFile(filepath.Join(o.location, filepath.FromSlash(key)), body, 0o644); err != nil {
			h.t.Fatal(err)
		}
		return
	}
	h.remove(o, key)
	if err := o.store(h).Put(ctx(), key, body); err != nil {
		h.t.Fatalf("put %s: %v", key, err)
	}
}

func (h *harness) remove(o *output, key string) {
	if err := o.store(h).Delete(ctx(), key); err != nil {
		h.t.Fatalf("delete %s: %v", key, err)
	}
}

// inPlace reports whether a damage is still there: the damaged bytes at
// the key, or the key still missing.
func (h *harness) inPlace(o *output, d *damage) bool {
	body, err := o.store(h).Get(ctx(), d.key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return d.kind == "remove-part" || d.kind == "remove-marker"
	case err != nil:
		h.t.Fatalf("read %s: %v", d.key, err)
	}
	return d.sha != "" && sha(body) == d.sha
}

// quarantined counts the objects under quarantine/.
func (h *harness) quarantined(o *output) int {
	n := 0
	for _, err := range o.store(h).List(ctx(), results.QuarantinePrefix) {
		if err != nil {
			h.t.Fatalf("list quarantine: %v", err)
		}
		n++
	}
	return n
}

// verifyAndRepair runs `isweep verify` on every sweep of the output, as a
// user would, and runs again with -verify (rerun) each sweep it finds
// problems in, until every sweep verifies. Damage still in place must be
// reported by verify of its sweep; an output the round did not damage
// must verify at once and have nothing moved to quarantine.
func (h *harness) verifyAndRepair(o *output, damages []*damage, quarantineBefore int, rerun func(sw *sweepRec)) {
	inPlace := map[string]bool{} // sweep ids with damage still in place
	for _, d := range damages {
		if h.inPlace(o, d) {
			inPlace[d.owner] = true
			h.logf("damage still in place after the sweeps ran: %s", d)
		} else {
			h.logf("damage repaired by the runs already: %s", d)
		}
	}
	for pass := 1; ; pass++ {
		var bad []*sweepRec
		for _, sw := range o.sweeps {
			code, out := h.runCommand("verify "+sw.def.Name, commandGuard, "verify", sw.path)
			switch code {
			case 0:
				if pass == 1 && inPlace[sw.id] {
					h.violation("isweep verify %s exits 0 while its damage is in place (%v):\n%s", sw.path, damagesOf(damages, sw.id), out)
				}
			case 1:
				bad = append(bad, sw)
				h.logf("verify %s: problems:\n%s", sw.def.Name, tail(out, 12))
				if len(damages) == 0 {
					h.violation("isweep verify %s exits 1 in an output this round did not damage:\n%s", sw.path, out)
				}
			default:
				h.violation("isweep verify %s: exit %d, want 0 or 1:\n%s", sw.path, code, out)
			}
		}
		if len(bad) == 0 {
			break
		}
		if pass == 4 {
			h.violation("%s still has problems after 3 repairs: %d sweeps", o.name, len(bad))
			return
		}
		for _, sw := range bad {
			h.count("repair")
			rerun(sw)
		}
	}
	for _, d := range damages {
		if h.inPlace(o, d) {
			h.violation("every sweep verifies but the damage is still in place: %s", d)
		}
	}
	if q := h.quarantined(o); len(damages) == 0 && q != quarantineBefore {
		h.violation("%d objects were moved to quarantine in %s in a round that damaged nothing", q-quarantineBefore, o.name)
		h.logQuarantine(o)
	}
}

func (h *harness) logQuarantine(o *output) {
	for obj, err := range o.store(h).List(ctx(), results.QuarantinePrefix) {
		if err != nil {
			return
		}
		h.logf("  quarantine: %s (%d bytes)", obj.Key, obj.Size)
	}
}

func damagesOf(ds []*damage, id string) []string {
	var out []string
	for _, d := range ds {
		if d.owner == id {
			out = append(out, d.String())
		}
	}
	return out
}

// exitOK reports an exit code of a run or submit -watch that ended the
// sweep: 0. Others are logged; those no chaos explains are violations.
func (h *harness) checkExit(label string, code int, out string, allowed ...int) {
	if code == 0 || slices.Contains(allowed, code) {
		return
	}
	// Two runs started on one state folder at once: the second is refused
	// before any work, with exit 2 (one embedded server per database);
	// the round runs its sweep to the end afterwards.
	if code == 2 && strings.Contains(out, "is locked by another running Temporal server") {
		h.logf("%s: refused, its state folder is in use by another run (as documented)", label)
		return
	}
	h.violation("%s: exit %d, want 0 or %v:\n%s", label, code, allowed, tail(out, 40))
}

// lastLines returns the output's last non-empty line, for logs.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
