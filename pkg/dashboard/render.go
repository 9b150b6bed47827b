package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	sdk "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/gauge"
	"github.com/grafana/grafana-foundation-sdk/go/piechart"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Render builds d and writes it as Grafana dashboard JSON: object keys
// sorted, two-space indent, a trailing newline, and no HTML escaping (so
// that `>` in a PromQL filter stays readable). The same Definition always
// gives the same bytes.
func Render(d Definition) ([]byte, error) {
	dash, err := Build(d)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(dash)
	if err != nil {
		return nil, fmt.Errorf("render dashboard %q: %w", d.UID, err)
	}
	out, err := canonical(raw)
	if err != nil {
		return nil, fmt.Errorf("render dashboard %q: %w", d.UID, err)
	}
	return out, nil
}

// canonical re-encodes JSON with sorted object keys. Decoding numbers as
// json.Number keeps them exactly as written (no float round trip).
func canonical(raw []byte) ([]byte, error) {
	v, err := decode(raw)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// registerVariants tells the SDK's decoder how to read the options of the
// panel kinds and the queries this package writes; without it panel options
// decode as untyped maps and the strict decoder cannot check them. Only
// what Build emits is registered, to keep the rest of the SDK out of the
// binary.
var registerVariants = sync.OnceFunc(func() {
	rt := cog.NewRuntime()
	rt.RegisterPanelcfgVariant(timeseries.VariantConfig())
	rt.RegisterPanelcfgVariant(gauge.VariantConfig())
	rt.RegisterPanelcfgVariant(piechart.VariantConfig())
	rt.RegisterPanelcfgVariant(table.VariantConfig())
	rt.RegisterDataqueryVariant(prometheus.VariantConfig())
})

// Parse reads dashboard JSON into the SDK's types, with the panel options
// and queries typed by their plugin. Fields the SDK does not know are
// dropped and values of the wrong type are errors, so writing the result
// again and comparing (Validate does) shows whether the JSON is exactly
// what the SDK's schema describes.
//
// The SDK's own strict decoder (UnmarshalJSONStrict) is not used: in
// v0.0.22 its nested decoders report "no errors" as a non-nil empty
// cog.BuildErrors, and the callers then discard the panel, its options
// and its queries.
func Parse(raw []byte) (sdk.Dashboard, error) {
	registerVariants()
	var d sdk.Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return sdk.Dashboard{}, err
	}
	return d, nil
}

// roundTrip reads rendered JSON back through the SDK's types and writes it
// again; it returns the JSON path of the first difference, or "" when the
// bytes survive unchanged. A difference means Grafana's schema (as the SDK
// knows it) would drop or change something this package wrote.
func roundTrip(rendered []byte) (string, error) {
	d, err := Parse(rendered)
	if err != nil {
		return "", fmt.Errorf("decode: %w", err)
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("re-encode: %w", err)
	}
	again, err := canonical(raw)
	if err != nil {
		return "", fmt.Errorf("re-encode: %w", err)
	}
	if bytes.Equal(rendered, again) {
		return "", nil
	}
	a, err := decode(rendered)
	if err != nil {
		return "", err
	}
	b, err := decode(again)
	if err != nil {
		return "", err
	}
	if p := firstDiff("", a, b); p != "" {
		return strings.TrimPrefix(p, "."), nil
	}
	// Same values, different bytes: the rendered text is not canonical.
	return "(formatting)", nil
}

// firstDiff returns the path of the first place where a and b differ, in
// sorted-key order, or "" when they are equal.
func firstDiff(path string, a, b any) string {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return orRoot(path)
		}
		for _, k := range sortedUnion(a, bm) {
			av, aok := a[k]
			bv, bok := bm[k]
			if aok != bok {
				return path + "." + k
			}
			if p := firstDiff(path+"."+k, av, bv); p != "" {
				return p
			}
		}
		return ""
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return orRoot(path)
		}
		for i := range a {
			if p := firstDiff(fmt.Sprintf("%s[%d]", path, i), a[i], bs[i]); p != "" {
				return p
			}
		}
		return ""
	default:
		if a != b {
			return orRoot(path)
		}
		return ""
	}
}

func orRoot(path string) string {
	if path == "" {
		return "."
	}
	return path
}

func sortedUnion(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
