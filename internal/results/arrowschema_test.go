package results

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestDamagedArrowSchemaIsAnError: a part whose ARROW:schema states a
// vector far longer than the message (one flipped byte) is refused with
// an error. arrow-go allocated the vector at that length, and verify of an
// output holding such a stray part ended with "fatal error: runtime: out
// of memory" (the chaos test, seed 1796475280214198911). Intact parts
// still read.
func TestDamagedArrowSchemaIsAnError(t *testing.T) {
	body, err := EncodePoints(onePartition(sweepRows(rand.New(rand.NewPCG(11, 12)), "schema", 0, 0, 5)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodePoints(body, nil); err != nil {
		t.Fatalf("the intact part: %v", err)
	}
	const key = "ARROW:schema"
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		t.Fatal("no ARROW:schema in the part")
	}
	// The value follows the key in the footer: a Thrift string, its
	// length as a varint, then base64.
	j := i + len(key) + 1
	for body[j]&0x80 != 0 {
		j++
	}
	j++
	end := j
	for end < len(body) && strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", rune(body[end])) {
		end++
	}
	raw, err := base64.StdEncoding.DecodeString(string(body[j:end]))
	if err != nil {
		t.Fatal(err)
	}
	fb, err := schemaMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	// The Schema's fields vector: its length word, within raw.
	v := flatVerifier{buf: fb}
	root, _ := v.deref(0)
	schema, _, _ := v.fieldRef(root, 2)
	fields, _, ok := v.fieldRef(schema, 1)
	if !ok {
		t.Fatal("no fields vector")
	}
	off := 4 // fb's start in raw: after the length, and the marker if any
	if binary.LittleEndian.Uint32(raw) == 0xFFFFFFFF {
		off = 8
	}
	binary.LittleEndian.PutUint32(raw[off+fields:], 0x10000000)
	damaged := append([]byte(nil), body...)
	copy(damaged[j:end], base64.StdEncoding.EncodeToString(raw))
	_, err = DecodePoints(damaged, nil)
	if err == nil || !strings.Contains(err.Error(), "ARROW:schema is damaged") {
		t.Errorf("a part whose ARROW:schema states 2^28 fields: got: %v want: an error saying ARROW:schema is damaged", err)
	}
}
