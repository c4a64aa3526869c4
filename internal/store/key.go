package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxKeyBytes is the longest key accepted, S3's limit on object names.
const maxKeyBytes = 1024

// reservedPrefix starts the names of the store's own temporary and probe
// objects. Keys may not have an element starting with it and List hides
// such names.
const reservedPrefix = ".isweep-"

// keyExample ends every key error message, to show what is allowed.
const keyExample = `keys are relative slash-separated paths such as "points/algorithm=direct/n=16/part-000001.parquet"`

// KeyError reports a key or list prefix refused by validation.
type KeyError struct {
	// Key is the refused key or prefix, as given.
	Key string
	// Reason says what is wrong with it.
	Reason string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("store: key %q refused: %s; %s", e.Key, e.Reason, keyExample)
}

// validateKey returns a *KeyError when key is not a valid object key.
func validateKey(key string) error {
	if key == "" {
		return &KeyError{Key: key, Reason: "it is empty"}
	}
	if err := validateChars(key); err != nil {
		return err
	}
	for elem := range strings.SplitSeq(key, "/") {
		if err := validateElement(key, elem); err != nil {
			return err
		}
	}
	return nil
}

// validatePrefix returns a *KeyError when prefix cannot start any valid key.
// The empty prefix lists everything. Every element but the last must be a
// valid key element; the last one is a partial name and may be empty (a
// prefix ending in "/").
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := validateChars(prefix); err != nil {
		return err
	}
	elems := strings.Split(prefix, "/")
	for _, elem := range elems[:len(elems)-1] {
		if err := validateElement(prefix, elem); err != nil {
			return err
		}
	}
	return nil
}

// validateChars checks the rules that apply to the whole of a key or prefix.
func validateChars(key string) error {
	switch {
	case len(key) > maxKeyBytes:
		return &KeyError{Key: key, Reason: fmt.Sprintf("it is %d bytes long, the limit is %d", len(key), maxKeyBytes)}
	case !utf8.ValidString(key):
		return &KeyError{Key: key, Reason: "it is not valid UTF-8"}
	case strings.HasPrefix(key, "/"):
		return &KeyError{Key: key, Reason: `it starts with "/" (keys are relative to the store's root; drop the leading "/")`}
	case strings.Contains(key, `\`):
		return &KeyError{Key: key, Reason: `it contains a backslash (separate elements with "/")`}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return &KeyError{Key: key, Reason: fmt.Sprintf("it contains the control character %U", r)}
		}
	}
	return nil
}

// validateElement checks one slash-separated element of key.
func validateElement(key, elem string) error {
	switch {
	case elem == "":
		return &KeyError{Key: key, Reason: `it has an empty element (a doubled "/" or a trailing "/")`}
	case elem == "." || elem == "..":
		return &KeyError{Key: key, Reason: fmt.Sprintf("it has a %q element", elem)}
	case strings.HasPrefix(elem, reservedPrefix):
		return &KeyError{Key: key, Reason: fmt.Sprintf("element %q starts with %q, which is reserved for the store's own files", elem, reservedPrefix)}
	}
	return nil
}

// isReservedName reports whether the slash-separated name has an element
// starting with reservedPrefix, that is, whether it is one of the store's
// own temporary or probe objects.
func isReservedName(name string) bool {
	return strings.HasPrefix(name, reservedPrefix) || strings.Contains(name, "/"+reservedPrefix)
}
