package ruler

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/dbmonctl/dbmonctl/internal/textdiff"
)

// Action is what a Change does to one group.
type Action string

// The actions of a plan.
const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Change is one write of a plan.
type Change struct {
	// Action is the write: create, update or delete.
	Action Action
	// Namespace and Group name what is written.
	Namespace, Group string
	// Before is the server's group (nil for a creation); After the group
	// to write (nil for a deletion).
	Before, After *rulefmt.RuleGroup
	// Marker is true for a write of the ownership marker.
	Marker bool
}

// String is e.g. `update group "dbmon" in namespace "team-a"`.
func (c Change) String() string {
	what := "group"
	if c.Marker {
		what = "ownership marker"
	}
	return fmt.Sprintf("%s %s %q in namespace %q", c.Action, what, c.Group, c.Namespace)
}

// Diff is the change as a unified diff of the group's YAML, labelled
// a/<namespace>/<group> and b/<namespace>/<group>.
func (c Change) Diff() string {
	name := c.Namespace + "/" + c.Group
	return textdiff.Unified("a/"+name, "b/"+name, canonicalText(c.Before), canonicalText(c.After))
}

// Plan is what a sync of one namespace would write, in order.
type Plan struct {
	// Namespace is the namespace planned for.
	Namespace string
	// Owner is the owner the plan writes as.
	Owner string
	// Changes are the writes, in the order Apply performs them: the
	// marker claiming new groups first, creations and updates, deletions,
	// and the marker's final list last, so that an interrupted sync never
	// leaves a group of its own unlisted.
	Changes []Change
	// Unchanged are the managed groups that already equal the desired ones.
	Unchanged []string
	// Kept are managed groups that are no longer desired and were kept
	// because pruning was off; they stay managed.
	Kept []string
	// Foreign are groups of the namespace the owner does not manage; they
	// are never touched.
	Foreign []string
}

// Empty reports whether the plan writes nothing.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }

// Count returns how many changes of the desired groups (markers left out)
// do a.
func (p Plan) Count(a Action) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == a && !c.Marker {
			n++
		}
	}
	return n
}

// Diff concatenates the diffs of every change, marker writes included.
func (p Plan) Diff() string {
	var b strings.Builder
	for _, c := range p.Changes {
		b.WriteString(c.Diff())
	}
	return b.String()
}

// PlanOptions configure NewPlan.
type PlanOptions struct {
	// Owner names who manages the groups, e.g. a tool or team name. It is
	// recorded in the marker and names the marker group.
	Owner string
	// Prune deletes managed groups that are no longer desired; without it
	// they are kept (Plan.Kept).
	Prune bool
}

