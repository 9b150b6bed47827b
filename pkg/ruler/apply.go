package ruler

import (
	"context"
	"errors"
	"fmt"

	"github.com/dbmonctl/dbmonctl/pkg/apiclient"
)

// Result says how far Apply got.
type Result struct {
	// Applied are the changes the server accepted, in order.
	Applied []Change
	// Failed is the change that failed, nil when none did.
	Failed *Change
	// NotApplied are the changes after the failed one, not attempted.
	NotApplied []Change
}

// ApplyError is a failed Apply: which change failed and why. The Result
// returned with it lists what was and was not applied.
type ApplyError struct {
	// Change is the change that failed.
	Change Change
	// Applied is how many changes were applied before it.
	Applied int
	// Err is the cause, an apiclient error for a server's answer.
	Err error
}

func (e *ApplyError) Error() string {
	return fmt.Sprintf("%s: %v", e.Change, e.Err)
}
func (e *ApplyError) Unwrap() error { return e.Err }

// Apply performs p's changes in order and stops at the first failure,
// since a server that refused one write (credentials, limits, an outage
// outlasting the retries) would most likely refuse the next: the writes
// already made are valid on their own, and the marker written first keeps
// them managed, so a later sync picks up where this one stopped. Deleting
// a group that is already gone counts as applied.
func Apply(ctx context.Context, c *Client, p Plan) (Result, error) {
	var r Result
	for i, ch := range p.Changes {
		var err error
		switch ch.Action {
		case Create, Update:
			if ch.After == nil {
				err = errors.New("nothing to write")
				break
			}
			err = c.SetGroup(ctx, ch.Namespace, *ch.After)
		case Delete:
			err = c.DeleteGroup(ctx, ch.Namespace, ch.Group)
			if errors.Is(err, apiclient.ErrNotFound) {
				err = nil
			}
		default:
			err = fmt.Errorf("unknown action %q", ch.Action)
		}
		if err != nil {
			failed := ch
			r.Failed = &failed
			r.NotApplied = append(r.NotApplied, p.Changes[i+1:]...)
			return r, &ApplyError{Change: ch, Applied: len(r.Applied), Err: err}
		}
		r.Applied = append(r.Applied, ch)
	}
	return r, nil
}
