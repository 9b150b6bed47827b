package specs

import (
	"context"
	"fmt"
	"testing"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// benchFleet is the default spec with n services (jobs svc-0 … svc-n-1),
// their teams round-robin over ten teams.
func benchFleet(n int) Config {
	c := Default()
	c.Teams = map[string]Team{}
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("team-%d", i)
		// What the loader does with a team block: merged over the
		// alertmanager receivers.
		t := Team{PagerDuty: c.Alertmanager.PagerDuty, Slack: c.Alertmanager.Slack, Email: c.Alertmanager.Email}
		t.Slack.CriticalChannel = "#" + name
		c.Teams[name] = t
	}
	for i := 0; i < n; i++ {
		c.Services = append(c.Services, FleetService{
			Name:     fmt.Sprintf("svc-%d", i),
			Selector: fmt.Sprintf(`job="svc-%d"`, i),
			Team:     fmt.Sprintf("team-%d", i%10),
		})
	}
	return c
}

// benchCheck is Check with its findings judged: a benchmark of a spec
// that does not validate would measure the wrong path.
func benchCheck(b *testing.B, c Config) *Pack {
	p, errs := Check(c, Source{})
	for _, e := range errs {
		if !diag.IsWarning(e) {
			b.Fatalf("finding: %v", e)
		}
	}
	if p == nil {
		b.Fatal("no pack")
	}
	return p
}

var benchSizes = []int{1, 100, 1000}

// RunTests evaluates, per case, the recording rules its alerts read; the
// cases grow with the services (route and per-service cases), so one
// iteration at 1,000 services takes minutes: scripts/bench-fleet.sh runs
// it only when asked (BENCH='Test/services=1000$').
var benchTestSizes = []int{1, 10, 100, 1000}

// BenchmarkValidate is `dbmonctl validate` of a fleet: Check.
func BenchmarkValidate(b *testing.B) {
	for _, n := range benchSizes {
		c := benchFleet(n)
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			for b.Loop() {
				benchCheck(b, c)
			}
		})
	}
}

// BenchmarkGenerate is `dbmonctl generate` of a fleet: Check and Files.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range benchSizes {
		c := benchFleet(n)
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := benchCheck(b, c).Files(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTest is `dbmonctl test` of a fleet: RunTests on a built pack.
func BenchmarkTest(b *testing.B) {
	for _, n := range benchTestSizes {
		p := Build(benchFleet(n))
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			for b.Loop() {
				if s := RunTests(context.Background(), p); s.Failed > 0 || s.Passed == 0 {
					b.Fatalf("passed %d, failed %d: %v", s.Passed, s.Failed, s.Failures)
				}
			}
		})
	}
}
