package schemas

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/isweep/isweep/internal/dynamics"
)

const schemaFile = "sweep.schema.json"

// compileSchema compiles sweep.schema.json (which also checks it against
// the draft 2020-12 meta-schema) and returns it with its raw JSON form.
func compileSchema(t *testing.T) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s is not JSON: %v", schemaFile, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schemaFile, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatalf("compiling %s: %v", schemaFile, err)
	}
	return sch, raw
}

// instance decodes a YAML or JSON spec into the JSON values the schema
// validator works on.
func instance(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// object follows a path of keys through the raw schema.
func object(t *testing.T, raw map[string]any, keys ...string) map[string]any {
	t.Helper()
	cur := raw
	for _, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			t.Fatalf("schema: no object at %s", strings.Join(keys, "."))
		}
		cur = next
	}
	return cur
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonNames returns the JSON names of the fields of a struct type.
func jsonNames(typ reflect.Type) []string {
	var names []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// spectrumObject returns the object form of $defs.spectrum.
func spectrumObject(t *testing.T, raw map[string]any) map[string]any {
	t.Helper()
	for _, alt := range object(t, raw, "$defs", "spectrum")["oneOf"].([]any) {
		if m := alt.(map[string]any); m["type"] == "object" {
			return m
		}
	}
	t.Fatal("schema: $defs.spectrum has no object form")
	return nil
}

// TestSchemaMatchesGoTypes keeps the schema in step with the Go types: every
// field of Spec, Limits and dynamics.Params is in the schema, and the
// schema has nothing else.
func TestSchemaMatchesGoTypes(t *testing.T) {
	_, raw := compileSchema(t)
	params := jsonNames(reflect.TypeFor[dynamics.Params]())
	checks := []struct {
		where string
		got   []string
		want  []string
	}{
		{"properties (Spec)", sortedKeys(object(t, raw, "properties")), jsonNames(reflect.TypeFor[Spec]())},
		{"properties.limits.properties (Limits)", sortedKeys(object(t, raw, "properties", "limits", "properties")), jsonNames(reflect.TypeFor[Limits]())},
		{"$defs.values.properties (dynamics.Params)", sortedKeys(object(t, raw, "$defs", "values", "properties")), params},
		{"$defs.axes.properties (dynamics.Params)", sortedKeys(object(t, raw, "$defs", "axes", "properties")), params},
		{"$defs.generator.properties (axis forms)", sortedKeys(object(t, raw, "$defs", "generator", "properties")), slices.Sorted(slices.Values(axisForms))},
		{"$defs.spectrum object (spectrum keys)", sortedKeys(spectrumObject(t, raw)["properties"].(map[string]any)), slices.Sorted(slices.Values(spectrumKeys))},
		{"decoder's top-level keys", slices.Sorted(slices.Values(topKeys)), jsonNames(reflect.TypeFor[Spec]())},
		{"decoder's limits keys", slices.Sorted(slices.Values(limitKeys)), jsonNames(reflect.TypeFor[Limits]())},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got: %q want: %q", c.where, c.got, c.want)
		}
	}
}

// TestSchemaEnumsMatchDynamics checks every enumerated name in the schema
// against dynamics.Params.Validate: each listed name is accepted, and a
// name not listed is refused.
func TestSchemaEnumsMatchDynamics(t *testing.T) {
	_, raw := compileSchema(t)
	defs := object(t, raw, "$defs")
	valid := dynamics.Params{Algorithm: dynamics.Direct, N: 2}
	set := map[string]func(p *dynamics.Params, v string){
		"algorithm":   func(p *dynamics.Params, v string) { p.Algorithm = dynamics.Algorithm(v) },
		"mode":        func(p *dynamics.Params, v string) { p.Mode = dynamics.Mode(v) },
		"input_basis": func(p *dynamics.Params, v string) { p.InputBasis = v },
		"init_shape":  func(p *dynamics.Params, v string) { p.InitShape = v },
		"init_basis":  func(p *dynamics.Params, v string) { p.InitBasis = v },
	}
	for field, apply := range set {
		def := defs[field].(map[string]any)
		enum, _ := def["enum"].([]any)
		if len(enum) == 0 {
			t.Errorf("$defs.%s: no enum", field)
		}
		for _, name := range append(enum, "bogus") {
			p := valid
			apply(&p, name.(string))
			refused := false
			for _, fe := range dynamics.FieldErrors(p.Validate(dynamics.Limits{})) {
				refused = refused || fe.Field == field
			}
			if want := name == "bogus"; refused != want {
				t.Errorf("%s %q: got: refused=%v by dynamics.Params.Validate want: %v", field, name, refused, want)
			}
		}
	}
	spacings := object(t, spectrumObject(t, raw), "properties", "spacing")["enum"]
	for _, name := range append(spacings.([]any), "bogus") {
		p := valid
		p.InputSpectrum = dynamics.Spectrum{Min: 1, Max: 2, Spacing: dynamics.Spacing(name.(string))}
		refused := len(dynamics.FieldErrors(p.Validate(dynamics.Limits{}))) > 0
		if want := name == "bogus"; refused != want {
			t.Errorf("spacing %q: got: refused=%v want: %v", name, refused, want)
		}
	}
}

