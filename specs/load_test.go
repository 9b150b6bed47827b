package specs

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dbmonctl/dbmonctl/internal/diag"
)

func TestLoadOverlaysDefaults(t *testing.T) {
	c, src, err := Load("dbmonctl.yaml", []byte(`
thresholds:
  slow_rate:
    critical:
      threshold: 0.2
  buckets: [0.05, 0.1, 0.5, 1, 2]
alerting:
  team: payments
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Thresholds.SlowRate.Critical.Threshold = 0.2
	want.Thresholds.Buckets = []float64{0.05, 0.1, 0.5, 1, 2}
	want.Alerting.Team = "payments"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("overlay changed more than the file set:\ngot  %+v\nwant %+v", c, want)
	}
	if p := src.Positions["thresholds.slow_rate.critical.threshold"]; p != (Pos{5, 18}) {
		t.Errorf("position of critical threshold = %+v, want 5:18", p)
	}
}

func TestLoadEmptyFileKeepsDefaults(t *testing.T) {
	for _, in := range []string{"", "\n", "# only a comment\n", "---\n"} {
		c, _, err := Load("x.yaml", []byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("%q changed the defaults", in)
		}
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, _, err := Load("d.yaml", []byte("alerting:\n  bogus: 1\n  team: [x]\nthresholds:\n  rate_window: soon\n"))
	var list diag.List
	if !errors.As(err, &list) || len(list) != 3 {
		t.Fatalf("want 3 findings, got %v", err)
	}
	var e *diag.Error
	if !errors.As(list[0], &e) || e.File != "d.yaml" || e.Line != 2 || e.Column != 3 || e.Path != "alerting.bogus" {
		t.Errorf("first finding = %+v", e)
	}
}

func TestDurationNotation(t *testing.T) {
	c, _, err := Load("x.yaml", []byte("thresholds:\n  rate_window: 1h30m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Thresholds.RateWindow.Std() != 90*time.Minute || c.Thresholds.RateWindow.String() != "1h30m" {
		t.Errorf("rate_window = %v (%s)", c.Thresholds.RateWindow.Std(), c.Thresholds.RateWindow)
	}
}

func TestDefaultYAMLRoundTrips(t *testing.T) {
	data, err := DefaultYAML()
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Load("dbmonctl.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Error("the file init writes does not load back to the defaults")
	}
	for _, want := range []string{"# SlowQuery is the middleware's slow threshold", "slow_query: 100ms", "critical_channel: '#database-alerts'"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("init file lacks %q", want)
		}
	}
	if strings.Contains(string(data), "api_url:") || strings.Contains(string(data), "auth_password:") {
		t.Error("init file suggests an inline secret field")
	}
}

func TestDefaultHasNoFindings(t *testing.T) {
	if errs := validateConfig(Default()); len(errs) > 0 {
		t.Fatalf("the embedded default has findings: %v", diag.List(errs))
	}
}

// FuzzLoad: the config loader never panics, never takes more than a few
// seconds, and either returns findings or a config, never both. Run it with
// -fuzzminimizetime 5s (see README): the seeds are whole config files.
func FuzzLoad(f *testing.F) {
	seed, _ := DefaultYAML()
	f.Add(seed)
	f.Add([]byte("thresholds:\n  slow_rate:\n    warning: {threshold: 0.2, for: 1m}\n"))
	f.Add([]byte("a: &x [1, *x]\n"))
	f.Add([]byte("thresholds: !!binary AAAA\n"))
	f.Add([]byte("prometheus:\n  targets: [[a]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A config loader must answer promptly whatever the input: a hang
		// crashes the worker, which makes the fuzzer keep the input.
		watchdog := time.AfterFunc(10*time.Second, func() {
			panic(fmt.Sprintf("Load has not returned after 10s on %d bytes: %q", len(data), data))
		})
		defer watchdog.Stop()
		c, _, err := Load("fuzz.yaml", data)
		if err != nil {
			var list diag.List
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty findings list: %v", err)
			}
			return
		}
		_ = validateConfig(c)
	})
}
