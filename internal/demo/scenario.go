package demo

import (
	"fmt"
	"strings"
	"time"
)

// Scenario names a shape of the workload. The zero value is not a
// scenario; use ParseScenario or the constants.
type Scenario string

// The scenarios, in the order Scenarios lists them.
const (
	Healthy        Scenario = "healthy"
	SlowBurst      Scenario = "slow-burst"
	SustainedSlow  Scenario = "sustained-slow"
	TypeSlow       Scenario = "type-slow"
	P99Spike       Scenario = "p99-spike"
	RateSpike      Scenario = "rate-spike"
	TrafficDrop    Scenario = "traffic-drop"
	Errors         Scenario = "errors"
	PoolSaturation Scenario = "pool-saturation"
	Stopped        Scenario = "stopped"
)

// Scenarios lists every scenario, healthy first.
func Scenarios() []Scenario {
	return []Scenario{Healthy, SlowBurst, SustainedSlow, TypeSlow, P99Spike, RateSpike, TrafficDrop, Errors, PoolSaturation, Stopped}
}

// ParseScenario returns the scenario called name, or an error that lists
// the valid names, so a typo on the command line or the control endpoint
// says what would have worked.
func ParseScenario(name string) (Scenario, error) {
	for _, s := range Scenarios() {
		if string(s) == name {
			return s, nil
		}
	}
	names := make([]string, 0, len(Scenarios()))
	for _, s := range Scenarios() {
		names = append(names, string(s))
	}
	return "", fmt.Errorf("unknown scenario %q (want one of: %s)", name, strings.Join(names, ", "))
}

// Shares of all statements that scenarios make slow, spiky or failing.
// They sit well inside the bands the default thresholds draw, so a
// drill's alerts do not flap on rounding: 15 % is above the 10 % critical
// slow rate, 7 % is between the 5 % warning and the 10 % critical, 4 %
// is below the warning yet puts the 99th percentile among the spikes, and
// 20 % is four times the 5 % error rate.
//
// typeSlowSelectShare is a share of SELECTs, not of all statements: 45 %
// of SELECTs is well above the 25 % per-type slow rate. It is 40.5 % of
// all statements, so the aggregate slow rate is critical as well.
const (
	slowBurstShare      = 0.15
	sustainedSlowShare  = 0.07
	typeSlowSelectShare = 0.45
	spikeShare          = 0.04
	errorShare          = 0.20
	rateSpikeFactor     = 4
	trafficDropFactor   = 0.2
)

// profile is what a scenario asks of the workload.
type profile struct {
	// rate is the multiple of the base QPS to run at; 0 runs nothing.
	rate float64
	// slowShare is the share of all statements that sleep for slowFor.
	slowShare float64
	slowFor   time.Duration
	// errorShare is the share of all statements that fail.
	errorShare float64
	// holdPool keeps every pooled connection checked out.
	holdPool bool
}

// profile returns the workload shape of s for a demo whose slow threshold
// is slow and whose latency spikes take spike. Slow statements take 1.5×
// the threshold: clearly slow, yet far from the p99 latency thresholds.
func (s Scenario) profile(threshold, spike time.Duration) profile {
	slow := threshold * 3 / 2
	switch s {
	case SlowBurst:
		return profile{rate: 1, slowShare: slowBurstShare, slowFor: slow}
	case SustainedSlow:
		return profile{rate: 1, slowShare: sustainedSlowShare, slowFor: slow}
	case TypeSlow:
		return profile{rate: 1, slowShare: typeSlowSelectShare * selectShare, slowFor: slow}
	case P99Spike:
		return profile{rate: 1, slowShare: spikeShare, slowFor: spike}
	case RateSpike:
		return profile{rate: rateSpikeFactor}
	case TrafficDrop:
		return profile{rate: trafficDropFactor}
	case Errors:
		return profile{rate: 1, errorShare: errorShare}
	case PoolSaturation:
		return profile{rate: 1, holdPool: true}
	case Stopped:
		return profile{}
	default:
		return profile{rate: 1}
	}
}

// stmtKind is one statement of the workload.
type stmtKind int

const (
	stmtSelect stmtKind = iota
	stmtSelectSlow
	stmtSelectError
	stmtInsert
	stmtUpdate
	stmtDelete
)

// cycle is the statement mix: 45 SELECTs, 2 INSERTs, 2 UPDATEs and 1
// DELETE in every 50 statements, spread out so that a short window holds
// the same mix as a long one. Deletes remove two rows each, so the table
// stays the same size over time.
const cycle = 50

// selectShare is the share of SELECTs in the cycle; shares of all
// statements are divided by it to become shares of SELECTs.
const selectShare = 45.0 / cycle

func cycleKind(i uint64) stmtKind {
	switch i % cycle {
	case 7, 32:
		return stmtInsert
	case 13, 38:
		return stmtUpdate
	case 21:
		return stmtDelete
	}
	return stmtSelect
}

// planner decides the statement of each query of one scenario. It is
// deterministic: the k-th SELECT is slow when the running count of slow
// SELECTs, k·share rounded down, steps up, so every window holds the
// share to within one statement.
type planner struct {
	p       profile
	n       uint64 // statements planned
	selects uint64 // SELECTs planned
}

// step is one planned statement.
type step struct {
	kind  stmtKind
	sleep time.Duration // for stmtSelectSlow
	seq   uint64        // the statement's number, to spread row ids
}

func newPlanner(p profile) *planner { return &planner{p: p} }

func (pl *planner) next() step {
	s := step{kind: cycleKind(pl.n), seq: pl.n}
	pl.n++
	if s.kind != stmtSelect {
		return s
	}
	k := pl.selects
	pl.selects++
	switch {
	case hit(k, pl.p.slowShare/selectShare):
		s.kind, s.sleep = stmtSelectSlow, pl.p.slowFor
	case hit(k, pl.p.errorShare/selectShare):
		s.kind = stmtSelectError
	}
	return s
}

// hit reports whether the k-th event (from 0) of a stream where a share f
// of events are hits is one: floor((k+1)·f) > floor(k·f).
func hit(k uint64, f float64) bool {
	if f <= 0 {
		return false
	}
	return uint64(float64(k+1)*f) > uint64(float64(k)*f)
}
