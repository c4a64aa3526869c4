package results

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// checkArrowSchema checks the shape of a file's ARROW:schema value (an
// Arrow IPC schema message, base64) before pqarrow reads it: every vector
// of the schema's tables (fields, children, metadata, features) must fit
// in the message. arrow-go allocates such vectors at the length the
// message states, so a damaged length (a flipped bit in a stray part) made
// it allocate tens of gigabytes and end the process ("runtime: out of
// memory": TestDamagedArrowSchemaIsAnError). An absent value is fine.
func checkArrowSchema(value *string) error {
	if value == nil {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(*value)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(*value); err != nil {
			return fmt.Errorf("ARROW:schema is not base64: %w", err)
		}
	}
	fb, err := schemaMessage(raw)
	if err != nil {
		return err
	}
	v := flatVerifier{buf: fb}
	root, ok := v.deref(0)
	if !ok {
		return errDamagedArrowSchema
	}
	// Message: 2 header (Schema), 4 custom_metadata.
	if !v.tables(root, 4, 0, nil) {
		return errDamagedArrowSchema
	}
	schema, present, ok := v.fieldRef(root, 2)
	if !ok {
		return errDamagedArrowSchema
	}
	if !present {
		return nil
	}
	// Schema: 1 fields, 2 custom_metadata, 3 features (longs).
	if !v.tables(schema, 1, 0, v.field) || !v.tables(schema, 2, 0, nil) || !v.scalars(schema, 3, 8) {
		return errDamagedArrowSchema
	}
	return nil
}

var errDamagedArrowSchema = errors.New("ARROW:schema is damaged: a length in it runs past its end")

// schemaMessage returns the flatbuffer of an encapsulated IPC message: an
// optional continuation marker, the metadata length, the metadata.
func schemaMessage(raw []byte) ([]byte, error) {
	if len(raw) >= 4 && binary.LittleEndian.Uint32(raw) == 0xFFFFFFFF {
		raw = raw[4:]
	}
	if len(raw) < 4 {
		return nil, errDamagedArrowSchema
	}
	n := int64(int32(binary.LittleEndian.Uint32(raw)))
	if n < 4 || n > int64(len(raw)-4) {
		return nil, errDamagedArrowSchema
	}
	return raw[4 : 4+n], nil
}

// flatVerifier walks a flatbuffer, checking every offset and vector
// length it follows against the buffer's end.
type flatVerifier struct {
	buf     []byte
	visited int // tables visited, bounded against loops of offsets
}

// maxSchemaTables bounds the tables a schema may hold (isweep's have a few
// dozen fields).
const maxSchemaTables = 1 << 16

func (v *flatVerifier) u32(p int) (uint32, bool) {
	if p < 0 || p > len(v.buf)-4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(v.buf[p:]), true
}

// deref follows the unsigned offset stored at p.
func (v *flatVerifier) deref(p int) (int, bool) {
	off, ok := v.u32(p)
	if !ok {
		return 0, false
	}
	q := int64(p) + int64(off)
	return int(q), q < int64(len(v.buf))
}

// slot returns where the inline data of field i of the table at t lies,
// whether the table has the field, and whether all is in bounds.
func (v *flatVerifier) slot(t, i int) (pos int, present, ok bool) {
	so, ok := v.u32(t)
	if !ok {
		return 0, false, false
	}
	vt := int64(t) - int64(int32(so))
	if vt < 0 || vt > int64(len(v.buf)-4) {
		return 0, false, false
	}
	vtSize := int(binary.LittleEndian.Uint16(v.buf[vt:]))
	at := int(vt) + 4 + 2*i
	if at+2 > int(vt)+vtSize {
		return 0, false, true // beyond the vtable: absent
	}
	if at+2 > len(v.buf) {
		return 0, false, false
	}
	off := int(binary.LittleEndian.Uint16(v.buf[at:]))
	if off == 0 {
		return 0, false, true
	}
	if t+off >= len(v.buf) {
		return 0, false, false
	}
	return t + off, true, true
}

// fieldRef returns where field i of the table at t points (a table, a
// vector), whether the table has it, and whether all is in bounds.
func (v *flatVerifier) fieldRef(t, i int) (pos int, present, ok bool) {
	p, present, ok := v.slot(t, i)
	if !ok || !present {
		return 0, present, ok
	}
	pos, ok = v.deref(p)
	return pos, true, ok
}

// vector returns the start and length of the vector field i of the table
// at t, of elements of elem bytes, checked to fit.
func (v *flatVerifier) vector(t, i, elem int) (start, n int, ok bool) {
	p, present, ok := v.fieldRef(t, i)
	if !ok || !present {
		return 0, 0, ok
	}
	l, ok := v.u32(p)
	if !ok || int64(p)+4+int64(l)*int64(elem) > int64(len(v.buf)) {
		return 0, 0, false
	}
	return p + 4, int(l), true
}

// scalars checks the vector field i of the table at t of elem-byte values.
func (v *flatVerifier) scalars(t, i, elem int) bool {
	_, _, ok := v.vector(t, i, elem)
	return ok
}

// tables checks the vector field i of the table at t of tables, and each
// table with check (when not nil) at depth+1.
func (v *flatVerifier) tables(t, i, depth int, check func(t, depth int) bool) bool {
	start, n, ok := v.vector(t, i, 4)
	if !ok {
		return false
	}
	for k := range n {
		e, ok := v.deref(start + 4*k)
		if !ok {
			return false
		}
		if v.visited++; v.visited > maxSchemaTables {
			return false
		}
		if check != nil && !check(e, depth+1) {
			return false
		}
	}
	return true
}

// field checks a Field table: 5 children (Fields), 6 custom_metadata, and
// for a union type (type_type 14, field 2) its typeIds (field 1 of the
// type table, field 3).
func (v *flatVerifier) field(t, depth int) bool {
	if depth > 64 {
		return false
	}
	if !v.tables(t, 5, depth, v.field) || !v.tables(t, 6, depth, nil) {
		return false
	}
	const unionType = 14
	if tt, ok := v.scalar8(t, 2); !ok {
		return false
	} else if tt == unionType {
		typ, present, ok := v.fieldRef(t, 3)
		if !ok || present && !v.scalars(typ, 1, 4) {
			return false
		}
	}
	return true
}

// scalar8 returns the one-byte scalar field i of the table at t (0 when
// absent).
func (v *flatVerifier) scalar8(t, i int) (byte, bool) {
	p, present, ok := v.slot(t, i)
	if !ok || !present {
		return 0, ok
	}
	return v.buf[p], true
}
