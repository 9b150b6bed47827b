package ruler

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
)

// The ownership marker is a rule group in each managed namespace; see the
// package documentation for why it is a group and not a label.
const (
	// MarkerAlert is the name of the marker group's single alerting rule.
	MarkerAlert = "ManagedRuleGroups"
	// MarkerExpr never returns a sample, so the marker never fires and
	// writes no series; it needs no data and costs the ruler nothing but a
	// constant evaluation once per MarkerInterval.
	MarkerExpr = "vector(1) < 0"
	// MarkerInterval is the marker group's evaluation interval.
	MarkerInterval = time.Hour
	// Annotation keys of the marker rule.
	annOwner       = "owner"
	annGroups      = "managed_groups"
	annDescription = "description"
	markerSuffix   = "-ownership"
)

// MarkerName is the name of owner's marker group.
func MarkerName(owner string) string { return owner + markerSuffix }

// Marker is what a marker group records.
type Marker struct {
	// Group is the marker group's own name.
	Group string
	// Owner names the tool or team that manages the namespace.
	Owner string
	// Groups are the names of the groups Owner manages in the namespace,
	// sorted.
	Groups []string
}

// MarkerGroup returns the marker group recording that owner manages
// groups.
func MarkerGroup(owner string, groups []string) rulefmt.RuleGroup {
	names := slices.Clone(groups)
	slices.Sort(names)
	names = slices.Compact(names)
	if names == nil {
		names = []string{}
	}
	list, _ := json.Marshal(names) // a []string always marshals
	return rulefmt.RuleGroup{
		Name:     MarkerName(owner),
		Interval: model.Duration(MarkerInterval),
		Rules: []rulefmt.Rule{{
			Alert: MarkerAlert,
			Expr:  MarkerExpr,
			Annotations: map[string]string{
				annOwner:  owner,
				annGroups: string(list),
				annDescription: fmt.Sprintf("Never fires. Marks this namespace as managed by %s: the rule groups listed in %s "+
					"are replaced and deleted by %[1]s; other groups are left alone. Do not edit or delete this group.", owner, annGroups),
			},
		}},
	}
}

// ParseMarker reports whether g is a marker group (of any owner) and what
// it records. A group that looks like a marker but whose list does not
// parse is an error: guessing would risk deleting someone's rules.
func ParseMarker(g rulefmt.RuleGroup) (Marker, bool, error) {
	if len(g.Rules) != 1 || g.Rules[0].Alert != MarkerAlert {
		return Marker{}, false, nil
	}
	ann := g.Rules[0].Annotations
	owner, ok := ann[annOwner]
	if !ok {
		return Marker{}, false, nil
	}
	if strings.TrimSpace(owner) == "" {
		return Marker{}, true, fmt.Errorf("ownership marker group %q: annotation %s is empty", g.Name, annOwner)
	}
	var groups []string
	if err := json.Unmarshal([]byte(ann[annGroups]), &groups); err != nil {
		return Marker{}, true, fmt.Errorf("ownership marker group %q: annotation %s is not a JSON list of group names: %w", g.Name, annGroups, err)
	}
	slices.Sort(groups)
	return Marker{Group: g.Name, Owner: owner, Groups: slices.Compact(groups)}, true, nil
}

// ErrNotOwned is matched by a *NotOwnedError.
var ErrNotOwned = errors.New("not managed by this owner")

// NotOwnedError reports groups that a sync would have to change but that
// its owner does not manage.
type NotOwnedError struct {
	// Namespace is the namespace concerned.
	Namespace string
	// Owner is the owner that planned the sync.
	Owner string
	// OtherOwner is the owner the namespace's marker names, when it is
	// not Owner.
	OtherOwner string
	// Groups are the groups in the way: every group of an unmarked
	// namespace, or the desired groups that exist unmanaged.
	Groups []string
	// Unmarked is true when the namespace has groups but no marker.
	Unmarked bool
}

func (e *NotOwnedError) Error() string {
	switch {
	case e.OtherOwner != "":
		return fmt.Sprintf("namespace %q is managed by %q, not %q", e.Namespace, e.OtherOwner, e.Owner)
	case e.Unmarked:
		return fmt.Sprintf("namespace %q holds %d rule group(s) (%s) and no ownership marker of %s: it is not managed by %[4]s",
			e.Namespace, len(e.Groups), strings.Join(quoteAll(e.Groups), ", "), e.Owner)
	default:
		return fmt.Sprintf("rule group(s) %s of namespace %q exist but are not managed by %s", strings.Join(quoteAll(e.Groups), ", "), e.Namespace, e.Owner)
	}
}

// Is matches ErrNotOwned.
func (e *NotOwnedError) Is(target error) bool { return target == ErrNotOwned }

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}
