package devserver

import (
	"encoding/json"
	"fmt"
	"slices"

	"go.temporal.io/server/common/dynamicconfig"
)

// checkDynamicConfig reports the first key of overrides that the linked
// server does not know (the server would silently ignore it), or a plain
// value that the setting cannot take.
func checkDynamicConfig(overrides map[string]any) error {
	keys := make([]string, 0, len(overrides))
	for key := range overrides {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		// The YAML loader is the server's own check of dynamic config files:
		// it warns about keys that no setting registered.
		var loader dynamicconfig.YamlLoader
		loader.LoadValue(dynamicconfig.MakeKey(key), []byte("[]"))
		if len(loader.Warnings) > 0 || len(loader.Errors) > 0 {
			return fmt.Errorf("devserver: Options.DynamicConfig key %q is not a setting of this Temporal server, which would ignore it: check the spelling against go.temporal.io/server/common/dynamicconfig/constants.go", key)
		}
		value := overrides[key]
		switch value.(type) {
		case bool, string, int, int32, int64, uint, uint32, uint64, float32, float64:
		default:
			// Durations, maps and constrained values are passed on unchecked.
			continue
		}
		encoded, err := json.Marshal([]map[string]any{{"value": value}})
		if err != nil {
			continue
		}
		loader.LoadValue(dynamicconfig.MakeKey(key), encoded)
		if len(loader.Warnings) > 0 || len(loader.Errors) > 0 {
			return fmt.Errorf("devserver: Options.DynamicConfig[%q] = %#v is not a valid value for that setting (%v): give a value of the setting's type", key, value, append(loader.Warnings, loader.Errors...)[0])
		}
	}
	return nil
}
