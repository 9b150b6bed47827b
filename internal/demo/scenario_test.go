package demo

import (
	"strings"
	"testing"
	"time"
)

func TestDemoParseScenario(t *testing.T) {
	for _, s := range Scenarios() {
		got, err := ParseScenario(string(s))
		if err != nil || got != s {
			t.Errorf("ParseScenario(%q) = %q, %v; want the scenario itself", s, got, err)
		}
	}
	_, err := ParseScenario("slow")
	if err == nil || !strings.Contains(err.Error(), "slow-burst") {
		t.Errorf("ParseScenario(%q) error = %v; want one that lists the valid names", "slow", err)
	}
}

// TestDemoPlannerMix checks that every window of the plan holds the
// scenario's share of slow and failing statements to within one, and the
// SELECT-only share stays below the default per-type slow threshold
// (25 %), so a scenario crosses only the thresholds it is named after;
// type-slow, named after the per-type alert, keeps it well above.
func TestDemoPlannerMix(t *testing.T) {
	const slow, spike = 100 * time.Millisecond, 1500 * time.Millisecond
	tests := []struct {
		name      string
		scenario  Scenario
		slowShare float64
		sleep     time.Duration
		errShare  float64
		byType    bool // the SELECT-only slow share crosses the per-type threshold
	}{
		{"a healthy workload has no slow and no failing statement", Healthy, 0, 0, 0, false},
		{"a slow burst makes 15 % of statements slow", SlowBurst, 0.15, slow * 3 / 2, 0, false},
		{"sustained slowness makes 7 % of statements slow", SustainedSlow, 0.07, slow * 3 / 2, 0, false},
		{"type-slow makes 45 % of SELECTs, 40.5 % of statements, slow", TypeSlow, 0.405, slow * 3 / 2, 0, true},
		{"a p99 spike makes 4 % of statements take 1.5× the spike latency", P99Spike, 0.04, spike, 0, false},
		{"the errors scenario makes 20 % of statements fail", Errors, 0, 0, 0.20, false},
		{"a rate spike changes the rate, not the mix", RateSpike, 0, 0, 0, false},
		{"pool saturation changes the pool, not the mix", PoolSaturation, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := newPlanner(tt.scenario.profile(slow, spike))
			const n, window = 1000, 100
			kinds := make([]stmtKind, n)
			for i := range kinds {
				st := pl.next()
				kinds[i] = st.kind
				if st.kind == stmtSelectSlow && st.sleep != tt.sleep {
					t.Fatalf("statement %d sleeps %v, want %v", i, st.sleep, tt.sleep)
				}
			}
			for start := 0; start+window <= n; start += 10 {
				var slowN, errN, selects int
				for _, k := range kinds[start : start+window] {
					switch k {
					case stmtSelectSlow:
						slowN++
						selects++
					case stmtSelectError:
						errN++
						selects++
					case stmtSelect:
						selects++
					}
				}
				if want := tt.slowShare * window; float64(slowN) < want-1 || float64(slowN) > want+1 {
					t.Fatalf("window at %d: %d slow statements, want %v ± 1", start, slowN, want)
				}
				if want := tt.errShare * window; float64(errN) < want-1 || float64(errN) > want+1 {
					t.Fatalf("window at %d: %d failing statements, want %v ± 1", start, errN, want)
				}
				share := float64(slowN) / float64(selects)
				switch {
				case tt.byType && share < 0.40:
					t.Fatalf("window at %d: %.0f %% of SELECTs are slow, want at least 40 %%, well above the per-type alert (25 %%)", start, share*100)
				case !tt.byType && share >= 0.25:
					t.Fatalf("window at %d: %.0f %% of SELECTs are slow; the per-type alert (25 %%) would fire too", start, share*100)
				}
			}
		})
	}
}

func TestDemoProfileRates(t *testing.T) {
	tests := []struct {
		name     string
		scenario Scenario
		rate     float64
		hold     bool
	}{
		{"healthy runs at the base rate", Healthy, 1, false},
		{"type-slow runs at the base rate", TypeSlow, 1, false},
		{"a rate spike runs at four times the base rate, above the 2× alert", RateSpike, 4, false},
		{"a traffic drop runs at a fifth of the base rate, below the 0.5× alert", TrafficDrop, 0.2, false},
		{"stopped runs nothing", Stopped, 0, false},
		{"pool saturation holds the pool at the base rate", PoolSaturation, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.scenario.profile(time.Millisecond, time.Second)
			if p.rate != tt.rate || p.holdPool != tt.hold {
				t.Errorf("profile = rate %v hold %v, want rate %v hold %v", p.rate, p.holdPool, tt.rate, tt.hold)
			}
		})
	}
}
