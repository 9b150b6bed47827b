package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// apiGet GETs a Prometheus API path and decodes its data field into v.
func apiGet(ctx context.Context, base, path string, q url.Values, v any) error {
	u := strings.TrimSuffix(base, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, body.Error)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(body.Data, v)
}

type ruleGroup struct {
	Name           string    `json:"name"`
	EvaluationTime float64   `json:"evaluationTime"`
	LastEvaluation time.Time `json:"lastEvaluation"`
	Rules          []struct {
		Type   string `json:"type"`
		Health string `json:"health"`
		Error  string `json:"lastError"`
	} `json:"rules"`
}

// measureRules polls /api/v1/rules until every group has been evaluated
// evals times since the call (without groups: for evals intervals, the
// baseline), and reports the CPU time Prometheus spent per evaluation
// interval meanwhile, the groups' evaluation times (wall clock: on two
// cores a thousand groups wait for each other, so their sum overstates
// the work), the slowest group, and the iterations Prometheus missed.
func measureRules(ctx context.Context, base string, evals int, interval time.Duration, stdout, stderr io.Writer) error {
	since := time.Now()
	m0, err := scrapeSelf(ctx, base)
	if err != nil {
		return err
	}
	durs := map[string][]float64{}
	last := map[string]time.Time{}
	var names []string
	unhealthy := map[string]string{}
	for {
		var data struct {
			Groups []ruleGroup `json:"groups"`
		}
		if err := apiGet(ctx, base, "/api/v1/rules", nil, &data); err != nil {
			return err
		}
		// Without rules, the same span of time: the baseline.
		done := len(data.Groups) > 0 || time.Since(since) >= time.Duration(evals)*interval
		for _, g := range data.Groups {
			if _, ok := durs[g.Name]; !ok {
				durs[g.Name] = nil
				names = append(names, g.Name)
			}
			if g.LastEvaluation.After(since) && g.LastEvaluation != last[g.Name] {
				last[g.Name] = g.LastEvaluation
				durs[g.Name] = append(durs[g.Name], g.EvaluationTime)
			}
			for _, r := range g.Rules {
				if r.Health == "err" {
					unhealthy[g.Name] = r.Error
				}
			}
			if len(durs[g.Name]) < evals {
				done = false
			}
		}
		if done {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
	m1, err := scrapeSelf(ctx, base)
	if err != nil {
		return err
	}
	elapsed := time.Since(since)
	cpu := (m1.cpu - m0.cpu) / (elapsed.Seconds() / interval.Seconds())
	fmt.Fprintf(stdout, "groups: %d, evaluations measured per group: %d (%s)\n", len(names), evals, elapsed.Round(time.Second))
	fmt.Fprintf(stdout, "prometheus CPU per evaluation interval (%s): %s\n", interval, secs(cpu))
	if len(names) > 0 {
		rounds := make([]float64, evals)
		var groupMedians []float64
		slowest, slowestName := 0.0, ""
		for _, n := range names {
			for k := 0; k < evals; k++ {
				rounds[k] += durs[n][k]
			}
			m := median(durs[n][:evals])
			groupMedians = append(groupMedians, m)
			if m > slowest {
				slowest, slowestName = m, n
			}
		}
		fmt.Fprintf(stdout, "group evaluation time (wall clock), median over groups of their median: %s, p99 %s\n", secs(median(groupMedians)), secs(quantile(groupMedians, 0.99)))
		fmt.Fprintf(stdout, "rule set evaluation time per round (sum over groups, wall clock, groups overlap): median %s, min %s, max %s\n",
			secs(median(rounds)), secs(quantile(rounds, 0)), secs(quantile(rounds, 1)))
		fmt.Fprintf(stdout, "slowest group: %s, median %s\n", slowestName, secs(slowest))
	}
	fmt.Fprintf(stdout, "iterations missed during the measurement: %g\n", m1.missed-m0.missed)
	for g, e := range unhealthy {
		fmt.Fprintf(stderr, "group %s: rule error: %s\n", g, e)
	}
	return nil
}

// self is what measureRules reads off the server's own /metrics.
type self struct {
	cpu    float64 // process_cpu_seconds_total
	missed float64 // sum of prometheus_rule_group_iterations_missed_total
}

func scrapeSelf(ctx context.Context, base string) (self, error) {
	var out self
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/metrics", nil)
	if err != nil {
		return out, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "prometheus_rule_group_iterations_missed_total"):
			out.missed += v
		case strings.HasPrefix(line, "process_cpu_seconds_total "):
			out.cpu = v
		}
	}
	return out, sc.Err()
}

// quantile is the q-quantile of xs (nearest rank).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}
