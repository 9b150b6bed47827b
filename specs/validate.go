package specs

import (
	"bytes"

	"github.com/dbmonctl/dbmonctl/pkg/diag"
)

// CheckRunbookURL is the ID of the warning about runbook links that point
// at runbooks written for other values.
const CheckRunbookURL = "runbook-url"

// Validate runs every check of the spec c and returns all findings, sorted.
// src locates findings about values a user file set (file:line:col).
// Findings of severity warning (diag.IsWarning) do not make a spec invalid.
func Validate(c Config, src Source, opts ...Option) []error {
	_, errs := Check(c, src, opts...)
	return errs
}

// Check validates c, builds its pack once and cross-checks that very pack,
// the one the caller then renders or tests. It returns the findings,
// sorted, and the pack, which is nil when c's own values are unsound (the
// artifacts of a config with bad values would only echo them).
func Check(c Config, src Source, opts ...Option) (*Pack, []error) {
	o := buildOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	var p *Pack
	errs := validateConfig(c)
	if c.Fleet() && len(o.families) > 0 {
		// Their expressions read raw series through the top-level
		// selector; they have no recording layer per service yet.
		errs = append(errs, diag.New(CheckService, "services", "families added with WithFamilies are not supported in a fleet yet: their alerts would read every service's series without service and team labels"))
	}
	if len(errs) == 0 {
		p = build(c, o)
		errs = append(errs, p.crossCheck()...)
		errs = append(errs, p.runbookFindings(o)...)
		errs = append(errs, p.limitFindings()...)
	} else {
		errs = append(errs, RoutingFindings(c)...)
	}
	if src.File != "" && len(src.Positions) == 0 {
		w := diag.Warn(CheckConfigEmpty, "", "the file sets nothing, so every default applies; delete it or set the keys you want to change (dbmonctl init writes every key with its documentation)")
		w.File = src.File
		errs = append(errs, w)
	}
	src.Locate(errs)
	diag.Sort(errs)
	return p, errs
}

// runbookFindings warns when the alerts link to the default runbooks
// (alerting.runbook_base_url left at its default) while the runbooks this
// config generates say something else: the on-call engineer would read
// thresholds, channels and queries that are not the ones that paged.
func (p *Pack) runbookFindings(o buildOptions) []error {
	def := Default()
	if p.Config.Alerting.RunbookBaseURL != def.Alerting.RunbookBaseURL {
		return nil
	}
	o.noTests = true
	mine, err := p.Runbooks()
	if err != nil {
		return nil // the runbook check reports it
	}
	theirs, err := build(def, o).Runbooks()
	if err != nil {
		return nil
	}
	for _, a := range p.Alerts {
		if _, ok := theirs[a.Name]; !ok {
			return []error{diag.Warn(CheckRunbookURL, "alerting.runbook_base_url",
				"the alerts link to the default runbooks at %s, which have no %s.md (the default spec has no such alert, e.g. one of a server pack); publish the generated runbooks/ and set alerting.runbook_base_url to where they are",
				def.Alerting.RunbookBaseURL, a.Name).Relate("server_packs", "alerting")}
		}
		if !bytes.Equal(mine[a.Name], theirs[a.Name]) {
			return []error{diag.Warn(CheckRunbookURL, "alerting.runbook_base_url",
				"the alerts link to the default runbooks at %s, but this config's runbooks differ from them (e.g. %s.md: thresholds, channels or queries); publish the generated runbooks/ and set alerting.runbook_base_url to where they are",
				def.Alerting.RunbookBaseURL, a.Name).Relate("thresholds", "alertmanager", "service", "alerting")}
		}
	}
	return nil
}