// TestSchemaAcceptsGoodSpecs validates every example under testdata/good
// against the schema.
func TestSchemaAcceptsGoodSpecs(t *testing.T) {
	sch, _ := compileSchema(t)
	files, err := filepath.Glob(filepath.Join("testdata", "good", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example specs under testdata/good (%v)", err)
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(instance(t, src)); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		// The canonical form is a spec too.
		spec, err := Parse(src, file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := sch.Validate(instance(t, spec.Canonical())); err != nil {
			t.Errorf("%s: canonical form: %v", file, err)
		}
	}
}

// TestSchemaRejectsBadSpecs checks that the schema is not vacuous: specs
// that Parse refuses for reasons a schema can express are refused by the
// schema as well.
func TestSchemaRejectsBadSpecs(t *testing.T) {
	sch, _ := compileSchema(t)
	names := []string{
		"unknown parameter", "unknown parameter in fixed", "unknown top-level key", "unknown limits key",
		"unknown spectrum key", "unknown axis form", "wrong apiVersion", "missing apiVersion", "missing name",
		"missing output", "name with capitals", "name with traversal", "name with slash", "name too long",
		"output traversal", "output traversal at the start", "s3 prefix traversal", "s3 prefix odd character",
		"s3 bad bucket", "other scheme", "axis is one value", "empty axis", "linspace num 0",
		"linspace num fractional", "linspace two numbers", "two generators", "generator over strings",
		"empty zip group", "string for an integer", "fraction for an integer", "number for a string",
		"boolean for a number", "spectrum axis of numbers", "one spectrum as an axis", "spectrum without max",
		"chunk zero", "chunk too large", "zero limit", "zero tol",
	}
	for _, name := range names {
		i := slices.IndexFunc(badSpecs, func(b struct {
			name string
			src  string
			want []string
		}) bool {
			return b.name == name
		})
		if i < 0 {
			t.Fatalf("no bad spec named %q", name)
		}
		if err := sch.Validate(instance(t, []byte(badSpecs[i].src))); err == nil {
			t.Errorf("%s: got: accepted by the schema want: refused\n%s", name, badSpecs[i].src)
		}
	}
}

// TestNetworksListedEverywhere holds the lists of networks outside
// internal/dynamics to its registry: the schema's algorithm enum, and the
// README's table of networks (one row per network, with its Doc).
func TestNetworksListedEverywhere(t *testing.T) {
	_, raw := compileSchema(t)
	var enum []string
	for _, v := range object(t, raw, "$defs", "algorithm")["enum"].([]any) {
		enum = append(enum, v.(string))
	}
	if want := dynamics.NetworkNames(); !slices.Equal(enum, want) {
		t.Errorf("%s $defs.algorithm.enum: got: %v want: %v (dynamics.NetworkNames)", schemaFile, enum, want)
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const header = "| network | what learns |\n|---|---|\n"
	_, table, ok := strings.Cut(string(readme), header)
	if !ok {
		t.Fatalf("README.md: no table of networks (a line %q)", header)
	}
	table, _, _ = strings.Cut(table, "\n\n")
	rows := strings.Split(table, "\n")
	var want []string
	for _, net := range dynamics.Networks() {
		want = append(want, "| `"+string(net.Name())+"` | "+net.Doc()+" |")
	}
	if !slices.Equal(rows, want) {
		t.Errorf("README.md's table of networks:\n got: %q\nwant: %q", rows, want)
	}
}