// NewPlan compares the groups a namespace holds (current, as Client.Groups
// returns them) with the desired ones and returns the writes that make the
// managed part of the namespace equal to desired. It only plans writes of
// groups the owner manages: it fails with a *NotOwnedError when the
// namespace holds groups but no marker of the owner, when another owner's
// marker is there, or when a desired group exists unmanaged.
//
// Two groups are equal when their canonical YAML is: the same fields, with
// durations compared as durations, empty label and annotation maps equal
// to absent ones, and expressions compared without surrounding space.
func NewPlan(namespace string, current, desired []rulefmt.RuleGroup, o PlanOptions) (Plan, error) {
	if err := checkName("namespace", namespace); err != nil {
		return Plan{}, err
	}
	if err := checkName("owner", o.Owner); err != nil {
		return Plan{}, err
	}
	markerName := MarkerName(o.Owner)
	if err := checkDesired(desired, markerName); err != nil {
		return Plan{}, err
	}

	cur := map[string]rulefmt.RuleGroup{}
	var mine *Marker
	var mineGroup rulefmt.RuleGroup
	for _, g := range current {
		cur[g.Name] = g
		m, ok, err := ParseMarker(g)
		if err != nil {
			return Plan{}, fmt.Errorf("namespace %q: %w", namespace, err)
		}
		if !ok {
			continue
		}
		if m.Owner != o.Owner {
			return Plan{}, &NotOwnedError{Namespace: namespace, Owner: o.Owner, OtherOwner: m.Owner}
		}
		if g.Name == markerName {
			mine, mineGroup = &m, g
		}
	}
	if mine == nil {
		if len(cur) > 0 {
			return Plan{}, &NotOwnedError{Namespace: namespace, Owner: o.Owner, Groups: slices.Sorted(maps.Keys(cur)), Unmarked: true}
		}
		mine = &Marker{Group: markerName, Owner: o.Owner}
	}
	delete(cur, markerName)

	listed := map[string]bool{}
	for _, n := range mine.Groups {
		listed[n] = true
	}
	p := Plan{Namespace: namespace, Owner: o.Owner}
	for _, n := range slices.Sorted(maps.Keys(cur)) {
		if !listed[n] {
			p.Foreign = append(p.Foreign, n)
		}
	}

	want := map[string]rulefmt.RuleGroup{}
	for _, g := range desired {
		want[g.Name] = g
	}
	var blocked []string
	var writes, deletes []Change
	claim := map[string]bool{}
	final := map[string]bool{}
	for _, n := range mine.Groups {
		if _, exists := cur[n]; exists {
			claim[n] = true
		}
	}
	for _, n := range slices.Sorted(maps.Keys(want)) {
		g := want[n]
		final[n] = true
		old, exists := cur[n]
		switch {
		case exists && !listed[n]:
			blocked = append(blocked, n)
		case !exists:
			claim[n] = true
			writes = append(writes, Change{Action: Create, Namespace: namespace, Group: n, After: &g})
		case canonicalText(&old) == canonicalText(&g):
			p.Unchanged = append(p.Unchanged, n)
		default:
			writes = append(writes, Change{Action: Update, Namespace: namespace, Group: n, Before: &old, After: &g})
		}
	}
	if len(blocked) > 0 {
		return Plan{}, &NotOwnedError{Namespace: namespace, Owner: o.Owner, Groups: blocked}
	}
	for _, n := range mine.Groups {
		old, exists := cur[n]
		if _, wanted := want[n]; wanted || !exists {
			continue // a listed group that is gone just leaves the list
		}
		if o.Prune {
			deletes = append(deletes, Change{Action: Delete, Namespace: namespace, Group: n, Before: &old})
			continue
		}
		p.Kept = append(p.Kept, n)
		final[n] = true
	}

	before := &mineGroup
	if mineGroup.Name == "" {
		before = nil
	}
	// The claim lists every group that exists or will be created, so a
	// sync interrupted after any write leaves its groups listed.
	claimed := MarkerGroup(o.Owner, slices.Sorted(maps.Keys(claim)))
	if before == nil || canonicalText(before) != canonicalText(&claimed) {
		action := Update
		if before == nil {
			action = Create
		}
		if len(writes) > 0 || before != nil {
			p.Changes = append(p.Changes, Change{Action: action, Namespace: namespace, Group: markerName, Before: before, After: &claimed, Marker: true})
			before = &claimed
		}
	}
	p.Changes = append(p.Changes, writes...)
	p.Changes = append(p.Changes, deletes...)
	if before != nil {
		switch finalMarker := MarkerGroup(o.Owner, slices.Sorted(maps.Keys(final))); {
		case len(final) == 0 && len(p.Foreign) == 0:
			// Nothing left to manage: release the namespace entirely.
			p.Changes = append(p.Changes, Change{Action: Delete, Namespace: namespace, Group: markerName, Before: before, Marker: true})
		case canonicalText(before) != canonicalText(&finalMarker):
			p.Changes = append(p.Changes, Change{Action: Update, Namespace: namespace, Group: markerName, Before: before, After: &finalMarker, Marker: true})
		}
	}
	return p, nil
}

// checkDesired rejects desired groups no engine would take or that would
// collide with the marker.
func checkDesired(desired []rulefmt.RuleGroup, markerName string) error {
	var errs []error
	seen := map[string]bool{}
	for i, g := range desired {
		switch {
		case strings.TrimSpace(g.Name) == "":
			errs = append(errs, fmt.Errorf("groups[%d]: name is empty", i))
		case seen[g.Name]:
			errs = append(errs, fmt.Errorf("groups[%d] %q: name is used twice", i, g.Name))
		case g.Name == markerName:
			errs = append(errs, fmt.Errorf("groups[%d] %q: name is reserved for the ownership marker", i, g.Name))
		case len(g.Rules) == 0:
			errs = append(errs, fmt.Errorf("groups[%d] %q: has no rules (Cortex and Mimir refuse empty groups)", i, g.Name))
		}
		if _, isMarker, _ := ParseMarker(g); isMarker {
			errs = append(errs, fmt.Errorf("groups[%d] %q: looks like an ownership marker (a single %s rule with an owner annotation)", i, g.Name, MarkerAlert))
		}
		seen[g.Name] = true
	}
	return errors.Join(errs...)
}

// canonicalText is g's canonical YAML, "" for nil: what plans compare and
// diffs show.
func canonicalText(g *rulefmt.RuleGroup) string {
	if g == nil {
		return ""
	}
	c := *g
	c.Labels = nonEmpty(c.Labels)
	c.Rules = make([]rulefmt.Rule, len(g.Rules))
	for i, r := range g.Rules {
		r.Expr = strings.TrimSpace(r.Expr)
		r.Labels = nonEmpty(r.Labels)
		r.Annotations = nonEmpty(r.Annotations)
		c.Rules[i] = r
	}
	b, err := encodeGroup(c)
	if err != nil {
		// rulefmt's types always encode; keep the failure visible anyway.
		return fmt.Sprintf("# cannot encode group %q: %v\n", g.Name, err)
	}
	return string(b)
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
